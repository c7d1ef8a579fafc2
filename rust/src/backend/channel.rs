//! One data channel on the backend side: a handle the Godot object owns, and two tasks on
//! the shared runtime — a writer that hands queued packets to webrtc-rs in order, and a
//! reader that forwards the channel's events into the connection's [`SignalQueue`].

use super::config::ChannelOptions;
use super::events::{Event, SignalQueue};
use super::runtime;
use super::stats::{ChannelCounters, ChannelStats};
use bytes::BytesMut;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{PeerConnection, StatsSelector};

/// Identifies a channel within its connection, from the moment it is created (the SCTP
/// stream id of an in-band channel is only known once it opens).
pub type ChannelKey = u64;

/// The largest packet `put_packet` accepts, in bytes: RFC 8841's default SCTP
/// max-message-size, which every browser and webrtc-rs peer accepts. Larger packets are
/// refused with an error rather than split or dropped.
pub const MAX_PACKET_SIZE: usize = 65536;

/// What a channel was created with, as the Godot getters report it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelInfo {
    pub key: ChannelKey,
    pub label: String,
    pub options: ChannelOptions,
}

#[derive(Debug)]
enum Outgoing {
    Message {
        is_string: bool,
        data: BytesMut,
    },
    /// Re-read SCTP's count of unacknowledged bytes (asked for by `buffered_amount`).
    Sample,
    Close,
}

/// Counters both sides read without locks.
#[derive(Debug, Default)]
struct ChannelShared {
    /// Bytes given to `send` that the writer task has not yet handed to SCTP.
    queued: AtomicUsize,
    /// SCTP's own count of bytes handed over but not yet acknowledged, as last sampled.
    in_flight: AtomicUsize,
    /// Set once the channel has opened.
    opened: AtomicBool,
    /// Set (and signalled) when the reader has seen the channel end.
    ended: AtomicBool,
    ended_notify: Notify,
    /// A `Sample` is on its way to the writer task.
    sampling: AtomicBool,
    counters: ChannelCounters,
    receive: ReceiveBuffer,
    /// The connection's writers: every message queued here is counted there too.
    writers: Arc<Writers>,
}

/// What a channel has received that the game has not read yet, and its bound.
///
/// A reliable channel stops taking messages from webrtc-rs once `limit` bytes wait unread:
/// webrtc-rs then stops reading the association, SCTP's receive window closes and the peer
/// slows down — so a game that stops reading (a loading screen, a long frame) costs bounded
/// memory and loses nothing. It resumes as soon as the game reads. An unreliable channel
/// never holds the association back: the Godot side drops its oldest unread messages beyond
/// `limit`, and while the game does not poll at all, newly arriving ones beyond twice that.
#[derive(Debug, Default)]
struct ReceiveBuffer {
    limit: usize,
    reliable: bool,
    /// Bytes handed to the connection's queue and not yet read or dropped by the game.
    unread: AtomicUsize,
    /// Signalled when the game reads (and when its channel object goes away).
    room: Notify,
    /// The Godot object is gone: nothing will read any more.
    released: AtomicBool,
    dropped: AtomicU64,
}

impl ReceiveBuffer {
    /// Waits while a reliable channel is at its limit (see [`ReceiveBuffer`]), until the
    /// game reads, lets go of the channel, or the connection aborts.
    async fn room(&self, ending: &mut watch::Receiver<Ending>) {
        if !self.reliable {
            return;
        }
        until_or_abort(&self.room, ending, || {
            self.unread.load(Ordering::Acquire) < self.limit
                || self.released.load(Ordering::Acquire)
        })
        .await;
    }

    /// The game has read, or dropped, `bytes` of what was received.
    fn taken(&self, bytes: usize) {
        let before = self.unread.fetch_sub(bytes, Ordering::AcqRel);
        if before >= self.limit && before - bytes < self.limit {
            self.room.notify_waiters();
        }
    }
}

impl ChannelShared {
    /// Waits (at most [`LINGER`], and not past an abort) until the reader has seen the
    /// channel end: closed on both sides, after the peer took what was sent before. A
    /// channel that never opened has nobody to deliver to and no peer to answer its close.
    async fn closed(&self, ending: &watch::Receiver<Ending>) {
        if !self.opened.load(Ordering::Acquire) {
            return;
        }
        let mut ending = ending.clone();
        let ended = until_or_abort(&self.ended_notify, &mut ending, || {
            self.ended.load(Ordering::Acquire)
        });
        let _ = tokio::time::timeout(LINGER, ended).await;
    }

