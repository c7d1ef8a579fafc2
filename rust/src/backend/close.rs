//! How a connection ends.
//!
//! - `close()` ([`Command::Close`](super::connection::Command::Close)), `initialize()` again,
//!   or the end of a linger: at once, as W3C's `RTCPeerConnection.close()` does. What is still
//!   queued or unacknowledged may be lost.
//! - The Godot object freed without `close()` ([`Command::Release`]: a `WebRTCMultiplayerPeer`
//!   closing or removing a peer, the game quitting): what the game sent before still
//!   arrives. Every message sent before the release has reached SCTP by the time the task
//!   reads the release, because the task carries out commands in order. So each open channel
//!   is closed, SCTP queues its stream reset behind that data, and the connection waits until
//!   the peer has closed every one of them too: a peer completes a reset only once it has
//!   received, and its stack has taken, everything sent before it (RFC 6525), which an
//!   acknowledgement alone does not promise. Then it ends as `close()` does. A channel that
//!   never opened has nobody to deliver to and is not waited for.
//! - A channel's Godot object freed (WebRTCMultiplayerPeer frees all of a peer's channels
//!   together, and its peer takes the whole peer for gone once any of them closes): its stream
//!   is reset only once the peer has acknowledged everything sent on the connection
//!   ([`HeldResets`]).
//!
//! [`Command::Release`]: super::connection::Command::Release

use super::channel::ChannelKey;
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;

/// The longest a released connection stays up to deliver what was sent before: a peer that
/// has gone away answers no stream reset.
pub const LINGER: Duration = Duration::from_secs(2);

/// Where a connection's task stands.
#[derive(Debug)]
pub(crate) enum Phase {
    Open,
    /// Released: waiting for the peer to close these channels, until `deadline`.
    Lingering {
        waiting: HashSet<ChannelKey>,
        deadline: Instant,
    },
    /// Nothing more to do: close the webrtc-rs connection and stop.
    Done,
}

impl Phase {
    /// Released, with `open` the channels that opened and have not ended.
    pub(crate) fn released(open: impl IntoIterator<Item = ChannelKey>) -> Self {
        let waiting: HashSet<_> = open.into_iter().collect();
        if waiting.is_empty() {
            Self::Done
        } else {
            Self::Lingering {
                waiting,
                deadline: Instant::now() + LINGER,
            }
        }
    }

    /// A channel ended (closed by both sides, or lost with the connection).
    pub(crate) fn channel_ended(&mut self, key: ChannelKey) {
        if let Self::Lingering { waiting, .. } = self {
            waiting.remove(&key);
            if waiting.is_empty() {
                *self = Self::Done;
            }
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Self::Lingering { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }
}

/// Stream resets held back until nothing is in flight on the connection.
///
/// SCTP resets a stream once that stream's own data is out, but a reset of an idle stream
/// overtakes data still queued on another: freeing a peer's channels right after a burst of
/// RPCs on its reliable channel would reset the unreliable ones at once, and the peer would
/// forget the sender before the RPCs arrived. Once the peer has acknowledged the data, its
/// stack holds it and hands it on before it processes a reset sent later. A peer that never
/// acknowledges holds the reset for at most [`LINGER`].
#[derive(Debug, Default)]
pub(crate) struct HeldResets {
    keys: Vec<ChannelKey>,
    deadline: Option<Instant>,
}

impl HeldResets {
    pub(crate) fn hold(&mut self, key: ChannelKey) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
        self.deadline.get_or_insert_with(|| Instant::now() + LINGER);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Everything held, to be reset now.
    pub(crate) fn release(&mut self) -> Vec<ChannelKey> {
        self.deadline = None;
        std::mem::take(&mut self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_waits_for_each_open_channel_then_ends() {
        assert!(matches!(Phase::released([]), Phase::Done));
        let mut phase = Phase::released([1, 2]);
        assert!(phase.deadline().is_some());
        phase.channel_ended(1);
        assert!(matches!(phase, Phase::Lingering { .. }));
        phase.channel_ended(3);
        phase.channel_ended(2);
        assert!(matches!(phase, Phase::Done));
        let mut held = HeldResets::default();
        held.hold(4);
        held.hold(4);
        assert!(held.deadline().is_some());
        assert_eq!(held.release(), vec![4]);
        assert!(held.is_empty() && held.deadline().is_none());
        let mut open = Phase::Open;
        open.channel_ended(1);
        assert!(open.is_open());
    }
}
