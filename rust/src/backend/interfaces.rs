//! Which local addresses a connection binds, and so which host candidates it offers.
//!
//! webrtc-rs 0.21.1 decides interfaces by bind address alone (its interface and IP filters
//! are not implemented, and its include-loopback flag is never read): a wildcard address
//! means "every interface but loopback and link-local", a concrete address means exactly
//! that one. Restricting a connection to named interfaces therefore means binding each of
//! their addresses ourselves.

use std::net::{IpAddr, SocketAddr};

/// The addresses to bind: one ephemeral UDP port per address of the named interfaces, or,
/// when no restriction is given, a wildcard per address family the host can use (every
/// non-loopback interface of that family, re-enumerated by webrtc-rs on each bind).
pub fn bind_addresses(interfaces: Option<&[String]>) -> Result<Vec<SocketAddr>, String> {
    let Some(names) = interfaces else {
        let found = if_addrs::get_if_addrs().unwrap_or_default();
        return Ok(wildcards(found.iter().map(|iface| iface.ip())));
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

/// The wildcard of each family that has a usable address among `found`, as browsers gather
/// IPv4 and IPv6 alike: an IPv6-only host (mobile networks, NAT64) then still has host
/// candidates, and a dual-stack pair may use either family. A family without a usable address
/// is left out, because webrtc-rs binds a wildcard it cannot expand as it is and would offer
/// the unusable `0.0.0.0` or `::` as a candidate. With no usable address at all the IPv4
/// wildcard stays, so that a relay can still be reached once an interface comes up.
fn wildcards(found: impl Iterator<Item = IpAddr>) -> Vec<SocketAddr> {
    let usable: Vec<IpAddr> = found
        .filter(|ip| !ip.is_loopback() && !is_link_local(ip))
        .collect();
    let mut out = Vec::new();
    if usable.iter().any(IpAddr::is_ipv4) {
        out.push(SocketAddr::from(([0, 0, 0, 0], 0)));
    }
    if usable.iter().any(IpAddr::is_ipv6) {
        out.push(SocketAddr::from(([0u16; 8], 0)));
    }
    if out.is_empty() {
        out.push(SocketAddr::from(([0, 0, 0, 0], 0)));
    }
    out
}

/// `169.254.0.0/16` and `fe80::/10`: addresses a peer cannot use (an IPv6 link-local one needs
/// a scope id that does not survive into a candidate).
fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
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
        .filter(|(_, ip)| !(ip.is_ipv6() && is_link_local(ip)))
        .map(|(_, ip)| SocketAddr::new(ip, 0))
        .collect();
    addresses.dedup();
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_restriction_binds_a_wildcard_per_usable_family() {
        let ips =
            |list: &[&str]| -> Vec<IpAddr> { list.iter().map(|ip| ip.parse().unwrap()).collect() };
        let v4: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let v6: SocketAddr = "[::]:0".parse().unwrap();
        let dual = ips(&["127.0.0.1", "::1", "10.0.0.2", "fd00::2", "fe80::1"]);
        assert_eq!(wildcards(dual.into_iter()), vec![v4, v6]);
        let v6_only = ips(&["127.0.0.1", "::1", "fd00::2", "fe80::1"]);
        assert_eq!(wildcards(v6_only.into_iter()), vec![v6]);
        let v4_only = ips(&["127.0.0.1", "::1", "10.0.0.2", "fe80::1"]);
        assert_eq!(wildcards(v4_only.into_iter()), vec![v4]);
        let nothing = ips(&["127.0.0.1", "::1", "169.254.1.1", "fe80::1"]);
        assert_eq!(wildcards(nothing.into_iter()), vec![v4]);
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
