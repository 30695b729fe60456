//! Classroom mode (issue #12): only the teacher's token acts, over HTTP and the websocket;
//! the teacher's URL becomes a cookie and the token reaches no student's page and no log;
//! students follow the teacher's shared state; the caps on viewers, connections per address
//! and messages per second.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use futures_util::{SinkExt, StreamExt};
use gilscope_server::classroom::{Classroom, Token};
use gilscope_server::{app, listen, AppState, Limits};
use gilscope_shared::protocol::{
    self, ClassState, ClientMsg, ErrorMsg, Payload, Role, RunState, ServerMsg, Window,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "the-teachers-secret-token-0123456789";

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

fn classroom() -> Classroom {
    Classroom {
        token: Token::parse(TOKEN).unwrap(),
        students: vec!["http://192.0.2.2:7878/".into()],
    }
}

/// A class as `gilscope serve --classroom` runs it (accept loop and bounds) on loopback. No
/// executor: runs stay queued, so nothing here takes the machine's cores.
async fn start(limits: Limits) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let state = AppState::with_classroom(addr, shutdown.clone(), limits.clone(), Some(classroom()));
    let router = app(state.clone());
    let stop = shutdown.clone();
    tokio::spawn(async move { listen::serve(listener, router, &limits, stop).await });
    Server {
        addr,
        state,
        shutdown,
    }
}

