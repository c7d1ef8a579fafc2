//! The two option dictionaries Godot hands us — `initialize(configuration)` and
//! `create_data_channel(label, options)` — checked and turned into plain Rust values.
//!
//! The Godot layer converts its `Dictionary` into a `serde_json::Value` first, so everything
//! here runs (and is unit-tested) without an engine. Every rejection names the key and the
//! value, because that is what a GDScript author needs to fix the call.

use super::error::Error;
use serde_json::{Map, Value};
use std::time::Duration;

/// Process-wide default for [`ConnectionConfig::interfaces`]: comma-separated interface names.
pub const INTERFACES_ENV: &str = "WEBRTC_RS_INTERFACES";

/// One STUN/TURN server as the browser's `RTCIceServer` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IceTransportPolicy {
    #[default]
    All,
    Relay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BundlePolicy {
    #[default]
    Balanced,
    MaxCompat,
    MaxBundle,
}

/// What `initialize()` accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    pub ice_servers: Vec<IceServer>,
    pub ice_transport_policy: IceTransportPolicy,
    pub bundle_policy: BundlePolicy,
    /// `Some(names)`: gather only on these interfaces (loopback included when named) and keep
    /// mDNS off. `None`: every interface but loopback, as browsers do.
    pub interfaces: Option<Vec<String>>,
    /// Bytes each channel may hold that the game has not read yet (`get_packet`); see
    /// [`DEFAULT_RECEIVE_BUFFER`].
    pub receive_buffer: usize,
    /// SCTP's retransmission timer ([`SctpRto`]).
    pub sctp_rto: SctpRto,
}

/// Bounds of SCTP's retransmission timeout (RFC 9260 RTO.Min / RTO.Initial / RTO.Max): how
/// soon a lost message is sent again when fast retransmit cannot recover it, and how far
/// repeated losses back it off. webrtc-rs 0.21.1's defaults are 1 s / 1 s / 60 s (a few
/// losses in a row cost 1 + 2 + 4 + 8 s); browsers use less (Chrome: 400 ms minimum, 500 ms
/// initial, back-off capped at 3 s), and so does this default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpRto {
    pub min: Duration,
    pub initial: Duration,
    pub max: Duration,
}

impl Default for SctpRto {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(400),
            initial: Duration::from_millis(500),
            max: Duration::from_secs(3),
        }
    }
}

/// What the `webrtc_rs.sctp_rto_*_ms` settings accept.
const SCTP_RTO_RANGE_MS: std::ops::RangeInclusive<i64> = 10..=120_000;

/// What a channel holds unread before a reliable one stops taking data from the peer (its
/// SCTP window closes and the sender slows down) and an unreliable one drops its oldest.
/// A few frames of a busy game's traffic, and far below what a process can afford.
pub const DEFAULT_RECEIVE_BUFFER: usize = 4 << 20;

/// The range `webrtc_rs.receive_buffer` accepts: one maximum-size message at least.
pub const RECEIVE_BUFFER_RANGE: std::ops::RangeInclusive<i64> = 65536..=(1 << 30);

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::default(),
            bundle_policy: BundlePolicy::default(),
            interfaces: None,
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
            sctp_rto: SctpRto::default(),
        }
    }
}

