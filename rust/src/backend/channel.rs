//! One data channel on the backend side: a handle the Godot object owns, and two tasks on
//! the shared runtime — a writer that hands queued packets to webrtc-rs in order, and a
//! reader that forwards the channel's events into the connection's [`SignalQueue`].

use super::config::ChannelOptions;
use super::events::{Event, SignalQueue};
use super::runtime;
use super::stats::{ChannelCounters, ChannelStats};
use bytes::BytesMut;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// Set once the channel has opened (or ended): the connection stops nudging for it.
    settled: AtomicBool,
    /// A `Sample` is on its way to the writer task.
    sampling: AtomicBool,
    counters: ChannelCounters,
}

impl ChannelShared {
    /// Re-reads SCTP's count of bytes handed over but not yet acknowledged.
    async fn sample_in_flight(&self, channel: &Arc<dyn DataChannel>) {
        if let Ok(in_flight) = channel.outstanding_bytes().await {
            self.in_flight.store(in_flight, Ordering::Relaxed);
        }
    }
}

/// Holds back the first messages on negotiated channels while the peer may not be able to
/// take them yet.
///
/// webrtc-rs 0.21.1 wires a negotiated channel to its SCTP stream only when it handles the
/// "SCTP handshake complete" event, and it handles events after the whole batch of
/// datagrams it has just read. Data that the SCTP server sends right after its COOKIE-ACK
/// can land in the same batch at the client, which then drops it ("data channel not
/// existed") although SCTP has acknowledged it: a reliable message lost for good. In a
/// 16-player `WebRTCMultiplayerPeer` mesh this lost the scene-cache message of one peer in
/// every run and froze its game. So the SCTP server (the DTLS server: an answerer of ours,
/// or an offerer whose peer answered `a=setup:active`) waits before its first negotiated
/// send until it has heard anything from the peer on any channel — proof the peer has
/// handled the event — or [`FIRST_SEND_HOLD`] has passed. The client side never waits: the
/// server is always ready before the client can send.
#[derive(Debug, Default)]
pub(crate) struct FirstSendGate {
    /// This side is the SCTP server (decided when both descriptions are known).
    server: AtomicBool,
    heard: AtomicBool,
    wake: Notify,
}

/// The longest a first negotiated message is held for a peer that says nothing.
pub(crate) const FIRST_SEND_HOLD: Duration = Duration::from_millis(100);

impl FirstSendGate {
    pub(crate) fn set_server(&self, server: bool) {
        self.server.store(server, Ordering::Release);
    }

    /// Something arrived from the peer.
    fn heard(&self) {
        if !self.heard.swap(true, Ordering::AcqRel) {
            self.wake.notify_waiters();
        }
    }

    async fn wait(&self) {
        if !self.server.load(Ordering::Acquire) {
            return;
        }
        let _ = tokio::time::timeout(FIRST_SEND_HOLD, async {
            loop {
                let woken = self.wake.notified();
                if self.heard.load(Ordering::Acquire) {
                    return;
                }
                woken.await;
            }
        })
        .await;
    }
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

pub(crate) fn channel_pair(key: ChannelKey) -> (ChannelHandle, ChannelEnd) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(ChannelShared::default());
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
        self.outgoing
            .send(Outgoing::Message {
                is_string,
                data: BytesMut::from(data),
            })
            .map_err(|_| {
                self.shared.queued.fetch_sub(data.len(), Ordering::Relaxed);
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
        self.shared.counters.snapshot(self.buffered_amount())
    }
}

impl ChannelEnd {
    pub(crate) fn key(&self) -> ChannelKey {
        self.key
    }

    /// Whether the channel has opened (or ended), shared with the connection's nudger.
    pub(crate) fn settled(&self) -> Settled {
        Settled(self.shared.clone())
    }

