//! What the main thread holds ([`Listener`]), what it is told ([`ListenerEvent`]), and the
//! accept loop with its admission rules.

use super::connection::{serve, CloseRequest, ConnectionHandle};
use crate::backend::runtime::{self, Latch};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message;

/// How the listener admits and serves connections.
#[derive(Clone)]
pub struct ListenerConfig {
    /// The listen backlog: connections the kernel completes before the accept loop takes
    /// them. The system caps it (Linux: `net.core.somaxconn`).
    pub backlog: u32,
    /// Connections at once, unfinished handshakes included; more are refused.
    pub max_connections: usize,
    /// Connections at once from one IP address (for IPv6, one /64: what one host or home
    /// network is given); more are refused.
    pub max_connections_per_address: usize,
    /// Connections still in their TLS or WebSocket handshake, in all. A newcomer beyond it
    /// takes the place of the oldest unfinished one, so sockets that never finish cannot
    /// keep anyone out.
    pub max_unfinished: usize,
    /// Unfinished handshakes from one IP address (IPv6: one /64); more are refused.
    pub max_unfinished_per_address: usize,
    /// Time for the TLS and WebSocket handshakes together.
    pub handshake_timeout: Duration,
    /// Largest message (and frame) accepted; a larger one closes the connection with 1009.
    pub max_message_bytes: usize,
    /// Received messages one connection may have waiting for [`Listener::poll`]; reading
    /// from it pauses meanwhile.
    pub max_queued_messages: usize,
    /// Bytes sent to one connection and not yet written to its socket, beyond which
    /// [`Listener::send_text`] reports [`SendError::Full`] (the client does not read).
    pub max_unsent_bytes: usize,
    /// Pings this often; a connection that sent nothing since the previous ping is closed.
    pub heartbeat_interval: Option<Duration>,
    /// `wss://` when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Proxies (nginx, HAProxy) whose connections stand for their clients: for these, the
    /// client's address is the last one in the request's `X-Forwarded-For`, and the
    /// per-address limits count that address instead of the proxy's.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            backlog: 4096,
            max_connections: 4096,
            max_connections_per_address: 256,
            max_unfinished: 1024,
            max_unfinished_per_address: 64,
            handshake_timeout: Duration::from_secs(5),
            max_message_bytes: 16384,
            max_queued_messages: 64,
            max_unsent_bytes: 256 * 1024,
            heartbeat_interval: Some(Duration::from_secs(15)),
            tls: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// What happened to the listener's connections, in order, from [`Listener::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerEvent {
    /// A connection finished its handshakes; `path` is the request's path as sent
    /// (percent-encoded).
    Opened {
        id: u64,
        address: IpAddr,
        path: String,
    },
    Text {
        id: u64,
        text: String,
    },
    Binary {
        id: u64,
        data: Vec<u8>,
    },
    /// The connection is gone; nothing more comes from `id`. `code` is the close code: the
    /// client's, ours if we closed it, 1006 when the connection was lost or timed out, 1009
    /// for a message over the limit.
    Closed {
        id: u64,
        code: u16,
        reason: String,
    },
}

/// An event as a connection's task reports it: `Opened` also hands over the handle the main
/// thread talks to the connection through.
pub(super) enum Report {
    Opened {
        id: u64,
        address: IpAddr,
        path: String,
        handle: ConnectionHandle,
    },
    Event(ListenerEvent),
}

