//! The one task of a connection. It owns the connection's webrtc-rs handles and every
//! channel's, and carries out one thing at a time: a command from the main thread, a report
//! from webrtc-rs's driver, or a channel's event. It is the only writer of the connection's
//! [`SignalQueue`], so what `poll()` reads is one ordered stream.
//!
//! webrtc-rs runs its own driver task per connection (sockets, timers, the protocol stack);
//! this task talks to it through webrtc-rs's API, whose every call takes the driver's core
//! lock for microseconds.

use super::channel::{ChannelHandle, ChannelInfo, ChannelKey, ChannelShared};
use super::close::{HeldResets, Phase};
use super::config::{ChannelOptions, ConnectionConfig, IceTransportPolicy};
use super::connection::Command;
use super::events::{ConnectionState, Event, SdpKind, SignalQueue, SignalingState};
use super::receive::Arrival;
use super::runtime;
use super::sdp::first_mid;
use super::send::hand_over;
use super::tuning;
use rtc::peer_connection::transport::{
    RTCDtlsTransportState, RTCIceTransportState, RTCSctpTransportState,
};
use std::collections::{BTreeMap, HashMap};
use std::future::poll_fn;
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tokio::sync::{mpsc, Notify};
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCIceGatheringState,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, RTCSignalingState,
    StatsSelector,
};

/// How many commands, or channel events, are handled in a row before the task looks at the
/// other sources again: enough to batch a frame's sends, few enough that a flood on one side
/// does not hold up the other.
const BATCH: usize = 64;

/// What the task shares with the main thread's [`Connection`](super::Connection).
pub(crate) struct Shared {
    /// To hand out with channels the peer opens. Weak, so the queue ends (and the task with
    /// it) once the main thread holds neither the connection nor a channel.
    pub(crate) commands: mpsc::WeakUnboundedSender<Command>,
    pub(crate) queue: Arc<SignalQueue>,
    pub(crate) next_key: Arc<AtomicU64>,
    pub(crate) peer: Arc<OnceLock<Weak<dyn PeerConnection>>>,
    pub(crate) room: Arc<Notify>,
}

/// What webrtc-rs's driver reports, forwarded to the task by [`Reporter`].
enum Report {
    Candidate(String),
    Signaling(RTCSignalingState),
    Gathering(RTCIceGatheringState),
    Connection(RTCPeerConnectionState),
    Channel(Arc<dyn DataChannel>),
}

/// webrtc-rs's callbacks run on its driver task, which must not wait for anything: they only
/// forward to this connection's task.
struct Reporter(mpsc::UnboundedSender<Report>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Reporter {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                let _ = self.0.send(Report::Candidate(init.candidate));
            }
            Err(error) => log::warn!("webrtc_rs: cannot encode a local candidate: {error}"),
        }
    }

    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        let _ = self.0.send(Report::Signaling(state));
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        let _ = self.0.send(Report::Gathering(state));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.0.send(Report::Connection(state));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let _ = self.0.send(Report::Channel(channel));
    }
}

/// A channel as the task holds it.
struct Channel {
    data: Arc<dyn DataChannel>,
    shared: Arc<ChannelShared>,
    /// Its open event has arrived.
    opened: bool,
    /// Closed by both sides, or lost with the connection: no more events.
    ended: bool,
    /// Its close has been asked of webrtc-rs.
    closing: bool,
    /// Messages were handed to SCTP since the bytes in flight were last sampled.
    sent: bool,
    /// The task takes its events: it has not ended, and is not paused for unread messages.
    listening: bool,
}

/// The next event of any listening channel, or `Pending` with `cx` registered with every one
/// of them. Polling goes round the channels in key order, starting after `last` (the channel
/// that gave the last event), so a channel that always has one ready cannot starve the others.
///
/// `poll_event` rather than webrtc-rs's `poll()`: that returns a boxed future, and keeping one
/// pending per channel cost three allocations per received message (webrtc 0008).
fn next_event(
    channels: &mut BTreeMap<ChannelKey, Channel>,
    last: &mut ChannelKey,
    cx: &mut Context<'_>,
) -> Poll<(ChannelKey, Option<DataChannelEvent>)> {
    let after = *last;
    for range in [(Excluded(after), Unbounded), (Unbounded, Included(after))] {
        for (&key, channel) in channels.range_mut(range) {
            if !channel.listening {
                continue;
            }
            if let Poll::Ready(event) = channel.data.poll_event(cx) {
                channel.listening = false;
                *last = key;
                return Poll::Ready((key, event));
            }
        }
    }
    Poll::Pending
}

