//! The server over a real socket: the websocket's hello, bad input, the guard, shutdown;
//! and the HTTP routes through the router itself.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use futures_util::{SinkExt, StreamExt};
use gilscope_server::{app, AppState};
use gilscope_shared::protocol::{self, ClientMsg, Payload, ServerMsg};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(gilscope_server::serve(listener, shutdown.clone()));
    Server {
        addr,
        shutdown,
        task,
    }
}

async fn connect(server: &Server) -> Client {
    let url = format!("ws://{}/ws", server.addr);
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("websocket handshake timed out")
        .expect("websocket handshake failed");
    ws
}

/// The next protocol message (skipping control frames).
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
        return protocol::decode(&frame).expect("the server sent an undecodable message");
    }
}

async fn send(ws: &mut Client, msg: &ClientMsg) {
    let Payload::Binary(bytes) = protocol::encode(msg) else {
        panic!("expected a binary frame");
    };
    ws.send(Message::binary(bytes)).await.unwrap();
}

fn expected_cores() -> u32 {
    std::thread::available_parallelism().unwrap().get() as u32
}

#[tokio::test]
async fn hello_names_version_and_cores() {
    let server = start().await;
    let mut ws = connect(&server).await;
    match recv(&mut ws).await {
        ServerMsg::Hello(hello) => {
            assert_eq!(hello.version, env!("CARGO_PKG_VERSION"));
            assert_eq!(hello.cores, expected_cores());
        }
        other => panic!("expected hello first, got {other:?}"),
    }
}

#[tokio::test]
async fn undecodable_messages_get_an_error_and_the_connection_stays_open() {
    let server = start().await;
    let mut ws = connect(&server).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Hello(_)));

    let cases: [(Message, &str); 4] = [
        (Message::text("this is not json"), "expected"),
        (
            Message::text(r#"{"type":"launch"}"#),
            "unknown variant `launch`",
        ),
        (Message::text(r#"{"type":"ping"}"#), "missing field `nonce`"),
        (Message::binary(vec![0xde, 0xad]), "MessagePack"),
    ];
    for (garbage, names) in cases {
        ws.send(garbage.clone()).await.unwrap();
        match recv(&mut ws).await {
            ServerMsg::Error(err) => {
                assert!(err.message.starts_with("cannot decode"), "{err:?}");
                assert!(err.message.contains(names), "{garbage:?} -> {err:?}");
            }
            other => panic!("expected an error for {garbage:?}, got {other:?}"),
        }
    }

    send(&mut ws, &ClientMsg::Ping { nonce: 7 }).await;
    assert_eq!(recv(&mut ws).await, ServerMsg::Pong { nonce: 7 });
}

#[tokio::test]
async fn same_origin_page_may_connect() {
    let server = start().await;
    let mut req = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    let origin = format!("http://{}", server.addr);
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&origin).unwrap());
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .unwrap()
        .expect("a same-origin handshake is accepted");
    assert!(matches!(recv(&mut ws).await, ServerMsg::Hello(_)));
}

/// Attempts a handshake with one header replaced; returns the refusal's status and JSON.
async fn refused_with(server: &Server, name: &str, value: &str) -> (StatusCode, serde_json::Value) {
    let mut req = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
    let result = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .expect("handshake timed out");
    match result {
        Err(tungstenite::Error::Http(response)) => {
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
            let body = response.body().as_deref().unwrap_or_default();
            let json = serde_json::from_slice(body).expect("the refusal is JSON");
            (status, json)
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("a handshake with {name}: {value} was accepted"),
    }
}

#[tokio::test]
async fn foreign_origin_is_refused() {
    let server = start().await;
    let (status, json) = refused_with(&server, "origin", "http://evil.example").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json["field"], "origin");
    assert!(
        json["error"].as_str().unwrap().contains("evil.example"),
        "{json}"
    );
}

#[tokio::test]
async fn foreign_host_is_refused() {
    let server = start().await;
    let host = format!("rebound.example:{}", server.addr.port());
    let (status, json) = refused_with(&server, "host", &host).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json["field"], "host");
    assert!(
        json["error"].as_str().unwrap().contains("rebound.example"),
        "{json}"
    );
}

#[tokio::test]
async fn shutdown_closes_sessions_and_frees_the_port() {
    let server = start().await;
    let mut ws = connect(&server).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Hello(_)));

    server.shutdown.cancel();
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the session was not closed on shutdown");
    tokio::time::timeout(WAIT, server.task)
        .await
        .expect("serve() did not return after shutdown")
        .unwrap()
        .unwrap();
    // The same address can be bound again at once.
    TcpListener::bind(server.addr).await.unwrap();
}

// ---- HTTP routes, through the router ----

fn router() -> axum::Router {
    app(AppState::new(
        "127.0.0.1:7878".parse().unwrap(),
        CancellationToken::new(),
    ))
}

async fn get(path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let req = Request::get(path)
        .header(header::HOST, "127.0.0.1:7878")
        .body(Body::empty())
        .unwrap();
    let res = router().oneshot(req).await.unwrap();
    let status = res.status();
    let mime = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, mime, body.to_vec())
}

#[tokio::test]
async fn unknown_route_is_404_json() {
    let (status, mime, body) = get("/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(mime.as_deref(), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "no such route: /no/such/route");
    assert!(json["field"].is_null());
}

#[tokio::test]
async fn the_dashboard_is_embedded() {
    let (status, mime, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mime.as_deref(), Some("text/html"));
    assert!(String::from_utf8_lossy(&body).contains("<title>gilscope</title>"));

    let (status, mime, _) = get("/style.css").await;
    assert_eq!(
        (status, mime.as_deref()),
        (StatusCode::OK, Some("text/css"))
    );

    assert!(
        gilscope_server::assets::has_frontend(),
        "this binary was built with GILSCOPE_SKIP_FRONTEND=1: no dashboard to test"
    );
    let (status, mime, body) = get("/pkg/gilscope_frontend_bg.wasm").await;
    assert_eq!(
        (status, mime.as_deref()),
        (StatusCode::OK, Some("application/wasm"))
    );
    assert_eq!(&body[..4], b"\0asm");
}
