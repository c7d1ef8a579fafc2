//! The engine room: plain async Rust over webrtc-rs, with no Godot types, so `cargo test`
//! exercises it without an engine. The Godot classes talk to it through [`Connection`] and
//! [`ChannelHandle`], and hear back through the [`SignalQueue`].
//!
//! - `connection.rs`, `channel.rs`: what the main thread holds;
//! - `connection_loop.rs`: the one task per connection that carries it all out;
//! - `send.rs`, `receive.rs`, `close.rs`: a channel's send side, receive side, and how
//!   connections end;
//! - `sdp.rs`: checks on descriptions and candidates; `tuning.rs`: how webrtc-rs is set up;
//! - `error.rs`: the one error type.

pub mod channel;
mod close;
pub mod config;
pub mod connection;
mod connection_loop;
pub mod error;
pub mod events;
pub mod interfaces;
mod receive;
pub mod runtime;
mod sdp;
mod send;
pub mod signaling;
pub mod sockets;
pub mod stats;
mod tuning;

pub use channel::{ChannelHandle, ChannelInfo, ChannelKey};
pub use close::LINGER;
pub use config::{ChannelOptions, ConnectionConfig};
pub use connection::Connection;
pub use error::Error;
pub use events::{
    ChannelState, ConnectionState, Event, GatheringState, SdpKind, SignalQueue, SignalingState,
};
pub use send::MAX_PACKET_SIZE;
pub use stats::{CandidatePair, ChannelStats, TransportStats};
