//! webrtc-rs's tokio runtime, with bigger UDP receive buffers.
//!
//! A burst of small messages can arrive faster than one driver iteration reads it. If it
//! overflows the kernel's default receive buffer (about 208 KiB on Linux), the packets lost
//! are the last of the burst, which nothing follows to trigger SCTP's fast retransmit, so
//! only a retransmission timer recovers them. The kernel caps the size at net.core.rmem_max.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, Runtime,
    TokioRuntime,
};

/// What we ask for; Linux grants up to net.core.rmem_max (often 208 KiB unless raised).
pub const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// [`TokioRuntime`] in every respect but the receive buffer of the UDP sockets it wraps.
pub struct BufferedRuntime(TokioRuntime);

impl BufferedRuntime {
    pub fn new() -> Self {
        Self(TokioRuntime)
    }
}

impl Default for BufferedRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for BufferedRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BufferedRuntime(tokio)")
    }
}

impl Runtime for BufferedRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.0.spawn(future)
    }

    fn spawn_reactor(
        &self,
        reactor_pool_size: usize,
        future: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Box<dyn JoinHandle> {
        self.0.spawn_reactor(reactor_pool_size, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        if let Err(error) = socket2::SockRef::from(&socket).set_recv_buffer_size(UDP_RECEIVE_BUFFER)
        {
            // Not fatal: the socket works with the default buffer, only bursts suffer.
            log::warn!("webrtc_rs: cannot enlarge the UDP receive buffer: {error}");
        }
        self.0.wrap_udp_socket(socket)
    }

    fn wrap_tcp_listener(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Arc<dyn AsyncTcpListener>> {
        self.0.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        self.0.connect_tcp(remote_addr)
    }

    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.0.resolve_host(host)
    }

    fn now(&self) -> Instant {
        self.0.now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.0.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        self.0.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        self.0.block_on(future)
    }

    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.0.yield_now()
    }

    fn name(&self) -> &'static str {
        "tokio (webrtc_rs: enlarged UDP receive buffers)"
    }
}