/// Parses the `initialize()` dictionary. Unknown keys are returned as warnings, not errors,
/// as the browser ignores members it does not know.
pub fn parse_connection_config(value: &Value) -> Result<(ConnectionConfig, Vec<String>), Error> {
    let mut warnings = Vec::new();
    let mut config = ConnectionConfig::default();
    let Some(map) = options_map("configuration", value)? else {
        return Ok((config, warnings));
    };
    for (key, item) in map {
        match key.as_str() {
            "iceServers" => config.ice_servers = parse_ice_servers(item)?,
            "iceTransportPolicy" => {
                config.ice_transport_policy = match expect_str(key, item)? {
                    "all" => IceTransportPolicy::All,
                    "relay" => IceTransportPolicy::Relay,
                    other => {
                        return Err(Error::option(
                            key.as_str(),
                            format!("expected \"all\" or \"relay\", got \"{other}\""),
                        ))
                    }
                }
            }
            "bundlePolicy" => {
                config.bundle_policy = match expect_str(key, item)? {
                    "balanced" => BundlePolicy::Balanced,
                    "max-compat" => BundlePolicy::MaxCompat,
                    "max-bundle" => BundlePolicy::MaxBundle,
                    other => {
                        return Err(Error::option(
                            key.as_str(),
                            format!(
                        "expected \"balanced\", \"max-compat\" or \"max-bundle\", got \"{other}\""
                    ),
                        ))
                    }
                }
            }
            "webrtc_rs" => parse_addon_options(item, &mut config, &mut warnings)?,
            other => warnings.push(format!("initialize(): unknown key '{other}' ignored")),
        }
    }
    Ok((config, warnings))
}

fn parse_addon_options(
    value: &Value,
    config: &mut ConnectionConfig,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let map = expect_object("webrtc_rs", value)?;
    for (key, item) in map {
        match key.as_str() {
            "interfaces" => {
                let path = "webrtc_rs.interfaces";
                let names = expect_string_list(path, item)?;
                if names.iter().any(|name| name.trim().is_empty()) {
                    return Err(Error::option(path, "interface names must not be empty"));
                }
                config.interfaces = Some(names);
            }
            "receive_buffer" => {
                config.receive_buffer =
                    expect_integer("webrtc_rs.receive_buffer", item, RECEIVE_BUFFER_RANGE)?
                        as usize;
            }
            "sctp_rto_min_ms" | "sctp_rto_initial_ms" | "sctp_rto_max_ms" => {
                let path = format!("webrtc_rs.{key}");
                let ms = expect_integer(&path, item, SCTP_RTO_RANGE_MS)?;
                let value = Duration::from_millis(ms as u64);
                match key.as_str() {
                    "sctp_rto_min_ms" => config.sctp_rto.min = value,
                    "sctp_rto_initial_ms" => config.sctp_rto.initial = value,
                    _ => config.sctp_rto.max = value,
                }
            }
            other => warnings.push(format!(
                "initialize(): unknown key 'webrtc_rs.{other}' ignored"
            )),
        }
    }
    let rto = config.sctp_rto;
    if rto.min > rto.initial || rto.initial > rto.max {
        return Err(Error::option(
            "webrtc_rs.sctp_rto_*_ms",
            format!(
                "expected minimum <= initial <= maximum, got {} / {} / {} ms",
                rto.min.as_millis(),
                rto.initial.as_millis(),
                rto.max.as_millis()
            ),
        ));
    }
    Ok(())
}

/// The interface restriction from [`INTERFACES_ENV`], if it is set and not empty.
pub fn interfaces_from_env() -> Option<Vec<String>> {
    let raw = std::env::var(INTERFACES_ENV).ok()?;
    parse_interface_list(&raw)
}

/// `"lo, eth0"` → `["lo", "eth0"]`; `None` when nothing is named.
pub fn parse_interface_list(raw: &str) -> Option<Vec<String>> {
    let names: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    (!names.is_empty()).then_some(names)
}

