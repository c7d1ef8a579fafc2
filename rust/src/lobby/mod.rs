//! The lobby server's transport: a WebSocket listener (`ws://`, or `wss://` with rustls) on
//! the addon's tokio runtime, in plain async Rust with no Godot types. The lobby itself (who
//! joins what, relaying) stays in GDScript (`addons/webrtc_rs/lobby/server.gd`); this only
//! accepts, handshakes and moves text, so that a burst of thousands of connections, or
//! sockets that never finish their handshake, cannot hold up anyone else:
//!
//! - the socket listens with a large backlog and every connection is accepted at once, by a
//!   task of its own, however busy the game's main thread is;
//! - a handshake has a deadline, and unfinished handshakes are bounded per address and in all
//!   (at the bound, the oldest unfinished one makes room for a newcomer);
//! - each connection's queues are bounded both ways, so a client that floods or stops reading
//!   costs a fixed amount of memory, and the server hears of it (`Full`) to act.
//!
//! `listener.rs` holds what the main thread owns and the accept loop; `connection.rs` the one
//! task per connection; `options.rs` the options GDScript passes.

mod connection;
mod listener;
mod options;

pub use listener::{
    tls_config_from_pem, ListenError, Listener, ListenerConfig, ListenerEvent, ListenerStats,
    SendError, TlsError,
};
pub use options::parse_options;
