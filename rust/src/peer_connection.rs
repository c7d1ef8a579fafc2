//! `WebRTCPeerConnection` for GDScript: every virtual of `WebRTCPeerConnectionExtension`,
//! answered on the main thread without waiting on the network. Commands go to the backend;
//! `poll()` turns what came back into Godot signals and channel updates, in order.
//!
//! Errors follow one rule (also in docs/behaviour.md):
//! - `ERR_INVALID_PARAMETER`: a wrong argument — type, value, unparseable SDP or candidate,
//!   or a description type the current signaling state does not allow;
//! - `ERR_UNCONFIGURED`: the object is not in a state for that call — closed, or
//!   `create_offer()` with no data channel or while answering;
//! - `ERR_CANT_CREATE`: the background runtime could not be started.

use crate::backend::config::{parse_channel_options, parse_connection_config};
use crate::backend::signaling::Side;
use crate::backend::{
    ChannelKey, Connection, ConnectionConfig, ConnectionState, Event, GatheringState, SdpKind,
    SignalingState, TransportStats,
};
use crate::data_channel::DataChannel;
use crate::dictionary::dictionary_to_json;
use godot::classes::web_rtc_peer_connection::{
    ConnectionState as GodotConnectionState, GatheringState as GodotGatheringState,
    SignalingState as GodotSignalingState,
};
use godot::classes::{
    IWebRtcPeerConnectionExtension, WebRtcDataChannel, WebRtcPeerConnectionExtension,
};
use godot::global::Error;
use godot::prelude::*;
use std::collections::{HashMap, VecDeque};

/// WebRTC peer connection implemented by the webrtc_rs addon (Rust, webrtc-rs).
///
/// You rarely name this class: once the addon is loaded it is the default implementation,
/// so `WebRTCPeerConnection.new()` and `WebRTCMultiplayerPeer` create it. It behaves as the
/// `WebRTCPeerConnection` reference describes, with these additions:
///
/// - `get_stats()` returns round-trip time, traffic, the chosen candidate pair and
///   per-channel counters;
/// - `initialize()` accepts `{"webrtc_rs": {"interfaces": ["lo"]}}` to gather candidates on
///   the named network interfaces only (loopback included when named), with mDNS off; the
///   environment variable `WEBRTC_RS_INTERFACES` (comma-separated) does the same for every
///   connection of the process;
/// - webrtc-rs's own logging reaches Godot's output at the level of the project setting
///   `webrtc_rs/logging/level` (see `set_log_level()`).
///
/// Errors follow one rule: `ERR_INVALID_PARAMETER` for a wrong argument (type, value,
/// unparseable SDP or candidate, a description the signaling state does not allow),
/// `ERR_UNCONFIGURED` for a call in the wrong state (closed, or `create_offer()` without a
/// channel), `ERR_CANT_CREATE` when the network runtime cannot start; each comes with a
/// `push_error` naming what was wrong.
#[derive(GodotClass)]
#[class(tool, base = WebRtcPeerConnectionExtension, rename = WebRTCRsPeerConnection)]
pub struct PeerConnection {
    base: Base<WebRtcPeerConnectionExtension>,
    /// What the next backend connection is built with.
    config: ConnectionConfig,
    /// Started on first use, so `WebRTCPeerConnection.new()` binds no socket by itself.
    connection: Option<Connection>,
    closed: bool,
    connection_state: ConnectionState,
    gathering_state: GatheringState,
    signaling_state: SignalingState,
    /// Channels of this connection, held weakly: Godot's reference says a channel nobody
    /// keeps a reference to is closed, and freeing it does exactly that.
    channels: HashMap<ChannelKey, InstanceId>,
    /// Bumped by `initialize()` and `close()`, so a `poll()` whose signal handler closed or
    /// re-initialised the connection stops emitting the old connection's events.
    generation: u64,
    /// Reused between polls to avoid an allocation per frame; between polls it holds what
    /// `poll()` held back.
    events: VecDeque<Event>,
    /// The process frame in which `poll()` last held events back, and how often it has
    /// held them in that frame.
    held_in: (u64, u32),
}

/// How many polls within one frame may hold a close back: a game polling in a loop of its
/// own, without frames passing, must still see the close.
const HOLDS_PER_FRAME: u32 = 16;

