//! One peer connection on the backend side.
//!
//! The Godot object owns a [`Connection`]: a command sender and the [`SignalQueue`]. A single
//! task per connection builds the webrtc-rs connection and carries out the commands in the
//! order they were given, so "create a channel, then make an offer" holds without any locking
//! on the main thread. Whatever the main thread could check by itself (argument syntax, SDP
//! syntax, the signaling-state table) it checked before sending; what only webrtc-rs can
//! judge comes back as [`Event::Error`].

use super::channel::{
    channel_pair, ChannelEnd, ChannelHandle, ChannelInfo, ChannelKey, ConnectionLink, Ending,
    Writers, LINGER,
};
use super::config::{
    interfaces_from_env, BundlePolicy, ChannelOptions, ConnectionConfig, IceTransportPolicy,
};
use super::events::{ConnectionState, Event, SdpKind, SignalQueue, SignalingState};
use super::interfaces::bind_addresses;
use super::runtime;
use super::stats::TransportStats;
use rtc::peer_connection::transport::{
    RTCDtlsTransportState, RTCIceTransportState, RTCSctpTransportState,
};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCBundlePolicy,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceGatheringState, RTCIceServer,
    RTCIceTransportPolicy, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription, RTCSignalingState, SettingEngineBuilder, StatsSelector,
};

/// Something the main thread could reject on the spot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("the {kind} SDP is not valid: {reason}")]
    InvalidSdp { kind: &'static str, reason: String },
    #[error("the ICE candidate \"{candidate}\" is not valid: {reason}")]
    InvalidCandidate { candidate: String, reason: String },
    #[error("the background runtime is not running")]
    Stopped,
}

enum Command {
    CreateChannel {
        label: String,
        options: ChannelOptions,
        end: ChannelEnd,
    },
    CreateOffer,
    SetLocalDescription(RTCSessionDescription),
    SetRemoteDescription(RTCSessionDescription),
    AddIceCandidate(RTCIceCandidateInit),
    /// `close()`: end at once, dropping what is still queued (W3C `RTCPeerConnection.close()`).
    Close,
}

/// The main thread's end of one peer connection. [`Connection::close`] ends it at once;
/// dropping it without closing first delivers what was sent (see [`Ending::Drain`]).
pub struct Connection {
    commands: mpsc::UnboundedSender<Command>,
    queue: Arc<SignalQueue>,
    next_key: Arc<AtomicU64>,
    /// The webrtc-rs connection once built, for statistics.
    peer: Arc<OnceLock<Weak<dyn PeerConnection>>>,
    /// What each channel may hold unread ([`ConnectionConfig::receive_buffer`]).
    receive_buffer: usize,
    writers: Arc<Writers>,
}

/// Why statistics could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    #[error("the connection did not answer within {0:?} (the background runtime is overloaded)")]
    Timeout(Duration),
    #[error("the background runtime is not running")]
    Stopped,
}

