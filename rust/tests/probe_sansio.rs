//! What driving webrtc-rs's sans-I/O core from one loop would gain, measured before choosing
//! it (issue "one loop per connection"; docs/design.md, "Why webrtc-rs's driver").
//!
//! Two peers in one process over loopback, 64-byte messages on a reliable ordered channel:
//! - **core**: two `rtc::RTCPeerConnection`s driven by this thread alone (non-blocking UDP
//!   sockets, the core's timers), as str0m's canonical loop does: no task, no lock, no wake-up;
//! - **backend**: the same through this addon's backend (webrtc-rs's driver and the
//!   connection's task on the shared runtime), the test thread acting as the game's main
//!   thread.
//!
//! Both spin without sleeping while they wait, so the figures are each path's own cost. It
//! only prints; run it optimised:
//! `cargo test --release --test probe_sansio -- --ignored --nocapture`.

mod common;

use bytes::BytesMut;
use common::{connected_negotiated, read_messages};
use rtc::data_channel::RTCDataChannelInit;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::event::{RTCDataChannelEvent, RTCPeerConnectionEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use webrtc_rs::backend::Event;

const BURST: usize = 100_000;
const PINGS: usize = 5_000;

/// One core and its socket.
struct Core {
    pc: RTCPeerConnection,
    socket: UdpSocket,
    addr: SocketAddr,
    buffer: Vec<u8>,
    /// The channel's connection-local handle.
    channel: Option<rtc::data_channel::RTCDataChannelId>,
    open: bool,
}

impl Core {
    fn new(role: RTCDtlsRole) -> Core {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        // As the backend's sockets (backend/sockets.rs): a burst must not overflow it.
        socket2::SockRef::from(&socket)
            .set_recv_buffer_size(webrtc_rs::backend::sockets::UDP_RECEIVE_BUFFER)
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(
                SettingEngineBuilder::new()
                    .with_answering_dtls_role(role)
                    .build(),
            )
            .build(Instant::now())
            .unwrap();
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: addr.ip().to_string(),
                port: addr.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .unwrap();
        pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json().unwrap())
            .unwrap();
        Core {
            pc,
            socket,
            addr,
            buffer: vec![0; 2048],
            channel: None,
            open: false,
        }
    }

    /// One turn of the loop: what the core wants sent, what arrived, due timers, events.
    /// Messages received are counted into `received`.
    fn turn(&mut self, received: &mut usize) {
        let now = Instant::now();
        while let Some(out) = self.pc.poll_write() {
            let _ = self.socket.send_to(&out.message, out.transport.peer_addr);
        }
        while let Ok((size, peer)) = self.socket.recv_from(&mut self.buffer) {
            let _ = self.pc.handle_read(TaggedBytesMut {
                now,
                transport: TransportContext {
                    local_addr: self.addr,
                    peer_addr: peer,
                    ecn: None,
                    transport_protocol: TransportProtocol::UDP,
                },
                message: BytesMut::from(&self.buffer[..size]),
            });
        }
        if self.pc.poll_timeout().is_some_and(|due| due <= now) {
            let _ = self.pc.handle_timeout(now);
        }
        while let Some(event) = self.pc.poll_event() {
            if let RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnOpen(_)) = event {
                self.open = true;
            }
        }
        while let Some(message) = self.pc.poll_read() {
            if let RTCMessage::DataChannelMessage(..) = message.message {
                *received += 1;
            }
        }
        while let Some(out) = self.pc.poll_write() {
            let _ = self.socket.send_to(&out.message, out.transport.peer_addr);
        }
    }

    fn send(&mut self, payload: &[u8]) -> bool {
        let id = self.channel.expect("a channel");
        self.pc.data_channel(id).is_some_and(|mut channel| {
            channel
                .send(Instant::now(), BytesMut::from(payload))
                .is_ok()
        })
    }
}

