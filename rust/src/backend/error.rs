//! The backend's one error type. Each variant carries what a game developer needs to fix the
//! call; the Godot layer turns it into a Godot `Error` in one place (`crate::errors`).

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An option of `initialize()` or `create_data_channel()`: where it was
    /// (`iceServers[0].urls`) and what was wrong with it.
    #[error("'{key}': {problem}")]
    InvalidOption { key: String, problem: String },
    #[error("the {kind} SDP is not valid: {reason}")]
    InvalidSdp { kind: &'static str, reason: String },
    #[error("the ICE candidate \"{candidate}\" is not valid: {reason}")]
    InvalidCandidate { candidate: String, reason: String },
    #[error(
        "packet of {size} bytes exceeds the maximum packet size of {} bytes",
        super::send::MAX_PACKET_SIZE
    )]
    PacketTooLarge { size: usize },
    #[error(
        "a packet sent in WRITE_MODE_TEXT must be valid UTF-8 (use WRITE_MODE_BINARY for raw bytes)"
    )]
    NotUtf8,
    #[error("the channel is closed")]
    ChannelClosed,
    #[error("the connection did not answer within {0:?} (the background runtime is overloaded)")]
    StatsTimeout(Duration),
    #[error("the background runtime is not running")]
    Stopped,
}

impl Error {
    /// A rejected option (see [`Error::InvalidOption`]).
    pub fn option(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::InvalidOption {
            key: key.into(),
            problem: problem.into(),
        }
    }
}
