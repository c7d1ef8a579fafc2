//! One peer connection as the main thread holds it: a [`Connection`] that checks what it can
//! at once and puts everything else, in order, on the command queue of the connection's task
//! (`connection_loop.rs`), and the [`SignalQueue`] that task fills.

use super::channel::{ChannelHandle, ChannelInfo, ChannelKey, ChannelShared};
use super::config::{ChannelOptions, ConnectionConfig};
use super::connection_loop;
use super::error::Error;
use super::events::{Event, SdpKind, SignalQueue};
use super::runtime;
use super::sdp::{parse_candidate, parse_description};
use super::stats::TransportStats;
use bytes::BytesMut;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use webrtc::peer_connection::{
    PeerConnection, RTCIceCandidateInit, RTCSessionDescription, StatsSelector,
};

/// What the main thread asks of a connection's task, carried out in the order given: so
/// "create a channel, then make an offer" holds, and messages sent on different channels
/// reach SCTP in the order the game sent them.
#[derive(Debug)]
pub(crate) enum Command {
    CreateChannel {
        label: String,
        options: ChannelOptions,
        shared: Arc<ChannelShared>,
    },
    CreateOffer,
    SetLocalDescription(RTCSessionDescription),
    SetRemoteDescription(RTCSessionDescription),
    AddIceCandidate(RTCIceCandidateInit),
    Send {
        key: ChannelKey,
        is_string: bool,
        data: BytesMut,
    },
    /// `buffered_amount` wants a fresh sample of the bytes in flight (see `InFlight`).
    SampleInFlight {
        key: ChannelKey,
    },
    /// `close()` on a channel (`freed: false`), or its Godot object freed (see `close.rs`).
    CloseChannel {
        key: ChannelKey,
        freed: bool,
    },
    /// `close()`: end at once, dropping what is still queued (W3C `RTCPeerConnection.close()`).
    Close,
    /// The Godot object was freed without `close()`: deliver what was sent, then end (see
    /// `close.rs`).
    Release,
}

/// The main thread's end of one peer connection. [`Connection::close`] ends it at once;
/// dropping it without closing first delivers what was sent.
pub struct Connection {
    commands: mpsc::UnboundedSender<Command>,
    queue: Arc<SignalQueue>,
    next_key: Arc<AtomicU64>,
    /// The webrtc-rs connection once built, for statistics.
    peer: Arc<OnceLock<Weak<dyn PeerConnection>>>,
    /// What each channel may hold unread ([`ConnectionConfig::receive_buffer`]).
    receive_buffer: usize,
    /// Notified when a channel paused for unread messages may resume.
    room: Arc<Notify>,
}

impl Connection {
    /// Starts the connection's task on the shared runtime. Sockets are bound there; a failure
    /// to bind arrives as an [`Event::Error`] followed by `ConnectionState::Failed`.
    pub fn start(config: ConnectionConfig) -> Result<Self, Error> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let connection = Self {
            queue: Arc::new(SignalQueue::default()),
            next_key: Arc::new(AtomicU64::new(1)),
            peer: Arc::new(OnceLock::new()),
            receive_buffer: config.receive_buffer,
            room: Arc::new(Notify::new()),
            commands,
        };
        let task = connection_loop::run(
            config,
            connection_loop::Shared {
                commands: connection.commands.downgrade(),
                queue: connection.queue.clone(),
                next_key: connection.next_key.clone(),
                peer: connection.peer.clone(),
                room: connection.room.clone(),
            },
            receiver,
        );
        let live = runtime::LiveConnection::new();
        if !runtime::spawn(async move {
            let _live = live;
            task.await
        }) {
            return Err(Error::Stopped);
        }
        Ok(connection)
    }

    /// Reads the connection-wide statistics, waiting at most `timeout` for webrtc-rs (which
    /// answers from memory, in microseconds, unless its runtime is swamped). Before the
    /// connection exists, everything is zero.
    pub fn transport_stats(&self, timeout: Duration) -> Result<TransportStats, Error> {
        let Some(peer) = self.peer.get().and_then(Weak::upgrade) else {
            return Ok(TransportStats::default());
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let spawned = runtime::spawn(async move {
            let report = peer
                .get_stats(std::time::Instant::now(), StatsSelector::None)
                .await;
            let _ = sender.send(TransportStats::from_report(&report));
        });
        if !spawned {
            return Err(Error::Stopped);
        }
        receiver.recv_timeout(timeout).map_err(|error| match error {
            std::sync::mpsc::RecvTimeoutError::Timeout => Error::StatsTimeout(timeout),
            std::sync::mpsc::RecvTimeoutError::Disconnected => Error::Stopped,
        })
    }

    pub fn queue(&self) -> &SignalQueue {
        &self.queue
    }

    /// Creates a channel. The handle works at once (packets queue up); the channel opens
    /// once the connection is up, reported as [`Event::ChannelOpen`].
    pub fn create_channel(
        &self,
        label: &str,
        options: ChannelOptions,
    ) -> (ChannelInfo, ChannelHandle) {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let shared = ChannelShared::new(
            key,
            self.receive_buffer,
            options.is_reliable(),
            self.room.clone(),
        );
        let handle = ChannelHandle::new(shared.clone(), self.commands.clone());
        let info = ChannelInfo {
            key,
            label: label.to_owned(),
            options: options.clone(),
        };
        let sent = self.commands.send(Command::CreateChannel {
            label: label.to_owned(),
            options,
            shared,
        });
        if sent.is_err() {
            // The task is gone (runtime stopped): the channel can only ever be closed.
            self.queue.push(Event::ChannelClosed { key });
        }
        (info, handle)
    }

    /// Makes an offer; it arrives as [`Event::SessionDescription`].
    pub fn create_offer(&self) -> Result<(), Error> {
        self.send(Command::CreateOffer)
    }

    pub fn set_local_description(&self, kind: SdpKind, sdp: &str) -> Result<(), Error> {
        let description = parse_description(kind, sdp)?;
        self.send(Command::SetLocalDescription(description))
    }

    /// Applies a remote description; for an offer the answer follows as
    /// [`Event::SessionDescription`]. Candidates added earlier are applied after it.
    pub fn set_remote_description(&self, kind: SdpKind, sdp: &str) -> Result<(), Error> {
        let description = parse_description(kind, sdp)?;
        self.send(Command::SetRemoteDescription(description))
    }

    /// Trickle ICE. An empty candidate (end of candidates) is accepted and ignored.
    pub fn add_ice_candidate(&self, mid: &str, index: u16, candidate: &str) -> Result<(), Error> {
        match parse_candidate(mid, index, candidate)? {
            Some(candidate) => self.send(Command::AddIceCandidate(candidate)),
            None => Ok(()),
        }
    }

    /// Ends the connection at once: messages still queued or unacknowledged may be lost, and
    /// the sockets are released.
    pub fn close(self) {
        let _ = self.commands.send(Command::Close);
    }

    fn send(&self, command: Command) -> Result<(), Error> {
        self.commands.send(command).map_err(|_| Error::Stopped)
    }
}

impl Drop for Connection {
    /// After [`Connection::close`] the task has already ended and this goes nowhere.
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Release);
    }
}
