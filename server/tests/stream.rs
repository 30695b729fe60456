//! Live streaming end to end: runs started over the websocket and the HTTP API, frames
//! rebuilt into the server's trace, the guard on acting endpoints, slow viewers, the queue
//! bound, and stopping runs without leaving threads behind.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use futures_util::{SinkExt, StreamExt};
use gilscope_server::{app, AppState};
use gilscope_shared::protocol::{self, ClientMsg, Payload, RunId, RunInfo, RunState, ServerMsg};
use gilscope_shared::spec::{ExperimentSpec, KnobValue};
use gilscope_shared::trace::{LaneId, Nanos, State, Trace};
use gilscope_shared::validate::validate;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Tests that run experiments take turns: they count threads and processes, and time runs.
static EXPERIMENTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(30);

type Client = WebSocketStream<TcpStream>;

/// A server on an ephemeral port whose state the test can also reach through the router.
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

async fn start() -> Server {
    // Worker processes run the gilscope binary, not this test's executable.
    static WORKER_EXE: std::sync::Once = std::sync::Once::new();
    WORKER_EXE
        .call_once(|| std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope")));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let state = AppState::new(addr, shutdown.clone());
    state.runs.spawn_executor();
    let router = app(state.clone());
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    });
    Server {
        addr,
        state,
        shutdown,
    }
}

fn spec(preset: &str, knobs: &[(&str, i64)]) -> ExperimentSpec {
    ExperimentSpec {
        preset: preset.into(),
        knobs: knobs
            .iter()
            .map(|(k, v)| (k.to_string(), KnobValue::Int(*v)))
            .collect(),
        ..Default::default()
    }
}

/// The peer address of the requests [`http`] sends.
const LOCAL_PEER: ([u8; 4], u16) = ([127, 0, 0, 1], 40000);

/// An HTTP request through the router, as a same-origin page on this machine would send it.
async fn http(
    server: &Server,
    method: Method,
    path: &str,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    http_from(server, LOCAL_PEER.into(), method, path, body, headers).await
}

/// [`http`] from the client at `peer`.
async fn http_from(
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

async fn post_run(server: &Server, spec: &ExperimentSpec) -> (StatusCode, serde_json::Value) {
    let body = serde_json::to_string(spec).unwrap();
    http(server, Method::POST, "/api/runs", Some(body), &[]).await
}

async fn run_info(server: &Server, id: RunId) -> RunInfo {
    let (status, json) = http(server, Method::GET, &format!("/api/runs/{id}"), None, &[]).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    serde_json::from_value(json).unwrap()
}

async fn wait_over(server: &Server, id: RunId) -> RunInfo {
    let deadline = Instant::now() + WAIT;
    loop {
        let info = run_info(server, id).await;
        if info.state.is_over() {
            return info;
        }
        assert!(Instant::now() < deadline, "run {id} still {:?}", info.state);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn connect_with(server: &Server, socket: TcpSocket) -> Client {
    let stream = socket.connect(server.addr).await.unwrap();
    let url = format!("ws://{}/ws", server.addr);
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, stream))
        .await
        .expect("websocket handshake timed out")
        .expect("websocket handshake failed");
    ws
}

async fn connect(server: &Server) -> Client {
    connect_with(server, TcpSocket::new_v4().unwrap()).await
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
            _ => continue,
        };
        return protocol::decode(&frame).expect("undecodable server message");
    }
}

async fn send(ws: &mut Client, msg: &ClientMsg) {
    let Payload::Binary(bytes) = protocol::encode(msg) else {
        unreachable!("the protocol is binary")
    };
    ws.send(Message::binary(bytes)).await.unwrap();
}

/// A viewer's copy of one run, rebuilt from frames as the dashboard does.
#[derive(Default)]
struct Rebuilt {
    trace: Trace,
    coarsest: Nanos,
    frames: usize,
    largest_frame: usize,
}

/// Reads until run `id` is over; returns its final info and the trace rebuilt from frames.
async fn follow(ws: &mut Client, id: Option<RunId>) -> (RunInfo, Rebuilt) {
    let mut rebuilt = Rebuilt::default();
    let mut id = id;
    loop {
        match recv(ws).await {
            ServerMsg::Run(info) => {
                id.get_or_insert(info.id);
                if Some(info.id) == id && info.state.is_over() {
                    return (info, rebuilt);
                }
            }
            ServerMsg::Frame(frame) if Some(frame.run) == id => {
                rebuilt.largest_frame = rebuilt
                    .largest_frame
                    .max(protocol::encoded_len(&ServerMsg::Frame(frame.clone())));
                if frame.reset {
                    rebuilt = Rebuilt::default();
                }
                rebuilt.frames += 1;
                rebuilt.coarsest = rebuilt.coarsest.max(frame.resolution);
                rebuilt.trace.apply(frame.delta);
            }
            ServerMsg::Error(err) => panic!("server error: {err:?}"),
            _ => {}
        }
    }
}