impl Connection {
    /// Starts the connection's task on the shared runtime. Sockets are bound there; a failure
    /// to bind arrives as an [`Event::Error`] followed by `ConnectionState::Failed`.
    pub fn start(config: ConnectionConfig) -> Result<Self, CommandError> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let queue = Arc::new(SignalQueue::default());
        let next_key = Arc::new(AtomicU64::new(1));
        let peer = Arc::new(OnceLock::new());
        let receive_buffer = config.receive_buffer;
        let writers = Arc::new(Writers::default());
        let live = runtime::LiveConnection::new();
        let task = run(
            config,
            receiver,
            queue.clone(),
            next_key.clone(),
            peer.clone(),
            writers.clone(),
        );
        if !runtime::spawn(async move {
            let _live = live;
            task.await
        }) {
            return Err(CommandError::Stopped);
        }
        Ok(Self {
            commands,
            queue,
            next_key,
            peer,
            receive_buffer,
            writers,
        })
    }

    /// Reads the connection-wide statistics, waiting at most `timeout` for webrtc-rs (which
    /// answers from memory, in microseconds, unless its runtime is swamped). Before the
    /// connection exists, everything is zero.
    pub fn transport_stats(&self, timeout: Duration) -> Result<TransportStats, StatsError> {
        let Some(peer) = self.peer.get().and_then(Weak::upgrade) else {
            return Ok(TransportStats::default());
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let spawned = runtime::spawn(async move {
            let report = peer
                .get_stats(std::time::Instant::now(), StatsSelector::None)
                .await;
            let _ = sender.send(TransportStats::from_report(&report));
        });
        if !spawned {
            return Err(StatsError::Stopped);
        }
        receiver.recv_timeout(timeout).map_err(|error| match error {
            std::sync::mpsc::RecvTimeoutError::Timeout => StatsError::Timeout(timeout),
            std::sync::mpsc::RecvTimeoutError::Disconnected => StatsError::Stopped,
        })
    }

    pub fn queue(&self) -> &SignalQueue {
        &self.queue
    }

    /// Creates a channel. The handle works at once (packets queue up); the channel opens
    /// once the connection is up, reported as [`Event::ChannelOpen`].
    pub fn create_channel(
        &self,
        label: &str,
        options: ChannelOptions,
    ) -> (ChannelInfo, ChannelHandle) {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let (handle, end) = channel_pair(
            key,
            self.receive_buffer,
            options.is_reliable(),
            self.writers.clone(),
        );
        let info = ChannelInfo {
            key,
            label: label.to_owned(),
            options: options.clone(),
        };
        let sent = self.commands.send(Command::CreateChannel {
            label: label.to_owned(),
            options,
            end,
        });
        if sent.is_err() {
            // The task is gone (runtime stopped): the channel can only ever be closed.
            self.queue.push(Event::ChannelClosed { key });
        }
        (info, handle)
    }

    /// Makes an offer; it arrives as [`Event::SessionDescription`].
    pub fn create_offer(&self) -> Result<(), CommandError> {
        self.send(Command::CreateOffer)
    }

    pub fn set_local_description(&self, kind: SdpKind, sdp: &str) -> Result<(), CommandError> {
        let description = parse_description(kind, sdp)?;
        self.send(Command::SetLocalDescription(description))
    }

    /// Applies a remote description; for an offer the answer follows as
    /// [`Event::SessionDescription`]. Candidates added earlier are applied after it.
    pub fn set_remote_description(&self, kind: SdpKind, sdp: &str) -> Result<(), CommandError> {
        let description = parse_description(kind, sdp)?;
        self.send(Command::SetRemoteDescription(description))
    }

    /// Trickle ICE. An empty candidate (end of candidates) is accepted and ignored.
    pub fn add_ice_candidate(
        &self,
        mid: &str,
        index: u16,
        candidate: &str,
    ) -> Result<(), CommandError> {
        let body = candidate.trim();
        if body.is_empty() {
            return Ok(());
        }
        let attribute = body.strip_prefix("a=").unwrap_or(body);
        let bare = attribute.strip_prefix("candidate:").unwrap_or(attribute);
        rtc::ice::candidate::unmarshal_candidate(bare).map_err(|error| {
            CommandError::InvalidCandidate {
                candidate: candidate.to_owned(),
                reason: error.to_string(),
            }
        })?;
        self.send(Command::AddIceCandidate(RTCIceCandidateInit {
            candidate: format!("candidate:{bare}"),
            sdp_mid: Some(mid.to_owned()),
            sdp_mline_index: Some(index),
            ..Default::default()
        }))
    }

    /// Ends the connection at once: messages still queued or unacknowledged may be lost, and
    /// the sockets are released.
    pub fn close(self) {
        let _ = self.commands.send(Command::Close);
    }

    fn send(&self, command: Command) -> Result<(), CommandError> {
        self.commands
            .send(command)
            .map_err(|_| CommandError::Stopped)
    }
}

fn parse_description(kind: SdpKind, sdp: &str) -> Result<RTCSessionDescription, CommandError> {
    let parsed = match kind {
        SdpKind::Offer => RTCSessionDescription::offer(sdp.to_owned()),
        SdpKind::Answer => RTCSessionDescription::answer(sdp.to_owned()),
        SdpKind::Pranswer => RTCSessionDescription::pranswer(sdp.to_owned()),
    };
    let description = parsed.map_err(|error| CommandError::InvalidSdp {
        kind: kind.as_str(),
        reason: error.to_string(),
    })?;
    let session = description
        .unmarshal()
        .map_err(|error| CommandError::InvalidSdp {
            kind: kind.as_str(),
            reason: error.to_string(),
        })?;
    if session.media_descriptions.is_empty() {
        return Err(CommandError::InvalidSdp {
            kind: kind.as_str(),
            reason: "it has no media section (m= line)".into(),
        });
    }
    check_fingerprint(&session).map_err(|reason| CommandError::InvalidSdp {
        kind: kind.as_str(),
        reason,
    })?;
    Ok(description)
}

