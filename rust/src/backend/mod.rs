//! The engine room: plain async Rust over webrtc-rs, with no Godot types, so `cargo test`
//! exercises it without an engine. The Godot classes talk to it through [`Connection`] and
//! [`ChannelHandle`], and hear back through the [`SignalQueue`].

pub mod channel;
pub mod config;
pub mod connection;
pub mod events;
pub mod interfaces;
pub mod runtime;
pub mod signaling;
pub mod sockets;
pub mod stats;

pub use channel::{ChannelHandle, ChannelInfo, ChannelKey, SendError, MAX_PACKET_SIZE};
pub use config::{ChannelOptions, ConfigError, ConnectionConfig};
pub use connection::{CommandError, Connection, StatsError};
pub use events::{
    ChannelState, ConnectionState, Event, GatheringState, SdpKind, SignalQueue, SignalingState,
};
pub use stats::{CandidatePair, ChannelStats, TransportStats};
