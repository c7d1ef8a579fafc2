//! Connection statistics: the few figures a game wants (round-trip time, traffic, which kind
//! of path was chosen), read from webrtc-rs's W3C statistics report, plus per-channel counters
//! the channel tasks keep themselves.

use rtc::peer_connection::transport::{RTCIceCandidateType, RTCIceServerTransportProtocol};
use rtc::statistics::stats::ice_candidate::RTCIceCandidateStats;
use std::sync::atomic::{AtomicU64, Ordering};
use webrtc::peer_connection::{RTCStatsReport, RTCStatsReportEntry};

/// The connection-wide part of `get_stats()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransportStats {
    /// The selected pair's latest STUN round trip, in seconds; `None` before one was measured.
    pub round_trip_time: Option<f64>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// The pair ICE selected; `None` until connected.
    pub candidate_pair: Option<CandidatePair>,
}

/// Both ends of the selected candidate pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidatePair {
    /// "host", "srflx", "prflx" or "relay".
    pub local_type: String,
    pub remote_type: String,
    pub local_address: String,
    pub remote_address: String,
    /// "udp" or "tcp".
    pub protocol: String,
    /// How a relayed local candidate reaches its TURN server: "udp", "tcp" or "tls"; empty
    /// when the local candidate is not relayed.
    pub relay_protocol: String,
}

impl TransportStats {
    pub(crate) fn from_report(report: &RTCStatsReport) -> Self {
        let mut stats = Self::default();
        let Some(transport) = report.transport() else {
            return stats;
        };
        stats.bytes_sent = transport.bytes_sent;
        stats.bytes_received = transport.bytes_received;
        stats.packets_sent = transport.packets_sent;
        stats.packets_received = transport.packets_received;
        let selected = report
            .candidate_pairs()
            .find(|pair| pair.stats.id == transport.selected_candidate_pair_id);
        let Some(pair) = selected else {
            return stats;
        };
        // Zero until the first answered check on this pair.
        if pair.current_round_trip_time > 0.0 {
            stats.round_trip_time = Some(pair.current_round_trip_time);
        }
        // webrtc-rs files candidates under "RTCLocalIceCandidate_<id>" and
        // "RTCRemoteIceCandidate_<id>", while the pair names the bare ids.
        let local = report.iter().find_map(|entry| match entry {
            RTCStatsReportEntry::LocalCandidate(c)
                if c.stats.id.strip_prefix("RTCLocalIceCandidate_")
                    == Some(pair.local_candidate_id.as_str()) =>
            {
                Some(c)
            }
            _ => None,
        });
        let remote = report.iter().find_map(|entry| match entry {
            RTCStatsReportEntry::RemoteCandidate(c)
                if c.stats.id.strip_prefix("RTCRemoteIceCandidate_")
                    == Some(pair.remote_candidate_id.as_str()) =>
            {
                Some(c)
            }
            _ => None,
        });
        let address = |c: &RTCIceCandidateStats| match c.address.as_deref() {
            Some(ip) if ip.contains(':') => format!("[{ip}]:{}", c.port),
            Some(ip) => format!("{ip}:{}", c.port),
            None => String::new(),
        };
        if let Some(local) = local {
            stats.candidate_pair = Some(CandidatePair {
                local_type: local.candidate_type.to_string(),
                local_address: address(local),
                protocol: local.protocol.to_lowercase(),
                // A remote candidate that was never signalled was learnt from the peer's
                // checks: peer-reflexive, and webrtc-rs keeps no statistics entry for it.
                remote_type: remote
                    .map_or_else(|| "prflx".to_owned(), |r| r.candidate_type.to_string()),
                remote_address: remote.map(address).unwrap_or_default(),
                relay_protocol: relay_protocol(local),
            });
        }
        stats
    }
}

/// How a relayed candidate reaches its TURN server: its statistics' `relayProtocol`, or where
/// that is not filled in, what the URL it was gathered from says (`turns:` is TLS,
/// `?transport=tcp` TCP, otherwise UDP).
fn relay_protocol(candidate: &RTCIceCandidateStats) -> String {
    if candidate.candidate_type != RTCIceCandidateType::Relay {
        return String::new();
    }
    match candidate.relay_protocol {
        RTCIceServerTransportProtocol::Udp => "udp".to_owned(),
        RTCIceServerTransportProtocol::Tcp => "tcp".to_owned(),
        RTCIceServerTransportProtocol::Tls => "tls".to_owned(),
        _ if candidate.url.starts_with("turns:") => "tls".to_owned(),
        _ if candidate.url.contains("transport=tcp") => "tcp".to_owned(),
        _ => "udp".to_owned(),
    }
}

/// Message and byte counts of one channel, kept by its connection's task.
#[derive(Debug, Default)]
pub(crate) struct ChannelCounters {
    messages_sent: AtomicU64,
    bytes_sent: AtomicU64,
    messages_received: AtomicU64,
    bytes_received: AtomicU64,
}

/// A snapshot of [`ChannelCounters`] plus what the channel has buffered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelStats {
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
    pub buffered_amount: u64,
    /// Received messages dropped unread (see `ChannelHandle::discard`).
    pub messages_dropped: u64,
}

impl ChannelCounters {
    pub(crate) fn sent(&self, bytes: usize) {
        self.messages_sent.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn received(&self, bytes: usize) {
        self.messages_received.fetch_add(1, Ordering::Relaxed);
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, buffered_amount: usize) -> ChannelStats {
        ChannelStats {
            messages_sent: self.messages_sent.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            messages_received: self.messages_received.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            buffered_amount: buffered_amount as u64,
            messages_dropped: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up() {
        let counters = ChannelCounters::default();
        counters.sent(10);
        counters.sent(5);
        counters.received(7);
        assert_eq!(
            counters.snapshot(3),
            ChannelStats {
                messages_sent: 2,
                bytes_sent: 15,
                messages_received: 1,
                bytes_received: 7,
                buffered_amount: 3,
                messages_dropped: 0,
            }
        );
    }

    #[test]
    fn an_empty_report_gives_zeroes() {
        let stats = TransportStats::default();
        assert_eq!(stats.round_trip_time, None);
        assert_eq!(stats.candidate_pair, None);
    }
}