#[godot_api]
impl IWebRtcPeerConnectionExtension for PeerConnection {
    fn init(base: Base<WebRtcPeerConnectionExtension>) -> Self {
        Self {
            base,
            config: ConnectionConfig::default(),
            connection: None,
            closed: false,
            connection_state: ConnectionState::New,
            gathering_state: GatheringState::New,
            signaling_state: SignalingState::Stable,
            channels: HashMap::new(),
            generation: 0,
            events: VecDeque::new(),
            held_in: (u64::MAX, 0),
        }
    }

    fn get_connection_state(&self) -> GodotConnectionState {
        match self.connection_state {
            ConnectionState::New => GodotConnectionState::NEW,
            ConnectionState::Connecting => GodotConnectionState::CONNECTING,
            ConnectionState::Connected => GodotConnectionState::CONNECTED,
            ConnectionState::Disconnected => GodotConnectionState::DISCONNECTED,
            ConnectionState::Failed => GodotConnectionState::FAILED,
            ConnectionState::Closed => GodotConnectionState::CLOSED,
        }
    }

    fn get_gathering_state(&self) -> GodotGatheringState {
        match self.gathering_state {
            GatheringState::New => GodotGatheringState::NEW,
            GatheringState::Gathering => GodotGatheringState::GATHERING,
            GatheringState::Complete => GodotGatheringState::COMPLETE,
        }
    }

    fn get_signaling_state(&self) -> GodotSignalingState {
        match self.signaling_state {
            SignalingState::Stable => GodotSignalingState::STABLE,
            SignalingState::HaveLocalOffer => GodotSignalingState::HAVE_LOCAL_OFFER,
            SignalingState::HaveRemoteOffer => GodotSignalingState::HAVE_REMOTE_OFFER,
            SignalingState::HaveLocalPranswer => GodotSignalingState::HAVE_LOCAL_PRANSWER,
            SignalingState::HaveRemotePranswer => GodotSignalingState::HAVE_REMOTE_PRANSWER,
            SignalingState::Closed => GodotSignalingState::CLOSED,
        }
    }

