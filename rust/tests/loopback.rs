//! Two backends connect over loopback without Godot: the same path the Godot classes drive,
//! with this test acting as the main thread and as the signaling relay.

mod common;

use common::{connected_negotiated, loopback_config, pump_until, Peer, DEADLINE};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use webrtc_rs::backend::{
    ChannelOptions, ChannelState, Connection, ConnectionConfig, ConnectionState, Event, SdpKind,
};

#[test]
fn two_backends_connect_and_exchange_packets_over_loopback() {
    let mut a = Peer::new("A");
    let mut b = Peer::new("B");
    let chat = a.create_channel("chat", ChannelOptions::default());
    let negotiated = ChannelOptions {
        negotiated_id: Some(7),
        ordered: false,
        max_retransmits: Some(0),
        ..Default::default()
    };
    let fast_a = a.create_channel("fast", negotiated.clone());
    let fast_b = b.create_channel("fast", negotiated);

    let started = Instant::now();
    a.connection.create_offer().unwrap();
    pump_until(
        &mut a,
        &mut b,
        "both channels open on both sides",
        |a, b| {
            a.channel_state[&chat] == ChannelState::Open
                && a.channel_state[&fast_a] == ChannelState::Open
                && b.channel_state[&fast_b] == ChannelState::Open
                && b.key_of("chat")
                    .is_some_and(|k| b.channel_state[&k] == ChannelState::Open)
        },
    );
    println!("offer -> all channels open: {:?}", started.elapsed());
    assert_eq!(a.connection_state, ConnectionState::Connected);
    let chat_b = b.key_of("chat").unwrap();
    // Both sides learn the same stream id for the in-band channel.
    assert!(a.channel_ids[&chat].is_some());
    assert_eq!(a.channel_ids[&chat], b.channel_ids[&chat_b]);
    assert_eq!(a.channel_ids[&fast_a], Some(7));

    let text = b"nul\0inside".to_vec();
    a.channels[&chat].send(true, &text).unwrap();
    a.channels[&chat].send(true, &[]).unwrap();
    a.channels[&chat].send(false, &[]).unwrap();
    a.channels[&chat].send(false, &[0, 1, 2, 255]).unwrap();
    for i in 0..200u32 {
        a.channels[&chat].send(false, &i.to_le_bytes()).unwrap();
    }
    b.channels[&fast_b].send(false, b"unreliable").unwrap();
    pump_until(&mut a, &mut b, "all packets", |a, b| {
        b.received.get(&chat_b).map_or(0, Vec::len) == 204
            && a.received.get(&fast_a).map_or(0, Vec::len) == 1
    });
    let got = &b.received[&chat_b];
    assert_eq!(got[0], (true, text));
    assert_eq!(got[1], (true, vec![]));
    assert_eq!(got[2], (false, vec![]));
    assert_eq!(got[3], (false, vec![0, 1, 2, 255]));
    for (i, packet) in got[4..].iter().enumerate() {
        assert_eq!(
            packet.1,
            (i as u32).to_le_bytes(),
            "packet {i} out of order"
        );
    }
    assert_eq!(a.received[&fast_a][0], (false, b"unreliable".to_vec()));

    // Closing a channel reaches the other side.
    a.channels[&chat].close();
    pump_until(
        &mut a,
        &mut b,
        "the chat channel to close on both sides",
        |a, b| {
            a.channel_state[&chat] == ChannelState::Closed
                && b.channel_state[&chat_b] == ChannelState::Closed
        },
    );

    // Dropping a connection closes it: the other side's channels close promptly (SCTP is
    // torn down), long before ICE would notice the silence.
    drop(a);
    let start = Instant::now();
    while b.channel_state[&fast_b] != ChannelState::Closed {
        assert!(
            start.elapsed() < DEADLINE,
            "b's channel did not close after a was dropped"
        );
        b.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("a dropped -> b's channel closed: {:?}", start.elapsed());
    assert!(b.errors.is_empty(), "{:?}", b.errors);
}

#[test]
fn garbage_is_refused_before_it_reaches_the_background() {
    let connection = Connection::start(loopback_config()).unwrap();
    let error = connection
        .set_remote_description(SdpKind::Offer, "this is not sdp")
        .unwrap_err();
    assert!(
        error.to_string().contains("offer SDP is not valid"),
        "{error}"
    );
    let error = connection
        .add_ice_candidate("0", 0, "candidate:garbage")
        .unwrap_err();
    assert!(error.to_string().contains("garbage"), "{error}");
    connection.add_ice_candidate("0", 0, "").unwrap();
}

#[test]
fn binding_a_missing_interface_fails_the_connection_with_a_message() {
    let connection = Connection::start(ConnectionConfig {
        interfaces: Some(vec!["no-such-if0".to_owned()]),
        ..Default::default()
    })
    .unwrap();
    let start = Instant::now();
    let mut events = VecDeque::new();
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|e| matches!(e, Event::ConnectionState(ConnectionState::Failed)))
    {
        assert!(start.elapsed() < DEADLINE, "no failure reported: {seen:?}");
        connection.queue().drain_into(&mut events);
        seen.extend(events.drain(..));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        matches!(&seen[0], Event::Error(m) if m.contains("no-such-if0")),
        "{seen:?}"
    );
}

fn send_numbered(peer: &Peer, key: u64, count: u32) {
    for i in 0..count {
        let mut packet = vec![0u8; 1004];
        packet[..4].copy_from_slice(&i.to_le_bytes());
        peer.channels[&key].send(false, &packet).unwrap();
    }
}