/// Builds the connection, then runs it until it ends (see `close.rs`).
pub(crate) async fn run(
    config: ConnectionConfig,
    shared: Shared,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (reports_tx, reports) = mpsc::unbounded_channel();
    let connection: Arc<dyn PeerConnection> =
        match tuning::build(&config, Arc::new(Reporter(reports_tx))).await {
            Ok(connection) => Arc::new(connection),
            Err(error) => {
                shared.queue.push(Event::Error(format!(
                    "cannot start the connection: {error}"
                )));
                shared
                    .queue
                    .push(Event::ConnectionState(ConnectionState::Failed));
                refuse_until_released(&shared.queue, &mut commands).await;
                return;
            }
        };
    let _ = shared.peer.set(Arc::downgrade(&connection));
    let mut task = Task {
        connection,
        shared,
        reports,
        channels: BTreeMap::new(),
        last_polled: 0,
        paused: Vec::new(),
        phase: Phase::Open,
        held_resets: HeldResets::default(),
        local_mid: "0".to_owned(),
        signaling: SignalingState::Stable,
        gathered: 0,
        relay_only: config.ice_transport_policy == IceTransportPolicy::Relay,
        receive_limit: config.receive_buffer,
        early_candidates: Vec::new(),
        remote_set: false,
    };
    task.run(&mut commands).await;
    if let Err(error) = task.connection.close().await {
        log::warn!("webrtc_rs: closing the connection: {error}");
    }
    // What is still queued will never be sent: it is no longer buffered.
    commands.close();
    while let Ok(command) = commands.try_recv() {
        task.dropped(command);
    }
}

/// A connection that could not be built: every channel created on it closes at once, and
/// nothing sent on one is buffered.
async fn refuse_until_released(
    queue: &SignalQueue,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) {
    let mut channels = HashMap::new();
    while let Some(command) = commands.recv().await {
        match command {
            Command::CreateChannel { shared, .. } => {
                queue.push(Event::ChannelClosed { key: shared.key });
                channels.insert(shared.key, shared);
            }
            Command::Send { key, data, .. } => {
                if let Some(shared) = channels.get(&key) {
                    shared.dequeued(data.len());
                }
            }
            // What is still queued behind it is dropped too, then the loop ends.
            Command::Close | Command::Release => commands.close(),
            _ => {}
        }
    }
}

struct Task {
    connection: Arc<dyn PeerConnection>,
    shared: Shared,
    reports: mpsc::UnboundedReceiver<Report>,
    /// By key: keys are handed out in increasing order, so this is the order channels were
    /// created in, and the order they are polled in.
    channels: BTreeMap<ChannelKey, Channel>,
    /// The channel that gave the last event: the next poll starts after it.
    last_polled: ChannelKey,
    /// Reliable channels holding as much unread as they may (see `ReceiveBuffer`).
    paused: Vec<ChannelKey>,
    phase: Phase,
    held_resets: HeldResets,
    /// The mid reported with our candidates, from the local description.
    local_mid: String,
    /// The last signaling state webrtc-rs reported, to resynchronise the main thread after a
    /// rejected description.
    signaling: SignalingState,
    /// Local candidates gathered so far: gathering that completes with none is hopeless.
    gathered: usize,
    relay_only: bool,
    /// What each channel may hold unread ([`ConnectionConfig::receive_buffer`]).
    receive_limit: usize,
    /// Candidates that arrived before the remote description: applied right after it.
    early_candidates: Vec<RTCIceCandidateInit>,
    remote_set: bool,
}