fn connected_cores() -> (Core, Core) {
    let mut a = Core::new(RTCDtlsRole::Server);
    let mut b = Core::new(RTCDtlsRole::Client);
    let init = RTCDataChannelInit {
        ordered: true,
        negotiated: Some(0),
        ..Default::default()
    };
    a.channel = Some(
        a.pc.create_data_channel("n", Some(init.clone()))
            .unwrap()
            .id(),
    );
    b.channel = Some(b.pc.create_data_channel("n", Some(init)).unwrap().id());
    let offer = a.pc.create_offer(None).unwrap();
    a.pc.set_local_description(Instant::now(), offer.clone())
        .unwrap();
    b.pc.set_remote_description(Instant::now(), offer).unwrap();
    let answer = b.pc.create_answer(None).unwrap();
    b.pc.set_local_description(Instant::now(), answer.clone())
        .unwrap();
    a.pc.set_remote_description(Instant::now(), answer).unwrap();
    let start = Instant::now();
    let mut ignored = 0;
    while !(a.open && b.open) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the cores did not connect"
        );
        a.turn(&mut ignored);
        b.turn(&mut ignored);
    }
    (a, b)
}

fn percentile(samples: &mut [f64], share: f64) -> f64 {
    samples.sort_by(|x, y| x.total_cmp(y));
    samples[((samples.len() as f64 * share) as usize).min(samples.len() - 1)]
}

fn core_figures() -> (f64, f64, f64) {
    let (mut a, mut b) = connected_cores();
    let payload = [7u8; 64];
    let mut received = 0;
    let mut ignored = 0;
    // Throughput: keep SCTP fed, as the backend's task does from its queue.
    let start = Instant::now();
    let mut sent = 0;
    while received < BURST {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "core: {received} of {BURST}"
        );
        while sent < BURST && sent - received < 4096 && a.send(&payload) {
            sent += 1;
        }
        a.turn(&mut ignored);
        b.turn(&mut received);
    }
    let per_second = BURST as f64 / start.elapsed().as_secs_f64();
    // Round trips: one message out, one back.
    let mut rtts = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let start = Instant::now();
        assert!(a.send(&payload));
        let (mut at_b, mut at_a) = (0, 0);
        while at_a == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "core: a ping was lost"
            );
            a.turn(&mut at_a);
            b.turn(&mut at_b);
            if at_b > 0 {
                at_b = 0;
                assert!(b.send(&payload));
            }
        }
        rtts.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    (
        per_second,
        percentile(&mut rtts, 0.5),
        percentile(&mut rtts, 0.99),
    )
}

fn backend_figures() -> (f64, f64, f64) {
    let (a, b, key_a, key_b) = connected_negotiated();
    let payload = [7u8; 64];
    let mut events = VecDeque::new();
    let start = Instant::now();
    for _ in 0..BURST {
        a.channels[&key_a].send(false, &payload).unwrap();
    }
    read_messages(&a, &b, key_b, (64, BURST), Duration::ZERO, &mut events);
    let per_second = BURST as f64 / start.elapsed().as_secs_f64();
    let mut rtts = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let start = Instant::now();
        a.channels[&key_a].send(false, &payload).unwrap();
        let mut at_a = false;
        let mut at_b = false;
        while !at_a {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "backend: a ping was lost"
            );
            for (connection, here) in [(&b.connection, &mut at_b), (&a.connection, &mut at_a)] {
                connection.queue().drain_into(&mut events);
                for event in events.drain(..) {
                    if let Event::ChannelMessage { .. } = event {
                        *here = true;
                    }
                }
            }
            if at_b {
                at_b = false;
                b.channels[&key_b].read(64);
                b.channels[&key_b].send(false, &payload).unwrap();
            }
        }
        a.channels[&key_a].read(64);
        rtts.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    (
        per_second,
        percentile(&mut rtts, 0.5),
        percentile(&mut rtts, 0.99),
    )
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn probe_the_core_against_the_backend() {
    for round in 1..=3 {
        for (name, figures) in [
            ("core", core_figures as fn() -> _),
            ("backend", backend_figures),
        ] {
            let (per_second, median, p99) = figures();
            println!(
                "round {round} {name:>7}: 64 B {:>7.0} msg/s; RTT median {median:.3} ms, p99 {p99:.3} ms",
                per_second
            );
        }
    }
}
