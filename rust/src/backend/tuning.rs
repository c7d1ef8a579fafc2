//! How this addon tunes webrtc-rs: ICE pacing and waits, DTLS and SCTP handshake
//! retransmissions, and the settings a connection is built with. Each value says why it
//! differs from webrtc-rs's default.

use super::config::{interfaces_from_env, BundlePolicy, ConnectionConfig, IceTransportPolicy};
use super::interfaces::bind_addresses;
use std::sync::Arc;
use std::time::Duration;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCBundlePolicy,
    RTCConfigurationBuilder, RTCIceServer, RTCIceTransportPolicy, SettingEngineBuilder,
};

/// Pacing of ICE connectivity checks, and how many a pair gets before it is given up.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(50);
const ICE_CHECKS_PER_PAIR: u16 = 40;

/// How long the controlling side waits, from the start of its checks, before it nominates a
/// working pair through a NAT mapping (server-reflexive) or a TURN relay, giving a better pair
/// still being checked the time to win: once nominated, the pair is kept. A direct pair through
/// two NATs works once both sides' checks have crossed (about a round trip after both have the
/// other's candidates), which the relay wait leaves room for on internet paths. webrtc-rs's
/// defaults (500 ms and 2 s) would hold every connection through a NAT for half a second and
/// every relayed one for two, where browsers connect at once.
const ICE_SRFLX_MIN_WAIT: Duration = Duration::from_millis(100);
const ICE_RELAY_MIN_WAIT: Duration = Duration::from_millis(750);

/// How often the selected pair's consent is refreshed (a STUN request and its answer).
/// A connection that receives nothing for 5 s reports DISCONNECTED; on a lossy link, with SCTP
/// quiet between its retransmission timeouts, two or three lost checks at webrtc-rs's default
/// of 2 s are enough for that, while at 500 ms it takes about ten. Two small STUN packets a
/// second per connection cost nothing.
const ICE_CONSENT_INTERVAL: Duration = Duration::from_millis(500);

/// When an unanswered DTLS handshake flight is sent again: after 100 ms, then every 200 ms,
/// at most 48 times (about 9.8 s in all, as webrtc-rs's default 1 s × 8 sends). On a lossy
/// link a handshake exchange can fail several times in a row, and any back-off beyond 200 ms
/// turns such a streak into seconds of setup (docs/reliability.md, "Connecting over a lossy
/// link"). On a path whose round trip exceeds 200 ms a flight is sent again before its answer
/// can arrive: a few hundred bytes, during setup only.
const DTLS_FLIGHT_INTERVAL: Duration = Duration::from_millis(100);
const DTLS_FLIGHT_INTERVAL_MAX: Duration = Duration::from_millis(200);
const DTLS_FLIGHT_RETRANSMISSIONS: usize = 48;

/// The same for the SCTP association's INIT and COOKIE-ECHO (T1; the ceiling is rtc-sctp
/// 0016): with T1 starting at RTO.Initial and doubling up to RTO.Max, each lost handshake
/// packet would hold the channels back by 500 ms, then 1 s, 2 s… after DTLS has completed.
const SCTP_T1_INITIAL: Duration = DTLS_FLIGHT_INTERVAL;
const SCTP_T1_MAX: Duration = DTLS_FLIGHT_INTERVAL_MAX;
const SCTP_T1_RETRANSMISSIONS: usize = DTLS_FLIGHT_RETRANSMISSIONS;

/// Builds the webrtc-rs connection; its driver reports to `handler`.
pub(crate) async fn build(
    config: &ConnectionConfig,
    handler: Arc<impl PeerConnectionEventHandler>,
) -> Result<impl PeerConnection, String> {
    let interfaces = config.interfaces.clone().or_else(interfaces_from_env);
    let addresses = bind_addresses(interfaces.as_deref())?;
    let mut settings = SettingEngineBuilder::new()
        .with_sctp_max_message_size(
            rtc::peer_connection::configuration::setting_engine::SctpMaxMessageSize::Bounded(
                super::send::MAX_PACKET_SIZE as u32,
            ),
        )
        // Setup time. A check may come from the peer before its trickled candidates do,
        // making a peer-reflexive pair that webrtc-rs would only accept after 1 s: accept it
        // at once, as browsers do. And pace checks every 50 ms instead of 200 ms, with as many
        // attempts as keep a pair alive for 2 s (the default gives up after 1.4 s).
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_srflx_acceptance_min_wait(Some(ICE_SRFLX_MIN_WAIT))
        .with_relay_acceptance_min_wait(Some(ICE_RELAY_MIN_WAIT))
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_CHECKS_PER_PAIR))
        .with_ice_timeouts(None, None, Some(ICE_CONSENT_INTERVAL))
        .with_sctp_rto_min(config.sctp_rto.min)
        .with_sctp_rto_initial(config.sctp_rto.initial)
        .with_sctp_rto_max(config.sctp_rto.max)
        .with_sctp_t1_initial(SCTP_T1_INITIAL)
        .with_sctp_t1_max(SCTP_T1_MAX)
        .with_sctp_t1_retransmissions(SCTP_T1_RETRANSMISSIONS)
        // Lost last packets of a window (or their SACKs) are retransmitted after twice the
        // RTT, at least 10 ms, instead of after RTO.Min (400 ms) with cwnd cut to one packet,
        // and new DATA goes with the probe (rtc-sctp 0014, 0015).
        .with_sctp_tail_loss_probe(true)
        .with_dtls_flight_interval(DTLS_FLIGHT_INTERVAL, DTLS_FLIGHT_INTERVAL_MAX)
        .with_dtls_flight_retransmissions(DTLS_FLIGHT_RETRANSMISSIONS)
        // Answer `a=setup:passive`: the answerer is the DTLS (and SCTP) server. JSEP allows
        // either; this is the role the addon's lossy-link and interop tests cover.
        .with_answering_dtls_role(rtc::peer_connection::transport::RTCDtlsRole::Server);
    if interfaces.is_some() {
        // A restricted connection must not reach beyond its interfaces, and mDNS would
        // open a multicast socket on all of them.
        settings = settings.with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled);
    }
    let ice_servers = config
        .ice_servers
        .iter()
        .map(|server| RTCIceServer {
            urls: server.urls.clone(),
            username: server.username.clone(),
            credential: server.credential.clone(),
        })
        .collect();
    let rtc_config = RTCConfigurationBuilder::new()
        .with_ice_servers(ice_servers)
        .with_ice_transport_policy(match config.ice_transport_policy {
            IceTransportPolicy::All => RTCIceTransportPolicy::All,
            IceTransportPolicy::Relay => RTCIceTransportPolicy::Relay,
        })
        .with_bundle_policy(match config.bundle_policy {
            BundlePolicy::Balanced => RTCBundlePolicy::Balanced,
            BundlePolicy::MaxCompat => RTCBundlePolicy::MaxCompat,
            BundlePolicy::MaxBundle => RTCBundlePolicy::MaxBundle,
        })
        .build();
    PeerConnectionBuilder::new()
        .with_configuration(rtc_config)
        .with_setting_engine(settings.build())
        .with_runtime(Arc::new(super::sockets::BufferedRuntime::new()))
        .with_handler(handler)
        .with_udp_addrs(addresses)
        .build()
        .await
        .map_err(|error| error.to_string())
}
