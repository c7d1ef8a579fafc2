//! `WebRTCLobbyListener` for GDScript: the WebSocket listener `WebRTCLobbyServer` runs on.
//! Thin and synchronous; the work is in [`crate::lobby`].

use crate::dictionary::dictionary_to_json;
use crate::lobby::{parse_options, Listener, ListenerEvent, SendError};
use godot::global::{godot_error, Error};
use godot::prelude::*;

/// A WebSocket server (`ws://`, or `wss://` with a certificate) that accepts and handshakes
/// on the addon's network thread, for [code]WebRTCLobbyServer[/code].
///
/// Connections are accepted as fast as they arrive, however busy the main thread is, with a
/// listen backlog of 4096; a handshake has [code]handshake_timeout[/code], and unfinished
/// handshakes are bounded per address and in all (a newcomer takes the place of the oldest
/// unfinished one). Call [method poll] every frame: it returns what happened since, in order,
/// as arrays whose first element is an [code]EVENT_*[/code] constant:
/// [code][EVENT_OPENED, id, address, path][/code], [code][EVENT_TEXT, id, text][/code],
/// [code][EVENT_BINARY, id, bytes][/code], [code][EVENT_CLOSED, id, code, reason][/code].
/// [code]EVENT_CLOSED[/code] comes exactly once for every opened connection, whoever ended it.
#[derive(GodotClass)]
#[class(init, base = RefCounted, rename = WebRTCLobbyListener)]
pub struct LobbyListener {
    base: Base<RefCounted>,
    listener: Option<Listener>,
}

#[godot_api]
impl LobbyListener {
    /// [code][EVENT_OPENED, id, address, path][/code]: a connection finished its handshakes;
    /// [code]path[/code] is the request's path, percent-encoded.
    #[constant]
    const EVENT_OPENED: i32 = 0;
    /// [code][EVENT_TEXT, id, text][/code]: a text message.
    #[constant]
    const EVENT_TEXT: i32 = 1;
    /// [code][EVENT_BINARY, id, bytes][/code]: a binary message.
    #[constant]
    const EVENT_BINARY: i32 = 2;
    /// [code][EVENT_CLOSED, id, code, reason][/code]: the connection is gone. [code]code[/code]
    /// is the client's close code, ours if the server closed it, 1006 if it was lost or timed
    /// out, 1009 after a message over [code]max_message_bytes[/code].
    #[constant]
    const EVENT_CLOSED: i32 = 3;

    /// Listens on [param port] (0: any free port) at [param bind_address] (an IP address, or
    /// [code]"*"[/code] for every address). [param options] may set [code]backlog[/code] (4096),
    /// [code]max_connections[/code] (4096), [code]max_connections_per_address[/code] (256),
    /// [code]max_unfinished[/code] (1024), [code]max_unfinished_per_address[/code] (64),
    /// [code]handshake_timeout[/code] (5 s), [code]max_message_bytes[/code] (16384),
    /// [code]max_queued_messages[/code] (64 received messages waiting for [method poll], per
    /// connection), [code]max_unsent_bytes[/code] (262144 sent and not yet written, per
    /// connection),
    /// [code]heartbeat_interval[/code] (15 s; 0 for none), and [code]tls_certificate[/code]
    /// with [code]tls_key[/code] (PEM text) for [code]wss://[/code]. Returns OK,
    /// [code]ERR_INVALID_PARAMETER[/code] for a bad option or address,
    /// [code]ERR_ALREADY_IN_USE[/code] if already listening, or [code]ERR_CANT_CREATE[/code].
    #[func]
    fn listen(&mut self, port: i32, bind_address: GString, options: VarDictionary) -> Error {
        if self.listener.is_some() {
            godot_error!("WebRTCLobbyListener.listen(): already listening; stop() first");
            return Error::ERR_ALREADY_IN_USE;
        }
        let Ok(port) = u16::try_from(port) else {
            godot_error!("WebRTCLobbyListener.listen(): port {port} is not 0-65535");
            return Error::ERR_INVALID_PARAMETER;
        };
        let config = match dictionary_to_json(&options, "options")
            .map_err(|error| error.to_string())
            .and_then(|options| parse_options(&options))
        {
            Ok(config) => config,
            Err(problem) => {
                godot_error!("WebRTCLobbyListener.listen(): {problem}");
                return Error::ERR_INVALID_PARAMETER;
            }
        };
        match Listener::bind(&bind_address.to_string(), port, config) {
            Ok(listener) => {
                self.listener = Some(listener);
                Error::OK
            }
            Err(error) => {
                godot_error!("WebRTCLobbyListener.listen(): {error}");
                match error {
                    crate::lobby::ListenError::BadAddress(_) => Error::ERR_INVALID_PARAMETER,
                    _ => Error::ERR_CANT_CREATE,
                }
            }
        }
    }

