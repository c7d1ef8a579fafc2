//! One task per connection: the TLS and WebSocket handshakes under one deadline, then the
//! exchange of messages until either side closes.

use super::listener::{ListenerEvent, Report, SendError, Shared, Slot};
use futures_util::{SinkExt, StreamExt};
use std::future::pending;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tokio::time::{timeout, timeout_at, Instant, Interval};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long a closing connection waits for the client's close frame before dropping it.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Close codes (RFC 6455, section 7.4.1).
const GOING_AWAY: u16 = 1001;
const NO_STATUS: u16 = 1005;
const ABNORMAL: u16 = 1006;
const INVALID_DATA: u16 = 1007;
const TOO_BIG: u16 = 1009;

pub(super) enum CloseRequest {
    Close { code: u16, reason: String },
    Drop,
}

/// What the main thread and a connection's task share.
#[derive(Default)]
struct Control {
    /// Received messages handed to the main thread and not yet taken by `poll()`.
    queued: AtomicUsize,
    /// Signalled when `queued` falls below the bound.
    room: Notify,
    /// Bytes of messages the main thread sent and the task has not written yet.
    unsent_bytes: AtomicUsize,
    request: Mutex<Option<CloseRequest>>,
    requested: Notify,
}

/// The main thread's side of one open connection.
pub(super) struct ConnectionHandle {
    outbound: mpsc::UnboundedSender<Message>,
    control: Arc<Control>,
    max_queued: usize,
    max_unsent_bytes: usize,
}

impl ConnectionHandle {
    /// Queues `message`, unless the bytes not yet written would pass the bound. The bound is
    /// in bytes, not messages: a burst of small relays (a lobby's candidates, a flood another
    /// member sent) must not look like a client that stopped reading.
    pub fn send(&self, message: Message) -> Result<(), SendError> {
        let length = message.len();
        let unsent = self
            .control
            .unsent_bytes
            .fetch_add(length, Ordering::AcqRel);
        if unsent > 0 && unsent + length > self.max_unsent_bytes {
            self.control
                .unsent_bytes
                .fetch_sub(length, Ordering::AcqRel);
            return Err(SendError::Full);
        }
        self.outbound.send(message).map_err(|_| {
            self.control
                .unsent_bytes
                .fetch_sub(length, Ordering::AcqRel);
            SendError::Gone
        })
    }

    /// One received message was taken by the main thread.
    pub fn taken_one(&self) {
        if self.control.queued.fetch_sub(1, Ordering::AcqRel) == self.max_queued {
            self.control.room.notify_one();
        }
    }

    pub fn request(&self, request: CloseRequest) {
        let mut slot = self
            .control
            .request
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(request);
            self.control.requested.notify_one();
        }
    }
}

/// What a connection's WebSocket runs on: the TCP stream, or TLS over it. One type for both,
/// so that the handshake and the session exist once (a virtual call per read or write costs
/// nothing next to the system call under it).
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}
type Stream = Box<dyn Transport>;

/// Serves one admitted connection until it ends; `slot` keeps it counted until then.
///
/// Each stage's future is boxed. A task holds the largest state of its future for its whole
/// life: unboxed, the handshakes' and the TLS session's sizes made every connection's task
/// 11.7 KB, where a `ws://` session needs 1.5 KB.
pub(super) async fn serve(shared: Arc<Shared>, mut slot: Slot, stream: TcpStream) {
    let deadline = Instant::now() + shared.config.handshake_timeout;
    let stream: Stream = match shared.config.tls.clone() {
        None => Box::new(stream),
        Some(tls) => {
            let accept = Box::pin(TlsAcceptor::from(tls).accept(stream));
            let Ok(Ok(stream)) = timeout_at(deadline, accept).await else {
                shared.handshake_failed();
                return;
            };
            Box::new(stream)
        }
    };
    if let Some((socket, path)) = Box::pin(handshake(&shared, &mut slot, stream, deadline)).await {
        Box::pin(session(&shared, slot, socket, path)).await;
    }
}