    fn initialize(&mut self, configuration: VarDictionary) -> Error {
        let parsed = dictionary_to_json(&configuration, "configuration")
            .and_then(|value| parse_connection_config(&value));
        let (config, warnings) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                return crate::errors::report("WebRTCPeerConnection.initialize()", &error)
            }
        };
        for warning in warnings {
            godot_warn!("WebRTCPeerConnection.{warning}");
        }
        self.shut_down(ConnectionState::New, false);
        self.closed = false;
        self.signaling_state = SignalingState::Stable;
        self.gathering_state = GatheringState::New;
        self.config = config;
        match self.connection("initialize") {
            Ok(_) => Error::OK,
            Err(error) => error,
        }
    }

    fn create_data_channel(
        &mut self,
        label: GString,
        options: VarDictionary,
    ) -> Option<Gd<WebRtcDataChannel>> {
        if self.connection_state != ConnectionState::New || self.closed {
            godot_error!(
                "WebRTCPeerConnection.create_data_channel(\"{label}\"): only allowed in STATE_NEW (the connection is {:?})",
                self.connection_state
            );
            return None;
        }
        let parsed =
            dictionary_to_json(&options, "options").and_then(|value| parse_channel_options(&value));
        let (options, warnings) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                godot_error!("WebRTCPeerConnection.create_data_channel(\"{label}\"): {error}");
                return None;
            }
        };
        for warning in warnings {
            godot_warn!("WebRTCPeerConnection.{warning}");
        }
        if let Some(id) = options.negotiated_id {
            if self.negotiated_id_in_use(id) {
                godot_error!(
                    "WebRTCPeerConnection.create_data_channel(\"{label}\"): id {id} is already used by another channel of this connection (each negotiated id may be used once)"
                );
                return None;
            }
        }
        let (info, handle) = self
            .connection("create_data_channel")
            .ok()?
            .create_channel(&label.to_string(), options);
        let key = info.key;
        let channel = DataChannel::create(info, handle);
        self.channels.insert(key, channel.instance_id());
        Some(channel.upcast())
    }

    fn create_offer(&mut self) -> Error {
        if let Err(error) = self.usable("create_offer") {
            return error;
        }
        if self.channels.is_empty() {
            godot_error!(
                "WebRTCPeerConnection.create_offer(): create at least one data channel first"
            );
            return Error::ERR_UNCONFIGURED;
        }
        if !self.signaling_state.can_create_offer() {
            godot_error!(
                "WebRTCPeerConnection.create_offer(): not allowed in signaling state {} (answer the remote offer instead)",
                self.signaling_state.name()
            );
            return Error::ERR_UNCONFIGURED;
        }
        match self.connection("create_offer") {
            Ok(connection) => command_result("create_offer", connection.create_offer()),
            Err(error) => error,
        }
    }

    fn set_remote_description(&mut self, kind: GString, sdp: GString) -> Error {
        self.set_description(Side::Remote, kind, sdp)
    }

    fn set_local_description(&mut self, kind: GString, sdp: GString) -> Error {
        self.set_description(Side::Local, kind, sdp)
    }

    fn add_ice_candidate(&mut self, mid: GString, index: i32, candidate: GString) -> Error {
        if let Err(error) = self.usable("add_ice_candidate") {
            return error;
        }
        let Ok(index) = u16::try_from(index) else {
            godot_error!("WebRTCPeerConnection.add_ice_candidate(): m-line index {index} is out of range (0-65535)");
            return Error::ERR_INVALID_PARAMETER;
        };
        match self.connection("add_ice_candidate") {
            Ok(connection) => command_result(
                "add_ice_candidate",
                connection.add_ice_candidate(&mid.to_string(), index, &candidate.to_string()),
            ),
            Err(error) => error,
        }
    }

    fn poll(&mut self) -> Error {
        crate::logging::flush();
        let Some(connection) = self.connection.as_ref() else {
            return Error::OK;
        };
        // Messages first, then the close that follows them, as a browser dispatches
        // `message` events before `close`: a close reached while packets wait unread is held
        // until the next process frame, so the game gets a frame to read them.
        // WebRTCMultiplayerPeer forgets a peer the moment its connection or a channel stops
        // being open, before SceneMultiplayer reads that peer's packets (once per frame), and
        // the connection may be polled more than once per frame (by WebRTCMultiplayerPeer
        // and by the game), so without this an RPC sent just before a peer leaves would be
        // lost. What was held in an earlier frame goes first, without being held again.
        let frame = godot::classes::Engine::singleton().get_process_frames();
        let mut events = std::mem::take(&mut self.events);
        let held_earlier = if self.held_in.0 != frame || self.held_in.1 >= HOLDS_PER_FRAME {
            events.len()
        } else {
            0
        };
        connection.queue().drain_into(&mut events);
        let generation = self.generation;
        let mut applied = 0;
        while let Some(event) = events.pop_front() {
            if applied >= held_earlier && event.ends_delivery() && self.has_unread_packets() {
                events.push_front(event);
                self.held_in = match self.held_in {
                    (held, times) if held == frame => (frame, times + 1),
                    _ => (frame, 1),
                };
                break;
            }
            applied += 1;
            self.apply(event);
            if self.generation != generation {
                // A signal handler closed or re-initialised us: the rest is stale.
                events.clear();
                break;
            }
        }
        self.events = events;
        Error::OK
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.shut_down(ConnectionState::Closed, false);
        self.closed = true;
        self.signaling_state = SignalingState::Closed;
    }
}