fn time_per_lane_state(trace: &Trace) -> BTreeMap<(LaneId, State), Nanos> {
    let mut totals = BTreeMap::new();
    for span in &trace.spans {
        *totals.entry((span.lane, span.state)).or_default() += span.duration();
    }
    totals
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_rebuild_the_servers_trace() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start().await;
    let mut ws = connect(&server).await;
    let ServerMsg::Hello(hello) = recv(&mut ws).await else {
        panic!("hello first")
    };
    assert!(hello.presets.iter().any(|p| p.name == "cpu-threads"));

    let run = spec("cpu-threads", &[("threads", 3), ("work", 30_000_000)]);
    send(&mut ws, &ClientMsg::Start { spec: run }).await;
    let (info, rebuilt) = follow(&mut ws, None).await;
    assert_eq!(info.state, RunState::Finished, "{info:?}");
    assert!(info.summary.is_some());
    assert!(rebuilt.frames >= 2, "{} frames", rebuilt.frames);
    assert!(rebuilt.largest_frame <= protocol::MAX_FRAME_BYTES);

    let path = format!("/api/runs/{}/trace?format=gilscope", info.id);
    let (status, json) = http(&server, Method::GET, &path, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let full: Trace = serde_json::from_value(json).unwrap();

    assert_eq!(validate(&full), vec![], "the server's trace");
    assert_eq!(validate(&rebuilt.trace), vec![], "the rebuilt trace");
    let lanes = |t: &Trace| -> BTreeSet<(LaneId, String)> {
        t.lanes.iter().map(|l| (l.id, l.name.clone())).collect()
    };
    assert_eq!(lanes(&rebuilt.trace), lanes(&full));
    let (live, whole) = (
        time_per_lane_state(&rebuilt.trace),
        time_per_lane_state(&full),
    );
    let tolerance = 2 * rebuilt.coarsest.max(1);
    for key in whole.keys().chain(live.keys()) {
        let (a, b) = (live.get(key).copied(), whole.get(key).copied());
        let diff = a.unwrap_or(0).abs_diff(b.unwrap_or(0));
        assert!(
            diff <= tolerance,
            "{key:?}: {a:?} ns from frames, {b:?} ns on the server"
        );
    }
}

#[tokio::test]
async fn acting_endpoints_refuse_foreign_origins_and_hosts() {
    let server = start().await;
    let body = serde_json::to_string(&spec("cpu-threads", &[])).unwrap();
    let (status, json) = http(
        &server,
        Method::POST,
        "/api/runs",
        Some(body.clone()),
        &[("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json["field"], "origin");

    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/runs")
        .extension(ConnectInfo(SocketAddr::from(LOCAL_PEER)))
        .header(header::HOST, "evil.example:7878")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = app(server.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let (status, _) = http(
        &server,
        Method::DELETE,
        "/api/runs/1",
        None,
        &[("origin", "null")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, runs) = http(&server, Method::GET, "/api/runs", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runs, serde_json::json!([]), "nothing was started");
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let server = start().await;
    let cases = [
        (
            r#"{"preset":"cpu-threads","knobs":{"threads":0}}"#,
            "threads",
        ),
        (
            r#"{"preset":"cpu-threads","knobs":{"threads":"many"}}"#,
            "threads",
        ),
        (r#"{"preset":"cpu-threads","knobs":{"treads":2}}"#, "treads"),
        (r#"{"preset":"no-such-thing"}"#, "preset"),
        (
            r#"{"preset":"cpu-threads","knobs":{"gil":"sometimes"}}"#,
            "gil",
        ),
        (r#"{"preset":"#, "body"),
    ];
    for (body, field) in cases {
        let (status, json) = http(&server, Method::POST, "/api/runs", Some(body.into()), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        assert_eq!(json["field"], field, "{body}: {json}");
        assert!(json["error"].as_str().unwrap().len() > 10, "{json}");
    }
    let (status, json) = http(&server, Method::GET, "/api/runs/abc", None, &[]).await;
    assert_eq!(
        (status, &json["field"]),
        (StatusCode::BAD_REQUEST, &"id".into())
    );
    let (status, json) = http(&server, Method::GET, "/api/runs/999", None, &[]).await;
    assert_eq!(
        (status, &json["field"]),
        (StatusCode::NOT_FOUND, &"id".into())
    );
    let (status, json) = http(
        &server,
        Method::GET,
        "/api/runs/1/trace?format=svg",
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, &json["field"]),
        (StatusCode::BAD_REQUEST, &"format".into())
    );
    let (status, presets) = http(&server, Method::GET, "/api/presets", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(presets.as_array().unwrap().len() >= 7);
}

/// Threads of this test process that are not tokio's or the test harness's own.
fn experiment_threads() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| {
            let comm = std::fs::read_to_string(task.ok()?.path().join("comm")).ok()?;
            let comm = comm.trim().to_string();
            (!comm.starts_with("tokio-runtime") && !comm.contains("::")).then_some(comm)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seventeenth_waiting_run_is_refused_and_stopped_runs_leave_no_thread() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start().await;
    let before = experiment_threads();
    // Long runs: they will be stopped long before their end.
    let long = spec("cpu-threads", &[("threads", 2), ("work", 2_000_000_000)]);
    let (status, first) = post_run(&server, &long).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let mut ids = vec![first["id"].as_u64().unwrap()];
    let deadline = Instant::now() + WAIT;
    while run_info(&server, ids[0]).await.state != RunState::Running {
        assert!(Instant::now() < deadline, "the first run never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refusal = loop {
        // From many clients: each may have only two runs waiting.
        let peer = SocketAddr::from(([127, 0, 0, 2 + ids.len() as u8], 40000));
        let body = serde_json::to_string(&long).unwrap();
        let (status, json) =
            http_from(&server, peer, Method::POST, "/api/runs", Some(body), &[]).await;
        if status != StatusCode::CREATED {
            break (status, json);
        }
        ids.push(json["id"].as_u64().unwrap());
        assert!(ids.len() <= 17, "the queue never filled up");
    };
    assert_eq!(refusal.0, StatusCode::TOO_MANY_REQUESTS, "{}", refusal.1);
    assert_eq!(refusal.1["field"], "queue");
    // One runs, sixteen wait.
    assert_eq!(ids.len(), 17);
    let queued = {
        let (_, runs) = http(&server, Method::GET, "/api/runs", None, &[]).await;
        runs.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] == "queued")
            .count()
    };
    assert!(queued >= 16, "{queued} queued");

    for &id in ids.iter().rev() {
        let (status, json) = http(
            &server,
            Method::DELETE,
            &format!("/api/runs/{id}"),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{json}");
    }
    for &id in &ids {
        let info = wait_over(&server, id).await;
        assert_eq!(info.state, RunState::Stopped, "{info:?}");
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let now = experiment_threads();
        if now.is_subset(&before) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "threads left behind: {:?}",
            now.difference(&before).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_never_reads_delays_nobody_and_is_resynchronised() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start().await;
    // A busy run: the tick-based GIL hands over every few µs, so frames are full.
    let busy = spec("gil-flavours", &[]);
    let mut watcher = connect(&server).await;
    recv(&mut watcher).await;

    // Alone first, for comparison.
    send(&mut watcher, &ClientMsg::Start { spec: busy.clone() }).await;
    let (alone, _) = follow(&mut watcher, None).await;
    let alone_s = alone.summary.unwrap().wall_s;

    // A viewer with a tiny receive buffer that never reads.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stuck = connect_with(&server, socket).await;

    send(&mut watcher, &ClientMsg::Start { spec: busy }).await;
    let (beside, rebuilt) = follow(&mut watcher, None).await;
    assert_eq!(beside.state, RunState::Finished);
    assert!(rebuilt.frames > 0);
    let beside_s = beside.summary.unwrap().wall_s;
    assert!(
        beside_s <= alone_s * 1.5 + 0.2,
        "{alone_s:.3} s alone, {beside_s:.3} s beside a stuck viewer"
    );

    // The stuck viewer, reading at last, still learns how the run ended.
    let (late, _) = follow(&mut stuck, Some(beside.id)).await;
    assert_eq!(late.id, beside.id);
    assert_eq!(late.state, RunState::Finished);
}

/// Processes whose parent is this test process.
fn child_processes() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the command's closing parenthesis: state, ppid, ...
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == me).then_some(pid)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_process_run_leaves_no_process_behind() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start().await;
    assert_eq!(child_processes(), Vec::<u32>::new());
    let long = spec(
        "cpu-processes",
        &[("processes", 2), ("work", 2_000_000_000)],
    );
    let (status, json) = post_run(&server, &long).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let id = json["id"].as_u64().unwrap();
    let deadline = Instant::now() + WAIT;
    while child_processes().len() < 2 {
        assert!(Instant::now() < deadline, "the workers never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _) = http(
        &server,
        Method::DELETE,
        &format!("/api/runs/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(wait_over(&server, id).await.state, RunState::Stopped);
    while !child_processes().is_empty() {
        assert!(
            Instant::now() < deadline,
            "processes left behind: {:?}",
            child_processes()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