impl Task {
    async fn run(&mut self, commands: &mut mpsc::UnboundedReceiver<Command>) {
        let room = self.shared.room.clone();
        let mut commands_open = true;
        loop {
            if matches!(self.phase, Phase::Done) {
                return;
            }
            let deadline = self.phase.deadline();
            let resets_due = self.held_resets.deadline();
            tokio::select! {
                command = commands.recv(), if commands_open => match command {
                    Some(command) => {
                        if !self.command(command).await {
                            return;
                        }
                        for _ in 1..BATCH {
                            let Ok(command) = commands.try_recv() else { break };
                            if !self.command(command).await {
                                return;
                            }
                        }
                        if commands.is_empty() {
                            self.sample_sent().await;
                        }
                    }
                    // Neither the connection nor any channel is held any more.
                    None => {
                        commands_open = false;
                        if self.phase.is_open() {
                            self.release().await;
                        }
                    }
                },
                Some(report) = self.reports.recv() => self.report(report).await,
                (key, event) = poll_fn(|cx| next_event(&mut self.channels, &mut self.last_polled, cx)) => {
                    self.channel_event(key, event).await;
                    for _ in 1..BATCH {
                        let Some((key, event)) = self.ready_event() else { break };
                        self.channel_event(key, event).await;
                    }
                }
                () = room.notified(), if !self.paused.is_empty() => self.resume_paused(),
                () = sleep_until(deadline), if deadline.is_some() => return,
                () = sleep_until(resets_due), if resets_due.is_some() => self.reset_held().await,
                // The game is quitting with this connection still referenced somewhere.
                () = runtime::unloading(), if self.phase.is_open() => self.release().await,
            }
        }
    }

    /// Carries out one command; `false` once the connection must end at once.
    async fn command(&mut self, command: Command) -> bool {
        if !self.phase.is_open() {
            // Released: only what was sent before the release still goes out.
            if matches!(command, Command::Close) {
                return false;
            }
            self.dropped(command);
            return true;
        }
        match command {
            Command::CreateChannel {
                label,
                options,
                shared,
            } => self.create_channel(label, options, shared).await,
            Command::CreateOffer => match self.connection.create_offer(None).await {
                Ok(offer) => self.push(Event::SessionDescription {
                    kind: SdpKind::Offer,
                    sdp: offer.sdp,
                }),
                Err(error) => self.error(format!("create_offer(): {error}")),
            },
            Command::SetLocalDescription(description) => {
                self.set_local_description(description).await
            }
            Command::SetRemoteDescription(description) => {
                self.set_remote_description(description).await
            }
            Command::AddIceCandidate(candidate) => {
                if self.remote_set {
                    self.add_candidate(candidate).await;
                } else {
                    self.early_candidates.push(candidate);
                }
            }
            Command::Send {
                key,
                is_string,
                data,
            } => match self.channels.get_mut(&key) {
                Some(channel) if !channel.ended => {
                    channel.sent |=
                        hand_over(&channel.shared, &channel.data, is_string, data).await;
                }
                _ => self.dropped(Command::Send {
                    key,
                    is_string,
                    data,
                }),
            },
            Command::SampleInFlight { key } => {
                if let Some(channel) = self.channels.get(&key) {
                    channel.shared.in_flight.sample(&channel.data).await;
                }
            }
            Command::CloseChannel { key, freed } => self.close_channel(key, freed).await,
            Command::Close => return false,
            Command::Release => self.release().await,
        }
        true
    }

    /// A command that will not be carried out: what it queued is no longer buffered.
    fn dropped(&self, command: Command) {
        match command {
            Command::Send { key, data, .. } => {
                if let Some(channel) = self.channels.get(&key) {
                    channel.shared.dequeued(data.len());
                }
            }
            Command::CreateChannel { shared, .. } => {
                self.push(Event::ChannelClosed { key: shared.key })
            }
            _ => {}
        }
    }

    async fn create_channel(
        &mut self,
        label: String,
        options: ChannelOptions,
        shared: Arc<ChannelShared>,
    ) {
        let init = RTCDataChannelInit {
            ordered: options.ordered,
            max_packet_life_time: options.max_packet_life_time,
            max_retransmits: options.max_retransmits,
            protocol: options.protocol,
            negotiated: options.negotiated_id,
        };
        match self
            .connection
            .create_data_channel(&label, Some(init))
            .await
        {
            Ok(data) => self.add_channel(data, shared).await,
            Err(error) => {
                self.error(format!("create_data_channel(\"{label}\"): {error}"));
                self.push(Event::ChannelClosed { key: shared.key });
            }
        }
    }

    async fn add_channel(&mut self, data: Arc<dyn DataChannel>, shared: Arc<ChannelShared>) {
        // webrtc-rs then reports when the bytes in flight fall to zero (see `InFlight`).
        let _ = data.set_buffered_amount_low_threshold(0).await;
        let key = shared.key;
        self.channels.insert(
            key,
            Channel {
                data,
                shared,
                opened: false,
                ended: false,
                closing: false,
                sent: false,
                listening: true,
            },
        );
    }