/// A request through the router from this machine; answers the status, headers and body.
async fn http(
    state: &AppState,
    method: Method,
    path: &str,
    body: Option<&str>,
    cookie: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .extension(ConnectInfo::<SocketAddr>("127.0.0.1:5000".parse().unwrap()))
        .header(header::HOST, state.local_addr.to_string())
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn field(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    json["field"].as_str().unwrap_or_default().to_string()
}

const TEACHER: &str = "lang=zh; gilscope_token=the-teachers-secret-token-0123456789";
const SPEC: &str = r#"{"preset":"cpu-threads","knobs":{"threads":2}}"#;
const CODE: &str = r#"{"engine":"cpython","script":"print(1)"}"#;
const CLASS: &str = r#"{"preset":"cpu-threads","knobs":{"threads":4},"pinned":1,"projector":true,"window":{"t0":0,"t1":1000}}"#;

fn class_state() -> AppState {
    AppState::with_classroom(
        "127.0.0.1:7878".parse().unwrap(),
        CancellationToken::new(),
        Limits::default(),
        Some(classroom()),
    )
}

#[tokio::test]
async fn over_http_only_the_token_starts_stops_runs_code_and_pins() {
    let state = class_state();
    let student = None;
    for (method, path, body) in [
        (Method::POST, "/api/runs", Some(SPEC)),
        (Method::POST, "/api/runs", Some(CODE)),
        (Method::DELETE, "/api/runs/1", None),
        (Method::PUT, "/api/classroom", Some(CLASS)),
    ] {
        let (status, _, answer) = http(&state, method.clone(), path, body, student).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(field(&answer), "token", "{answer}");
        assert!(answer.contains("teacher"), "{answer}");
    }
    let wrong = Some("gilscope_token=the-teachers-secret-token-0123456780");
    let (status, _, _) = http(&state, Method::POST, "/api/runs", Some(SPEC), wrong).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(state.runs.list().is_empty(), "nothing was started");

    // With the cookie (or the header scripts use), each works.
    let (status, _, run) = http(&state, Method::POST, "/api/runs", Some(SPEC), Some(TEACHER)).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let (status, _, code) =
        http(&state, Method::POST, "/api/runs", Some(CODE), Some(TEACHER)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "code runs for the teacher: {code}"
    );
    let (status, _, stopped) =
        http(&state, Method::DELETE, "/api/runs/1", None, Some(TEACHER)).await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert!(stopped.contains("stopped"), "{stopped}");
    let (status, _, shared) = http(
        &state,
        Method::PUT,
        "/api/classroom",
        Some(CLASS),
        Some(TEACHER),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(state.follow.class().unwrap().pinned, Some(1));

    // Everyone reads the class; the role says who asked.
    let (_, _, info) = http(&state, Method::GET, "/api/classroom", None, None).await;
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["role"], "student");
    assert_eq!(info["class"]["preset"], "cpu-threads");
    assert_eq!(info["students"][0], "http://192.0.2.2:7878/");
    let (_, _, info) = http(&state, Method::GET, "/api/classroom", None, Some(TEACHER)).await;
    assert!(info.contains(r#""role":"teacher""#), "{info}");
}

#[tokio::test]
async fn a_shared_state_out_of_bounds_is_refused_naming_the_field() {
    let state = class_state();
    for (body, field_at_fault) in [
        (r#"{"preset":"nope"}"#, "preset"),
        (
            r#"{"preset":"cpu-threads","knobs":{"threads":100000}}"#,
            "threads",
        ),
        (
            r#"{"preset":"cpu-threads","window":{"t0":5,"t1":5}}"#,
            "window",
        ),
        (r#"{"preset":"cpu-threads","run":0}"#, "run"),
        (r#"{"preset":"cpu-threads","zoom":2}"#, "zoom"),
    ] {
        let (status, _, answer) = http(
            &state,
            Method::PUT,
            "/api/classroom",
            Some(body),
            Some(TEACHER),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(field(&answer), field_at_fault, "{body}: {answer}");
    }
    assert!(state.follow.class().is_none());
}

#[tokio::test]
async fn the_teachers_url_sets_a_strict_cookie_and_drops_the_token() {
    let state = class_state();
    let (status, headers, _) = http(
        &state,
        Method::GET,
        &format!("/?lang=zh&token={TOKEN}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/?lang=zh");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    for part in [
        &format!("gilscope_token={TOKEN}"),
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    let (status, headers, answer) = http(
        &state,
        Method::GET,
        "/?token=not-the-teachers-token",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(field(&answer), "token");
    assert!(headers.get(header::SET_COOKIE).is_none());
}

/// A log writer that keeps everything written, for reading it back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_token_reaches_no_students_page_and_no_log() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = start(Limits::default()).await;
        let state = &server.state;
        let mut seen = String::new();
        // What a student's browser fetches, and what the teacher's URL and refusals log.
        for path in [
            "/",
            "/style.css",
            "/index.html",
            "/lang/zh.txt",
            "/api/presets",
            "/api/runs",
            "/api/classroom",
            "/api/classroom/qr.svg",
        ] {
            let (status, headers, body) = http(state, Method::GET, path, None, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            seen += &format!("{headers:?}{body}");
        }
        http(state, Method::GET, &format!("/?token={TOKEN}"), None, None).await;
        http(
            state,
            Method::GET,
            &format!("/api/runs?token={TOKEN}"),
            None,
            None,
        )
        .await;
        http(state, Method::POST, "/api/runs", Some(SPEC), Some(TEACHER)).await;
        // A foreign Host is refused, and its URI logged: still without the token.
        let request = Request::get(format!("/api/runs?token={TOKEN}"))
            .header(header::HOST, "evil.example")
            .body(Body::empty())
            .unwrap();
        let refused = app(state.clone()).oneshot(request).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);

        // A student's websocket: its hello and the teacher's shared state.
        state.follow.share(serde_json::from_str(CLASS).unwrap());
        let mut student = connect(&server, None).await;
        let mut teacher = connect(&server, Some(TEACHER)).await;
        for _ in 0..2 {
            let msg = recv(&mut student).await;
            seen += &format!("{msg:?}");
        }
        let hello = recv(&mut teacher).await;
        assert!(!format!("{hello:?}").contains(TOKEN));
        drop(server);
        assert!(!seen.contains(TOKEN), "a student's page carries the token");
        assert!(
            seen.contains("cpu-threads"),
            "the pages were read: {seen:.300}"
        );
    });
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("uri=/api/runs "),
        "the requests were logged: {logs:.2000}"
    );
    assert!(logs.contains("evil.example"), "the refusal was logged");
    assert!(!logs.contains(TOKEN), "the token was logged");
}

// ---- the websocket ----

/// A websocket to `server` from `127.0.0.1`, with the teacher's cookie if given.
async fn connect(server: &Server, cookie: Option<&str>) -> Client {
    connect_from(server, [127, 0, 0, 1].into(), cookie)
        .await
        .expect("websocket handshake failed")
}

/// A websocket to `server` from the loopback address `from`.
async fn connect_from(
    server: &Server,
    from: IpAddr,
    cookie: Option<&str>,
) -> Result<Client, tungstenite::Error> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    let origin = format!("http://{}", server.addr);
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(&origin).unwrap());
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(cookie).unwrap());
    }
    let handshake = tokio_tungstenite::client_async(request, stream);
    let (ws, _) = tokio::time::timeout(WAIT, handshake)
        .await
        .expect("websocket handshake timed out")?;
    Ok(ws)
}

async fn recv(ws: &mut Client) -> ServerMsg {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no message from the server in time")
            .expect("the server closed the connection")
            .expect("websocket error");
        let frame = match msg {
            Message::Binary(bytes) => Payload::Binary(bytes.to_vec()),
            Message::Text(text) => Payload::Text(text.to_string()),
            Message::Close(close) => panic!("closed: {close:?}"),
            _ => continue,
        };
        return protocol::decode(&frame).expect("undecodable message");
    }
}

/// The next message that `pick` takes, skipping the others.
async fn recv_until<T>(ws: &mut Client, mut pick: impl FnMut(ServerMsg) -> Option<T>) -> T {
    loop {
        if let Some(found) = pick(recv(ws).await) {
            return found;
        }
    }
}

async fn next_error(ws: &mut Client) -> ErrorMsg {
    recv_until(ws, |msg| match msg {
        ServerMsg::Error(err) => Some(err),
        _ => None,
    })
    .await
}

async fn send(ws: &mut Client, msg: &ClientMsg) {
    let Payload::Binary(bytes) = protocol::encode(msg) else {
        unreachable!()
    };
    ws.send(Message::binary(bytes)).await.unwrap();
}

fn role_of(hello: ServerMsg) -> Role {
    match hello {
        ServerMsg::Hello(hello) => {
            assert_eq!(hello.students, ["http://192.0.2.2:7878/"]);
            hello.role
        }
        other => panic!("expected the hello, got {other:?}"),
    }
}

fn spec() -> gilscope_shared::spec::ExperimentSpec {
    serde_json::from_str(SPEC).unwrap()
}

fn shared() -> ClassState {
    ClassState {
        preset: "cpu-threads".into(),
        knobs: [(
            "threads".to_string(),
            gilscope_shared::spec::KnobValue::Int(16),
        )]
        .into(),
        window: Some(Window { t0: 10, t1: 2_000 }),
        projector: true,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_websocket_students_follow_and_only_the_teacher_acts() {
    let server = start(Limits::default()).await;
    let mut student = connect(&server, None).await;
    assert_eq!(role_of(recv(&mut student).await), Role::Student);

    for msg in [
        ClientMsg::Start { spec: spec() },
        ClientMsg::Stop { id: 1 },
        ClientMsg::Share { class: shared() },
    ] {
        send(&mut student, &msg).await;
        let err = next_error(&mut student).await;
        assert_eq!(err.field.as_deref(), Some("token"), "{msg:?}: {err:?}");
    }
    let mut code = spec();
    code.script = Some("print(1)".into());
    // Both set: MessagePack writes a spec as an array, so a left-out engine would shift it.
    code.engine = Some(gilscope_shared::spec::Engine::Cpython);
    send(&mut student, &ClientMsg::Start { spec: code }).await;
    let err = next_error(&mut student).await;
    assert_eq!(err.field.as_deref(), Some("token"), "{err:?}");
    assert!(server.state.runs.list().is_empty(), "nothing was started");

    let mut teacher = connect(&server, Some(TEACHER)).await;
    assert_eq!(role_of(recv(&mut teacher).await), Role::Teacher);
    // The teacher hears how many watch: the student and the teacher.
    recv_until(&mut teacher, |m| {
        matches!(m, ServerMsg::Viewers { count: 2 }).then_some(())
    })
    .await;

    send(&mut teacher, &ClientMsg::Share { class: shared() }).await;
    let followed = recv_until(&mut student, |m| match m {
        ServerMsg::Class(class) => Some(class),
        _ => None,
    })
    .await;
    assert_eq!(followed, shared());
    send(&mut teacher, &ClientMsg::Start { spec: spec() }).await;
    let queued = recv_until(&mut student, |m| match m {
        ServerMsg::Run(info) => Some(info),
        _ => None,
    })
    .await;
    assert_eq!(queued.state, RunState::Queued);
    send(&mut teacher, &ClientMsg::Stop { id: queued.id }).await;
    let stopped = recv_until(&mut student, |m| match m {
        ServerMsg::Run(info) if info.state.is_over() => Some(info),
        _ => None,
    })
    .await;
    assert_eq!(stopped.state, RunState::Stopped);

    // A bad shared state names its field; the good one stays.
    let mut bad = shared();
    bad.window = Some(Window { t0: 9, t1: 3 });
    send(&mut teacher, &ClientMsg::Share { class: bad }).await;
    assert_eq!(
        next_error(&mut teacher).await.field.as_deref(),
        Some("window")
    );

    // A student who joins now is sent what the teacher shows.
    let mut late = connect(&server, None).await;
    let joined = recv_until(&mut late, |m| match m {
        ServerMsg::Class(class) => Some(class),
        _ => None,
    })
    .await;
    assert_eq!(joined, shared());
    // ... and is never sent the viewer count (the teacher's).
    send(&mut late, &ClientMsg::Ping { nonce: 9 }).await;
    recv_until(&mut late, |m| match m {
        ServerMsg::Viewers { .. } => panic!("a student was sent the viewer count"),
        ServerMsg::Pong { nonce: 9 } => Some(()),
        _ => None,
    })
    .await;
    recv_until(&mut teacher, |m| {
        matches!(m, ServerMsg::Viewers { count: 3 }).then_some(())
    })
    .await;
}

/// Loopback addresses 127.0.0.2, 127.0.0.3, ...: Linux answers the whole 127/8 range.
fn loopback(n: usize) -> IpAddr {
    let n = n + 2;
    IpAddr::from([127, 0, (n / 250) as u8, (n % 250) as u8 + 1])
}

/// The status and JSON body of a refused websocket handshake.
fn refusal(result: Result<Client, tungstenite::Error>) -> (StatusCode, serde_json::Value) {
    match result {
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            (
                StatusCode::from_u16(response.status().as_u16()).unwrap(),
                serde_json::from_slice(&body).unwrap_or_default(),
            )
        }
        Err(err) => panic!("expected an HTTP refusal, got {err}"),
        Ok(_) => panic!("the connection was accepted"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_501st_viewer_is_refused_with_a_clear_message() {
    let server = start(Limits::default()).await;
    let mut viewers = Vec::new();
    // 500 viewers, 8 from each address (the most one may have).
    for n in 0..500 {
        let mut ws = connect_from(&server, loopback(n / 8), None).await.unwrap();
        assert!(matches!(recv(&mut ws).await, ServerMsg::Hello(_)));
        viewers.push(ws);
    }
    assert_eq!(server.state.follow.viewers(), 500);
    let (status, json) = refusal(connect_from(&server, loopback(100), None).await);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
    assert_eq!(json["field"], "viewers", "{json}");
    assert!(
        json["error"].as_str().unwrap().contains("500 viewers"),
        "{json}"
    );
    // One leaves: one more may come.
    viewers.pop().unwrap().close(None).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while server.state.follow.viewers() == 500 {
        assert!(Instant::now() < deadline, "a closed viewer kept its seat");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    connect_from(&server, loopback(100), None).await.unwrap();
}

#[tokio::test]
async fn the_ninth_connection_from_one_address_is_refused_with_a_clear_message() {
    let server = start(Limits::default()).await;
    let from: IpAddr = [127, 0, 0, 9].into();
    let connect = || async {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from, 0)).unwrap();
        socket.connect(server.addr).await.unwrap()
    };
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(connect().await);
    }
    let get = format!(
        "GET /api/presets HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    // Accepted in order after the eight: refused.
    let mut ninth = connect().await;
    ninth.write_all(get.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, ninth.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(field(body), "connections", "{answer}");
    assert!(body.contains("8 connections from 127.0.0.9"), "{body}");

    // Another address is served meanwhile, and so is this one once a connection closes.
    let mut other = connect_from(&server, [127, 0, 0, 10].into(), None)
        .await
        .unwrap();
    assert!(matches!(recv(&mut other).await, ServerMsg::Hello(_)));
    let mut first = open.remove(0);
    first.write_all(get.as_bytes()).await.unwrap();
    let mut served = Vec::new();
    tokio::time::timeout(WAIT, first.read_to_end(&mut served))
        .await
        .unwrap()
        .unwrap();
    assert!(served.starts_with(b"HTTP/1.1 200"));
    let deadline = Instant::now() + WAIT;
    loop {
        let mut again = connect().await;
        again.write_all(get.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(WAIT, again.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        if answer.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the address stayed refused");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_viewer_is_read_at_its_rate_and_slows_nobody() {
    let limits = Limits {
        ws_messages_per_s: 10,
        ..Limits::default()
    };
    let server = start(limits).await;
    let mut flooder = connect(&server, None).await;
    let mut other = connect_from(&server, [127, 0, 0, 20].into(), None)
        .await
        .unwrap();
    recv(&mut flooder).await;
    recv(&mut other).await;
    let t = Instant::now();
    // 10 at once pass; 20 more take 2 s at 10 a second.
    for nonce in 0..30 {
        send(&mut flooder, &ClientMsg::Ping { nonce }).await;
    }
    // Meanwhile the other viewer is answered at once.
    let t_other = Instant::now();
    send(&mut other, &ClientMsg::Ping { nonce: 99 }).await;
    recv_until(&mut other, |m| {
        matches!(m, ServerMsg::Pong { nonce: 99 }).then_some(())
    })
    .await;
    let other_took = t_other.elapsed();
    recv_until(&mut flooder, |m| {
        matches!(m, ServerMsg::Pong { nonce: 29 }).then_some(())
    })
    .await;
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1_900),
        "30 messages read in {took:?}"
    );
    assert!(
        other_took < Duration::from_millis(1_000),
        "another viewer waited {other_took:?}"
    );
}
