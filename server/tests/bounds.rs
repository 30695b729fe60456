//! The server bounded under abuse (issue #15): connections time out and are capped, big
//! websocket messages close the connection, other machines may only watch, a client queues
//! few runs, every route checks `Host`, request bodies are small and errors name their field
//! and quote input clipped, finished runs are kept within a byte budget.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use futures_util::{SinkExt, StreamExt};
use gilscope_server::{app, listen, AppState, Limits};
use gilscope_shared::protocol::{self, ClientMsg, ErrorMsg, Payload, RunInfo, RunState, ServerMsg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(30);

/// Tests that run experiments take turns.
static EXPERIMENTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

type Client = WebSocketStream<TcpStream>;

struct Server {
    addr: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.runs.shutdown();
        self.shutdown.cancel();
    }
}

/// A server as `gilscope serve` runs it (its accept loop and bounds), on `bind`.
async fn start_on(bind: &str, limits: Limits) -> Server {
    static WORKER_EXE: std::sync::Once = std::sync::Once::new();
    WORKER_EXE
        .call_once(|| std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope")));
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let state = AppState::with_limits(addr, shutdown.clone(), limits.clone());
    state.runs.spawn_executor();
    let router = app(state.clone());
    let stop = shutdown.clone();
    tokio::spawn(async move { listen::serve(listener, router, &limits, stop).await });
    Server {
        addr,
        state,
        shutdown,
    }
}

async fn start(limits: Limits) -> Server {
    start_on("127.0.0.1:0", limits).await
}

/// Sends raw bytes on a new connection to `to`, then reads the answer until the server closes
/// the connection; answers the status and the JSON body.
async fn raw(to: SocketAddr, request: &[u8]) -> (StatusCode, serde_json::Value) {
    let mut stream = TcpStream::connect(to).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("no answer in time")
        .unwrap();
    parse_answer(&answer)
}

fn parse_answer(answer: &[u8]) -> (StatusCode, serde_json::Value) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:.200}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (StatusCode::from_u16(status).unwrap(), json)
}

/// A request through the router, from `peer`.
async fn http(
    server: &Server,
    peer: SocketAddr,
    method: Method,
    path: &str,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .extension(ConnectInfo(peer))
        .header(header::HOST, server.addr.to_string())
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let response = app(server.state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn local(last: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], 40000))
}

async fn post(server: &Server, peer: SocketAddr, body: &str) -> (StatusCode, serde_json::Value) {
    http(
        server,
        peer,
        Method::POST,
        "/api/runs",
        Some(body.into()),
        &[],
    )
    .await
}

async fn wait_state(server: &Server, id: u64, done: impl Fn(RunState) -> bool) -> RunInfo {
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, json) = http(
            server,
            local(1),
            Method::GET,
            &format!("/api/runs/{id}"),
            None,
            &[],
        )
        .await;
        let info: RunInfo = serde_json::from_value(json).unwrap();
        if done(info.state) {
            return info;
        }
        assert!(Instant::now() < deadline, "run {id} still {:?}", info.state);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn connect_from(server_addr: SocketAddr, from: IpAddr) -> Client {
    let socket = match from {
        IpAddr::V4(_) => TcpSocket::new_v4().unwrap(),
        IpAddr::V6(_) => TcpSocket::new_v6().unwrap(),
    };
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let stream = socket.connect(server_addr).await.unwrap();
    let url = format!("ws://{server_addr}/ws");
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, stream))
        .await
        .expect("websocket handshake timed out")
        .expect("websocket handshake failed");
    ws
}

async fn connect(server: &Server) -> Client {
    let mut ws = connect_from(server.addr, server.addr.ip()).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Hello(_)));
    ws
}

async fn recv(ws: &mut Client) -> ServerMsg {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no message from the server in time")
            .expect("the server closed the connection")
            .expect("websocket error");
        let frame = match msg {
            Message::Text(text) => Payload::Text(text.to_string()),
            Message::Binary(bytes) => Payload::Binary(bytes.to_vec()),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            Message::Close(close) => panic!("the server closed the connection: {close:?}"),
        };
        return protocol::decode(&frame).unwrap();
    }
}