    /// A channel the peer opened in-band.
    async fn incoming_channel(&mut self, data: Arc<dyn DataChannel>) {
        let Some(commands) = self.shared.commands.upgrade() else {
            return;
        };
        let key = self.shared.next_key.fetch_add(1, Ordering::Relaxed);
        let info = match channel_info(key, &data).await {
            Ok(info) => info,
            Err(error) => {
                log::warn!("webrtc_rs: incoming channel vanished before it was read: {error}");
                return;
            }
        };
        let shared = ChannelShared::new(
            key,
            self.receive_limit,
            info.options.is_reliable(),
            self.shared.room.clone(),
        );
        let handle = ChannelHandle::new(shared.clone(), commands);
        self.push(Event::ChannelReceived { info, handle });
        self.add_channel(data, shared).await;
    }

    async fn close_channel(&mut self, key: ChannelKey, freed: bool) {
        let Some(channel) = self.channels.get(&key) else {
            return;
        };
        if channel.ended {
            // Freed after it ended: nothing more will come for it.
            self.channels.remove(&key);
            return;
        }
        if freed && channel.opened && self.in_flight().await {
            self.held_resets.hold(key);
            return;
        }
        self.reset(key).await;
    }

    /// Closes the channel: SCTP resets the stream behind the messages handed over on it, and
    /// `ChannelClosed` follows when the peer has closed its side.
    async fn reset(&mut self, key: ChannelKey) {
        let Some(channel) = self.channels.get_mut(&key) else {
            return;
        };
        if channel.ended || std::mem::replace(&mut channel.closing, true) {
            return;
        }
        let _ = channel.data.close().await;
    }

    /// Resets what [`HeldResets`] held, now that nothing is in flight (or it waited long
    /// enough).
    async fn reset_held(&mut self) {
        for key in self.held_resets.release() {
            self.reset(key).await;
        }
    }

    /// Whether the peer has yet to acknowledge anything sent on this connection, from a
    /// fresh sample of every channel that had bytes in flight.
    async fn in_flight(&mut self) -> bool {
        let mut any = false;
        for channel in self.channels.values() {
            if !channel.ended && channel.shared.in_flight.bytes() > 0 {
                channel.shared.in_flight.sample(&channel.data).await;
                any |= channel.shared.in_flight.bytes() > 0;
            }
        }
        any
    }

    async fn release(&mut self) {
        let open: Vec<ChannelKey> = self
            .channels
            .iter()
            .filter(|(_, channel)| !channel.ended && channel.opened)
            .map(|(key, _)| *key)
            .collect();
        if self.in_flight().await {
            for key in &open {
                self.held_resets.hold(*key);
            }
        } else {
            self.reset_held().await;
            for key in &open {
                self.reset(*key).await;
            }
        }
        self.phase = Phase::released(open);
    }

    /// After a batch of sends: how much is in flight now, once per channel rather than per
    /// message, since asking costs a round through webrtc-rs's core lock.
    async fn sample_sent(&mut self) {
        for channel in self.channels.values_mut() {
            if std::mem::take(&mut channel.sent) {
                channel.shared.in_flight.sample(&channel.data).await;
            }
        }
    }

    async fn channel_event(&mut self, key: ChannelKey, event: Option<DataChannelEvent>) {
        match self.on_channel_event(key, event).await {
            None => {}
            Some(ending) => self.push_after_ready(ending).await,
        }
    }

    /// Handles one event of a channel and asks for its next one. An event that ends what the
    /// channel delivers is returned instead of queued, for [`Task::push_after_ready`].
    async fn on_channel_event(
        &mut self,
        key: ChannelKey,
        event: Option<DataChannelEvent>,
    ) -> Option<Event> {
        let channel = self.channels.get_mut(&key)?;
        let ending = match event {
            Some(DataChannelEvent::OnOpen) => {
                channel.opened = true;
                let id = stream_id(&channel.data, &self.connection).await;
                self.push(Event::ChannelOpen { key, id });
                None
            }
            Some(DataChannelEvent::OnMessage(message)) => {
                let size = message.data.len();
                channel.shared.counters.received(size);
                if channel.shared.receive.arrived(size) == Arrival::Deliver {
                    self.push(Event::ChannelMessage {
                        key,
                        is_string: message.is_string,
                        data: message.data,
                    });
                }
                None
            }
            Some(DataChannelEvent::OnBufferedAmountLow) => {
                channel.shared.in_flight.sample(&channel.data).await;
                if !self.held_resets.is_empty() && !self.in_flight().await {
                    self.reset_held().await;
                }
                None
            }
            Some(DataChannelEvent::OnClosing) => Some(Event::ChannelClosing { key }),
            Some(DataChannelEvent::OnClose) | None => {
                channel.shared.in_flight.clear();
                if let Some(channel) = self.channels.get_mut(&key) {
                    channel.ended = true;
                }
                self.phase.channel_ended(key);
                return Some(Event::ChannelClosed { key });
            }
            Some(_) => None,
        };
        self.ask_next(key);
        ending
    }

