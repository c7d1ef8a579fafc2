//! The harness both test binaries share: two backends over loopback, with the test acting as
//! the main thread and as the signaling relay.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use webrtc_rs::backend::{
    interfaces, ChannelHandle, ChannelOptions, ChannelState, Connection, ConnectionConfig,
    ConnectionState, Event,
};

pub const DEADLINE: Duration = Duration::from_secs(20);

pub fn loopback_config() -> ConnectionConfig {
    let loopback = interfaces::loopback_name().expect("an interface holds 127.0.0.1");
    ConnectionConfig {
        interfaces: Some(vec![loopback]),
        ..Default::default()
    }
}

/// One side as the main thread sees it: the connection, its channels and what arrived.
pub struct Peer {
    pub name: &'static str,
    pub connection: Connection,
    pub channels: HashMap<u64, ChannelHandle>,
    pub channel_state: HashMap<u64, ChannelState>,
    pub channel_ids: HashMap<u64, Option<u16>>,
    pub labels: HashMap<u64, String>,
    pub received: HashMap<u64, Vec<(bool, Vec<u8>)>>,
    pub connection_state: ConnectionState,
    pub outbox: Vec<Event>,
    pub errors: Vec<String>,
}

impl Peer {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            connection: Connection::start(loopback_config()).unwrap(),
            channels: HashMap::new(),
            channel_state: HashMap::new(),
            channel_ids: HashMap::new(),
            labels: HashMap::new(),
            received: HashMap::new(),
            connection_state: ConnectionState::New,
            outbox: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn create_channel(&mut self, label: &str, options: ChannelOptions) -> u64 {
        let (info, handle) = self.connection.create_channel(label, options);
        let key = handle.key();
        self.channels.insert(key, handle);
        self.labels.insert(key, info.label);
        self.channel_state.insert(key, ChannelState::Connecting);
        key
    }

    /// Drains the queue; signaling events go to `outbox` for the relay.
    pub fn poll(&mut self) {
        let mut events = VecDeque::new();
        self.connection.queue().drain_into(&mut events);
        for event in events {
            match event {
                Event::ChannelReceived { info, handle } => {
                    self.labels.insert(info.key, info.label);
                    self.channel_state
                        .insert(info.key, ChannelState::Connecting);
                    self.channels.insert(info.key, handle);
                }
                Event::ChannelOpen { key, id } => {
                    self.channel_state.insert(key, ChannelState::Open);
                    self.channel_ids.insert(key, id);
                }
                Event::ChannelMessage {
                    key,
                    is_string,
                    data,
                } => {
                    // Read at once, as a game calling get_packet() would.
                    if let Some(handle) = self.channels.get(&key) {
                        handle.read(data.len());
                    }
                    self.received
                        .entry(key)
                        .or_default()
                        .push((is_string, data.to_vec()))
                }
                Event::ChannelClosing { key } => {
                    self.channel_state.insert(key, ChannelState::Closing);
                }
                Event::ChannelClosed { key } => {
                    self.channel_state.insert(key, ChannelState::Closed);
                }
                Event::ConnectionState(state) => self.connection_state = state,
                Event::Error(message) => self.errors.push(message),
                other => self.outbox.push(other),
            }
        }
    }

    pub fn key_of(&self, label: &str) -> Option<u64> {
        self.labels
            .iter()
            .find(|(_, l)| l.as_str() == label)
            .map(|(k, _)| *k)
    }
}

/// Moves descriptions and candidates from `from` to `to`, as a signaling server would.
pub fn relay(from: &mut Peer, to: &mut Peer) {
    for event in std::mem::take(&mut from.outbox) {
        match event {
            Event::SessionDescription { kind, sdp } => {
                from.connection.set_local_description(kind, &sdp).unwrap();
                to.connection.set_remote_description(kind, &sdp).unwrap();
            }
            Event::IceCandidate {
                mid,
                index,
                candidate,
            } => {
                assert!(
                    candidate.contains("127.0.0.1") || candidate.contains("::1"),
                    "{}: a non-loopback candidate was gathered: {candidate}",
                    from.name
                );
                to.connection
                    .add_ice_candidate(&mid, index, &candidate)
                    .unwrap()
            }
            _ => {}
        }
    }
}

pub fn pump_until(
    a: &mut Peer,
    b: &mut Peer,
    what: &str,
    mut done: impl FnMut(&Peer, &Peer) -> bool,
) {
    let start = Instant::now();
    loop {
        a.poll();
        b.poll();
        relay(a, b);
        relay(b, a);
        assert!(a.errors.is_empty(), "{}: {:?}", a.name, a.errors);
        assert!(b.errors.is_empty(), "{}: {:?}", b.name, b.errors);
        if done(a, b) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Two peers with a reliable negotiated channel "n" (id 0), open on both sides.
pub fn connected_negotiated() -> (Peer, Peer, u64, u64) {
    let _ = env_logger::builder().is_test(true).try_init();
    let mut a = Peer::new("A");
    let mut b = Peer::new("B");
    let options = ChannelOptions {
        negotiated_id: Some(0),
        ..Default::default()
    };
    let key_a = a.create_channel("n", options.clone());
    let key_b = b.create_channel("n", options);
    a.connection.create_offer().unwrap();
    pump_until(&mut a, &mut b, "the channel to open", |a, b| {
        a.channel_state[&key_a] == ChannelState::Open
            && b.channel_state[&key_b] == ChannelState::Open
    });
    (a, b, key_a, key_b)
}

/// Reads, as a game calling `get_packet()` would, `count` messages of `size` bytes arriving on
/// `b`'s channel `key_b`, emptying `a`'s queue (state and buffered-amount events only) alongside.
/// Waits `pause` between rounds (zero: spins). `events` is reused, so reading allocates nothing.
pub fn read_messages(
    a: &Peer,
    b: &Peer,
    key_b: u64,
    (size, count): (usize, usize),
    pause: Duration,
    events: &mut VecDeque<Event>,
) {
    let start = Instant::now();
    let mut seen = 0;
    while seen < count {
        assert!(start.elapsed() < DEADLINE, "only {seen} of {count} arrived");
        b.connection.queue().drain_into(events);
        for event in events.drain(..) {
            if let Event::ChannelMessage { key, data, .. } = event {
                assert_eq!((key, data.len()), (key_b, size));
                b.channels[&key_b].read(size);
                seen += 1;
            }
        }
        a.connection.queue().drain_into(events);
        events.clear();
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
}
