//! The receive side of a channel: how much it may hold unread, and what happens beyond that.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// What a channel has received that the game has not read yet, and its bound.
///
/// A reliable channel stops taking messages from webrtc-rs once `limit` bytes wait unread:
/// the connection's task stops polling it, webrtc-rs then stops reading the association,
/// SCTP's receive window closes and the peer slows down. So a game that stops reading (a
/// loading screen, a long frame) costs bounded memory and loses nothing, and the channel
/// resumes as soon as the game reads. An unreliable channel never holds the association back:
/// the Godot side drops its oldest unread messages beyond `limit`, and while the game does
/// not poll at all, newly arriving ones beyond twice that.
#[derive(Debug)]
pub(crate) struct ReceiveBuffer {
    limit: usize,
    reliable: bool,
    /// Bytes handed to the connection's queue and not yet read or dropped by the game.
    unread: AtomicUsize,
    /// The connection's: notified when a paused channel may take messages again.
    room: Arc<Notify>,
    /// The Godot object is gone: nothing will read any more.
    released: AtomicBool,
    dropped: AtomicU64,
}

/// What becomes of a message that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    Deliver,
    /// An unreliable channel whose game is not polling: keep what it has, drop the newcomer.
    Drop,
}

impl ReceiveBuffer {
    pub(crate) fn new(limit: usize, reliable: bool, room: Arc<Notify>) -> Self {
        Self {
            limit,
            reliable,
            unread: AtomicUsize::new(0),
            room,
            released: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    pub(crate) fn is_reliable(&self) -> bool {
        self.reliable
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the task may take another message from webrtc-rs for this channel.
    pub(crate) fn has_room(&self) -> bool {
        !self.reliable
            || self.unread.load(Ordering::Acquire) < self.limit
            || self.released.load(Ordering::Acquire)
    }

    /// A message of `bytes` arrived (on the task): count it, or say to drop it.
    pub(crate) fn arrived(&self, bytes: usize) -> Arrival {
        if !self.reliable && self.unread.load(Ordering::Acquire) >= 2 * self.limit {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Arrival::Drop;
        }
        self.unread.fetch_add(bytes, Ordering::AcqRel);
        Arrival::Deliver
    }

    /// The game has read `bytes` of what was received.
    pub(crate) fn taken(&self, bytes: usize) {
        let before = self.unread.fetch_sub(bytes, Ordering::AcqRel);
        if self.reliable && before >= self.limit && before - bytes < self.limit {
            self.room.notify_one();
        }
    }

    /// The game dropped `bytes` of what was received, unread.
    pub(crate) fn discarded(&self, bytes: usize) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.taken(bytes);
    }

    /// The Godot object went away: a paused channel must not wait for it.
    pub(crate) fn release(&self) {
        self.released.store(true, Ordering::Release);
        self.room.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reliable_channel_pauses_at_its_limit_and_resumes_when_read() {
        let room = Arc::new(Notify::new());
        let buffer = ReceiveBuffer::new(100, true, room.clone());
        assert_eq!(buffer.arrived(60), Arrival::Deliver);
        assert!(buffer.has_room());
        assert_eq!(buffer.arrived(60), Arrival::Deliver);
        assert!(!buffer.has_room());
        buffer.taken(60);
        assert!(buffer.has_room());
        // The crossing below the limit left a permit for the task.
        assert!(futures_ready(room.notified()));
    }

    #[test]
    fn an_unreliable_channel_never_pauses_and_drops_newcomers_beyond_twice_its_limit() {
        let buffer = ReceiveBuffer::new(100, false, Arc::new(Notify::new()));
        assert_eq!(buffer.arrived(150), Arrival::Deliver);
        assert!(buffer.has_room());
        assert_eq!(buffer.arrived(60), Arrival::Deliver);
        assert_eq!(buffer.arrived(1), Arrival::Drop);
        assert_eq!(buffer.dropped(), 1);
    }

    #[test]
    fn a_released_channel_has_room() {
        let buffer = ReceiveBuffer::new(10, true, Arc::new(Notify::new()));
        buffer.arrived(20);
        assert!(!buffer.has_room());
        buffer.release();
        assert!(buffer.has_room());
    }

    fn futures_ready(future: impl std::future::Future<Output = ()>) -> bool {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        let mut future = std::pin::pin!(future);
        future.as_mut().poll(&mut context).is_ready()
    }
}