    /// Polls the channel again, unless it holds as much unread as it may.
    fn ask_next(&mut self, key: ChannelKey) {
        let Some(channel) = self.channels.get_mut(&key) else {
            return;
        };
        if channel.shared.receive.has_room() {
            channel.listening = true;
        } else {
            self.paused.push(key);
        }
    }

    /// A channel event that is ready now, if any. (The wakers it registers are no-ops; the
    /// task's own are registered again when it next waits.)
    fn ready_event(&mut self) -> Option<(ChannelKey, Option<DataChannelEvent>)> {
        let mut cx = Context::from_waker(Waker::noop());
        match next_event(&mut self.channels, &mut self.last_polled, &mut cx) {
            Poll::Ready(event) => Some(event),
            Poll::Pending => None,
        }
    }

    fn resume_paused(&mut self) {
        for key in std::mem::take(&mut self.paused) {
            self.ask_next(key);
        }
    }

    /// Queues an event that ends delivery (a channel closing or closed, the connection lost)
    /// after every message already waiting on any of the connection's channels.
    ///
    /// webrtc-rs keeps one queue per channel, and its driver fills them in the order the
    /// packets arrived: by the time a channel's close is in its queue, what other channels
    /// received before it is in theirs. So taking whatever is ready on every channel first
    /// puts those messages ahead of the close. WebRTCMultiplayerPeer forgets a peer as soon
    /// as any of its channels closes, so a last RPC relayed just before the peer's channels
    /// are reset would otherwise be lost. (A channel paused for unread messages keeps its
    /// queue: the game is not reading it anyway.)
    async fn push_after_ready(&mut self, ending: Event) {
        let mut endings = vec![ending];
        while let Some((key, event)) = self.ready_event() {
            if let Some(ending) = self.on_channel_event(key, event).await {
                endings.push(ending);
            }
        }
        for ending in endings {
            self.push(ending);
        }
    }

    async fn report(&mut self, report: Report) {
        match report {
            Report::Candidate(candidate) => {
                self.gathered += 1;
                self.push(Event::IceCandidate {
                    mid: self.local_mid.clone(),
                    index: 0,
                    candidate,
                });
            }
            Report::Signaling(state) => self.signaling = state.into(),
            Report::Gathering(state) => {
                self.push(Event::GatheringState(state.into()));
                if state == RTCIceGatheringState::Complete && self.gathered == 0 {
                    self.gathered_nothing();
                }
            }
            Report::Connection(state) => {
                if state == RTCPeerConnectionState::Failed {
                    if let Some(why) = explain_failure(&self.connection).await {
                        self.push(Event::Error(why.into()));
                    }
                }
                let event = Event::ConnectionState(state.into());
                if event.ends_delivery() {
                    self.push_after_ready(event).await;
                } else {
                    self.push(event);
                }
            }
            Report::Channel(data) => self.incoming_channel(data).await,
        }
    }

    /// webrtc-rs 0.21.1 reports no candidate errors (a refused TURN allocation is only
    /// logged), so say what a candidate-less connection means instead of letting the game
    /// wait for a connection that cannot come.
    fn gathered_nothing(&self) {
        let why = if self.relay_only {
            "with iceTransportPolicy \"relay\" this means no TURN server granted an \
             allocation: check its URL, username and credential"
        } else {
            "no local address could be used"
        };
        self.push(Event::Error(format!(
            "ICE gathering finished without a single candidate ({why}); the connection cannot succeed"
        )));
        self.push(Event::ConnectionState(ConnectionState::Failed));
    }

    async fn set_local_description(&mut self, description: RTCSessionDescription) {
        let kind = SdpKind::from_rtc(description.sdp_type).unwrap_or(SdpKind::Offer);
        if let Some(mid) = first_mid(&description) {
            self.local_mid = mid;
        }
        if let Err(error) = self.connection.set_local_description(description).await {
            self.rejected(format!(
                "set_local_description(\"{}\"): {error}",
                kind.as_str()
            ))
            .await;
        }
    }