fn numbers(received: Option<&Vec<(bool, Vec<u8>)>>) -> Vec<u32> {
    received.map_or_else(Vec::new, |packets| {
        packets
            .iter()
            .map(|(_, data)| u32::from_le_bytes(data[..4].try_into().unwrap()))
            .collect()
    })
}

#[test]
fn closing_a_channel_sends_what_was_queued_first() {
    let (mut a, mut b, key_a, key_b) = connected_negotiated();
    send_numbered(&a, key_a, 300);
    a.channels[&key_a].close();
    pump_until(&mut a, &mut b, "b's channel to close", |_, b| {
        b.channel_state[&key_b] == ChannelState::Closed
    });
    assert_eq!(
        numbers(b.received.get(&key_b)),
        (0..300).collect::<Vec<_>>()
    );
}

#[test]
fn a_dropped_connection_delivers_what_was_queued() {
    let (a, mut b, key_a, key_b) = connected_negotiated();
    send_numbered(&a, key_a, 300);
    drop(a);
    all_300_arrive_then_the_channel_closes(&mut b, key_b);
}

/// `send_numbered(.., 300)` went out before the sender let go: all of it arrives, then the
/// channel closes.
fn all_300_arrive_then_the_channel_closes(b: &mut Peer, key_b: u64) {
    let start = Instant::now();
    while b.channel_state[&key_b] != ChannelState::Closed {
        assert!(start.elapsed() < DEADLINE, "b's channel did not close");
        b.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        numbers(b.received.get(&key_b)),
        (0..300).collect::<Vec<_>>()
    );
}

/// Sends `count` messages of 64 bytes at once and receives them polling every half
/// millisecond, as a busy game loop would; returns (total time, longest gap between two
/// consecutive arrivals).
fn burst(a: &mut Peer, b: &mut Peer, key_a: u64, key_b: u64, count: u32) -> (Duration, Duration) {
    b.received.remove(&key_b);
    let mut packet = [0u8; 64];
    for i in 0..count {
        packet[..4].copy_from_slice(&i.to_le_bytes());
        a.channels[&key_a].send(false, &packet).unwrap();
    }
    let start = Instant::now();
    let mut last = start;
    let mut longest = Duration::ZERO;
    let mut seen = 0;
    while seen < count as usize {
        assert!(start.elapsed() < DEADLINE, "only {seen} of {count} arrived");
        b.poll();
        a.poll();
        let now_seen = b.received.get(&key_b).map_or(0, Vec::len);
        let now = Instant::now();
        if now_seen > seen {
            longest = longest.max(now - last);
            last = now;
            seen = now_seen;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    assert_eq!(
        numbers(b.received.get(&key_b)),
        (0..count).collect::<Vec<_>>()
    );
    (start.elapsed(), longest)
}

/// Issue "flow control": bursts of small reliable messages sent in one frame arrive without
/// a stall (webrtc-rs 0.21.1 stalled 100-900 ms: the driver slept with a window update
/// queued, SCTP dropped DATA at a closed window until its 1 s retransmission timer, and the
/// driver slept with messages parked in SCTP once the application caught up).
#[test]
fn bursts_of_small_messages_arrive_without_stalls() {
    let (mut a, mut b, key_a, key_b) = connected_negotiated();
    let mut report = Vec::new();
    // (count, runs, gap counted as a stall, stalled runs tolerated). `cargo test` builds
    // without optimisation and runs other tests alongside, and a machine running CI may
    // stop the whole process for a while (gaps of 100.3 and 102.9 ms were seen in a CI run
    // where no timer of that length exists). So one run of 50 may show a gap of 100 ms
    // without it being a stall; the stall this guards against, the driver asleep with
    // messages parked until its 200 ms delayed-ack timer, showed in 5 of 50 (webrtc 0003's
    // virtual-clock test, whose clocks stand still, caught it in 4 of 4 runs without the
    // fix). A burst of 81 920 keeps both cores busy for seconds here, with gaps of up to
    // 350 ms under load (measured with one core kept busy), so that size only checks for
    // SCTP's retransmission timer (1 s).
    // `bash .ci/bench` measures both sizes, optimised, 50 runs each, against 100 ms.
    for (count, runs, stall_ms, tolerated) in [(8192, 50, 100, 1), (81920, 5, 1000, 0)] {
        let mut worst = Duration::ZERO;
        let mut stalled = 0;
        let mut totals = Vec::new();
        for _ in 0..runs {
            let (total, gap) = burst(&mut a, &mut b, key_a, key_b, count);
            worst = worst.max(gap);
            stalled += usize::from(gap >= Duration::from_millis(stall_ms));
            totals.push(total.as_millis());
        }
        totals.sort_unstable();
        report.push(format!(
            "{count} x 64 B, {runs} runs: total {}..{} ms, longest gap {} ms, runs with a gap >= {stall_ms} ms: {stalled}",
            totals[0],
            totals[totals.len() - 1],
            worst.as_millis()
        ));
        assert!(
            stalled <= tolerated && worst < Duration::from_millis(1000),
            "bursts of {count} stalled ({stalled} runs with a gap >= {stall_ms} ms, at most \
             {tolerated} allowed; longest {worst:?}): {report:?}"
        );
    }
    println!("{}", report.join("; "));
}

/// As WebRTCMultiplayerPeer frees a peer: its channels first, then the connection.
#[test]
fn a_connection_freed_after_its_channels_delivers_what_was_queued() {
    let (mut a, mut b, key_a, key_b) = connected_negotiated();
    send_numbered(&a, key_a, 300);
    a.channels.clear();
    drop(a);
    all_300_arrive_then_the_channel_closes(&mut b, key_b);
}