/// The WebSocket opening handshake; the request's path is kept for the lobby. Behind a
/// trusted proxy, the client's address is taken from `X-Forwarded-For`, and a client over its
/// share of connections is answered 429.
async fn handshake(
    shared: &Shared,
    slot: &mut Slot,
    stream: Stream,
    deadline: Instant,
) -> Option<(WebSocketStream<Stream>, String)> {
    let limit = shared.config.max_message_bytes;
    let config = WebSocketConfig::default()
        // Small reads for small messages: an idle connection holds this much.
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let mut path = String::new();
    let keep_path = |request: &Request, response: Response| {
        path = request.uri().path().to_owned();
        if slot.awaits_forwarded_address() {
            if let Some(client) = forwarded_client(request) {
                if !slot.forwarded_for(client) {
                    let mut refusal =
                        ErrorResponse::new(Some(format!("too many connections from {client}")));
                    *refusal.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    return Err(refusal);
                }
            }
        }
        Ok(response)
    };
    let accepted = timeout_at(
        deadline,
        tokio_tungstenite::accept_hdr_async_with_config(stream, keep_path, Some(config)),
    )
    .await;
    match accepted {
        Ok(Ok(socket)) => Some((socket, path)),
        _ => {
            shared.handshake_failed();
            None
        }
    }
}

/// The client a trusted proxy forwarded: the last address of `X-Forwarded-For` (the one the
/// proxy appended; earlier ones are whatever the client claimed).
fn forwarded_client(request: &Request) -> Option<IpAddr> {
    let header = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?;
    let last = header.to_str().ok()?.rsplit(',').next()?.trim();
    last.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

async fn session(
    shared: &Shared,
    mut slot: Slot,
    mut socket: WebSocketStream<Stream>,
    path: String,
) {
    if !slot.handshake_done() {
        return; // Evicted as it finished; its task is being ended.
    }
    let max_queued = shared.config.max_queued_messages.max(1);
    let (outbound, mut outbox) = mpsc::unbounded_channel();
    let control = Arc::new(Control::default());
    shared.report(Report::Opened {
        id: slot.id,
        address: slot.address,
        path,
        handle: ConnectionHandle {
            outbound,
            control: control.clone(),
            max_queued,
            max_unsent_bytes: shared.config.max_unsent_bytes,
        },
    });
    let (code, reason) = exchange(
        shared,
        slot.id,
        &control,
        max_queued,
        &mut socket,
        &mut outbox,
    )
    .await;
    shared.report(Report::Event(ListenerEvent::Closed {
        id: slot.id,
        code,
        reason,
    }));
}

/// Why a connection ended: the close code and reason the main thread is told.
type Ending = (u16, String);

async fn exchange(
    shared: &Shared,
    id: u64,
    control: &Control,
    max_queued: usize,
    socket: &mut WebSocketStream<Stream>,
    outbox: &mut mpsc::UnboundedReceiver<Message>,
) -> Ending {
    let mut heartbeat = shared
        .config
        .heartbeat_interval
        .filter(|interval| !interval.is_zero())
        .map(|interval| tokio::time::interval_at(Instant::now() + interval, interval));
    // Whether anything arrived since the last ping.
    let mut heard = true;
    loop {
        let room = control.queued.load(Ordering::Acquire) < max_queued;
        tokio::select! {
            biased;
            request = requested(shared, control) => return end(socket, outbox, request).await,
            outgoing = outbox.recv() => {
                let Some(message) = outgoing else {
                    return (ABNORMAL, "dropped by the server".to_owned());
                };
                let length = message.len();
                let ending = write(shared, control, socket, message).await;
                control.unsent_bytes.fetch_sub(length, Ordering::AcqRel);
                if let Some(ending) = ending {
                    return ending;
                }
            }
            _ = tick(&mut heartbeat) => {
                if !heard {
                    return (ABNORMAL, "no answer to the heartbeat".to_owned());
                }
                heard = false;
                if let Some(ending) = write(shared, control, socket, Message::Ping(Default::default())).await {
                    return ending;
                }
            }
            incoming = socket.next(), if room => {
                heard = true;
                let event = match incoming {
                    Some(Ok(Message::Text(text))) => ListenerEvent::Text { id, text: text.as_str().to_owned() },
                    Some(Ok(Message::Binary(data))) => ListenerEvent::Binary { id, data: data.to_vec() },
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        // tungstenite has queued the answering close frame; send it.
                        let _ = timeout(CLOSE_WAIT, socket.close(None)).await;
                        return frame.map_or((NO_STATUS, String::new()), |frame| {
                            (u16::from(frame.code), frame.reason.as_str().to_owned())
                        });
                    }
                    Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))) => {
                        return close(socket, TOO_BIG, "message too big").await;
                    }
                    Some(Err(WsError::Utf8(_))) => {
                        return close(socket, INVALID_DATA, "text is not UTF-8").await;
                    }
                    Some(Err(error)) => return (ABNORMAL, error.to_string()),
                    None => return (ABNORMAL, "connection lost".to_owned()),
                };
                control.queued.fetch_add(1, Ordering::AcqRel);
                shared.report(Report::Event(event));
            }
            _ = control.room.notified(), if !room => {}
        }
    }
}

