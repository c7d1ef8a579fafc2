//! The one queue that crosses from the background runtime to Godot's main thread, and the
//! values that travel on it. Nothing here knows about Godot: the states mirror the enums of
//! Godot's `WebRTCPeerConnection` / `WebRTCDataChannel` one to one, so the Godot layer maps
//! them with a plain `match`.

use super::channel::{ChannelHandle, ChannelInfo, ChannelKey};
use bytes::BytesMut;
use std::collections::VecDeque;
use std::sync::Mutex;
use webrtc::peer_connection::{
    RTCIceGatheringState, RTCPeerConnectionState, RTCSdpType, RTCSignalingState,
};

/// `WebRTCPeerConnection.ConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// `WebRTCPeerConnection.GatheringState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatheringState {
    New,
    Gathering,
    Complete,
}

/// `WebRTCPeerConnection.SignalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    Stable,
    HaveLocalOffer,
    HaveRemoteOffer,
    HaveLocalPranswer,
    HaveRemotePranswer,
    Closed,
}

/// `WebRTCDataChannel.ChannelState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    Connecting,
    Open,
    Closing,
    Closed,
}

impl From<RTCPeerConnectionState> for ConnectionState {
    fn from(state: RTCPeerConnectionState) -> Self {
        match state {
            RTCPeerConnectionState::Connecting => Self::Connecting,
            RTCPeerConnectionState::Connected => Self::Connected,
            RTCPeerConnectionState::Disconnected => Self::Disconnected,
            RTCPeerConnectionState::Failed => Self::Failed,
            RTCPeerConnectionState::Closed => Self::Closed,
            // `New`, and `Unspecified` which the core never reports after construction.
            _ => Self::New,
        }
    }
}

impl From<RTCIceGatheringState> for GatheringState {
    fn from(state: RTCIceGatheringState) -> Self {
        match state {
            RTCIceGatheringState::Gathering => Self::Gathering,
            RTCIceGatheringState::Complete => Self::Complete,
            _ => Self::New,
        }
    }
}

impl From<RTCSignalingState> for SignalingState {
    fn from(state: RTCSignalingState) -> Self {
        match state {
            RTCSignalingState::HaveLocalOffer => Self::HaveLocalOffer,
            RTCSignalingState::HaveRemoteOffer => Self::HaveRemoteOffer,
            RTCSignalingState::HaveLocalPranswer => Self::HaveLocalPranswer,
            RTCSignalingState::HaveRemotePranswer => Self::HaveRemotePranswer,
            RTCSignalingState::Closed => Self::Closed,
            _ => Self::Stable,
        }
    }
}

/// The description types Godot's API names as strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    Offer,
    Answer,
    Pranswer,
}

impl SdpKind {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "offer" => Some(Self::Offer),
            "answer" => Some(Self::Answer),
            "pranswer" => Some(Self::Pranswer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Answer => "answer",
            Self::Pranswer => "pranswer",
        }
    }

    pub(crate) fn from_rtc(kind: RTCSdpType) -> Option<Self> {
        match kind {
            RTCSdpType::Offer => Some(Self::Offer),
            RTCSdpType::Answer => Some(Self::Answer),
            RTCSdpType::Pranswer => Some(Self::Pranswer),
            _ => None,
        }
    }
}

/// Everything the main thread learns from the backend, in the order it happened.
#[derive(Debug)]
pub enum Event {
    /// `session_description_created(type, sdp)`.
    SessionDescription {
        kind: SdpKind,
        sdp: String,
    },
    /// `ice_candidate_created(mid, index, candidate)`.
    IceCandidate {
        mid: String,
        index: u16,
        candidate: String,
    },
    ConnectionState(ConnectionState),
    GatheringState(GatheringState),
    SignalingState(SignalingState),
    /// The remote peer opened an in-band channel: `data_channel_received(channel)`.
    ChannelReceived {
        info: ChannelInfo,
        handle: ChannelHandle,
    },
    /// The channel is open; `id` is the SCTP stream id it ended up with.
    ChannelOpen {
        key: ChannelKey,
        id: Option<u16>,
    },
    ChannelMessage {
        key: ChannelKey,
        is_string: bool,
        data: BytesMut,
    },
    ChannelClosing {
        key: ChannelKey,
    },
    ChannelClosed {
        key: ChannelKey,
    },
    /// A failure of an operation the main thread asked for earlier: it has already returned
    /// `OK`, so this is how the user hears of it (as a `push_error`).
    Error(String),
}