/// The peer's DTLS certificate is checked against the description's `a=fingerprint` (RFC 8122),
/// which webrtc-rs 0.21.1 can only do for a SHA-256 one. Without a usable fingerprint the DTLS
/// handshake can only fail (webrtc-rs finds out seconds later, or not at all), so say so now.
fn check_fingerprint(session: &rtc::sdp::SessionDescription) -> Result<(), String> {
    let fingerprint = session
        .attribute("fingerprint")
        .map(String::as_str)
        .or_else(|| {
            session
                .media_descriptions
                .iter()
                .find_map(|media| media.attribute("fingerprint").flatten())
        })
        .ok_or("it has no a=fingerprint line, so the peer's DTLS certificate cannot be checked")?;
    let (hash, value) = fingerprint
        .trim()
        .split_once(' ')
        .unwrap_or((fingerprint, ""));
    if !hash.eq_ignore_ascii_case("sha-256") {
        return Err(format!(
            "its a=fingerprint uses the hash function \"{hash}\", but only sha-256 can be checked"
        ));
    }
    let bytes: Vec<&str> = value.trim().split(':').collect();
    if bytes.len() != 32
        || !bytes
            .iter()
            .all(|byte| byte.len() == 2 && byte.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(format!(
            "its a=fingerprint \"{value}\" is not 32 hexadecimal bytes separated by colons"
        ));
    }
    Ok(())
}

/// The mid of the first media section: with BUNDLE every candidate belongs to it.
fn first_mid(description: &RTCSessionDescription) -> Option<String> {
    let session = description.unmarshal().ok()?;
    let media = session.media_descriptions.first()?;
    media.attribute("mid").flatten().map(str::to_owned)
}

/// Receives webrtc-rs's callbacks on the connection's driver task and turns them into events.
/// It never awaits anything that needs the driver (that would stall the connection).
struct Handler {
    queue: Arc<SignalQueue>,
    /// What each channel may hold unread ([`ConnectionConfig::receive_buffer`]).
    receive_buffer: usize,
    next_key: Arc<AtomicU64>,
    /// The mid to report with our candidates, set before the local description is applied.
    local_mid: Mutex<String>,
    /// The last signaling state webrtc-rs reported, to resynchronise the main thread after a
    /// rejected description.
    signaling: Mutex<SignalingState>,
    connection: OnceLock<Weak<dyn PeerConnection>>,
    ending: watch::Receiver<Ending>,
    writers: Arc<Writers>,
    /// Local candidates gathered so far: gathering that completes with none is hopeless.
    gathered: AtomicUsize,
    relay_only: bool,
}