fn parse_ice_servers(value: &Value) -> Result<Vec<IceServer>, Error> {
    let list = match value {
        Value::Array(list) => list,
        other => {
            return Err(Error::option(
                "iceServers",
                format!("expected an Array of Dictionaries, got {}", describe(other)),
            ))
        }
    };
    let mut servers = Vec::with_capacity(list.len());
    for (index, entry) in list.iter().enumerate() {
        let base = format!("iceServers[{index}]");
        let map = expect_object(&base, entry)?;
        let mut server = IceServer::default();
        for (key, item) in map {
            let path = format!("{base}.{key}");
            match key.as_str() {
                "urls" | "url" => server.urls = expect_string_list(&path, item)?,
                "username" => server.username = expect_str(&path, item)?.to_owned(),
                "credential" => server.credential = expect_str(&path, item)?.to_owned(),
                _ => {
                    return Err(Error::option(
                        path,
                        "unknown key (expected urls, username, credential)",
                    ))
                }
            }
        }
        if server.urls.is_empty() {
            return Err(Error::option(
                format!("{base}.urls"),
                "missing: each ICE server needs at least one URL",
            ));
        }
        for url in &server.urls {
            validate_ice_url(&format!("{base}.urls"), url, &server)?;
        }
        servers.push(server);
    }
    Ok(servers)
}

fn validate_ice_url(path: &str, url: &str, server: &IceServer) -> Result<(), Error> {
    let scheme = url.split(':').next().unwrap_or_default();
    let is_turn = match scheme {
        "stun" | "stuns" => false,
        "turn" | "turns" => true,
        _ => {
            return Err(Error::option(
                path,
                format!(
                    "\"{url}\" has an unknown scheme (expected stun:, stuns:, turn: or turns:)"
                ),
            ))
        }
    };
    rtc::ice::url::Url::parse_url(url)
        .map_err(|error| Error::option(path, format!("\"{url}\" is not a valid URL: {error}")))?;
    if is_turn && (server.username.is_empty() || server.credential.is_empty()) {
        // The key order in a Dictionary is the author's; check once all keys are read.
        return Err(Error::option(
            path,
            format!("\"{url}\" is a TURN server and needs both 'username' and 'credential'"),
        ));
    }
    Ok(())
}

/// What `create_data_channel()` accepted; `None` means "not given".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOptions {
    /// `Some(id)` when `negotiated: true` (the id is then mandatory).
    pub negotiated_id: Option<u16>,
    pub ordered: bool,
    pub max_retransmits: Option<u16>,
    pub max_packet_life_time: Option<u16>,
    pub protocol: String,
}

impl ChannelOptions {
    /// Neither retransmit limit is set: every message is delivered.
    pub fn is_reliable(&self) -> bool {
        self.max_retransmits.is_none() && self.max_packet_life_time.is_none()
    }
}

impl Default for ChannelOptions {
    fn default() -> Self {
        Self {
            negotiated_id: None,
            ordered: true,
            max_retransmits: None,
            max_packet_life_time: None,
            protocol: String::new(),
        }
    }
}

/// The largest stream id a channel may use (65535 is reserved by RFC 8831).
pub const MAX_CHANNEL_ID: u16 = 65534;

