//! The listener's options as GDScript passes them (a Dictionary, as JSON here), checked key
//! by key so that a mistake is named instead of ignored.

use super::listener::{tls_config_from_pem, ListenerConfig};
use serde_json::Value;
use std::time::Duration;

/// The keys [`parse_options`] knows.
pub const OPTION_KEYS: &[&str] = &[
    "backlog",
    "max_connections",
    "max_connections_per_address",
    "max_unfinished",
    "max_unfinished_per_address",
    "handshake_timeout",
    "max_message_bytes",
    "max_queued_messages",
    "max_unsent_bytes",
    "heartbeat_interval",
    "tls_certificate",
    "tls_key",
    "trusted_proxies",
];

/// A [`ListenerConfig`] from `options`: the defaults, with what `options` sets.
pub fn parse_options(options: &Value) -> Result<ListenerConfig, String> {
    let Value::Object(options) = options else {
        return Err("options must be a Dictionary".to_owned());
    };
    let mut config = ListenerConfig::default();
    for (key, value) in options {
        match key.as_str() {
            "backlog" => config.backlog = count(key, value, 1, u32::MAX as u64)? as u32,
            "max_connections" => {
                config.max_connections = count(key, value, 1, u32::MAX as u64)? as usize
            }
            "max_connections_per_address" => {
                config.max_connections_per_address = count(key, value, 1, u32::MAX as u64)? as usize
            }
            "max_unfinished" => {
                config.max_unfinished = count(key, value, 1, u32::MAX as u64)? as usize
            }
            "max_unfinished_per_address" => {
                config.max_unfinished_per_address = count(key, value, 1, u32::MAX as u64)? as usize
            }
            "max_message_bytes" => {
                config.max_message_bytes = count(key, value, 1, 64 << 20)? as usize
            }
            "max_unsent_bytes" => config.max_unsent_bytes = count(key, value, 1, 1 << 30)? as usize,
            "max_queued_messages" => {
                config.max_queued_messages = count(key, value, 1, 1 << 16)? as usize
            }
            "handshake_timeout" => config.handshake_timeout = seconds(key, value, false)?,
            "heartbeat_interval" => {
                let interval = seconds(key, value, true)?;
                config.heartbeat_interval = (!interval.is_zero()).then_some(interval);
            }
            "trusted_proxies" => {
                let addresses = value
                    .as_array()
                    .ok_or_else(|| format!("'{key}' takes a list of IP addresses, not {value}"))?;
                config.trusted_proxies = addresses
                    .iter()
                    .map(|address| {
                        address
                            .as_str()
                            .and_then(|text| text.parse().ok())
                            .ok_or_else(|| format!("'{key}': {address} is not an IP address"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "tls_certificate" | "tls_key" => {}
            _ => {
                return Err(format!(
                    "unknown option '{key}' (known: {})",
                    OPTION_KEYS.join(", ")
                ))
            }
        }
    }
    match (options.get("tls_certificate"), options.get("tls_key")) {
        (None, None) => {}
        (Some(Value::String(certificate)), Some(Value::String(key))) => {
            config.tls = Some(
                tls_config_from_pem(certificate.as_bytes(), key.as_bytes())
                    .map_err(|error| format!("TLS: {error}"))?,
            );
        }
        _ => return Err("tls_certificate and tls_key go together, as PEM text".to_owned()),
    }
    Ok(config)
}

fn count(key: &str, value: &Value, least: u64, most: u64) -> Result<u64, String> {
    value
        .as_u64()
        .filter(|n| (least..=most).contains(n))
        .ok_or_else(|| format!("'{key}' takes a whole number from {least} to {most}, not {value}"))
}

fn seconds(key: &str, value: &Value, zero_allowed: bool) -> Result<Duration, String> {
    let seconds = value
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 86_400.0);
    match seconds {
        Some(s) if s > 0.0 || zero_allowed => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "'{key}' takes a number of seconds {} (at most a day), not {value}",
            if zero_allowed { "from 0" } else { "above 0" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_then_what_is_set() {
        let config = parse_options(&json!({
            "max_connections": 12000,
            "heartbeat_interval": 0,
            "trusted_proxies": ["127.0.0.1", "::1"],
        }))
        .unwrap();
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.max_connections, 12000);
        assert_eq!(config.heartbeat_interval, None);
        assert_eq!(config.backlog, ListenerConfig::default().backlog);
    }

    #[test]
    fn mistakes_are_named() {
        for (options, named) in [
            (
                json!({"max_conections": 1}),
                "unknown option 'max_conections'",
            ),
            (
                json!({"max_connections": 0}),
                "'max_connections' takes a whole number",
            ),
            (
                json!({"handshake_timeout": 0}),
                "'handshake_timeout' takes a number of seconds above 0",
            ),
            (
                json!({"trusted_proxies": ["nginx"]}),
                "'trusted_proxies': \"nginx\" is not an IP address",
            ),
            (
                json!({"tls_key": "x"}),
                "tls_certificate and tls_key go together",
            ),
            (
                json!({"tls_key": "x", "tls_certificate": "y"}),
                "TLS: the certificate PEM holds no certificate",
            ),
        ] {
            let error = parse_options(&options).err().unwrap();
            assert!(error.contains(named), "{error}");
        }
    }
}
