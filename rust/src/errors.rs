//! Where the backend's [`backend::Error`] becomes a Godot `Error`: the one mapping, and the
//! `push_error` that names what was wrong.

use crate::backend;
use godot::global::{godot_error, Error};

/// The Godot `Error` a method returns for `error`.
pub(crate) fn godot_error_code(error: &backend::Error) -> Error {
    match error {
        backend::Error::InvalidOption { .. }
        | backend::Error::InvalidSdp { .. }
        | backend::Error::InvalidCandidate { .. }
        | backend::Error::PacketTooLarge { .. }
        | backend::Error::NotUtf8 => Error::ERR_INVALID_PARAMETER,
        backend::Error::ChannelClosed => Error::ERR_UNCONFIGURED,
        backend::Error::StatsTimeout(_) => Error::ERR_TIMEOUT,
        backend::Error::Stopped => Error::ERR_CANT_CREATE,
    }
}

/// Pushes `context: error` to Godot's output and returns the matching `Error`.
pub(crate) fn report(context: &str, error: &backend::Error) -> Error {
    godot_error!("{context}: {error}");
    godot_error_code(error)
}
