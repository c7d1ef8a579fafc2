//! `WebRTCDataChannel` for GDScript: a thin, synchronous object on the main thread.
//!
//! Incoming packets, the open/close transitions and the stream id are delivered to it by
//! its peer connection's `poll()`, in the order they happened; outgoing packets go straight
//! to the connection's task without blocking.

use crate::backend::{ChannelHandle, ChannelInfo, ChannelState, MAX_PACKET_SIZE};
use crate::peer_connection::clamp_i64;
use bytes::BytesMut;
use godot::classes::web_rtc_data_channel::{ChannelState as GodotChannelState, WriteMode};
use godot::classes::{IWebRtcDataChannelExtension, WebRtcDataChannelExtension};
use godot::global::Error;
use godot::prelude::*;
use godot_core::meta::RawPtr;
use std::collections::VecDeque;

/// What Godot's getters report for "not set" (see the WebRTCDataChannel class reference).
const UNSET: i32 = 65535;

/// WebRTC data channel implemented by the webrtc_rs addon.
///
/// Made by `WebRTCPeerConnection.create_data_channel()` or received through
/// `data_channel_received`; it behaves as the `WebRTCDataChannel` reference describes.
/// Packets are delivered when its peer connection is polled, in the order they arrived.
/// Packets of up to 65536 bytes are accepted (larger ones are refused with
/// `ERR_INVALID_PARAMETER`, never truncated); text packets must be valid UTF-8 and may
/// contain NUL characters. `maxPacketLifeTime` is also accepted as `maxPacketLifetime`,
/// the spelling `WebRTCMultiplayerPeer` uses.
#[derive(GodotClass)]
#[class(tool, base = WebRtcDataChannelExtension, rename = WebRTCRsDataChannel)]
pub struct DataChannel {
    base: Base<WebRtcDataChannelExtension>,
    /// `None` for an object made with `.new()` rather than by a peer connection.
    handle: Option<ChannelHandle>,
    info: ChannelInfo,
    id: Option<u16>,
    state: ChannelState,
    write_mode: WriteMode,
    inbox: VecDeque<(bool, BytesMut)>,
    /// The bytes in `inbox`.
    inbox_bytes: usize,
    /// The packet last handed out by `get_packet`: Godot reads it through the raw pointer
    /// after the call returns, so it lives here until the next one.
    current: BytesMut,
    current_is_string: bool,
}

#[godot_api]
impl IWebRtcDataChannelExtension for DataChannel {
    fn init(base: Base<WebRtcDataChannelExtension>) -> Self {
        Self::with(base, ChannelInfo::default(), None)
    }

    unsafe fn get_packet_rawptr(
        &mut self,
        r_buffer: RawPtr<*mut RawPtr<*const u8>>,
        r_buffer_size: RawPtr<*mut i32>,
    ) -> Error {
        let Some((is_string, data)) = self.inbox.pop_front() else {
            return Error::ERR_UNAVAILABLE;
        };
        self.inbox_bytes -= data.len();
        if let Some(handle) = &self.handle {
            handle.read(data.len());
        }
        self.current = data;
        self.current_is_string = is_string;
        // Godot passes `const uint8_t **` and `int32_t *`; both stay valid for this call.
        let buffer_slot = r_buffer.ptr() as *mut *const u8;
        let size_slot = r_buffer_size.ptr();
        if buffer_slot.is_null() || size_slot.is_null() {
            godot_error!("WebRTCDataChannel.get_packet(): Godot passed a null output pointer");
            return Error::ERR_INVALID_PARAMETER;
        }
        // SAFETY: non-null out-pointers from Godot's PacketPeer::get_packet.
        unsafe {
            buffer_slot.write(self.current.as_ptr());
            size_slot.write(self.current.len() as i32);
        }
        Error::OK
    }

    unsafe fn put_packet_rawptr(
        &mut self,
        p_buffer: RawPtr<*const u8>,
        p_buffer_size: i32,
    ) -> Error {
        let Some(handle) = self.handle.as_ref() else {
            godot_error!(
                "WebRTCDataChannel.put_packet(): this channel was not created by a WebRTCPeerConnection"
            );
            return Error::ERR_UNCONFIGURED;
        };
        if self.state != ChannelState::Open {
            godot_error!(
                "WebRTCDataChannel.put_packet(): channel '{}' is not open (state {:?})",
                self.info.label,
                self.state
            );
            return Error::ERR_UNCONFIGURED;
        }
        let size = match usize::try_from(p_buffer_size) {
            Ok(size) => size,
            Err(_) => {
                godot_error!("WebRTCDataChannel.put_packet(): negative size {p_buffer_size}");
                return Error::ERR_INVALID_PARAMETER;
            }
        };
        let data: &[u8] = if size == 0 || p_buffer.ptr().is_null() {
            if size != 0 {
                godot_error!("WebRTCDataChannel.put_packet(): null buffer of size {size}");
                return Error::ERR_INVALID_PARAMETER;
            }
            &[]
        } else {
            // SAFETY: Godot hands a buffer of `p_buffer_size` bytes, valid for this call.
            unsafe { std::slice::from_raw_parts(p_buffer.ptr(), size) }
        };
        match handle.send(self.write_mode == WriteMode::TEXT, data) {
            Ok(()) => Error::OK,
            Err(error) => crate::errors::report(
                &format!("WebRTCDataChannel.put_packet() on '{}'", self.info.label),
                &error,
            ),
        }
    }

    fn get_available_packet_count(&self) -> i32 {
        self.inbox.len().min(i32::MAX as usize) as i32
    }

    fn get_max_packet_size(&self) -> i32 {
        MAX_PACKET_SIZE as i32
    }