    /// Starts the reader and writer tasks for a webrtc-rs channel. A `negotiated` channel's
    /// first message waits for `gate`.
    pub(crate) fn start(
        self,
        channel: Arc<dyn DataChannel>,
        connection: Weak<dyn PeerConnection>,
        queue: Arc<SignalQueue>,
        closed: watch::Receiver<bool>,
        gate: Arc<FirstSendGate>,
        negotiated: bool,
    ) {
        let key = self.key;
        runtime::spawn(read_events(
            key,
            channel.clone(),
            connection,
            queue,
            self.shared.clone(),
            gate.clone(),
        ));
        runtime::spawn(write_packets(
            self,
            channel,
            closed,
            negotiated.then_some(gate),
        ));
    }
}

/// Tells whether a channel has stopped waiting to open.
#[derive(Debug, Clone)]
pub(crate) struct Settled(Arc<ChannelShared>);

impl Settled {
    pub(crate) fn get(&self) -> bool {
        self.0.settled.load(Ordering::Acquire)
    }
}

async fn write_packets(
    mut end: ChannelEnd,
    channel: Arc<dyn DataChannel>,
    mut closed: watch::Receiver<bool>,
    mut gate: Option<Arc<FirstSendGate>>,
) {
    loop {
        let next = tokio::select! {
            next = end.outgoing.recv() => next,
            // The connection went away: nothing can be sent any more.
            _ = closed.wait_for(|closed| *closed) => break,
        };
        match next {
            Some(Outgoing::Message { is_string, data }) => {
                if let Some(gate) = gate.take() {
                    gate.wait().await;
                }
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
                end.shared.queued.fetch_sub(size, Ordering::Relaxed);
                if let Err(error) = result {
                    // A message still queued when its channel or connection closed (by
                    // either side) is dropped as a browser drops it; anything else is worth
                    // a warning.
                    if matches!(error, webrtc::error::Error::ErrDataChannelClosed) {
                        log::debug!("webrtc_rs: channel {}: dropped on close: {error}", end.key);
                    } else {
                        log::warn!("webrtc_rs: channel {}: send failed: {error}", end.key);
                    }
                } else {
                    end.shared.counters.sent(size);
                    end.shared.sample_in_flight(&channel).await;
                }
            }
            Some(Outgoing::Sample) => {
                end.shared.sampling.store(false, Ordering::Release);
                end.shared.sample_in_flight(&channel).await;
            }
            // `Close` from the Godot side, or the Godot object was freed.
            Some(Outgoing::Close) | None => {
                let _ = channel.close().await;
                break;
            }
        }
    }
}

async fn read_events(
    key: ChannelKey,
    channel: Arc<dyn DataChannel>,
    connection: Weak<dyn PeerConnection>,
    queue: Arc<SignalQueue>,
    shared: Arc<ChannelShared>,
    gate: Arc<FirstSendGate>,
) {
    // Learn about acknowledgements so the buffered amount drains back to zero.
    let _ = channel.set_buffered_amount_low_threshold(0).await;
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                shared.settled.store(true, Ordering::Release);
                let id = stream_id(&channel, &connection).await;
                queue.push(Event::ChannelOpen { key, id });
            }
            DataChannelEvent::OnMessage(message) => {
                gate.heard();
                shared.counters.received(message.data.len());
                queue.push(Event::ChannelMessage {
                    key,
                    is_string: message.is_string,
                    data: message.data,
                })
            }
            DataChannelEvent::OnBufferedAmountLow => shared.sample_in_flight(&channel).await,
            DataChannelEvent::OnClosing => queue.push(Event::ChannelClosing { key }),
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    shared.in_flight.store(0, Ordering::Relaxed);
    shared.settled.store(true, Ordering::Release);
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
        let (handle, end) = channel_pair(7);
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
        drop(end);
        assert_eq!(handle.send(false, b"x"), Err(SendError::Closed));
        assert_eq!(handle.buffered_amount(), 3 + MAX_PACKET_SIZE);
    }
}