    /// `bytes` queued by the game left the queue: handed to SCTP, or dropped.
    fn dequeued(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
        self.writers.handed_over();
    }

    /// Re-reads SCTP's count of bytes handed over but not yet acknowledged.
    async fn sample_in_flight(&self, channel: &Arc<dyn DataChannel>) {
        if let Ok(in_flight) = channel.outstanding_bytes().await {
            self.in_flight.store(in_flight, Ordering::Relaxed);
        }
    }
}

/// How the connection stands, as its channels' writer tasks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Open,
    /// The Godot object was freed (a `WebRTCMultiplayerPeer` closing or removing a peer, the
    /// game quitting) without `close()`: what the game sent before still goes out, and the
    /// connection closes once the peer has acknowledged it (or after [`LINGER`]).
    Drain,
    /// `close()`, `initialize()` or the end of the linger: stop at once, as W3C's
    /// `RTCPeerConnection.close()` does.
    Abort,
}

/// The longest a freed connection stays up to deliver what was sent before.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// Waits until `done` holds, checking again whenever `wake` is notified, unless the
/// connection aborts first.
async fn until_or_abort(
    wake: &Notify,
    ending: &mut watch::Receiver<Ending>,
    done: impl Fn() -> bool,
) {
    loop {
        let woken = wake.notified();
        if done() {
            return;
        }
        tokio::select! {
            () = woken => {}
            _ = ending.wait_for(|ending| *ending == Ending::Abort) => return,
        }
    }
}

/// A connection's writer tasks: how many run (a draining connection waits for them), and
/// how many messages the game has queued on any of its channels that no writer has handed
/// to SCTP yet.
#[derive(Debug, Default)]
pub(crate) struct Writers {
    running: AtomicUsize,
    finished: Notify,
    queued: AtomicUsize,
    handed_over: Notify,
    /// When a reader of this connection last delivered a message (µs since `EPOCH`).
    last_delivery: AtomicU64,
}

/// The close of one channel waits until the connection's other channels have delivered
/// nothing for this long (at most [`CLOSE_HOLD`]).
const QUIET_BEFORE_CLOSE: Duration = Duration::from_millis(20);
const CLOSE_HOLD: Duration = Duration::from_millis(250);

/// A fixed point for `last_delivery` timestamps.
static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

impl Writers {
    fn delivered(&self) {
        self.last_delivery
            .store(EPOCH.elapsed().as_micros() as u64, Ordering::Release);
    }

    /// Holds a channel's close until the connection's other channels have gone quiet.
    ///
    /// Each channel has its own reader task and webrtc-rs its own queue per channel, so a
    /// close on one channel can overtake messages another channel received just before it.
    /// WebRTCMultiplayerPeer forgets a peer as soon as any of its channels closes, so a last
    /// RPC relayed just before the peer's channels are freed (one stream reset per channel)
    /// would be lost. The messages are already in their channels' queues when the close
    /// arrives, so a short quiet period lets their readers deliver them first.
    async fn quiet(&self) {
        let deadline = Instant::now() + CLOSE_HOLD;
        while Instant::now() < deadline {
            let last = Duration::from_micros(self.last_delivery.load(Ordering::Acquire));
            if EPOCH.elapsed().saturating_sub(last) >= QUIET_BEFORE_CLOSE {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn queued(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
    }

    fn handed_over(&self) {
        if self.queued.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.handed_over.notify_waiters();
        }
    }

    /// Resolves once every message queued on the connection so far is in SCTP's hands (or
    /// the connection aborts).
    async fn all_handed_over(&self, ending: &watch::Receiver<Ending>) {
        let mut ending = ending.clone();
        until_or_abort(&self.handed_over, &mut ending, || {
            self.queued.load(Ordering::Acquire) == 0
        })
        .await;
    }

    /// Resolves once no writer is running.
    pub(crate) async fn all_done(&self) {
        loop {
            let finished = self.finished.notified();
            if self.running.load(Ordering::Acquire) == 0 {
                return;
            }
            finished.await;
        }
    }
}

/// Held by a writer task for its whole life (dropped even when the task is cancelled).
struct Running(Arc<Writers>);

impl Running {
    fn new(writers: Arc<Writers>) -> Self {
        writers.running.fetch_add(1, Ordering::AcqRel);
        Self(writers)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.finished.notify_waiters();
        }
    }
}

/// What a connection hands each of its channels' tasks.
#[derive(Clone)]
pub(crate) struct ConnectionLink {
    pub(crate) connection: Weak<dyn PeerConnection>,
    pub(crate) queue: Arc<SignalQueue>,
    pub(crate) ending: watch::Receiver<Ending>,
    pub(crate) writers: Arc<Writers>,
    /// What each channel may hold unread (see [`ReceiveBuffer`]).
    pub(crate) receive_buffer: usize,
}

/// Why a packet was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    TooLarge { size: usize },
    NotUtf8,
    Closed,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { size } => write!(
                f,
                "packet of {size} bytes exceeds the maximum packet size of {MAX_PACKET_SIZE} bytes"
            ),
            Self::NotUtf8 => write!(
                f,
                "a packet sent in WRITE_MODE_TEXT must be valid UTF-8 (use WRITE_MODE_BINARY for raw bytes)"
            ),
            Self::Closed => write!(f, "the channel is closed"),
        }
    }
}