/// The next close request, from the main thread or from the listener stopping.
async fn requested(shared: &Shared, control: &Control) -> CloseRequest {
    loop {
        tokio::select! {
            _ = control.requested.notified() => {}
            _ = shared.stopped() => {
                return CloseRequest::Close { code: GOING_AWAY, reason: "server stopping".to_owned() };
            }
        }
        if let Some(request) = control
            .request
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return request;
        }
    }
}

async fn tick(heartbeat: &mut Option<Interval>) {
    match heartbeat {
        Some(interval) => {
            interval.tick().await;
        }
        None => pending().await,
    }
}

/// Writes one message. A client that does not read can hold the write forever, so a close
/// request ends it too; returns how the connection ended if it did.
async fn write(
    shared: &Shared,
    control: &Control,
    socket: &mut WebSocketStream<Stream>,
    message: Message,
) -> Option<Ending> {
    tokio::select! {
        written = socket.send(message) => match written {
            Ok(()) => None,
            Err(error) => Some((ABNORMAL, error.to_string())),
        },
        request = requested(shared, control) => Some(match request {
            CloseRequest::Close { code, reason } => (code, reason),
            CloseRequest::Drop => (ABNORMAL, "dropped by the server".to_owned()),
        }),
    }
}

/// Carries out a close request: a close sends what was queued before it, then the close
/// frame, all within [`CLOSE_WAIT`].
async fn end(
    socket: &mut WebSocketStream<Stream>,
    outbox: &mut mpsc::UnboundedReceiver<Message>,
    request: CloseRequest,
) -> Ending {
    match request {
        CloseRequest::Close { code, reason } => {
            let _ = timeout(CLOSE_WAIT, async {
                while let Ok(message) = outbox.try_recv() {
                    socket.send(message).await?;
                }
                Ok::<(), WsError>(())
            })
            .await;
            close(socket, code, &reason).await
        }
        CloseRequest::Drop => (ABNORMAL, "dropped by the server".to_owned()),
    }
}

/// Sends a close frame, then waits up to [`CLOSE_WAIT`] for the client's.
async fn close(socket: &mut WebSocketStream<Stream>, code: u16, reason: &str) -> Ending {
    // A close frame's reason has room for 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = &reason[..end];
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = timeout(CLOSE_WAIT, async {
        socket.close(Some(frame)).await?;
        while let Some(message) = socket.next().await {
            if let Message::Close(_) = message? {
                break;
            }
        }
        Ok::<(), WsError>(())
    })
    .await;
    (code, reason.to_owned())
}