#[godot_api]
impl PeerConnection {
    /// Returns this connection's statistics, which Godot's own `WebRTCPeerConnection` has no
    /// way to expose:
    ///
    /// - `round_trip_time_ms` (float): the selected path's latest STUN round trip; `-1.0`
    ///   until one was measured;
    /// - `bytes_sent`, `bytes_received`, `packets_sent`, `packets_received` (int): UDP
    ///   payload on the connection's transport, all channels and protocol overhead included;
    /// - `candidate_pair` (Dictionary): the path ICE chose — `local_type` and `remote_type`
    ///   (`"host"`, `"srflx"`, `"prflx"` or `"relay"`), `local_address`, `remote_address`,
    ///   `protocol` (`"udp"`), `relay_protocol` (how a relayed local candidate reaches its
    ///   TURN server: `"udp"`, `"tcp"` or `"tls"`; `""` if not relayed); empty until connected;
    /// - `data_channels` (Array of Dictionary): per channel `label`, `id`, `state`
    ///   (the `WebRTCDataChannel.ChannelState` value), `buffered_amount`, `messages_sent`,
    ///   `bytes_sent`, `messages_received`, `bytes_received`.
    ///
    /// It waits for the network thread for a few microseconds (at most 100 ms), so call it
    /// for a HUD or a log line, not for every packet. On a connection that is not started
    /// or already closed, the figures are zero. With a statically typed
    /// `WebRTCPeerConnection` variable, call it as `peer.call("get_stats")`.
    #[func]
    fn get_stats(&self) -> VarDictionary {
        crate::logging::flush();
        let transport = match self.connection.as_ref() {
            Some(connection) => match connection.transport_stats(STATS_TIMEOUT) {
                Ok(stats) => stats,
                Err(error) => {
                    godot_error!("WebRTCPeerConnection.get_stats(): {error}");
                    TransportStats::default()
                }
            },
            None => TransportStats::default(),
        };
        let pair = match &transport.candidate_pair {
            Some(pair) => vdict! {
                "local_type" => &pair.local_type.to_variant(),
                "remote_type" => &pair.remote_type.to_variant(),
                "local_address" => &pair.local_address.to_variant(),
                "remote_address" => &pair.remote_address.to_variant(),
                "protocol" => &pair.protocol.to_variant(),
                "relay_protocol" => &pair.relay_protocol.to_variant(),
            },
            None => VarDictionary::new(),
        };
        let mut channels = VarArray::new();
        let mut keys: Vec<_> = self.channels.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            if let Ok(channel) = Gd::<DataChannel>::try_from_instance_id(self.channels[&key]) {
                channels.push(&channel.bind().stats().to_variant());
            }
        }
        vdict! {
            "round_trip_time_ms" => &transport.round_trip_time.map_or(-1.0, |s| s * 1000.0).to_variant(),
            "bytes_sent" => &clamp_i64(transport.bytes_sent).to_variant(),
            "bytes_received" => &clamp_i64(transport.bytes_received).to_variant(),
            "packets_sent" => &clamp_i64(transport.packets_sent).to_variant(),
            "packets_received" => &clamp_i64(transport.packets_received).to_variant(),
            "candidate_pair" => &pair.to_variant(),
            "data_channels" => &channels.to_variant(),
        }
    }

    /// Sets how much of webrtc-rs's logging reaches Godot's output, for the whole process:
    /// `"off"`, `"error"`, `"warning"` (the default), `"info"`, `"debug"` or `"trace"`.
    /// Errors are printed with `push_error`, warnings with `push_warning`, the rest with
    /// `print`, each line starting with `webrtc-rs LEVEL module:`. Lines are printed when a
    /// connection is polled. The startup level comes from the project setting
    /// `webrtc_rs/logging/level`, or from the environment variable `WEBRTC_RS_LOG`.
    /// Returns `ERR_INVALID_PARAMETER` for an unknown level name.
    #[func]
    fn set_log_level(level: GString) -> Error {
        match crate::logging::set_level(&level.to_string()) {
            Ok(()) => Error::OK,
            Err(error) => {
                godot_error!("WebRTCRsPeerConnection.set_log_level(): {error}");
                Error::ERR_INVALID_PARAMETER
            }
        }
    }

    /// The current log level's name (see `set_log_level`).
    #[func]
    fn get_log_level() -> GString {
        GString::from(crate::logging::level())
    }
}

/// How long `get_stats()` waits for the network thread at most.
const STATS_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(100);