/// The Godot object's end of a channel. Dropping it closes the channel.
#[derive(Debug)]
pub struct ChannelHandle {
    key: ChannelKey,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    shared: Arc<ChannelShared>,
}

/// The backend's end, kept until the webrtc-rs channel exists and the tasks start.
pub(crate) struct ChannelEnd {
    key: ChannelKey,
    outgoing: mpsc::UnboundedReceiver<Outgoing>,
    shared: Arc<ChannelShared>,
}

/// `receive_limit`: see [`ReceiveBuffer`]; `reliable`: neither retransmit limit is set.
pub(crate) fn channel_pair(
    key: ChannelKey,
    receive_limit: usize,
    reliable: bool,
    writers: Arc<Writers>,
) -> (ChannelHandle, ChannelEnd) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(ChannelShared {
        receive: ReceiveBuffer {
            limit: receive_limit,
            reliable,
            ..Default::default()
        },
        writers,
        ..Default::default()
    });
    (
        ChannelHandle {
            key,
            outgoing: tx,
            shared: shared.clone(),
        },
        ChannelEnd {
            key,
            outgoing: rx,
            shared,
        },
    )
}

impl ChannelHandle {
    pub fn key(&self) -> ChannelKey {
        self.key
    }

    /// Queues one message. Never blocks: the writer task hands it to SCTP in order.
    pub fn send(&self, is_string: bool, data: &[u8]) -> Result<(), SendError> {
        if data.len() > MAX_PACKET_SIZE {
            return Err(SendError::TooLarge { size: data.len() });
        }
        if is_string && std::str::from_utf8(data).is_err() {
            return Err(SendError::NotUtf8);
        }
        self.shared.queued.fetch_add(data.len(), Ordering::Relaxed);
        self.shared.writers.queued();
        self.outgoing
            .send(Outgoing::Message {
                is_string,
                data: BytesMut::from(data),
            })
            .map_err(|_| {
                self.shared.dequeued(data.len());
                SendError::Closed
            })
    }

    /// Starts the closing handshake; the reader reports `ChannelClosed` when it is done.
    pub fn close(&self) {
        let _ = self.outgoing.send(Outgoing::Close);
    }

    /// Bytes queued or in flight and not yet acknowledged by the peer.
    ///
    /// The in-flight part is a sample: webrtc-rs only reports it when asked (asynchronously)
    /// or when it drops to zero. So reading it also asks for a fresh sample, which the next
    /// read sees; a sender pacing itself on this value every frame stays within a frame of
    /// the truth instead of waiting for the whole backlog to be acknowledged.
    pub fn buffered_amount(&self) -> usize {
        let in_flight = self.shared.in_flight.load(Ordering::Relaxed);
        if in_flight > 0
            && !self.shared.sampling.swap(true, Ordering::AcqRel)
            && self.outgoing.send(Outgoing::Sample).is_err()
        {
            self.shared.sampling.store(false, Ordering::Release);
        }
        self.shared.queued.load(Ordering::Relaxed) + in_flight
    }

    /// Messages and bytes that went out and came in, and what is still buffered.
    pub fn stats(&self) -> ChannelStats {
        let mut stats = self.shared.counters.snapshot(self.buffered_amount());
        stats.messages_dropped = self.shared.receive.dropped.load(Ordering::Relaxed);
        stats
    }

    /// The game read a received message of `bytes` (see [`ReceiveBuffer`]).
    pub fn read(&self, bytes: usize) {
        self.shared.receive.taken(bytes);
    }

    /// A received message of `bytes` was dropped unread: an unreliable channel over its
    /// limit, or a channel the game closed.
    pub fn discard(&self, bytes: usize) {
        self.shared.receive.dropped.fetch_add(1, Ordering::Relaxed);
        self.shared.receive.taken(bytes);
    }