impl Handler {
    /// What a channel's tasks need from this connection; `None` before it is built.
    fn link(&self) -> Option<ConnectionLink> {
        Some(ConnectionLink {
            connection: self.connection.get()?.clone(),
            queue: self.queue.clone(),
            ending: self.ending.clone(),
            writers: self.writers.clone(),
            receive_buffer: self.receive_buffer,
        })
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                self.gathered.fetch_add(1, Ordering::Relaxed);
                let mid = self.local_mid.lock().map(|m| m.clone()).unwrap_or_default();
                self.queue.push(Event::IceCandidate {
                    mid,
                    index: 0,
                    candidate: init.candidate,
                });
            }
            Err(error) => log::warn!("webrtc_rs: cannot encode a local candidate: {error}"),
        }
    }

    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        if let Ok(mut current) = self.signaling.lock() {
            *current = state.into();
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.queue.push(Event::GatheringState(state.into()));
        if state == RTCIceGatheringState::Complete && self.gathered.load(Ordering::Relaxed) == 0 {
            // webrtc-rs 0.21.1 reports no candidate errors (a refused TURN allocation is only
            // logged), so say what a candidate-less connection means instead of letting the
            // game wait for a connection that cannot come.
            let why = if self.relay_only {
                "with iceTransportPolicy \"relay\" this means no TURN server granted an \
                 allocation: check its URL, username and credential"
            } else {
                "no local address could be used"
            };
            self.queue.push(Event::Error(format!(
                "ICE gathering finished without a single candidate ({why}); the connection cannot succeed"
            )));
            self.queue
                .push(Event::ConnectionState(ConnectionState::Failed));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Failed {
            explain_failure(self.connection.get(), &self.queue).await;
        }
        // The main thread sets CLOSED itself when it closes; webrtc-rs reporting it again
        // afterwards goes to a queue nobody reads any more.
        self.queue.push(Event::ConnectionState(state.into()));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let link = self.link();
        // Reading the channel's properties goes through the driver: do it off this callback.
        runtime::spawn(async move {
            let Some(link) = link else { return };
            let info = match channel_info(key, &channel).await {
                Ok(info) => info,
                Err(error) => {
                    log::warn!("webrtc_rs: incoming channel vanished before it was read: {error}");
                    return;
                }
            };
            let (handle, end) = channel_pair(
                key,
                link.receive_buffer,
                info.options.is_reliable(),
                link.writers.clone(),
            );
            link.queue.push(Event::ChannelReceived { info, handle });
            end.start(channel, link);
        });
    }
}