/// The next error the server sends this viewer, skipping run updates.
async fn next_error(ws: &mut Client) -> ErrorMsg {
    loop {
        if let ServerMsg::Error(err) = recv(ws).await {
            return err;
        }
    }
}

async fn send_text(ws: &mut Client, json: &str) {
    ws.send(Message::text(json)).await.unwrap();
}

/// A run that lasts until it is stopped.
const LONG: &str = r#"{"preset":"cpu-threads","knobs":{"threads":1,"work":2000000000}}"#;

// ---- 5: connections ----

/// Waits until the server closes `stream` (EOF or reset), reading and discarding whatever it
/// sends; answers how long that took.
async fn closed_within(stream: &mut TcpStream) -> Duration {
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Err(_) => panic!("the connection is still open after {WAIT:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return t.elapsed(),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn idle_and_trickling_connections_are_closed_but_quiet_viewers_are_not() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(600),
        ..Limits::default()
    };
    let server = start(limits).await;

    // Connected, never a byte.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // Headers a byte at a time, each soon after the last: the header timeout is not reset.
    let mut trickle = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "GET /api/presets HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
        server.addr
    );
    let trickler = tokio::spawn(async move {
        for byte in head.bytes().chain(std::iter::repeat(b'a')) {
            if trickle.write_all(&[byte]).await.is_err() {
                return trickle;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        unreachable!()
    });
    // Headers, then a body that never comes.
    let mut no_body = TcpStream::connect(server.addr).await.unwrap();
    no_body
        .write_all(
            format!(
                "POST /api/runs HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
                server.addr
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // A viewer that sends nothing after its handshake.
    let mut viewer = connect(&server).await;

    assert!(closed_within(&mut silent).await < Duration::from_secs(5));
    assert!(closed_within(&mut no_body).await < Duration::from_secs(5));
    let mut trickle = tokio::time::timeout(WAIT, trickler).await.unwrap().unwrap();
    assert!(closed_within(&mut trickle).await < Duration::from_secs(5));

    // The quiet viewer outlived them all, and is still served.
    viewer
        .send(Message::binary(
            match protocol::encode(&ClientMsg::Ping { nonce: 5 }) {
                Payload::Binary(b) => b,
                Payload::Text(_) => unreachable!(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(recv(&mut viewer).await, ServerMsg::Pong { nonce: 5 });
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_the_others_still_served() {
    let limits = Limits {
        max_connections: 3,
        ..Limits::default()
    };
    let server = start(limits).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Accepted in order after the three: closed at once.
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    closed_within(&mut extra).await;

    // The three are still served.
    let get = format!(
        "GET /api/presets HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    let mut first = open.remove(0);
    first.write_all(get.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, first.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(parse_answer(&answer).0, StatusCode::OK);

    // Once one is closed, a new connection is served.
    let deadline = Instant::now() + WAIT;
    loop {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let mut answer = Vec::new();
        let served = stream.write_all(get.as_bytes()).await.is_ok()
            && tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
                .await
                .unwrap()
                .is_ok()
            && !answer.is_empty();
        if served {
            assert_eq!(parse_answer(&answer).0, StatusCode::OK);
            break;
        }
        assert!(Instant::now() < deadline, "no connection was served again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- 6: websocket message size ----

#[tokio::test]
async fn a_websocket_message_over_64_kib_closes_the_connection_with_1009() {
    let server = start(Limits::default()).await;
    let mut ws = connect(&server).await;
    ws.send(Message::binary(vec![0x80u8; 1 << 20]))
        .await
        .unwrap();
    // The next message is the server's close, not an answer.
    let close = match tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("not closed in time")
    {
        Some(Ok(Message::Close(close))) => close,
        Some(Ok(other)) => panic!("expected a close, got {other:?}"),
        Some(Err(err)) => panic!("expected a close frame, got {err}"),
        None => panic!("closed without a close frame"),
    };
    let close = close.expect("a close code");
    assert_eq!(close.code, CloseCode::Size, "{close:?}");

    // The server is still healthy.
    let mut ws = connect(&server).await;
    ws.send(Message::text(r#"{"type":"ping","nonce":3}"#))
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await, ServerMsg::Pong { nonce: 3 });
}

// ---- 7: other machines watch; a client queues few runs ----

/// An address of this machine that is not loopback, if it has one (the source address of the
/// route to a documentation address; nothing is sent).
fn non_loopback_address() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn other_machines_may_watch_but_not_act() {
    let _turn = EXPERIMENTS.lock().await;
    let Some(ip) = non_loopback_address() else {
        eprintln!("no non-loopback address on this machine: guard::tests::only_loopback_peers_may_act covers the rule");
        return;
    };
    let server = start_on("0.0.0.0:0", Limits::default()).await;
    let to = SocketAddr::new(ip, server.addr.port());
    let request = |method: &str, path: &str, body: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    // A peer at `ip` (its connections come from `ip` itself, not loopback): watching works.
    let (status, _) = raw(to, request("GET", "/api/runs", "").as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, json) = raw(to, request("POST", "/api/runs", LONG).as_bytes()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{json}");
    assert_eq!(json["field"], "peer", "{json}");
    let (status, json) = raw(to, request("DELETE", "/api/runs/1", "").as_bytes()).await;
    assert_eq!(
        (status, &json["field"]),
        (StatusCode::FORBIDDEN, &"peer".into()),
        "{json}"
    );

    let mut ws = connect_from(to, ip).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Hello(_)));
    send_text(&mut ws, &format!(r#"{{"type":"start","spec":{LONG}}}"#)).await;
    assert_eq!(next_error(&mut ws).await.field.as_deref(), Some("peer"));
    send_text(&mut ws, r#"{"type":"stop","id":1}"#).await;
    assert_eq!(next_error(&mut ws).await.field.as_deref(), Some("peer"));
    let (_, runs) = raw(to, request("GET", "/api/runs", "").as_bytes()).await;
    assert_eq!(runs, serde_json::json!([]), "nothing was started");

    // The same from loopback acts.
    let local = SocketAddr::new([127, 0, 0, 1].into(), server.addr.port());
    let mut local_request = request("POST", "/api/runs", LONG);
    local_request = local_request.replace(&to.to_string(), &local.to_string());
    let (status, json) = raw(local, local_request.as_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_may_queue_two_runs_and_not_a_third() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start(Limits::default()).await;
    let (status, first) = post(&server, local(1), LONG).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first = first["id"].as_u64().unwrap();
    wait_state(&server, first, |s| s == RunState::Running).await;

    // Over HTTP, by peer address.
    let mut ids = vec![first];
    for _ in 0..2 {
        let (status, json) = post(&server, local(1), LONG).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        ids.push(json["id"].as_u64().unwrap());
    }
    let (status, json) = post(&server, local(1), LONG).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{json}");
    assert_eq!(json["field"], "queue");
    assert!(
        json["error"].as_str().unwrap().contains("2 runs waiting"),
        "{json}"
    );
    // Another client still may.
    let (status, json) = post(&server, local(2), LONG).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    ids.push(json["id"].as_u64().unwrap());

    // Over the websocket, by session.
    let mut ws = connect(&server).await;
    let start = format!(r#"{{"type":"start","spec":{LONG}}}"#);
    for _ in 0..2 {
        send_text(&mut ws, &start).await;
        loop {
            if let ServerMsg::Run(info) = recv(&mut ws).await {
                if info.state == RunState::Queued && !ids.contains(&info.id) {
                    ids.push(info.id);
                    break;
                }
            }
        }
    }
    send_text(&mut ws, &start).await;
    let err = next_error(&mut ws).await;
    assert_eq!(err.field.as_deref(), Some("queue"), "{err:?}");

    for id in ids.iter().rev() {
        let (status, _) = http(
            &server,
            local(1),
            Method::DELETE,
            &format!("/api/runs/{id}"),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    for &id in &ids {
        wait_state(&server, id, RunState::is_over).await;
    }
}

// ---- 8: Host on every route ----

#[tokio::test]
async fn every_route_refuses_a_foreign_host() {
    let server = start(Limits::default()).await;
    let foreign = format!("rebound.example:{}", server.addr.port());
    for path in [
        "/api/runs",
        "/api/presets",
        "/api/runs/1",
        "/api/runs/1/trace",
        "/",
        "/style.css",
        "/no/such/thing",
    ] {
        let request = Request::get(path)
            .header(header::HOST, &foreign)
            .body(Body::empty())
            .unwrap();
        let response = app(server.state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["field"], "host", "{path}: {json}");
        // And ours is served.
        let (status, _) = http(&server, local(1), Method::GET, "/api/presets", None, &[]).await;
        assert_eq!(status, StatusCode::OK);
    }
}

// ---- 9: input ----

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_before_it_is_read() {
    let server = start(Limits::default()).await;
    // Declares 50 MB, sends 1 KB: answered without waiting for the rest.
    let mut request = format!(
        "POST /api/runs HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n",
        server.addr
    )
    .into_bytes();
    request.extend(std::iter::repeat_n(b' ', 1024));
    let (status, json) = raw(server.addr, &request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["field"], "body");

    // Chunked, so no length is declared: cut off once over the limit.
    let chunk = vec![b' '; 100 * 1024];
    let mut request = format!(
        "POST /api/runs HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        server.addr,
        chunk.len()
    )
    .into_bytes();
    request.extend(&chunk);
    request.extend(b"\r\n0\r\n\r\n");
    let (status, json) = raw(server.addr, &request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
}

/// Every input that decodes wrongly, and the field the refusal must name.
const WRONG: &[(&str, &str)] = &[
    (
        r#"{"preset":"cpu-threads","knobs":{"threads":null}}"#,
        "threads",
    ),
    (
        r#"{"preset":"cpu-threads","knobs":{"threads":[4]}}"#,
        "threads",
    ),
    (
        r#"{"preset":"cpu-threads","knobs":{"threads":{"n":4}}}"#,
        "threads",
    ),
    (r#"{"preset":"cpu-threads","knobs":{"work":null}}"#, "work"),
    (
        r#"{"preset":"counter-race","knobs":{"switch_interval_ms":null}}"#,
        "switch_interval_ms",
    ),
    (
        r#"{"preset":"counter-race","knobs":{"switch_interval_ms":[]}}"#,
        "switch_interval_ms",
    ),
    (r#"{"preset":"counter-race","knobs":{"lock":null}}"#, "lock"),
    (r#"{"preset":"counter-race","knobs":{"lock":{}}}"#, "lock"),
    (r#"{"preset":"counter-race","knobs":{"gil":null}}"#, "gil"),
    (
        r#"{"preset":"counter-race","knobs":{"gil":["none"]}}"#,
        "gil",
    ),
    (r#"{"preset":"counter-race","knobs":{"form":{}}}"#, "form"),
    (r#"{"preset":"cpu-threads","knobs":null}"#, "knobs"),
    (r#"{"preset":"cpu-threads","knobs":[1]}"#, "knobs"),
    (r#"{"preset":null}"#, "preset"),
    (r#"{"preset":["cpu-threads"]}"#, "preset"),
    (r#"{"preset":"cpu-threads","knob":{"threads":2}}"#, "knob"),
    (
        r#"{"preset":"cpu-threads","knobs":{"threads":2,"threads":3}}"#,
        "threads",
    ),
];

#[tokio::test]
async fn wrong_types_unknown_and_repeated_fields_name_the_field() {
    let server = start(Limits::default()).await;
    for (body, field) in WRONG {
        let (status, json) = post(&server, local(1), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        assert_eq!(json["field"], *field, "{body}: {json}");
    }
    // The same rules for a websocket's start.
    let mut ws = connect(&server).await;
    for (spec, field) in WRONG {
        send_text(&mut ws, &format!(r#"{{"type":"start","spec":{spec}}}"#)).await;
        let err = next_error(&mut ws).await;
        assert_eq!(err.field.as_deref(), Some(*field), "{spec}: {err:?}");
    }
    let (_, runs) = http(&server, local(1), Method::GET, "/api/runs", None, &[]).await;
    assert_eq!(runs, serde_json::json!([]), "nothing was started");
}

/// Log lines written while the tests of this file run.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn echoed_input_is_clipped_in_answers_and_logs() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,gilscope_server=debug",
        ))
        .with_writer(move || writer.clone())
        .try_init()
        .expect("this test installs the only log subscriber of its process");
    let server = start(Limits::default()).await;
    let long = "k".repeat(60_000);
    let cases = [
        format!(r#"{{"preset":"cpu-threads","knobs":{{"{long}":1}}}}"#),
        format!(r#"{{"preset":"{long}"}}"#),
        format!(r#"{{"preset":"cpu-threads","knobs":{{"gil":"{long}"}}}}"#),
        format!(r#"{{"preset":"cpu-threads","{long}":1}}"#),
        format!(r#"{{"preset":"cpu-threads","knobs":{{"threads":"{long}"}}}}"#),
    ];
    for body in &cases {
        let (status, json) = post(&server, local(1), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json:.300}");
        let size = json.to_string().len();
        assert!(
            size < 2_000,
            "a {} byte body got a {size} byte answer: {json:.300}",
            body.len()
        );
    }
    let (status, json) = post(&server, local(1), &cases[0]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["field"].as_str().unwrap().ends_with('…'),
        "{json:.300}"
    );

    let origin = format!("http://{}", "o".repeat(8 * 1024));
    let host = format!("{}:{}", "h".repeat(8 * 1024), server.addr.port());
    let (status, json) = http(
        &server,
        local(1),
        Method::POST,
        "/api/runs",
        Some(LONG.into()),
        &[("origin", &origin)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(json.to_string().len() < 2_000);
    let request = Request::get("/api/runs")
        .header(header::HOST, &host)
        .body(Body::empty())
        .unwrap();
    let response = app(server.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Over the websocket too.
    let mut ws = connect(&server).await;
    for body in &cases {
        send_text(&mut ws, &format!(r#"{{"type":"start","spec":{body}}}"#)).await;
        let err = next_error(&mut ws).await;
        assert!(err.message.len() + err.field.map_or(0, |f| f.len()) < 2_000);
    }

    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("refused"),
        "the refusals were logged: {logs:.2000}"
    );
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 2_000, "a log line of {longest} bytes");
}

// ---- 2: finished runs kept within a byte budget ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_runs_are_kept_within_a_byte_budget() {
    let _turn = EXPERIMENTS.lock().await;
    let short = r#"{"preset":"counter-race","knobs":{"threads":2,"increments":2000}}"#;
    // A budget smaller than any trace: only the newest finished run stays.
    let server = start(Limits {
        keep_bytes: 1,
        ..Limits::default()
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, json) = post(&server, local(1), short).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        let id = json["id"].as_u64().unwrap();
        let deadline = Instant::now() + WAIT;
        while !server.state.runs.get(id).is_ok_and(|i| i.state.is_over()) {
            assert!(Instant::now() < deadline, "run {id} did not end");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ids.push(id);
    }
    let kept: Vec<u64> = server.state.runs.list().iter().map(|r| r.id).collect();
    assert_eq!(kept, vec![ids[2]], "only the newest stays");
    let (status, _) = http(
        &server,
        local(1),
        Method::GET,
        &format!("/api/runs/{}/trace", ids[0]),
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A budget of one and a half of those traces: kept by bytes, not by count.
    let budget = server.state.runs.trace(ids[2]).unwrap().1.heap_bytes() * 3 / 2;
    drop(server);
    let server = start(Limits {
        keep_bytes: budget,
        ..Limits::default()
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let (_, json) = post(&server, local(1), short).await;
        let id = json["id"].as_u64().unwrap();
        let deadline = Instant::now() + WAIT;
        while !server.state.runs.get(id).is_ok_and(|i| i.state.is_over()) {
            assert!(Instant::now() < deadline, "run {id} did not end");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ids.push(id);
    }
    let kept: Vec<u64> = server.state.runs.list().iter().map(|r| r.id).collect();
    let bytes: usize = kept
        .iter()
        .map(|&id| server.state.runs.trace(id).unwrap().1.heap_bytes())
        .sum();
    assert!(
        bytes <= budget || kept == [ids[3]],
        "{bytes} bytes kept, budget {budget}"
    );
    assert!(
        kept.len() < 4 && kept.contains(&ids[3]),
        "{kept:?} of {ids:?}"
    );
}