/// Parses the `create_data_channel()` options.
pub fn parse_channel_options(value: &Value) -> Result<(ChannelOptions, Vec<String>), Error> {
    let mut warnings = Vec::new();
    let mut options = ChannelOptions::default();
    let Some(map) = options_map("options", value)? else {
        return Ok((options, warnings));
    };
    let mut negotiated = false;
    let mut id = None;
    for (key, item) in map {
        match key.as_str() {
            "negotiated" => negotiated = expect_bool(key, item)?,
            "id" => id = Some(expect_u16(key, item, MAX_CHANNEL_ID)?),
            "ordered" => options.ordered = expect_bool(key, item)?,
            "maxRetransmits" => options.max_retransmits = Some(expect_u16(key, item, u16::MAX)?),
            // The browser's name is maxPacketLifeTime; Godot's WebRTCMultiplayerPeer passes
            // maxPacketLifetime. Dropping either would make an "unreliable" channel reliable.
            "maxPacketLifeTime" | "maxPacketLifetime" => {
                let lifetime = expect_u16(key, item, u16::MAX)?;
                if options
                    .max_packet_life_time
                    .is_some_and(|old| old != lifetime)
                {
                    return Err(Error::option(
                        key.as_str(),
                        "maxPacketLifeTime and maxPacketLifetime are both given, with different values",
                    ));
                }
                options.max_packet_life_time = Some(lifetime);
            }
            "protocol" => {
                let protocol = expect_str(key, item)?;
                if protocol.len() > u16::MAX as usize {
                    return Err(Error::option(key.as_str(), "longer than 65535 bytes"));
                }
                options.protocol = protocol.to_owned();
            }
            other => warnings.push(format!(
                "create_data_channel(): unknown option '{other}' ignored"
            )),
        }
    }
    match (negotiated, id) {
        (true, Some(id)) => options.negotiated_id = Some(id),
        (true, None) => {
            return Err(Error::option(
                "id",
                "missing: a negotiated channel needs an 'id' (0-65534) that both peers use",
            ))
        }
        (false, Some(id)) => {
            return Err(Error::option(
                "id",
                format!("{id} given without 'negotiated': true (give both or neither)"),
            ))
        }
        (false, None) => {}
    }
    if options.max_retransmits.is_some() && options.max_packet_life_time.is_some() {
        return Err(Error::option(
            "maxRetransmits",
            "cannot be combined with maxPacketLifeTime: a channel has at most one retransmit limit",
        ));
    }
    Ok((options, warnings))
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("String \"{s}\""),
        Value::Array(_) => "an Array".into(),
        Value::Object(_) => "a Dictionary".into(),
    }
}

/// The top-level options: `None` when none were given (Godot passes an empty Dictionary,
/// a caller of the backend may pass `null`).
fn options_map<'a>(what: &str, value: &'a Value) -> Result<Option<&'a Map<String, Value>>, Error> {
    match value {
        Value::Null => Ok(None),
        other => expect_object(what, other).map(Some),
    }
}

fn expect_object<'a>(key: &str, value: &'a Value) -> Result<&'a Map<String, Value>, Error> {
    value.as_object().ok_or_else(|| {
        Error::option(
            key,
            format!("expected a Dictionary, got {}", describe(value)),
        )
    })
}

fn expect_str<'a>(key: &str, value: &'a Value) -> Result<&'a str, Error> {
    value
        .as_str()
        .ok_or_else(|| Error::option(key, format!("expected a String, got {}", describe(value))))
}

fn expect_bool(key: &str, value: &Value) -> Result<bool, Error> {
    value
        .as_bool()
        .ok_or_else(|| Error::option(key, format!("expected a bool, got {}", describe(value))))
}

/// An integer in `0..=max`. A float with no fractional part counts, since GDScript authors
/// write `1.0` as readily as `1`.
fn expect_u16(key: &str, value: &Value, max: u16) -> Result<u16, Error> {
    expect_integer(key, value, 0..=i64::from(max)).map(|n| n as u16)
}

/// A whole number (Godot may hand integers over as floats) within `range`.
fn expect_integer(
    key: &str,
    value: &Value,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, Error> {
    let whole = match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        _ => None,
    };
    match whole {
        Some(n) if range.contains(&n) => Ok(n),
        _ => Err(Error::option(
            key,
            format!(
                "expected an integer from {} to {}, got {}",
                range.start(),
                range.end(),
                describe(value)
            ),
        )),
    }
}

