//! webrtc-rs's logs (and the backend's own) in Godot's output, at the level the user picks.
//!
//! Log records come from the network threads; Godot's printing belongs to the main thread.
//! So the logger only formats and queues, and the main thread prints what was queued each
//! time a peer connection or a lobby listener is polled (and once more when the extension
//! unloads).
//!
//! The level is the project setting `webrtc_rs/logging/level` ("off", "error", "warning" —
//! the default —, "info", "debug", "trace"), overridden by the environment variable
//! `WEBRTC_RS_LOG`, and changeable at run time with `WebRTCRsPeerConnection.set_log_level()`.

use godot::builtin::VariantType;
use godot::classes::ProjectSettings;
use godot::prelude::*;
use godot::register::info::PropertyHint;
use log::{Level, LevelFilter, Log, Metadata, Record};
use std::collections::VecDeque;
use std::sync::Mutex;

pub const SETTING: &str = "webrtc_rs/logging/level";
pub const ENV: &str = "WEBRTC_RS_LOG";
const DEFAULT_LEVEL: &str = "warning";
const LEVELS: [&str; 6] = ["off", "error", "warning", "info", "debug", "trace"];

/// Lines waiting for the main thread, beyond which new ones are counted and dropped (a
/// `trace` level on a busy connection can outrun any console).
const QUEUE_LIMIT: usize = 2048;

struct Queue {
    lines: VecDeque<(Level, String)>,
    dropped: usize,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    lines: VecDeque::new(),
    dropped: 0,
});

/// Messages webrtc-rs 0.21.1 logs as warnings on every healthy connection, which a user can
/// do nothing about: (target prefix, message fragment).
const ROUTINE_WARNINGS: [(&str, &str); 6] = [
    // The DTLS layer wants a server name for certificate checks WebRTC does not do (peers
    // are authenticated by the fingerprint in the SDP).
    ("rtc_dtls", "conn.remote_addr is empty"),
    // ICE is asked to check pairs before the remote candidates have trickled in.
    (
        "rtc_ice",
        "pingAllCandidates called with no candidate pairs",
    ),
    // DTLS flights queued before ICE has picked a pair are retried once it has.
    ("rtc::peer_connection", "invalid remote address"),
    // A peer's connectivity checks can arrive before its description (and so its ICE
    // password) has; it checks again.
    ("rtc::peer_connection", "password is empty"),
    // Both sides open a negotiated channel's stream; the second opening is redundant.
    (
        "rtc::peer_connection",
        "there already exists a stream with identifier",
    ),
    // Messages still queued for a stream the peer has just reset (closed the channel);
    // they are dropped as a browser drops them.
    ("rtc::peer_connection", "Stream not existed"),
];

struct GodotLog;

impl Log for GodotLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        let target = record.target();
        if record.level() == Level::Warn
            && ROUTINE_WARNINGS
                .iter()
                .any(|(t, m)| target.starts_with(t) && message.contains(m))
        {
            return;
        }
        let line = format!("webrtc-rs {} {target}: {message}", record.level());
        let mut queue = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
        if queue.lines.len() >= QUEUE_LIMIT {
            queue.dropped += 1;
        } else {
            queue.lines.push_back((record.level(), line));
        }
    }

    fn flush(&self) {}
}

static LOGGER: GodotLog = GodotLog;

fn parse_level(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_lowercase().as_str() {
        "off" | "none" => Some(LevelFilter::Off),
        "error" => Some(LevelFilter::Error),
        "warning" | "warn" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        _ => None,
    }
}

fn level_name(level: LevelFilter) -> &'static str {
    match level {
        LevelFilter::Off => "off",
        LevelFilter::Error => "error",
        LevelFilter::Warn => "warning",
        LevelFilter::Info => "info",
        LevelFilter::Debug => "debug",
        LevelFilter::Trace => "trace",
    }
}

/// Sets the level by name; `Err` names the accepted ones.
pub fn set_level(name: &str) -> Result<(), String> {
    match parse_level(name) {
        Some(level) => {
            log::set_max_level(level);
            Ok(())
        }
        None => Err(format!(
            "unknown log level \"{name}\" (expected one of: {})",
            LEVELS.join(", ")
        )),
    }
}

pub fn level() -> &'static str {
    level_name(log::max_level())
}

/// Registers the project setting, installs the logger and applies the configured level.
/// Called once, on the main thread, when the extension's classes are registered.
pub fn install() {
    let mut settings = ProjectSettings::singleton();
    if !settings.has_setting(SETTING) {
        settings.set_setting(SETTING, &DEFAULT_LEVEL.to_variant());
    }
    settings.set_initial_value(SETTING, &DEFAULT_LEVEL.to_variant());
    let info = vdict! {
        "name" => &SETTING.to_variant(),
        "type" => &(VariantType::STRING.ord() as i64).to_variant(),
        "hint" => &(PropertyHint::ENUM.ord() as i64).to_variant(),
        "hint_string" => &LEVELS.join(",").to_variant(),
    };
    settings.add_property_info(&info);
    settings.set_as_basic(SETTING, true);

    if log::set_logger(&LOGGER).is_err() {
        godot_warn!("webrtc_rs: another logger is installed; webrtc-rs logs will not reach Godot");
    }
    let configured = settings.get_setting(SETTING).to_string();
    let (source, name) = match std::env::var(ENV) {
        Ok(value) if !value.is_empty() => (ENV, value),
        _ => (SETTING, configured),
    };
    if let Err(error) = set_level(&name) {
        godot_warn!("webrtc_rs: {source}: {error}; using \"{DEFAULT_LEVEL}\"");
        let _ = set_level(DEFAULT_LEVEL);
    }
}

/// Prints what the network threads logged since the last call. Main thread only.
pub fn flush() {
    let (lines, dropped) = {
        let mut queue = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
        if queue.lines.is_empty() && queue.dropped == 0 {
            return;
        }
        (
            std::mem::take(&mut queue.lines),
            std::mem::take(&mut queue.dropped),
        )
    };
    for (level, line) in lines {
        match level {
            Level::Error => godot_error!("{line}"),
            Level::Warn => godot_warn!("{line}"),
            _ => godot_print!("{line}"),
        }
    }
    if dropped > 0 {
        godot_warn!("webrtc_rs: {dropped} log lines were dropped (the log level is too verbose for the console to keep up)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_round_trip() {
        for name in LEVELS {
            assert_eq!(level_name(parse_level(name).unwrap()), name);
        }
        assert_eq!(parse_level("WARN"), Some(LevelFilter::Warn));
        assert_eq!(parse_level("loud"), None);
        assert!(set_level("loud")
            .unwrap_err()
            .contains("off, error, warning"));
    }
}