/// webrtc-rs reports no error with a failed connection, only logs one. When it failed because
/// the DTLS handshake did (our patch series makes webrtc-rs fail it at once and log the cause,
/// e.g. "the remote certificate does not match the fingerprint in the remote description",
/// which reaches Godot's output just before this), or because the SCTP association could not
/// be established (rtc patch 0012: the peer answered none of its INITs), say what that means
/// for the game.
async fn explain_failure(connection: Option<&Weak<dyn PeerConnection>>, queue: &SignalQueue) {
    let Some(connection) = connection.and_then(Weak::upgrade) else {
        return;
    };
    let Some(sctp) = connection.sctp().await else {
        return;
    };
    let ice = sctp.transport().ice_transport().state().await;
    if ice == Ok(RTCIceTransportState::Failed) {
        // Connectivity was lost (consent expired, W3C's first reason for "failed"); whatever
        // has become of the transports above ICE since is a consequence, not the cause.
        return;
    }
    let why = if sctp.transport().state().await == Ok(RTCDtlsTransportState::Failed) {
        "the DTLS handshake failed (the webrtc-rs error above says why), so this connection \
         cannot succeed: STATE_FAILED"
    } else if sctp.state().await == Ok(RTCSctpTransportState::Closed) {
        "the SCTP association could not be established (the peer never completed its \
         handshake, see the webrtc-rs error above), so no data channel can open on this \
         connection: STATE_FAILED"
    } else {
        return;
    };
    queue.push(Event::Error(why.into()));
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

/// Pacing of ICE connectivity checks, and how many a pair gets before it is given up.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(50);
const ICE_CHECKS_PER_PAIR: u16 = 40;

/// How long the controlling side waits, from the start of its checks, before it nominates a
/// working pair through a NAT mapping (server-reflexive) or a TURN relay, giving a better pair
/// still being checked the time to win: once nominated, the pair is kept. A direct pair through
/// two NATs works once both sides' checks have crossed (about a round trip after both have the
/// other's candidates), which the relay wait leaves room for on internet paths. webrtc-rs's
/// defaults (500 ms and 2 s) would hold every connection through a NAT for half a second and
/// every relayed one for two, where browsers connect at once.
const ICE_SRFLX_MIN_WAIT: Duration = Duration::from_millis(100);
const ICE_RELAY_MIN_WAIT: Duration = Duration::from_millis(750);

/// How often the selected pair's consent is refreshed (a STUN request and its answer).
/// A connection that receives nothing for 5 s reports DISCONNECTED; on a lossy link, with SCTP
/// quiet between its retransmission timeouts, two or three lost checks at webrtc-rs's default
/// of 2 s are enough for that, while at 500 ms it takes about ten. Two small STUN packets a
/// second per connection cost nothing.
const ICE_CONSENT_INTERVAL: Duration = Duration::from_millis(500);

/// When an unanswered DTLS handshake flight is sent again: after 100 ms, then every 200 ms,
/// at most 48 times (about 9.8 s in all, as webrtc-rs's default 1 s × 8 sends). On a lossy
/// link a handshake exchange can fail several times in a row, and any back-off beyond 200 ms
/// turns such a streak into seconds of setup (docs/reliability.md, "Connecting over a lossy
/// link"). On a path whose round trip exceeds 200 ms a flight is sent again before its answer
/// can arrive: a few hundred bytes, during setup only.
const DTLS_FLIGHT_INTERVAL: Duration = Duration::from_millis(100);
const DTLS_FLIGHT_INTERVAL_MAX: Duration = Duration::from_millis(200);
const DTLS_FLIGHT_RETRANSMISSIONS: usize = 48;

/// The same for the SCTP association's INIT and COOKIE-ECHO (T1; the ceiling is rtc-sctp
/// 0016): with T1 starting at RTO.Initial and doubling up to RTO.Max, each lost handshake
/// packet would hold the channels back by 500 ms, then 1 s, 2 s… after DTLS has completed.
const SCTP_T1_INITIAL: Duration = DTLS_FLIGHT_INTERVAL;
const SCTP_T1_MAX: Duration = DTLS_FLIGHT_INTERVAL_MAX;
const SCTP_T1_RETRANSMISSIONS: usize = DTLS_FLIGHT_RETRANSMISSIONS;

async fn build(
    config: &ConnectionConfig,
    handler: Arc<Handler>,
) -> Result<impl PeerConnection, String> {
    let interfaces = config.interfaces.clone().or_else(interfaces_from_env);
    let addresses = bind_addresses(interfaces.as_deref())?;
    let mut settings = SettingEngineBuilder::new()
        .with_sctp_max_message_size(
            rtc::peer_connection::configuration::setting_engine::SctpMaxMessageSize::Bounded(
                super::channel::MAX_PACKET_SIZE as u32,
            ),
        )
        // Setup time. A check may come from the peer before its trickled candidates do,
        // making a peer-reflexive pair that webrtc-rs would only accept after 1 s: accept it
        // at once, as browsers do. And pace checks every 50 ms instead of 200 ms, with as many
        // attempts as keep a pair alive for 2 s (the default gives up after 1.4 s).
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_srflx_acceptance_min_wait(Some(ICE_SRFLX_MIN_WAIT))
        .with_relay_acceptance_min_wait(Some(ICE_RELAY_MIN_WAIT))
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_CHECKS_PER_PAIR))
        .with_ice_timeouts(None, None, Some(ICE_CONSENT_INTERVAL))
        .with_sctp_rto_min(config.sctp_rto.min)
        .with_sctp_rto_initial(config.sctp_rto.initial)
        .with_sctp_rto_max(config.sctp_rto.max)
        .with_sctp_t1_initial(SCTP_T1_INITIAL)
        .with_sctp_t1_max(SCTP_T1_MAX)
        .with_sctp_t1_retransmissions(SCTP_T1_RETRANSMISSIONS)
        // Lost last packets of a window (or their SACKs) are retransmitted after twice the
        // RTT, at least 10 ms, instead of after RTO.Min (400 ms) with cwnd cut to one packet,
        // and new DATA goes with the probe (rtc-sctp 0014, 0015).
        .with_sctp_tail_loss_probe(true)
        .with_dtls_flight_interval(DTLS_FLIGHT_INTERVAL, DTLS_FLIGHT_INTERVAL_MAX)
        .with_dtls_flight_retransmissions(DTLS_FLIGHT_RETRANSMISSIONS)
        // Answer `a=setup:passive`: the answerer is the DTLS (and SCTP) server. JSEP allows
        // either; this is the role the addon's lossy-link and interop tests cover.
        .with_answering_dtls_role(rtc::peer_connection::transport::RTCDtlsRole::Server);
    if interfaces.is_some() {
        // A restricted connection must not reach beyond its interfaces, and mDNS would
        // open a multicast socket on all of them.
        settings = settings.with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled);
    }
    let ice_servers = config
        .ice_servers
        .iter()
        .map(|server| RTCIceServer {
            urls: server.urls.clone(),
            username: server.username.clone(),
            credential: server.credential.clone(),
        })
        .collect();
    let rtc_config = RTCConfigurationBuilder::new()
        .with_ice_servers(ice_servers)
        .with_ice_transport_policy(match config.ice_transport_policy {
            IceTransportPolicy::All => RTCIceTransportPolicy::All,
            IceTransportPolicy::Relay => RTCIceTransportPolicy::Relay,
        })
        .with_bundle_policy(match config.bundle_policy {
            BundlePolicy::Balanced => RTCBundlePolicy::Balanced,
            BundlePolicy::MaxCompat => RTCBundlePolicy::MaxCompat,
            BundlePolicy::MaxBundle => RTCBundlePolicy::MaxBundle,
        })
        .build();
    PeerConnectionBuilder::new()
        .with_configuration(rtc_config)
        .with_setting_engine(settings.build())
        .with_runtime(Arc::new(super::sockets::BufferedRuntime::new()))
        .with_handler(handler)
        .with_udp_addrs(addresses)
        .build()
        .await
        .map_err(|error| error.to_string())
}