/// Godot integers are signed 64-bit.
pub(crate) fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl PeerConnection {
    fn apply(&mut self, event: Event) {
        match event {
            Event::SessionDescription { kind, sdp } => {
                self.signals()
                    .session_description_created()
                    .emit(kind.as_str().into(), sdp.as_str().into());
            }
            Event::IceCandidate {
                mid,
                index,
                candidate,
            } => {
                self.signals().ice_candidate_created().emit(
                    mid.as_str().into(),
                    i64::from(index),
                    candidate.as_str().into(),
                );
            }
            Event::ConnectionState(state) => {
                self.connection_state = state;
                if state == ConnectionState::Failed {
                    // Godot's reference: a channel is CLOSED when "the connection failed".
                    self.mark_channels_closed();
                }
            }
            Event::GatheringState(state) => self.gathering_state = state,
            Event::SignalingState(state) => self.signaling_state = state,
            Event::ChannelReceived { info, handle } => {
                let key = info.key;
                let channel = DataChannel::create(info, handle);
                self.channels.insert(key, channel.instance_id());
                self.signals()
                    .data_channel_received()
                    .emit(channel.upcast());
            }
            Event::ChannelOpen { key, id } => self.with_channel(key, |c| c.on_open(id)),
            Event::ChannelMessage {
                key,
                is_string,
                data,
            } => self.with_channel(key, |c| c.on_message(is_string, data)),
            Event::ChannelClosing { key } => self.with_channel(key, DataChannel::on_closing),
            Event::ChannelClosed { key } => {
                self.with_channel(key, DataChannel::on_closed);
                self.channels.remove(&key);
            }
            Event::Error(message) => godot_error!("WebRTCPeerConnection: {message}"),
        }
    }

    /// Whether a channel of this connection that has not closed uses negotiated id `id`.
    /// In-band channels need no check: webrtc-rs gives them ids that negotiated channels
    /// do not use.
    fn negotiated_id_in_use(&self, id: u16) -> bool {
        self.channels.values().any(|instance| {
            Gd::<DataChannel>::try_from_instance_id(*instance)
                .is_ok_and(|channel| channel.bind().negotiated_id_in_use() == Some(id))
        })
    }

    /// Whether a channel of this connection holds packets the game has not read.
    fn has_unread_packets(&self) -> bool {
        self.channels.values().any(|id| {
            Gd::<DataChannel>::try_from_instance_id(*id)
                .is_ok_and(|channel| channel.bind().has_unread_packets())
        })
    }

    fn with_channel(&mut self, key: ChannelKey, update: impl FnOnce(&mut DataChannel)) {
        let Some(id) = self.channels.get(&key) else {
            return;
        };
        match Gd::<DataChannel>::try_from_instance_id(*id) {
            Ok(mut channel) => update(&mut channel.bind_mut()),
            // Freed by its owner: its backend end has been dropped, which closed it.
            Err(_) => {
                self.channels.remove(&key);
            }
        }
    }

    fn set_description(&mut self, side: Side, kind: GString, sdp: GString) -> Error {
        let method = match side {
            Side::Local => "set_local_description",
            Side::Remote => "set_remote_description",
        };
        if let Err(error) = self.usable(method) {
            return error;
        }
        let Some(parsed_kind) = SdpKind::parse(&kind.to_string()) else {
            godot_error!("WebRTCPeerConnection.{method}(): type must be \"offer\", \"answer\" or \"pranswer\", got \"{kind}\"");
            return Error::ERR_INVALID_PARAMETER;
        };
        let Some(next) = self.signaling_state.apply(side, parsed_kind) else {
            godot_error!(
                "WebRTCPeerConnection.{method}(): an \"{kind}\" is not allowed in signaling state {}",
                self.signaling_state.name()
            );
            return Error::ERR_INVALID_PARAMETER;
        };
        let connection = match self.connection(method) {
            Ok(connection) => connection,
            Err(error) => return error,
        };
        let sdp = sdp.to_string();
        let result = match side {
            Side::Local => connection.set_local_description(parsed_kind, &sdp),
            Side::Remote => connection.set_remote_description(parsed_kind, &sdp),
        };
        let error = command_result(method, result);
        if error == Error::OK {
            self.signaling_state = next;
        }
        error
    }

    /// Fails with ERR_UNCONFIGURED after `close()`.
    fn usable(&self, method: &str) -> Result<(), Error> {
        if self.closed {
            godot_error!("WebRTCPeerConnection.{method}(): the connection is closed; call initialize() to use it again");
            return Err(Error::ERR_UNCONFIGURED);
        }
        Ok(())
    }

    /// The backend connection, started with the current configuration on first use.
    fn connection(&mut self, method: &str) -> Result<&Connection, Error> {
        self.usable(method)?;
        if self.connection.is_none() {
            match Connection::start(self.config.clone()) {
                Ok(connection) => self.connection = Some(connection),
                Err(error) => {
                    return Err(crate::errors::report(
                        &format!("WebRTCPeerConnection.{method}()"),
                        &error,
                    ))
                }
            }
        }
        Ok(self.connection.as_ref().expect("started above"))
    }

    /// Ends the backend connection and marks every channel closed; nothing of the old
    /// connection is emitted afterwards. `close()` and `initialize()` end it at once, as
    /// W3C's `RTCPeerConnection.close()` does; a freed object lets what it sent be delivered
    /// first (see `Connection`).
    fn shut_down(&mut self, state: ConnectionState, freed: bool) {
        if let Some(connection) = self.connection.take() {
            if !freed {
                connection.close();
            }
        }
        self.generation += 1;
        self.connection_state = state;
        self.events.clear();
        self.mark_channels_closed();
        self.channels.clear();
    }

    fn mark_channels_closed(&self) {
        for id in self.channels.values() {
            if let Ok(mut channel) = Gd::<DataChannel>::try_from_instance_id(*id) {
                channel.bind_mut().on_closed();
            }
        }
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        // Channels the game still holds must not look open once their connection is gone.
        self.shut_down(ConnectionState::Closed, true);
    }
}

fn command_result(method: &str, result: Result<(), crate::backend::Error>) -> Error {
    match result {
        Ok(()) => Error::OK,
        Err(error) => crate::errors::report(&format!("WebRTCPeerConnection.{method}()"), &error),
    }
}
