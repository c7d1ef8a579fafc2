//! Which local addresses a connection binds, and so which host candidates it offers.
//!
//! webrtc-rs 0.21.1 decides interfaces by bind address alone (its interface and IP filters
//! are not implemented, and its include-loopback flag is never read): a wildcard address
//! means "every interface but loopback and link-local", a concrete address means exactly
//! that one. Restricting a connection to named interfaces therefore means binding each of
//! their addresses ourselves.

use std::net::{IpAddr, SocketAddr};

/// The addresses to bind: one ephemeral UDP port per address of the named interfaces, or
/// the IPv4 wildcard (every non-loopback interface) when no restriction is given.
pub fn bind_addresses(interfaces: Option<&[String]>) -> Result<Vec<SocketAddr>, String> {
    let Some(names) = interfaces else {
        return Ok(vec![SocketAddr::from(([0, 0, 0, 0], 0))]);
    };
    let found = if_addrs::get_if_addrs()
        .map_err(|error| format!("cannot list the network interfaces: {error}"))?;
    let addresses = select(
        names,
        found.iter().map(|iface| (iface.name.as_str(), iface.ip())),
    );
    if addresses.is_empty() {
        let present: Vec<&str> = found.iter().map(|iface| iface.name.as_str()).collect();
        return Err(format!(
            "no usable address on interface(s) {names:?} (interfaces present: {present:?})"
        ));
    }
    Ok(addresses)
}

/// The name of the interface that holds 127.0.0.1: `lo` on Linux, "Loopback Pseudo-Interface 1"
/// on Windows, `lo0` on macOS. Tests restrict connections to it by name.
pub fn loopback_name() -> Option<String> {
    if_addrs::get_if_addrs()
        .ok()?
        .into_iter()
        .find(|iface| iface.ip() == IpAddr::from([127, 0, 0, 1]))
        .map(|iface| iface.name)
}

/// The pure part of [`bind_addresses`]: keep the addresses of the named interfaces, skipping
/// IPv6 link-local ones (they need a scope id no peer could use).
fn select<'a>(names: &[String], found: impl Iterator<Item = (&'a str, IpAddr)>) -> Vec<SocketAddr> {
    let mut addresses: Vec<SocketAddr> = found
        .filter(|(name, _)| names.iter().any(|wanted| wanted == name))
        .filter(|(_, ip)| match ip {
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            IpAddr::V4(_) => true,
        })
        .map(|(_, ip)| SocketAddr::new(ip, 0))
        .collect();
    addresses.dedup();
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_restriction_binds_the_wildcard() {
        assert_eq!(
            bind_addresses(None).unwrap(),
            vec!["0.0.0.0:0".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn named_interfaces_keep_their_addresses_only() {
        let found = [
            ("lo", "127.0.0.1".parse().unwrap()),
            ("lo", "::1".parse().unwrap()),
            ("eth0", "10.1.2.3".parse().unwrap()),
            ("eth0", "fe80::1".parse().unwrap()),
        ];
        let picked = select(&["lo".to_owned()], found.iter().copied());
        assert_eq!(
            picked,
            vec![
                "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
                "[::1]:0".parse().unwrap()
            ]
        );
        let picked = select(&["eth0".to_owned()], found.iter().copied());
        assert_eq!(picked, vec!["10.1.2.3:0".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn loopback_is_found_on_this_machine() {
        let name = loopback_name().expect("an interface holds 127.0.0.1");
        let addresses = bind_addresses(Some(&[name])).unwrap();
        assert!(
            addresses.iter().all(|a| a.ip().is_loopback()),
            "{addresses:?}"
        );
        let error = bind_addresses(Some(&["no-such-if0".to_owned()])).unwrap_err();
        assert!(error.contains("no-such-if0"), "{error}");
    }
}