    /// What an unreliable channel keeps unread before it drops its oldest message.
    pub fn receive_limit(&self) -> usize {
        self.shared.receive.limit
    }

    pub fn is_reliable(&self) -> bool {
        self.shared.receive.reliable
    }
}

impl Drop for ChannelHandle {
    fn drop(&mut self) {
        // Nothing will read any more: a reader waiting for room must not wait forever.
        self.shared.receive.released.store(true, Ordering::Release);
        self.shared.receive.room.notify_waiters();
    }
}

impl ChannelEnd {
    pub(crate) fn key(&self) -> ChannelKey {
        self.key
    }

    /// Forgets what is still queued: it will never be sent.
    fn discard_queued(&mut self) {
        while let Ok(next) = self.outgoing.try_recv() {
            if let Outgoing::Message { data, .. } = next {
                self.shared.dequeued(data.len());
            }
        }
    }

    /// Starts the reader and writer tasks for a webrtc-rs channel.
    pub(crate) fn start(self, channel: Arc<dyn DataChannel>, link: ConnectionLink) {
        let key = self.key;
        let running = Running::new(link.writers.clone());
        runtime::spawn(read_events(
            key,
            channel.clone(),
            link.connection,
            link.queue,
            self.shared.clone(),
            link.ending.clone(),
        ));
        runtime::spawn(write_packets(self, channel, link.ending, running));
    }
}

impl Drop for ChannelEnd {
    /// Whatever is left queued (the connection ended first) will never go out.
    fn drop(&mut self) {
        self.discard_queued();
    }
}

async fn write_packets(
    mut end: ChannelEnd,
    channel: Arc<dyn DataChannel>,
    mut ending: watch::Receiver<Ending>,
    _running: Running,
) {
    loop {
        let next = tokio::select! {
            // Checked first, so `close()` is not kept waiting by a long queue.
            biased;
            changed = ending.changed() => {
                match changed.map(|()| *ending.borrow_and_update()) {
                    Ok(Ending::Open) => continue,
                    Ok(Ending::Drain) => drain(&mut end, &channel, &ending).await,
                    Ok(Ending::Abort) | Err(_) => {}
                }
                break;
            }
            next = end.outgoing.recv() => next,
        };
        match next {
            Some(Outgoing::Message { is_string, data }) => {
                send(&end, &channel, is_string, data).await;
            }
            Some(Outgoing::Sample) => {
                end.shared.sampling.store(false, Ordering::Release);
                end.shared.sample_in_flight(&channel).await;
            }
            // `close()`: the messages queued before it went out above, and SCTP delivers them
            // before the stream is reset. A connection being freed right after waits for this
            // writer, so it stays until they are acknowledged.
            Some(Outgoing::Close) => {
                let _ = channel.close().await;
                end.shared.closed(&ending).await;
                break;
            }
            // The Godot object was freed. Objects are freed together (WebRTCMultiplayerPeer
            // frees a peer's channels at once), and a peer that sees one of them close takes
            // the whole peer for gone: so this stream is reset only once what the game queued
            // on every channel of the connection is in SCTP, where the reset queues behind it.
            None => {
                end.shared.writers.all_handed_over(&ending).await;
                let _ = channel.close().await;
                end.shared.closed(&ending).await;
                break;
            }
        }
    }
}

/// Hands one message to SCTP.
async fn send(end: &ChannelEnd, channel: &Arc<dyn DataChannel>, is_string: bool, data: BytesMut) {
    let size = data.len();
    let result = if is_string {
        // Checked to be UTF-8 in `send`, so this cannot fail.
        match std::str::from_utf8(&data) {
            Ok(text) => channel.send_text(text).await,
            Err(_) => Ok(()),
        }
    } else {
        channel.send(data).await
    };
    end.shared.dequeued(size);
    match result {
        Ok(()) => {
            end.shared.counters.sent(size);
            // Once per batch rather than per message: asking costs a round through
            // webrtc-rs's core lock, a sizeable share of what sending a small message costs.
            if end.outgoing.is_empty() {
                end.shared.sample_in_flight(channel).await;
            }
        }
        // A message still queued when its channel or connection closed (by either side) is
        // dropped as a browser drops it; anything else is worth a warning.
        Err(webrtc::error::Error::ErrDataChannelClosed) => {
            log::debug!("webrtc_rs: channel {}: dropped on close", end.key);
        }
        Err(error) => log::warn!("webrtc_rs: channel {}: send failed: {error}", end.key),
    }
}