/// The connection's task: build, then carry out commands in order until the main thread
/// lets go of its [`Connection`].
async fn run(
    config: ConnectionConfig,
    mut commands: mpsc::UnboundedReceiver<Command>,
    queue: Arc<SignalQueue>,
    next_key: Arc<AtomicU64>,
    peer: Arc<OnceLock<Weak<dyn PeerConnection>>>,
    writers: Arc<Writers>,
) {
    let (ending_tx, ending) = watch::channel(Ending::Open);
    let handler = Arc::new(Handler {
        queue: queue.clone(),
        receive_buffer: config.receive_buffer,
        next_key,
        local_mid: Mutex::new("0".to_owned()),
        signaling: Mutex::new(SignalingState::Stable),
        connection: OnceLock::new(),
        ending,
        writers,
        gathered: AtomicUsize::new(0),
        relay_only: config.ice_transport_policy == IceTransportPolicy::Relay,
    });
    let connection: Arc<dyn PeerConnection> = match build(&config, handler.clone()).await {
        Ok(connection) => Arc::new(connection),
        Err(error) => {
            queue.push(Event::Error(format!(
                "cannot start the connection: {error}"
            )));
            queue.push(Event::ConnectionState(ConnectionState::Failed));
            // Keep answering until the main thread lets go, so its channels learn they closed.
            while let Some(command) = commands.recv().await {
                if let Command::CreateChannel { end, .. } = command {
                    queue.push(Event::ChannelClosed { key: end.key() });
                }
            }
            return;
        }
    };
    let weak = Arc::downgrade(&connection);
    let _ = handler.connection.set(weak.clone());
    let _ = peer.set(weak.clone());
    let mut worker = Worker {
        connection: connection.clone(),
        handler: handler.clone(),
        early_candidates: Vec::new(),
        remote_set: false,
    };
    let mut closed = false;
    loop {
        let command = tokio::select! {
            command = commands.recv() => command,
            // The game is quitting with this connection still referenced somewhere.
            () = runtime::unloading() => None,
        };
        match command {
            Some(Command::Close) => {
                closed = true;
                break;
            }
            Some(command) => worker.handle(command).await,
            None => break,
        }
    }
    drop(worker);
    if !closed {
        // Freed without close(): deliver what the game sent (WebRTCMultiplayerPeer frees its
        // connections when it closes, and a game that quits frees everything).
        let _ = ending_tx.send(Ending::Drain);
        let _ = tokio::time::timeout(LINGER, handler.writers.all_done()).await;
    }
    let _ = ending_tx.send(Ending::Abort);
    if let Err(error) = connection.close().await {
        log::warn!("webrtc_rs: closing the connection: {error}");
    }
}

struct Worker {
    connection: Arc<dyn PeerConnection>,
    handler: Arc<Handler>,
    /// Candidates that arrived before the remote description: applied right after it.
    early_candidates: Vec<RTCIceCandidateInit>,
    remote_set: bool,
}