impl Event {
    /// Whether the event ends what a channel can deliver: a channel closing, or the
    /// connection leaving the connected state.
    pub fn ends_delivery(&self) -> bool {
        matches!(
            self,
            Event::ChannelClosing { .. }
                | Event::ChannelClosed { .. }
                | Event::ConnectionState(
                    ConnectionState::Disconnected
                        | ConnectionState::Failed
                        | ConnectionState::Closed
                )
        )
    }
}

/// The crossing point: background tasks push, the main thread drains in `poll()`.
///
/// A plain mutex around a deque: every critical section is a push or a swap, so contention
/// costs nanoseconds, and the main thread never waits on network work.
#[derive(Debug, Default)]
pub struct SignalQueue {
    events: Mutex<VecDeque<Event>>,
}

impl SignalQueue {
    pub fn push(&self, event: Event) {
        self.lock().push_back(event);
    }

    /// Moves every queued event to the end of `into`. When `into` is empty (the usual case)
    /// the buffers are swapped, so the caller keeps one allocation across polls.
    pub fn drain_into(&self, into: &mut VecDeque<Event>) {
        let mut queued = self.lock();
        if into.is_empty() {
            std::mem::swap(&mut *queued, into);
        } else {
            into.extend(queued.drain(..));
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Event>> {
        // A panic while holding this lock can only come from an allocation failure; the
        // deque is still consistent, so keep going rather than poisoning Godot's main thread.
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_keeps_order_and_empties_the_queue() {
        let queue = SignalQueue::default();
        queue.push(Event::GatheringState(GatheringState::Gathering));
        queue.push(Event::Error("x".into()));
        queue.push(Event::GatheringState(GatheringState::Complete));
        let mut out = VecDeque::new();
        queue.drain_into(&mut out);
        assert!(queue.is_empty());
        assert!(matches!(
            out[0],
            Event::GatheringState(GatheringState::Gathering)
        ));
        assert!(matches!(out[1], Event::Error(_)));
        assert!(matches!(
            out[2],
            Event::GatheringState(GatheringState::Complete)
        ));
    }

    #[test]
    fn drain_appends_to_what_the_caller_still_holds() {
        let queue = SignalQueue::default();
        let mut held = VecDeque::from([Event::Error("held back".into())]);
        queue.push(Event::GatheringState(GatheringState::Complete));
        queue.drain_into(&mut held);
        assert!(queue.is_empty());
        assert!(matches!(&held[0], Event::Error(text) if text == "held back"));
        assert!(matches!(
            held[1],
            Event::GatheringState(GatheringState::Complete)
        ));
    }

    #[test]
    fn closes_and_lost_connections_end_delivery() {
        assert!(Event::ChannelClosed { key: 1 }.ends_delivery());
        assert!(Event::ChannelClosing { key: 1 }.ends_delivery());
        assert!(Event::ConnectionState(ConnectionState::Disconnected).ends_delivery());
        assert!(!Event::ConnectionState(ConnectionState::Connected).ends_delivery());
        assert!(!Event::ChannelOpen { key: 1, id: None }.ends_delivery());
    }

    #[test]
    fn states_map_one_to_one() {
        assert_eq!(
            ConnectionState::from(RTCPeerConnectionState::Disconnected),
            ConnectionState::Disconnected
        );
        assert_eq!(
            ConnectionState::from(RTCPeerConnectionState::Failed),
            ConnectionState::Failed
        );
        assert_eq!(
            ConnectionState::from(RTCPeerConnectionState::Closed),
            ConnectionState::Closed
        );
        assert_eq!(
            ConnectionState::from(RTCPeerConnectionState::New),
            ConnectionState::New
        );
        assert_eq!(
            SignalingState::from(RTCSignalingState::HaveRemoteOffer),
            SignalingState::HaveRemoteOffer
        );
        assert_eq!(
            GatheringState::from(RTCIceGatheringState::Complete),
            GatheringState::Complete
        );
        assert_eq!(SdpKind::parse("offer"), Some(SdpKind::Offer));
        assert_eq!(SdpKind::parse("Offer"), None);
        assert_eq!(SdpKind::Pranswer.as_str(), "pranswer");
    }
}
