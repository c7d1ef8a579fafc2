//! webrtc_rs: WebRTC for native Godot 4 games, as a GDExtension over webrtc-rs.
//!
//! This file only registers: the Godot-facing classes live in `peer_connection` and
//! `data_channel`, the engine-free machinery in `backend`.

pub mod backend;
mod data_channel;
mod dictionary;
mod errors;
pub mod lobby;
mod lobby_listener;
mod logging;
mod peer_connection;

use godot::classes::WebRtcPeerConnection;
use godot::init::{gdextension, ExtensionLibrary, InitStage};
use std::time::Duration;

/// How long unloading waits for connections to finish: a freed connection may spend up to
/// `LINGER` delivering what the game sent last (its goodbye RPC), then closing takes a moment.
const SHUTDOWN_GRACE: Duration = backend::LINGER.saturating_add(Duration::from_millis(500));

struct WebRtcRs;

#[gdextension]
unsafe impl ExtensionLibrary for WebRtcRs {
    fn on_stage_init(stage: InitStage) {
        if stage == InitStage::Scene {
            logging::install();
            // From here on `WebRTCPeerConnection.new()` (and WebRTCMultiplayerPeer) builds ours.
            WebRtcPeerConnection::set_default_extension("WebRTCRsPeerConnection");
        }
    }

    fn on_stage_deinit(stage: InitStage) {
        if stage == InitStage::Scene {
            backend::runtime::shutdown(SHUTDOWN_GRACE);
            logging::flush();
        }
    }
}