/// Counters since the listener started, and current sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// Connections admitted (before their handshakes).
    pub accepted: u64,
    /// Connections refused, over a connection or unfinished-handshake limit (those from a
    /// trusted proxy during their handshake, with HTTP 429).
    pub refused: u64,
    /// Handshakes that failed or timed out.
    pub handshake_failures: u64,
    /// Unfinished handshakes dropped to make room for newcomers.
    pub evicted: u64,
    /// Connections in their handshakes now.
    pub unfinished: usize,
    /// Open WebSocket connections now.
    pub open: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("'{0}' is not an IP address (or * for every address)")]
    BadAddress(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: io::Error,
    },
    #[error("cannot start the network runtime: {0}")]
    Runtime(io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the certificate PEM holds no certificate")]
    NoCertificate,
    #[error("the certificate PEM: {0}")]
    Certificate(rustls::pki_types::pem::Error),
    #[error("the key PEM: {0}")]
    Key(rustls::pki_types::pem::Error),
    #[error("the key does not go with the certificate, or is unsupported: {0}")]
    Rustls(#[from] rustls::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The connection's outbound queue is full: the client does not read what it is sent.
    Full,
    /// No such open connection (it closed, or was never opened).
    Gone,
}

/// A TLS server configuration from a PEM certificate chain and its PEM private key.
pub fn tls_config_from_pem(
    certificate_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(certificate_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(TlsError::Certificate)?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(TlsError::Key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// The state every task of one listener shares.
pub(super) struct Shared {
    pub config: ListenerConfig,
    reports: Mutex<Vec<Report>>,
    admission: Mutex<Admission>,
    stopping: Latch,
    accepted: AtomicU64,
    refused: AtomicU64,
    handshake_failures: AtomicU64,
    evicted: AtomicU64,
}

/// Who is connected: what the admission rules count.
#[derive(Default)]
struct Admission {
    next_id: u64,
    per_address: HashMap<IpAddr, usize>,
    total: usize,
    /// Unfinished handshakes, oldest first (ids increase): the address they are counted
    /// under (none for a trusted proxy's), and the handle that ends them.
    unfinished: BTreeMap<u64, (Option<IpAddr>, Option<AbortHandle>)>,
    unfinished_per_address: HashMap<IpAddr, usize>,
    open: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One less for `address` in `counts`, forgetting addresses that reach zero.
fn count_down(counts: &mut HashMap<IpAddr, usize>, address: IpAddr) {
    if let Some(count) = counts.get_mut(&address) {
        *count -= 1;
        if *count == 0 {
            counts.remove(&address);
        }
    }
}

impl Shared {
    pub fn report(&self, report: Report) {
        lock(&self.reports).push(report);
    }

    pub fn handshake_failed(&self) {
        self.handshake_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Resolves once the listener is stopping.
    pub async fn stopped(&self) {
        self.stopping.raised().await
    }

    /// Admits a connection from `address`, or refuses it (`None`) over a limit. Evicts the
    /// oldest unfinished handshake if they are at their bound.
    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let config = &self.config;
        // A trusted proxy's connections are counted under their clients' addresses, once
        // the request names them (`Slot::forwarded_for`).
        let key = (!config.trusted_proxies.contains(&address)).then(|| limited_as(address));
        let mut evict = None;
        let id = {
            let mut admission = lock(&self.admission);
            let over_address_limits = key.is_some_and(|key| {
                admission.per_address.get(&key).copied().unwrap_or(0)
                    >= config.max_connections_per_address
                    || admission
                        .unfinished_per_address
                        .get(&key)
                        .copied()
                        .unwrap_or(0)
                        >= config.max_unfinished_per_address
            });
            if admission.total >= config.max_connections || over_address_limits {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            if admission.unfinished.len() >= config.max_unfinished.max(1) {
                if let Some((_, (oldest, handle))) = admission.unfinished.pop_first() {
                    if let Some(oldest) = oldest {
                        count_down(&mut admission.unfinished_per_address, oldest);
                    }
                    evict = handle;
                    self.evicted.fetch_add(1, Ordering::Relaxed);
                }
            }
            admission.next_id += 1;
            let id = admission.next_id;
            admission.total += 1;
            if let Some(key) = key {
                *admission.per_address.entry(key).or_default() += 1;
                *admission.unfinished_per_address.entry(key).or_default() += 1;
            }
            admission.unfinished.insert(id, (key, None));
            id
        };
        if let Some(handle) = evict {
            handle.abort();
        }
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            shared: self.clone(),
            id,
            address,
            key,
            open: false,
        })
    }

    /// Stores the handle that ends connection `id`'s task, unless it already finished its
    /// handshake or was evicted (then there is nothing to end early).
    fn set_abort_handle(&self, id: u64, handle: AbortHandle) {
        if let Some(entry) = lock(&self.admission).unfinished.get_mut(&id) {
            entry.1 = Some(handle);
        }
    }
}

/// A connection's place in the counts, from admission until its task ends (also when the
/// task is aborted), so the counts always match the connections that exist.
pub(super) struct Slot {
    shared: Arc<Shared>,
    pub id: u64,
    /// The client's address: the peer's, or the one a trusted proxy forwarded.
    pub address: IpAddr,
    /// What the per-address limits count it under ([`limited_as`]); none for a trusted
    /// proxy's connection until its client is known.
    key: Option<IpAddr>,
    open: bool,
}

impl Slot {
    /// Whether the connection is a trusted proxy's whose client is not known yet.
    pub fn awaits_forwarded_address(&self) -> bool {
        self.key.is_none()
    }

    /// For a trusted proxy's connection: counts it under `client`, the address the proxy
    /// forwarded. `false` if that address already has its share of connections.
    pub fn forwarded_for(&mut self, client: IpAddr) -> bool {
        let key = limited_as(client);
        let mut admission = lock(&self.shared.admission);
        let count = admission.per_address.entry(key).or_default();
        if *count >= self.shared.config.max_connections_per_address {
            if *count == 0 {
                admission.per_address.remove(&key);
            }
            self.shared.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        *count += 1;
        self.key = Some(key);
        self.address = client;
        true
    }

    /// Moves the connection from the unfinished to the open ones; `false` if it was evicted
    /// meanwhile (its task is ending).
    pub fn handshake_done(&mut self) -> bool {
        let mut admission = lock(&self.shared.admission);
        let Some((counted_under, _)) = admission.unfinished.remove(&self.id) else {
            return false;
        };
        if let Some(key) = counted_under {
            count_down(&mut admission.unfinished_per_address, key);
        }
        admission.open += 1;
        self.open = true;
        true
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut admission = lock(&self.shared.admission);
        admission.total -= 1;
        if let Some(key) = self.key {
            count_down(&mut admission.per_address, key);
        }
        if self.open {
            admission.open -= 1;
        } else if let Some((Some(key), _)) = admission.unfinished.remove(&self.id) {
            count_down(&mut admission.unfinished_per_address, key);
        }
        if admission.total == 0 {
            // After a rush, give the connections' buffers back to the system.
            runtime::release_memory_when_idle();
        }
    }
}

/// A listening WebSocket server, owned by the main thread: [`poll`](Self::poll) it for
/// events, and answer with [`send_text`](Self::send_text) and [`close`](Self::close).
/// Dropping it stops it (connections are closed with 1001).
pub struct Listener {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    connections: HashMap<u64, ConnectionHandle>,
    /// The reports taken last time, kept for their allocation.
    taken: Vec<Report>,
    accept_loop: AbortHandle,
}

impl Listener {
    /// Listens on `bind_address` (an IP address, or `*` for every address, IPv6 and IPv4)
    /// and `port` (0: any free one).
    pub fn bind(
        bind_address: &str,
        port: u16,
        config: ListenerConfig,
    ) -> Result<Self, ListenError> {
        let std_listener = if bind_address == "*" {
            // Dual-stack where the system has IPv6, IPv4 alone where it has not.
            listen_socket(
                SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port),
                config.backlog,
            )
            .or_else(|_| {
                listen_socket(
                    SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
                    config.backlog,
                )
            })?
        } else {
            let ip: IpAddr = bind_address
                .parse()
                .map_err(|_| ListenError::BadAddress(bind_address.to_owned()))?;
            listen_socket(SocketAddr::new(ip, port), config.backlog)?
        };
        let local_addr = std_listener
            .local_addr()
            .map_err(|source| ListenError::Bind {
                address: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
                source,
            })?;
        raise_file_limit(config.max_connections);
        let handle = runtime::handle().map_err(ListenError::Runtime)?;
        let listener = {
            let _entered = handle.enter();
            TcpListener::from_std(std_listener).map_err(|source| ListenError::Bind {
                address: local_addr,
                source,
            })?
        };
        let shared = Arc::new(Shared {
            config,
            reports: Mutex::new(Vec::new()),
            admission: Mutex::new(Admission::default()),
            stopping: Latch::new(),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            handshake_failures: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        });
        let accept_loop = handle
            .spawn(accept_loop(listener, shared.clone()))
            .abort_handle();
        Ok(Self {
            shared,
            local_addr,
            connections: HashMap::new(),
            taken: Vec::new(),
            accept_loop,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What happened since the last call, in order.
    pub fn poll(&mut self) -> Vec<ListenerEvent> {
        std::mem::swap(&mut *lock(&self.shared.reports), &mut self.taken);
        let mut events = Vec::with_capacity(self.taken.len());
        for report in self.taken.drain(..) {
            let event = match report {
                Report::Opened {
                    id,
                    address,
                    path,
                    handle,
                } => {
                    self.connections.insert(id, handle);
                    ListenerEvent::Opened { id, address, path }
                }
                Report::Event(event) => event,
            };
            match &event {
                ListenerEvent::Text { id, .. } | ListenerEvent::Binary { id, .. } => {
                    if let Some(connection) = self.connections.get(id) {
                        connection.taken_one();
                    }
                }
                ListenerEvent::Closed { id, .. } => {
                    self.connections.remove(id);
                }
                ListenerEvent::Opened { .. } => {}
            }
            events.push(event);
        }
        events
    }

    /// Queues `text` for connection `id`.
    pub fn send_text(&self, id: u64, text: String) -> Result<(), SendError> {
        let connection = self.connections.get(&id).ok_or(SendError::Gone)?;
        connection.send(Message::text(text))
    }

    /// Closes connection `id` with `code` and `reason` (sent in the close frame), after what
    /// was queued before; it is dropped if the client has not answered within a second.
    /// `Closed` follows either way.
    pub fn close(&self, id: u64, code: u16, reason: &str) {
        if let Some(connection) = self.connections.get(&id) {
            connection.request(CloseRequest::Close {
                code,
                reason: reason.to_owned(),
            });
        }
    }

    /// Drops connection `id` at once, without a close frame. `Closed` follows.
    pub fn drop_connection(&self, id: u64) {
        if let Some(connection) = self.connections.get(&id) {
            connection.request(CloseRequest::Drop);
        }
    }

    pub fn stats(&self) -> ListenerStats {
        let admission = lock(&self.shared.admission);
        ListenerStats {
            accepted: self.shared.accepted.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
            handshake_failures: self.shared.handshake_failures.load(Ordering::Relaxed),
            evicted: self.shared.evicted.load(Ordering::Relaxed),
            unfinished: admission.unfinished.len(),
            open: admission.open,
        }
    }

    /// Stops accepting, closes every connection with 1001 ("going away"), and ends every
    /// unfinished handshake.
    pub fn stop(&mut self) {
        self.accept_loop.abort();
        self.shared.stopping.raise();
        let unfinished: Vec<AbortHandle> = lock(&self.shared.admission)
            .unfinished
            .values_mut()
            .filter_map(|(_, handle)| handle.take())
            .collect();
        for handle in unfinished {
            handle.abort();
        }
        self.connections.clear();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn listen_socket(address: SocketAddr, backlog: u32) -> Result<std::net::TcpListener, ListenError> {
    let bind_error = |source| ListenError::Bind { address, source };
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(bind_error)?;
    if address.is_ipv6() {
        socket.set_only_v6(false).map_err(bind_error)?;
    }
    // Restarting the server must not wait for the old connections' TIME_WAIT. (Windows'
    // SO_REUSEADDR would let two servers share the port, so it is left off there.)
    #[cfg(not(windows))]
    socket.set_reuse_address(true).map_err(bind_error)?;
    socket.bind(&address.into()).map_err(bind_error)?;
    socket
        .listen(backlog.min(i32::MAX as u32) as i32)
        .map_err(bind_error)?;
    socket.set_nonblocking(true).map_err(bind_error)?;
    Ok(socket.into())
}

/// Raises this process's soft limit on open files towards its hard limit, enough for
/// `connections` sockets and the game's own files: distributions start programs with a soft
/// limit of 1024, which a public lobby server passes at its first busy minute.
fn raise_file_limit(connections: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let wanted = connections as libc::rlim_t + 256;
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < wanted {
                let raised = wanted.min(limit.rlim_max);
                if raised > limit.rlim_cur {
                    limit.rlim_cur = raised;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
                }
                if raised < wanted {
                    log::warn!(
                        "lobby listener: this process may open {raised} files, fewer than \
                         max_connections ({connections}) needs; raise its hard limit \
                         (systemd: LimitNOFILE=)"
                    );
                }
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = connections;
}

/// Accepts as fast as connections come: each gets its own task at once, so a slow or silent
/// client never holds up the next one.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut last_warning = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shared.stopped() => return,
        };
        match accepted {
            Ok((stream, peer)) => admit(&shared, stream, peer.ip()),
            Err(error) => {
                // Out of file descriptors, typically: back off a little instead of spinning;
                // connections wait in the backlog meanwhile. Said once a minute at most.
                if last_warning.is_none_or(|at: Instant| at.elapsed() >= Duration::from_secs(60)) {
                    log::warn!("lobby listener: accept failed: {error}");
                    last_warning = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The address the per-address limits count `address` under: IPv4 addresses each on their
/// own, IPv6 ones by their /64 prefix, since a single host or home network is handed a whole
/// /64 and could otherwise open connections from as many addresses as it likes.
fn limited_as(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

fn admit(shared: &Arc<Shared>, stream: TcpStream, address: IpAddr) {
    // An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d; count and show it as
    // the IPv4 address it is.
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let Some(slot) = shared.admit(address) else {
        return; // Dropping the stream closes it.
    };
    let _ = stream.set_nodelay(true);
    let id = slot.id;
    let task = tokio::spawn(serve(shared.clone(), slot, stream));
    shared.set_abort_handle(id, task.abort_handle());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_limited_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::7".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limited_as(a), limited_as(b));
        assert_ne!(limited_as(a), limited_as(other));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(limited_as(v4), v4);
    }
}
