//! The send side of a channel: what `put_packet` accepts, how a message reaches SCTP, and
//! what `get_buffered_amount` reports.

use super::channel::ChannelShared;
use super::error::Error;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use webrtc::data_channel::DataChannel;

/// The largest packet `put_packet` accepts, in bytes: RFC 8841's default SCTP
/// max-message-size, which every browser and webrtc-rs peer accepts. Larger packets are
/// refused with an error rather than split or dropped.
pub const MAX_PACKET_SIZE: usize = 65536;

/// Refuses what no peer could receive, before it is queued.
pub(crate) fn check_packet(is_string: bool, data: &[u8]) -> Result<(), Error> {
    if data.len() > MAX_PACKET_SIZE {
        return Err(Error::PacketTooLarge { size: data.len() });
    }
    if is_string && std::str::from_utf8(data).is_err() {
        return Err(Error::NotUtf8);
    }
    Ok(())
}

/// SCTP's count of bytes handed over but not yet acknowledged, as last sampled.
///
/// webrtc-rs keeps the true count inside its core, readable only by an `async` call that
/// takes the core's lock, which the main thread must not wait for. So the task samples it:
/// after each batch of sends, when webrtc-rs reports it fell to zero, and when the game asks
/// (`buffered_amount` reads the last sample and requests a fresh one, which the next read
/// sees). A sender pacing itself on the value every frame is then within a frame of the
/// truth instead of waiting for its whole backlog to be acknowledged.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    bytes: AtomicUsize,
    /// A sample has been requested and not yet taken.
    requested: AtomicBool,
}

impl InFlight {
    /// The last sample; asks for a fresh one through `request` if bytes were in flight.
    pub(crate) fn read(&self, request: impl FnOnce() -> bool) -> usize {
        let bytes = self.bytes.load(Ordering::Relaxed);
        if bytes > 0 && !self.requested.swap(true, Ordering::AcqRel) && !request() {
            self.requested.store(false, Ordering::Release);
        }
        bytes
    }

    /// The last sample.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Takes a fresh sample from webrtc-rs (on the connection's task).
    pub(crate) async fn sample(&self, channel: &Arc<dyn DataChannel>) {
        self.requested.store(false, Ordering::Release);
        if let Ok(bytes) = channel.outstanding_bytes().await {
            self.bytes.store(bytes, Ordering::Relaxed);
        }
    }

    /// The channel ended: nothing is in flight any more.
    pub(crate) fn clear(&self) {
        self.bytes.store(0, Ordering::Relaxed);
    }
}

/// Hands one message to SCTP (on the connection's task). Returns whether it was taken.
pub(crate) async fn hand_over(
    shared: &ChannelShared,
    channel: &Arc<dyn DataChannel>,
    is_string: bool,
    data: bytes::BytesMut,
) -> bool {
    let size = data.len();
    let result = if is_string {
        // Checked to be UTF-8 by `check_packet`, so this cannot fail.
        match std::str::from_utf8(&data) {
            Ok(text) => channel.send_text(text).await,
            Err(_) => Ok(()),
        }
    } else {
        channel.send(data).await
    };
    shared.dequeued(size);
    match result {
        Ok(()) => {
            shared.counters.sent(size);
            true
        }
        // A message still queued when its channel or connection closed (by either side) is
        // dropped as a browser drops it; anything else is worth a warning.
        Err(webrtc::error::Error::ErrDataChannelClosed) => {
            log::debug!("webrtc_rs: channel {}: dropped on close", shared.key);
            false
        }
        Err(error) => {
            log::warn!("webrtc_rs: channel {}: send failed: {error}", shared.key);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_checked_for_size_and_text() {
        assert_eq!(
            check_packet(false, &vec![0u8; MAX_PACKET_SIZE + 1]),
            Err(Error::PacketTooLarge {
                size: MAX_PACKET_SIZE + 1
            })
        );
        assert_eq!(check_packet(true, &[0xff, 0xfe]), Err(Error::NotUtf8));
        // A NUL byte is valid UTF-8 and must travel as text untouched.
        assert_eq!(check_packet(true, b"a\0b"), Ok(()));
        assert_eq!(check_packet(false, &vec![1u8; MAX_PACKET_SIZE]), Ok(()));
    }

    #[test]
    fn a_sample_is_requested_once_until_taken() {
        let in_flight = InFlight::default();
        let mut requests = 0;
        // Nothing in flight: nothing to refresh.
        assert_eq!(in_flight.read(|| unreachable!()), 0);
        in_flight.bytes.store(10, Ordering::Relaxed);
        assert_eq!(
            in_flight.read(|| {
                requests += 1;
                true
            }),
            10
        );
        assert_eq!(in_flight.read(|| unreachable!()), 10);
        assert_eq!(requests, 1);
        // A request that could not be sent (the connection ended) may be made again.
        in_flight.requested.store(false, Ordering::Release);
        assert_eq!(in_flight.read(|| false), 10);
        assert!(!in_flight.requested.load(Ordering::Acquire));
    }
}
