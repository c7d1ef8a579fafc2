//! The lobby's WebSocket listener over loopback, with tokio-tungstenite clients: admission
//! (bursts, half-open sockets, the unfinished-handshake bounds), messages both ways, the
//! request path, close codes, and bounded queues.

use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async, WebSocketStream};
use webrtc_rs::lobby::{Listener, ListenerConfig, ListenerEvent, SendError};

const DEADLINE: Duration = Duration::from_secs(10);

fn listen(config: ListenerConfig) -> Listener {
    Listener::bind("127.0.0.1", 0, config).expect("listen on loopback")
}

/// A TCP connection to `listener` from 127.0.0.`from`.
async fn tcp_from(listener: &Listener, from: u8) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)),
            0,
        ))
        .unwrap();
    socket
        .connect(listener.local_addr())
        .await
        .expect("connect")
}

async fn websocket(listener: &Listener, from: u8, path: &str) -> WebSocketStream<TcpStream> {
    let stream = tcp_from(listener, from).await;
    let url = format!("ws://{}{path}", listener.local_addr());
    let (socket, _) = tokio::time::timeout(DEADLINE, client_async(url, stream))
        .await
        .expect("the handshake to finish in time")
        .expect("the handshake to succeed");
    socket
}

/// Polls `listener` (as the main thread does every frame) into `seen` until `done` holds.
async fn poll_until(
    listener: &mut Listener,
    seen: &mut Vec<ListenerEvent>,
    what: &str,
    done: impl Fn(&[ListenerEvent]) -> bool,
) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        seen.extend(listener.poll());
        if done(seen) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; saw {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A WebSocket from 127.0.0.`from` to `path`, and its id once `listener` reports it open
/// (`seen` collects what the listener reported meanwhile).
async fn accepted(
    listener: &mut Listener,
    seen: &mut Vec<ListenerEvent>,
    from: u8,
    path: &str,
) -> (WebSocketStream<TcpStream>, u64) {
    let before = opened(seen).len();
    let socket = websocket(listener, from, path).await;
    poll_until(listener, seen, "the connection to open", |events| {
        opened(events).len() > before
    })
    .await;
    (socket, opened(seen)[before])
}

fn opened(events: &[ListenerEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|event| match event {
            ListenerEvent::Opened { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

fn closed(events: &[ListenerEvent], id: u64) -> Option<(u16, String)> {
    events.iter().find_map(|event| match event {
        ListenerEvent::Closed {
            id: closed,
            code,
            reason,
        } if *closed == id => Some((*code, reason.clone())),
        _ => None,
    })
}

/// Whether the server ended `stream` (EOF or reset) within the deadline.
async fn ended(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 512];
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Connections opened at once by the burst test. Under Wine 8 (the Windows these tests run
/// on here) 300 or more stall in Wine's socket emulation: every one is accepted, but hundreds
/// of handshakes make no progress for seconds. 100 pass there.
const BURST: usize = if cfg!(windows) { 100 } else { 500 };

/// Linux drops SYNs beyond a full listen backlog, and the client retries them after 1 s: a
/// burst far larger than Godot's backlog of 8 must open without such a retry, while sockets
/// that never finish their handshake are held open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_opens_without_retries_while_half_open_sockets_are_held() {
    let mut listener = listen(ListenerConfig {
        max_connections: 2000,
        max_connections_per_address: 2000,
        max_unfinished_per_address: 2000,
        ..ListenerConfig::default()
    });
    let half_open = futures_util::future::join_all((0..150).map(|_| tcp_from(&listener, 1))).await;
    let started = Instant::now();
    let burst = futures_util::future::join_all((0..BURST).map(|i| {
        let listener = &listener;
        async move {
            let stream = tcp_from(listener, 2 + (i % 50) as u8).await;
            let url = format!("ws://{}/", listener.local_addr());
            let opened = tokio::time::timeout(DEADLINE, client_async(url, stream)).await;
            (opened.ok().and_then(Result::ok), started.elapsed())
        }
    }))
    .await;
    let failed = burst.iter().filter(|(socket, _)| socket.is_none()).count();
    assert_eq!(
        failed,
        0,
        "{failed} of {BURST} did not open; listener: {:?}",
        listener.stats()
    );
    let slowest = burst.iter().map(|(_, took)| *took).max().unwrap();
    assert!(
        slowest < Duration::from_millis(900),
        "the slowest of {BURST} connections took {slowest:?}: a SYN was dropped and retried"
    );
    let mut seen = Vec::new();
    poll_until(&mut listener, &mut seen, "the burst to open", |events| {
        opened(events).len() == BURST
    })
    .await;
    let stats = listener.stats();
    assert_eq!(
        (stats.open, stats.unfinished, stats.refused),
        (BURST, 150, 0),
        "{stats:?}"
    );
    drop(half_open);
}

#[tokio::test]
async fn unfinished_handshakes_are_bounded_per_address_and_in_all() {
    let mut listener = listen(ListenerConfig {
        max_unfinished: 4,
        max_unfinished_per_address: 2,
        ..ListenerConfig::default()
    });
    let mut first = tcp_from(&listener, 1).await;
    let _second = tcp_from(&listener, 1).await;
    let mut third = tcp_from(&listener, 1).await;
    assert!(
        ended(&mut third).await,
        "a third unfinished handshake from one address is refused"
    );
    let _others = (tcp_from(&listener, 2).await, tcp_from(&listener, 3).await);
    // The fifth unfinished handshake, from another address, takes the oldest one's place.
    let _fifth = tcp_from(&listener, 4).await;
    assert!(
        ended(&mut first).await,
        "the oldest unfinished handshake is dropped for a newcomer"
    );
    let mut newcomer = websocket(&listener, 5, "/").await;
    newcomer.send(Message::text("hello")).await.unwrap();
    let mut seen = Vec::new();
    poll_until(
        &mut listener,
        &mut seen,
        "the newcomer's message",
        |events| {
            events
                .iter()
                .any(|e| matches!(e, ListenerEvent::Text { text, .. } if text == "hello"))
        },
    )
    .await;
    let stats = listener.stats();
    assert_eq!((stats.refused, stats.open), (1, 1), "{stats:?}");
    assert!(
        stats.evicted >= 2,
        "the newcomer evicted as well: {stats:?}"
    );
}

#[tokio::test]
async fn messages_both_ways_the_path_and_close_codes() {
    let mut listener = listen(ListenerConfig {
        max_message_bytes: 1000,
        ..ListenerConfig::default()
    });
    let mut seen = Vec::new();

    // Text both ways, then the server closes after what it queued.
    let (mut client, id) = accepted(&mut listener, &mut seen, 1, "/lobby/game%207").await;
    assert!(
        matches!(&seen[0], ListenerEvent::Opened { path, address, .. }
        if path == "/lobby/game%207" && address.to_string() == "127.0.0.1")
    );
    client.send(Message::text("ping")).await.unwrap();
    client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    poll_until(&mut listener, &mut seen, "text and binary", |events| {
        events.contains(&ListenerEvent::Text {
            id,
            text: "ping".into(),
        }) && events.contains(&ListenerEvent::Binary {
            id,
            data: vec![1, 2, 3],
        })
    })
    .await;
    listener.send_text(id, "pong".into()).unwrap();
    listener.close(id, 1008, "you were rude");
    assert_eq!(client.next().await.unwrap().unwrap(), Message::text("pong"));
    match client.next().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Policy);
            assert_eq!(frame.reason.as_str(), "you were rude");
        }
        other => panic!("expected the close frame, got {other:?}"),
    }
    poll_until(&mut listener, &mut seen, "the first to close", |e| {
        closed(e, id).is_some()
    })
    .await;
    assert_eq!(closed(&seen, id), Some((1008, "you were rude".into())));
    assert_eq!(listener.send_text(id, "late".into()), Err(SendError::Gone));

    // A message over the limit closes with 1009.
    let (mut big, big_id) = accepted(&mut listener, &mut seen, 1, "/").await;
    big.send(Message::text("x".repeat(1001))).await.unwrap();
    poll_until(
        &mut listener,
        &mut seen,
        "the oversized sender to close",
        |e| closed(e, big_id).is_some(),
    )
    .await;
    assert_eq!(closed(&seen, big_id).unwrap().0, 1009);

    // The client's own close code is reported.
    let (mut leaving, leaving_id) = accepted(&mut listener, &mut seen, 1, "/").await;
    leaving.close(None).await.unwrap();
    poll_until(&mut listener, &mut seen, "the client's close", |e| {
        closed(e, leaving_id).is_some()
    })
    .await;
    assert_eq!(closed(&seen, leaving_id).unwrap().0, 1005);
    assert_eq!(listener.stats().open, 0);
}

/// A client that does not read costs a bounded queue: sending reports `Full`, and closing it
/// still ends the connection although its write is stuck.
#[tokio::test]
async fn a_client_that_does_not_read_fills_its_queue_and_can_still_be_closed() {
    let mut listener = listen(ListenerConfig {
        max_unsent_bytes: 1 << 20,
        heartbeat_interval: None,
        ..ListenerConfig::default()
    });
    let mut seen = Vec::new();
    let (_silent, id) = accepted(&mut listener, &mut seen, 1, "/").await;
    let chunk = "x".repeat(1 << 20);
    let deadline = Instant::now() + DEADLINE;
    loop {
        match listener.send_text(id, chunk.clone()) {
            Ok(()) => {}
            Err(SendError::Full) => break,
            Err(SendError::Gone) => panic!("the connection closed"),
        }
        assert!(Instant::now() < deadline, "the queue never filled");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    listener.close(id, 1008, "not reading");
    poll_until(
        &mut listener,
        &mut seen,
        "the stuck connection to close",
        |e| closed(e, id).is_some(),
    )
    .await;
}

/// The outbound bound is in bytes: a burst of small messages in one frame (a lobby's
/// candidates, a flood relayed from another member) is queued whole, and all arrive.
#[tokio::test]
async fn a_burst_of_small_messages_is_queued_whole() {
    let mut listener = listen(ListenerConfig::default());
    let mut seen = Vec::new();
    let (mut client, id) = accepted(&mut listener, &mut seen, 1, "/").await;
    for i in 0..1000 {
        let message = format!("{i:0>100}");
        assert_eq!(
            listener.send_text(id, message),
            Ok(()),
            "message {i} of 1000"
        );
    }
    for i in 0..1000 {
        let message = tokio::time::timeout(DEADLINE, client.next()).await.unwrap();
        assert_eq!(
            message.unwrap().unwrap(),
            Message::text(format!("{i:0>100}"))
        );
    }
}

#[tokio::test]
async fn a_client_that_stops_answering_is_closed_by_the_heartbeat() {
    let mut listener = listen(ListenerConfig {
        heartbeat_interval: Some(Duration::from_millis(100)),
        ..ListenerConfig::default()
    });
    let mut seen = Vec::new();
    // Never polled after the handshake, so it answers no ping.
    let (_mute, id) = accepted(&mut listener, &mut seen, 1, "/").await;
    poll_until(&mut listener, &mut seen, "the heartbeat to close it", |e| {
        closed(e, id).is_some()
    })
    .await;
    assert_eq!(
        closed(&seen, id),
        Some((1006, "no answer to the heartbeat".into()))
    );
}

/// A WebSocket handshake from 127.0.0.`from` carrying `X-Forwarded-For: forwarded`; the
/// server's HTTP status when it refuses.
async fn handshake_forwarded(
    listener: &Listener,
    from: u8,
    forwarded: &str,
) -> Result<WebSocketStream<TcpStream>, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Error;
    let stream = tcp_from(listener, from).await;
    let mut request = format!("ws://{}/", listener.local_addr())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("X-Forwarded-For", forwarded.parse().unwrap());
    match tokio::time::timeout(DEADLINE, client_async(request, stream)).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(Error::Http(response))) => Err(response.status().as_u16()),
        other => panic!("the handshake neither opened nor was refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_trusted_proxys_clients_are_counted_by_their_forwarded_address() {
    let mut listener = listen(ListenerConfig {
        max_connections_per_address: 1,
        trusted_proxies: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        ..ListenerConfig::default()
    });
    let _first = handshake_forwarded(&listener, 1, "203.0.113.9")
        .await
        .expect("the first client behind the proxy");
    // The client may claim any address first; the proxy appends the one it saw.
    assert_eq!(
        handshake_forwarded(&listener, 1, "198.51.100.1, 203.0.113.9")
            .await
            .err(),
        Some(429),
        "a second connection of the same forwarded client"
    );
    let _other = handshake_forwarded(&listener, 1, "203.0.113.10")
        .await
        .expect("another client behind the proxy");
    // Not a trusted proxy: its header counts for nothing.
    let _direct = handshake_forwarded(&listener, 2, "203.0.113.11")
        .await
        .expect("a direct client");
    let mut second_direct = tcp_from(&listener, 2).await;
    assert!(
        ended(&mut second_direct).await,
        "a direct client's second connection is refused"
    );
    let mut seen = Vec::new();
    poll_until(&mut listener, &mut seen, "three connections", |e| {
        opened(e).len() == 3
    })
    .await;
    let addresses: Vec<String> = seen
        .iter()
        .filter_map(|event| match event {
            ListenerEvent::Opened { address, .. } => Some(address.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(addresses, ["203.0.113.9", "203.0.113.10", "127.0.0.2"]);
    assert_eq!(listener.stats().refused, 2);
}