impl Worker {
    async fn handle(&mut self, command: Command) {
        match command {
            Command::CreateChannel {
                label,
                options,
                end,
            } => {
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
                    Ok(channel) => {
                        if let Some(link) = self.handler.link() {
                            end.start(channel, link);
                        }
                    }
                    Err(error) => {
                        self.error(format!("create_data_channel(\"{label}\"): {error}"));
                        self.handler
                            .queue
                            .push(Event::ChannelClosed { key: end.key() });
                    }
                }
            }
            Command::CreateOffer => match self.connection.create_offer(None).await {
                Ok(offer) => self.handler.queue.push(Event::SessionDescription {
                    kind: SdpKind::Offer,
                    sdp: offer.sdp,
                }),
                Err(error) => self.error(format!("create_offer(): {error}")),
            },
            Command::SetLocalDescription(description) => {
                let kind = SdpKind::from_rtc(description.sdp_type).unwrap_or(SdpKind::Offer);
                if let (Some(mid), Ok(mut slot)) =
                    (first_mid(&description), self.handler.local_mid.lock())
                {
                    *slot = mid;
                }
                if let Err(error) = self.connection.set_local_description(description).await {
                    self.rejected(format!(
                        "set_local_description(\"{}\"): {error}",
                        kind.as_str()
                    ));
                }
            }
            Command::SetRemoteDescription(description) => {
                let kind = SdpKind::from_rtc(description.sdp_type).unwrap_or(SdpKind::Offer);
                if let Err(error) = self.connection.set_remote_description(description).await {
                    self.rejected(format!(
                        "set_remote_description(\"{}\"): {error}",
                        kind.as_str()
                    ));
                    return;
                }
                self.remote_set = true;
                for candidate in std::mem::take(&mut self.early_candidates) {
                    self.add_candidate(candidate).await;
                }
                if kind == SdpKind::Offer {
                    match self.connection.create_answer(None).await {
                        Ok(answer) => self.handler.queue.push(Event::SessionDescription {
                            kind: SdpKind::Answer,
                            sdp: answer.sdp,
                        }),
                        Err(error) => self.error(format!("creating the answer: {error}")),
                    }
                }
            }
            // `run` stops taking commands at `Close`.
            Command::Close => {}
            Command::AddIceCandidate(candidate) => {
                if self.remote_set {
                    self.add_candidate(candidate).await;
                } else {
                    self.early_candidates.push(candidate);
                }
            }
        }
    }

    async fn add_candidate(&mut self, candidate: RTCIceCandidateInit) {
        let text = candidate.candidate.clone();
        if let Err(error) = self.connection.add_ice_candidate(candidate).await {
            self.error(format!("add_ice_candidate(\"{text}\"): {error}"));
        }
    }

    fn error(&self, message: String) {
        self.handler.queue.push(Event::Error(message));
    }

    /// A description webrtc-rs refused: report it, and put the main thread's signaling state
    /// back to what webrtc-rs actually has.
    fn rejected(&self, message: String) {
        self.error(message);
        let state = self
            .handler
            .signaling
            .lock()
            .map(|s| *s)
            .unwrap_or(SignalingState::Stable);
        self.handler.queue.push(Event::SignalingState(state));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_without_a_usable_fingerprint_is_refused() {
        let sdp = |fingerprint: &str| {
            format!(
                "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n{fingerprint}\
                 m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
                 a=mid:0\r\na=setup:actpass\r\na=sctp-port:5000\r\n"
            )
        };
        let good = format!("a=fingerprint:sha-256 {}\r\n", ["AB"; 32].join(":"));
        parse_description(SdpKind::Offer, &sdp(&good)).unwrap();
        parse_description(SdpKind::Offer, &sdp(&good.replace("sha-256", "SHA-256"))).unwrap();
        for (fingerprint, why) in [
            (String::new(), "no a=fingerprint"),
            (good.replace("sha-256", "sha-999"), "\"sha-999\""),
            (good.replacen("AB:AB:", "AB:", 1), "32 hexadecimal bytes"),
            (good.replacen("AB:AB:", "ZZ:AB:", 1), "32 hexadecimal bytes"),
        ] {
            let error = parse_description(SdpKind::Offer, &sdp(&fingerprint)).unwrap_err();
            assert!(error.to_string().contains(why), "{error}");
        }
    }

    #[test]
    fn the_mid_is_read_from_the_first_media_section() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
                   a=mid:0\r\na=setup:passive\r\na=sctp-port:5000\r\n";
        let description = RTCSessionDescription::answer(sdp.to_owned()).unwrap();
        assert_eq!(first_mid(&description).as_deref(), Some("0"));
    }
}