/// The connection was freed without `close()`: hands SCTP what the game queued, then closes
/// the channel (once everything queued on the connection is in SCTP, as for a freed channel)
/// and waits until the peer has closed it too. The peer completes a stream reset only once
/// it has received, and its stack has taken, everything sent before it (RFC 6525), which an
/// acknowledgement alone does not promise: the connection's final abort would discard what
/// the peer's stack acknowledged but had not yet handed on. A channel that never opened has
/// nobody to deliver to.
async fn drain(
    end: &mut ChannelEnd,
    channel: &Arc<dyn DataChannel>,
    ending: &watch::Receiver<Ending>,
) {
    if !end.shared.opened.load(Ordering::Acquire) {
        end.discard_queued();
        return;
    }
    while let Ok(next) = end.outgoing.try_recv() {
        match next {
            Outgoing::Message { is_string, data } => send(end, channel, is_string, data).await,
            Outgoing::Sample | Outgoing::Close => {}
        }
    }
    end.shared.writers.all_handed_over(ending).await;
    let _ = channel.close().await;
    end.shared.closed(ending).await;
}

async fn read_events(
    key: ChannelKey,
    channel: Arc<dyn DataChannel>,
    connection: Weak<dyn PeerConnection>,
    queue: Arc<SignalQueue>,
    shared: Arc<ChannelShared>,
    mut ending: watch::Receiver<Ending>,
) {
    // Learn about acknowledgements so the buffered amount drains back to zero.
    let _ = channel.set_buffered_amount_low_threshold(0).await;
    let receive = &shared.receive;
    loop {
        receive.room(&mut ending).await;
        let Some(event) = channel.poll().await else {
            break;
        };
        match event {
            DataChannelEvent::OnOpen => {
                shared.opened.store(true, Ordering::Release);
                let id = stream_id(&channel, &connection).await;
                queue.push(Event::ChannelOpen { key, id });
            }
            DataChannelEvent::OnMessage(message) => {
                let size = message.data.len();
                shared.counters.received(size);
                if !receive.reliable && receive.unread.load(Ordering::Acquire) >= 2 * receive.limit
                {
                    // The game is not even polling: keep what it has, drop the newcomer.
                    receive.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                receive.unread.fetch_add(size, Ordering::AcqRel);
                queue.push(Event::ChannelMessage {
                    key,
                    is_string: message.is_string,
                    data: message.data,
                });
                shared.writers.delivered();
            }
            DataChannelEvent::OnBufferedAmountLow => shared.sample_in_flight(&channel).await,
            DataChannelEvent::OnClosing => {
                shared.writers.quiet().await;
                queue.push(Event::ChannelClosing { key });
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    shared.writers.quiet().await;
    shared.ended.store(true, Ordering::Release);
    shared.ended_notify.notify_waiters();
    shared.in_flight.store(0, Ordering::Relaxed);
    queue.push(Event::ChannelClosed { key });
}

/// The SCTP stream id: webrtc-rs only exposes it through the statistics report, keyed by the
/// channel's local handle.
async fn stream_id(
    channel: &Arc<dyn DataChannel>,
    connection: &Weak<dyn PeerConnection>,
) -> Option<u16> {
    let connection = connection.upgrade()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_checks_size_and_text_and_counts_queued_bytes() {
        let writers = Arc::new(Writers::default());
        let (handle, end) = channel_pair(7, 1 << 20, true, writers.clone());
        assert_eq!(handle.key(), 7);
        assert_eq!(
            handle.send(false, &vec![0u8; MAX_PACKET_SIZE + 1]),
            Err(SendError::TooLarge {
                size: MAX_PACKET_SIZE + 1
            })
        );
        assert_eq!(handle.send(true, &[0xff, 0xfe]), Err(SendError::NotUtf8));
        // A NUL byte is valid UTF-8 and must travel as text untouched.
        assert_eq!(handle.send(true, b"a\0b"), Ok(()));
        assert_eq!(handle.send(false, &vec![1u8; MAX_PACKET_SIZE]), Ok(()));
        assert_eq!(handle.buffered_amount(), 3 + MAX_PACKET_SIZE);
        assert_eq!(writers.queued.load(Ordering::Acquire), 2);
        // The backend's end goes away (the connection ended): what it never sent is no
        // longer buffered, on the channel or the connection.
        drop(end);
        assert_eq!(handle.send(false, b"x"), Err(SendError::Closed));
        assert_eq!(handle.buffered_amount(), 0);
        assert_eq!(writers.queued.load(Ordering::Acquire), 0);
    }
}