    async fn set_remote_description(&mut self, description: RTCSessionDescription) {
        let kind = SdpKind::from_rtc(description.sdp_type).unwrap_or(SdpKind::Offer);
        if let Err(error) = self.connection.set_remote_description(description).await {
            self.rejected(format!(
                "set_remote_description(\"{}\"): {error}",
                kind.as_str()
            ))
            .await;
            return;
        }
        self.remote_set = true;
        for candidate in std::mem::take(&mut self.early_candidates) {
            self.add_candidate(candidate).await;
        }
        if kind == SdpKind::Offer {
            match self.connection.create_answer(None).await {
                Ok(answer) => self.push(Event::SessionDescription {
                    kind: SdpKind::Answer,
                    sdp: answer.sdp,
                }),
                Err(error) => self.error(format!("creating the answer: {error}")),
            }
        }
    }

    async fn add_candidate(&mut self, candidate: RTCIceCandidateInit) {
        let text = candidate.candidate.clone();
        if let Err(error) = self.connection.add_ice_candidate(candidate).await {
            self.error(format!("add_ice_candidate(\"{text}\"): {error}"));
        }
    }

    /// A description webrtc-rs refused: report it, and put the main thread's signaling state
    /// back to what webrtc-rs actually has (taking its reports so far into account first).
    async fn rejected(&mut self, message: String) {
        self.error(message);
        while let Ok(report) = self.reports.try_recv() {
            self.report(report).await;
        }
        self.push(Event::SignalingState(self.signaling));
    }

    fn error(&self, message: String) {
        self.push(Event::Error(message));
    }

    fn push(&self, event: Event) {
        self.shared.queue.push(event);
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// webrtc-rs reports no error with a failed connection, only logs one. When it failed because
/// the DTLS handshake did (our patch series makes webrtc-rs fail it at once and log the cause,
/// e.g. "the remote certificate does not match the fingerprint in the remote description",
/// which reaches Godot's output just before this), or because the SCTP association could not
/// be established (rtc patch 0012: the peer answered none of its INITs), say what that means
/// for the game.
async fn explain_failure(connection: &Arc<dyn PeerConnection>) -> Option<&'static str> {
    let sctp = connection.sctp().await?;
    let ice = sctp.transport().ice_transport().state().await;
    if ice == Ok(RTCIceTransportState::Failed) {
        // Connectivity was lost (consent expired, W3C's first reason for "failed"); whatever
        // has become of the transports above ICE since is a consequence, not the cause.
        return None;
    }
    if sctp.transport().state().await == Ok(RTCDtlsTransportState::Failed) {
        Some(
            "the DTLS handshake failed (the webrtc-rs error above says why), so this connection \
             cannot succeed: STATE_FAILED",
        )
    } else if sctp.state().await == Ok(RTCSctpTransportState::Closed) {
        Some(
            "the SCTP association could not be established (the peer never completed its \
             handshake, see the webrtc-rs error above), so no data channel can open on this \
             connection: STATE_FAILED",
        )
    } else {
        None
    }
}

async fn channel_info(
    key: ChannelKey,
    channel: &Arc<dyn DataChannel>,
) -> webrtc::error::Result<ChannelInfo> {
    Ok(ChannelInfo {
        key,
        label: channel.label().await?,
        options: ChannelOptions {
            // Announced in-band, so not negotiated; its id is learnt when it opens.
            negotiated_id: None,
            ordered: channel.ordered().await?,
            max_retransmits: channel.max_retransmits().await?,
            max_packet_life_time: channel.max_packet_life_time().await?,
            protocol: channel.protocol().await?,
        },
    })
}

/// The SCTP stream id: webrtc-rs only exposes it through the statistics report, keyed by the
/// channel's local handle.
async fn stream_id(
    channel: &Arc<dyn DataChannel>,
    connection: &Arc<dyn PeerConnection>,
) -> Option<u16> {
    let wanted = format!("RTCDataChannel_{}", channel.id());
    let report = connection
        .get_stats(Instant::now(), StatsSelector::None)
        .await;
    let id = report
        .data_channels()
        .find(|stats| stats.stats.id == wanted)
        .map(|stats| stats.data_channel_identifier);
    id
}