/// A String, or an Array of Strings.
fn expect_string_list(key: &str, value: &Value) -> Result<Vec<String>, Error> {
    let wrong = || {
        Error::option(
            key,
            format!(
                "expected a String or an Array of Strings, got {}",
                describe(value)
            ),
        )
    };
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect(),
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option_key(error: &Error) -> &str {
        match error {
            Error::InvalidOption { key, .. } => key,
            other => panic!("not an option error: {other}"),
        }
    }

    fn option_problem(error: &Error) -> &str {
        match error {
            Error::InvalidOption { problem, .. } => problem,
            other => panic!("not an option error: {other}"),
        }
    }
    use serde_json::json;

    #[test]
    fn empty_configuration_is_the_default() {
        let (config, warnings) = parse_connection_config(&json!({})).unwrap();
        assert_eq!(config, ConnectionConfig::default());
        assert!(warnings.is_empty());
        assert_eq!(
            parse_connection_config(&Value::Null).unwrap().0,
            ConnectionConfig::default()
        );
    }

    #[test]
    fn ice_servers_accept_a_string_or_a_list_of_urls() {
        let (config, _) = parse_connection_config(&json!({
            "iceServers": [
                {"urls": "stun:127.0.0.1:3478"},
                {"urls": ["turn:127.0.0.1:3478?transport=udp"], "username": "u", "credential": "p"},
            ],
            "iceTransportPolicy": "relay",
            "bundlePolicy": "max-bundle",
        }))
        .unwrap();
        assert_eq!(config.ice_servers.len(), 2);
        assert_eq!(config.ice_servers[0].urls, vec!["stun:127.0.0.1:3478"]);
        assert_eq!(config.ice_servers[1].username, "u");
        assert_eq!(config.ice_transport_policy, IceTransportPolicy::Relay);
        assert_eq!(config.bundle_policy, BundlePolicy::MaxBundle);
    }

    #[test]
    fn errors_name_the_key_and_the_value() {
        let err = parse_connection_config(&json!({"iceServers": [{"urls": 5}]})).unwrap_err();
        assert_eq!(option_key(&err), "iceServers[0].urls");
        assert!(option_problem(&err).contains("number 5"), "{err}");

        let err =
            parse_connection_config(&json!({"iceServers": [{"urls": "http://x"}]})).unwrap_err();
        assert!(option_problem(&err).contains("unknown scheme"), "{err}");
        assert!(option_problem(&err).contains("http://x"), "{err}");

        let err = parse_connection_config(&json!({"iceTransportPolicy": "some"})).unwrap_err();
        assert_eq!(option_key(&err), "iceTransportPolicy");
        assert!(option_problem(&err).contains("\"some\""));

        let err = parse_connection_config(&json!({"iceServers": "stun:x"})).unwrap_err();
        assert_eq!(option_key(&err), "iceServers");

        let err = parse_connection_config(&json!({"iceServers": [{"urls": "turn:127.0.0.1"}]}))
            .unwrap_err();
        assert!(option_problem(&err).contains("username"), "{err}");

        let err = parse_connection_config(&json!({"iceServers": [{"urls": "stun:"}]})).unwrap_err();
        assert!(option_problem(&err).contains("not a valid URL"), "{err}");

        let err = parse_connection_config(&json!([1])).unwrap_err();
        assert_eq!(option_key(&err), "configuration");
    }

    #[test]
    fn sctp_rto_defaults_are_chrome_like_and_settable() {
        let (config, _) = parse_connection_config(&json!({})).unwrap();
        assert_eq!(config.sctp_rto, SctpRto::default());
        assert_eq!(config.sctp_rto.min, Duration::from_millis(400));
        let (config, _) = parse_connection_config(
            &json!({"webrtc_rs": {"sctp_rto_min_ms": 200, "sctp_rto_initial_ms": 300, "sctp_rto_max_ms": 2000}}),
        )
        .unwrap();
        assert_eq!(
            config.sctp_rto,
            SctpRto {
                min: Duration::from_millis(200),
                initial: Duration::from_millis(300),
                max: Duration::from_secs(2),
            }
        );
        let err =
            parse_connection_config(&json!({"webrtc_rs": {"sctp_rto_min_ms": 5}})).unwrap_err();
        assert_eq!(option_key(&err), "webrtc_rs.sctp_rto_min_ms");
        let err =
            parse_connection_config(&json!({"webrtc_rs": {"sctp_rto_min_ms": 4000}})).unwrap_err();
        assert!(
            option_problem(&err).contains("minimum <= initial <= maximum"),
            "{err}"
        );
    }

    #[test]
    fn receive_buffer_has_a_default_and_a_range() {
        let (config, _) = parse_connection_config(&json!({})).unwrap();
        assert_eq!(config.receive_buffer, DEFAULT_RECEIVE_BUFFER);
        let (config, _) =
            parse_connection_config(&json!({"webrtc_rs": {"receive_buffer": 1048576}})).unwrap();
        assert_eq!(config.receive_buffer, 1 << 20);
        for wrong in [json!(100), json!(-1), json!("big"), json!(1.5)] {
            let err = parse_connection_config(&json!({"webrtc_rs": {"receive_buffer": wrong}}))
                .unwrap_err();
            assert_eq!(option_key(&err), "webrtc_rs.receive_buffer");
        }
    }

    #[test]
    fn addon_interfaces_and_unknown_keys() {
        let (config, warnings) = parse_connection_config(&json!({
            "webrtc_rs": {"interfaces": ["lo"]},
            "certificates": [],
        }))
        .unwrap();
        assert_eq!(config.interfaces, Some(vec!["lo".to_owned()]));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("certificates"));

        let err = parse_connection_config(&json!({"webrtc_rs": {"interfaces": [1]}})).unwrap_err();
        assert_eq!(option_key(&err), "webrtc_rs.interfaces");
    }

    #[test]
    fn interface_list_from_the_environment_format() {
        assert_eq!(
            parse_interface_list(" lo, eth0 ,"),
            Some(vec!["lo".to_owned(), "eth0".to_owned()])
        );
        assert_eq!(parse_interface_list(" , "), None);
    }

    #[test]
    fn channel_defaults_are_reliable_and_ordered() {
        let (options, warnings) = parse_channel_options(&json!({})).unwrap();
        assert_eq!(options, ChannelOptions::default());
        assert!(options.ordered);
        assert!(warnings.is_empty());
    }

    #[test]
    fn godot_multiplayer_spelling_of_packet_lifetime_is_honoured() {
        // Exactly what WebRTCMultiplayerPeer passes for its unreliable channel.
        let (options, _) = parse_channel_options(&json!({
            "negotiated": true, "id": 3, "ordered": false, "maxPacketLifetime": 1
        }))
        .unwrap();
        assert_eq!(options.negotiated_id, Some(3));
        assert!(!options.ordered);
        assert_eq!(options.max_packet_life_time, Some(1));
        assert_eq!(options.max_retransmits, None);

        let (options, _) = parse_channel_options(&json!({"maxPacketLifeTime": 250})).unwrap();
        assert_eq!(options.max_packet_life_time, Some(250));
    }

    #[test]
    fn channel_option_misuse_is_rejected() {
        let cases = [
            (json!({"negotiated": true}), "id"),
            (json!({"id": 4}), "id"),
            (json!({"negotiated": true, "id": 65535}), "id"),
            (
                json!({"maxRetransmits": 1, "maxPacketLifeTime": 1}),
                "maxRetransmits",
            ),
            (json!({"maxRetransmits": -1}), "maxRetransmits"),
            (json!({"maxRetransmits": 1.5}), "maxRetransmits"),
            (json!({"ordered": "yes"}), "ordered"),
            (json!({"protocol": 7}), "protocol"),
            (
                json!({"maxPacketLifeTime": 1, "maxPacketLifetime": 2}),
                "maxPacketLifetime",
            ),
        ];
        for (input, key) in cases {
            let err = parse_channel_options(&input).unwrap_err();
            assert!(
                option_key(&err) == key || option_key(&err) == "maxPacketLifeTime",
                "{input}: {err}"
            );
        }
        assert_eq!(
            parse_channel_options(&json!({"maxRetransmits": 2.0}))
                .unwrap()
                .0
                .max_retransmits,
            Some(2)
        );
        let (_, warnings) = parse_channel_options(&json!({"reliable": true})).unwrap();
        assert!(warnings[0].contains("reliable"));
    }
}
