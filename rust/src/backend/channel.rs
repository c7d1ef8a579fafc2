//! One data channel as the main thread holds it: a [`ChannelHandle`] that queues sends on its
//! connection's command queue and reads counters the connection's task keeps up to date.
//! The task's side of a channel is in `connection_loop.rs`, `send.rs`, `receive.rs` and
//! `close.rs`.

use super::config::ChannelOptions;
use super::connection::Command;
use super::error::Error;
use super::receive::ReceiveBuffer;
use super::send::{check_packet, InFlight};
use super::stats::{ChannelCounters, ChannelStats};
use bytes::BytesMut;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};

/// Identifies a channel within its connection, from the moment it is created (the SCTP
/// stream id of an in-band channel is only known once it opens).
pub type ChannelKey = u64;

/// What a channel was created with, as the Godot getters report it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelInfo {
    pub key: ChannelKey,
    pub label: String,
    pub options: ChannelOptions,
}

/// What the main thread and the connection's task both read, without locks.
#[derive(Debug)]
pub(crate) struct ChannelShared {
    pub(crate) key: ChannelKey,
    /// Bytes given to `send` that the task has not yet handed to SCTP.
    pub(crate) queued: AtomicUsize,
    pub(crate) in_flight: InFlight,
    pub(crate) counters: ChannelCounters,
    pub(crate) receive: ReceiveBuffer,
}

impl ChannelShared {
    pub(crate) fn new(
        key: ChannelKey,
        receive_limit: usize,
        reliable: bool,
        room: Arc<Notify>,
    ) -> Arc<Self> {
        Arc::new(Self {
            key,
            queued: AtomicUsize::new(0),
            in_flight: InFlight::default(),
            counters: ChannelCounters::default(),
            receive: ReceiveBuffer::new(receive_limit, reliable, room),
        })
    }

    /// `bytes` queued by the game left the queue: handed to SCTP, or dropped.
    pub(crate) fn dequeued(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// The Godot object's end of a channel. Dropping it closes the channel.
#[derive(Debug)]
pub struct ChannelHandle {
    shared: Arc<ChannelShared>,
    commands: mpsc::UnboundedSender<Command>,
}

impl ChannelHandle {
    pub(crate) fn new(
        shared: Arc<ChannelShared>,
        commands: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Self { shared, commands }
    }

    pub fn key(&self) -> ChannelKey {
        self.shared.key
    }

    /// Queues one message. Never blocks: the connection's task hands it to SCTP in the order
    /// it was given, across all of the connection's channels.
    pub fn send(&self, is_string: bool, data: &[u8]) -> Result<(), Error> {
        check_packet(is_string, data)?;
        self.shared.queued.fetch_add(data.len(), Ordering::Relaxed);
        self.commands
            .send(Command::Send {
                key: self.shared.key,
                is_string,
                data: BytesMut::from(data),
            })
            .map_err(|_| {
                self.shared.dequeued(data.len());
                Error::ChannelClosed
            })
    }

    /// Starts the closing handshake; `ChannelClosed` follows when it is done. What was sent
    /// before on any channel of the connection goes out first.
    pub fn close(&self) {
        let _ = self.commands.send(Command::CloseChannel {
            key: self.shared.key,
            freed: false,
        });
    }

    /// Bytes queued or in flight and not yet acknowledged by the peer (see [`InFlight`]).
    pub fn buffered_amount(&self) -> usize {
        let in_flight = self.shared.in_flight.read(|| {
            self.commands
                .send(Command::SampleInFlight {
                    key: self.shared.key,
                })
                .is_ok()
        });
        self.shared.queued.load(Ordering::Relaxed) + in_flight
    }

    /// Messages and bytes that went out and came in, and what is still buffered.
    pub fn stats(&self) -> ChannelStats {
        let mut stats = self.shared.counters.snapshot(self.buffered_amount());
        stats.messages_dropped = self.shared.receive.dropped();
        stats
    }

    /// The game read a received message of `bytes` (see [`ReceiveBuffer`]).
    pub fn read(&self, bytes: usize) {
        self.shared.receive.taken(bytes);
    }

    /// A received message of `bytes` was dropped unread: an unreliable channel over its
    /// limit, or a channel the game closed.
    pub fn discard(&self, bytes: usize) {
        self.shared.receive.discarded(bytes);
    }

    /// What an unreliable channel keeps unread before it drops its oldest message.
    pub fn receive_limit(&self) -> usize {
        self.shared.receive.limit()
    }

    pub fn is_reliable(&self) -> bool {
        self.shared.receive.is_reliable()
    }
}

impl Drop for ChannelHandle {
    fn drop(&mut self) {
        // Nothing will read any more: the task must not keep the channel paused for room.
        self.shared.receive.release();
        let _ = self.commands.send(Command::CloseChannel {
            key: self.shared.key,
            freed: true,
        });
    }
}