    /// What happened since the last call, in order (see the class description).
    #[func]
    fn poll(&mut self) -> VarArray {
        // The listener's warnings (running out of file descriptors) are printed here too: a
        // lobby server has no peer connection whose poll() would.
        crate::logging::flush();
        let mut events = VarArray::new();
        let Some(listener) = self.listener.as_mut() else {
            return events;
        };
        for event in listener.poll() {
            let entry = match event {
                ListenerEvent::Opened { id, address, path } => {
                    varray![Self::EVENT_OPENED, id as i64, address.to_string(), path]
                }
                ListenerEvent::Text { id, text } => {
                    varray![Self::EVENT_TEXT, id as i64, text]
                }
                ListenerEvent::Binary { id, data } => {
                    let mut entry = varray![Self::EVENT_BINARY, id as i64];
                    entry.push(&PackedByteArray::from(data.as_slice()).to_variant());
                    entry
                }
                ListenerEvent::Closed { id, code, reason } => {
                    varray![Self::EVENT_CLOSED, id as i64, code as i64, reason]
                }
            };
            events.push(&entry.to_variant());
        }
        events
    }

    /// Queues [param text] for connection [param id]. Returns OK,
    /// [code]ERR_OUT_OF_MEMORY[/code] when its queue is full (the client does not read what
    /// it is sent), or [code]ERR_DOES_NOT_EXIST[/code] when it is not open.
    #[func]
    fn send_text(&self, id: i64, text: GString) -> Error {
        let Some(listener) = self.listener.as_ref() else {
            return Error::ERR_DOES_NOT_EXIST;
        };
        match listener.send_text(id as u64, text.to_string()) {
            Ok(()) => Error::OK,
            Err(SendError::Full) => Error::ERR_OUT_OF_MEMORY,
            Err(SendError::Gone) => Error::ERR_DOES_NOT_EXIST,
        }
    }

    /// Closes connection [param id] with [param code] and [param reason], after what was
    /// queued for it; it is dropped if the client does not answer within a second.
    #[func]
    fn close(&self, id: i64, code: i32, reason: GString) {
        if let Some(listener) = self.listener.as_ref() {
            let code = u16::try_from(code).unwrap_or(1000);
            listener.close(id as u64, code, &reason.to_string());
        }
    }

    /// Drops connection [param id] at once, without a close frame.
    #[func]
    fn drop_connection(&self, id: i64) {
        if let Some(listener) = self.listener.as_ref() {
            listener.drop_connection(id as u64);
        }
    }

    /// Stops listening and closes every connection (code 1001).
    #[func]
    fn stop(&mut self) {
        self.listener = None;
    }

    #[func]
    fn is_listening(&self) -> bool {
        self.listener.is_some()
    }

    /// The port listened on (0 when not listening).
    #[func]
    fn get_port(&self) -> i32 {
        self.listener
            .as_ref()
            .map_or(0, |listener| listener.local_addr().port() as i32)
    }

    /// [code]accepted[/code], [code]refused[/code] (over a connection limit),
    /// [code]handshake_failures[/code], [code]evicted[/code] (unfinished handshakes dropped
    /// for newcomers) since [method listen]; [code]unfinished[/code] and [code]open[/code] now.
    #[func]
    fn get_stats(&self) -> VarDictionary {
        let stats = self
            .listener
            .as_ref()
            .map(|listener| listener.stats())
            .unwrap_or_default();
        vdict! {
            "accepted" => stats.accepted as i64,
            "refused" => stats.refused as i64,
            "handshake_failures" => stats.handshake_failures as i64,
            "evicted" => stats.evicted as i64,
            "unfinished" => stats.unfinished as i64,
            "open" => stats.open as i64,
        }
    }
}