    /// Packets are delivered by the peer connection's `poll()`; as in Godot's reference,
    /// this one is reserved.
    fn poll(&mut self) -> Error {
        Error::OK
    }

    fn close(&mut self) {
        match self.state {
            ChannelState::Closing | ChannelState::Closed => {}
            // Not open yet: there is no stream to reset, so it is closed at once.
            ChannelState::Connecting => {
                if let Some(handle) = &self.handle {
                    handle.close();
                }
                self.state = ChannelState::Closed;
            }
            ChannelState::Open => {
                if let Some(handle) = &self.handle {
                    handle.close();
                }
                self.state = ChannelState::Closing;
            }
        }
    }

    fn set_write_mode(&mut self, write_mode: WriteMode) {
        self.write_mode = write_mode;
    }

    fn get_write_mode(&self) -> WriteMode {
        self.write_mode
    }

    fn was_string_packet(&self) -> bool {
        self.current_is_string
    }

    fn get_ready_state(&self) -> GodotChannelState {
        match self.state {
            ChannelState::Connecting => GodotChannelState::CONNECTING,
            ChannelState::Open => GodotChannelState::OPEN,
            ChannelState::Closing => GodotChannelState::CLOSING,
            ChannelState::Closed => GodotChannelState::CLOSED,
        }
    }

    fn get_label(&self) -> GString {
        GString::from(self.info.label.as_str())
    }

    fn is_ordered(&self) -> bool {
        self.info.options.ordered
    }

    fn get_id(&self) -> i32 {
        self.id.map_or(UNSET, i32::from)
    }

    fn get_max_packet_life_time(&self) -> i32 {
        self.info
            .options
            .max_packet_life_time
            .map_or(UNSET, i32::from)
    }

    fn get_max_retransmits(&self) -> i32 {
        self.info.options.max_retransmits.map_or(UNSET, i32::from)
    }

    fn get_protocol(&self) -> GString {
        GString::from(self.info.options.protocol.as_str())
    }

    fn is_negotiated(&self) -> bool {
        self.info.options.negotiated_id.is_some()
    }

    fn get_buffered_amount(&self) -> i32 {
        self.handle
            .as_ref()
            .map_or(0, |h| h.buffered_amount().min(i32::MAX as usize) as i32)
    }
}

impl DataChannel {
    fn with(
        base: Base<WebRtcDataChannelExtension>,
        info: ChannelInfo,
        handle: Option<ChannelHandle>,
    ) -> Self {
        let state = if handle.is_some() {
            ChannelState::Connecting
        } else {
            ChannelState::Closed
        };
        Self {
            base,
            id: info.options.negotiated_id,
            handle,
            info,
            state,
            write_mode: WriteMode::BINARY,
            inbox: VecDeque::new(),
            inbox_bytes: 0,
            current: BytesMut::new(),
            current_is_string: false,
        }
    }

    /// This channel's entry in `WebRTCRsPeerConnection.get_stats()`.
    pub(crate) fn stats(&self) -> VarDictionary {
        let stats = self
            .handle
            .as_ref()
            .map(ChannelHandle::stats)
            .unwrap_or_default();
        vdict! {
            "label" => &self.info.label.to_variant(),
            "id" => &self.get_id().to_variant(),
            "state" => &(self.get_ready_state().ord() as i64).to_variant(),
            "buffered_amount" => &clamp_i64(stats.buffered_amount).to_variant(),
            "messages_sent" => &clamp_i64(stats.messages_sent).to_variant(),
            "bytes_sent" => &clamp_i64(stats.bytes_sent).to_variant(),
            "messages_received" => &clamp_i64(stats.messages_received).to_variant(),
            "bytes_received" => &clamp_i64(stats.bytes_received).to_variant(),
            "messages_dropped" => &clamp_i64(stats.messages_dropped).to_variant(),
        }
    }

    /// A channel bound to a backend channel (made by the peer connection).
    pub(crate) fn create(info: ChannelInfo, handle: ChannelHandle) -> Gd<Self> {
        Gd::from_init_fn(|base| Self::with(base, info, Some(handle)))
    }

    /// The negotiated id this channel holds, unless it has closed.
    pub(crate) fn negotiated_id_in_use(&self) -> Option<u16> {
        if self.state == ChannelState::Closed {
            return None;
        }
        self.info.options.negotiated_id
    }

    pub(crate) fn has_unread_packets(&self) -> bool {
        !self.inbox.is_empty()
    }

    pub(crate) fn on_open(&mut self, id: Option<u16>) {
        if self.state == ChannelState::Connecting {
            self.state = ChannelState::Open;
        }
        if self.id.is_none() {
            self.id = id;
        }
    }

    pub(crate) fn on_message(&mut self, is_string: bool, data: BytesMut) {
        let Some(handle) = &self.handle else {
            return;
        };
        // A channel closed locally drops what still arrives, as a browser's would.
        if self.state == ChannelState::Closed {
            handle.discard(data.len());
            return;
        }
        // An unreliable channel keeps the newest: past its limit the oldest unread go.
        if !handle.is_reliable() {
            while self.inbox_bytes + data.len() > handle.receive_limit() {
                let Some((_, oldest)) = self.inbox.pop_front() else {
                    break;
                };
                self.inbox_bytes -= oldest.len();
                handle.discard(oldest.len());
            }
        }
        self.inbox_bytes += data.len();
        self.inbox.push_back((is_string, data));
    }

    pub(crate) fn on_closing(&mut self) {
        if matches!(self.state, ChannelState::Connecting | ChannelState::Open) {
            self.state = ChannelState::Closing;
        }
    }

    /// Closed for good: by the peer, by the connection, or after our own `close()`.
    pub(crate) fn on_closed(&mut self) {
        self.state = ChannelState::Closed;
    }
}
