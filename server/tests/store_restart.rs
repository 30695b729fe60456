//! The store with the real `gilscope serve`, as a subprocess: yesterday's runs are there
//! after a restart (listed, same summary, same trace, replayed over the websocket), a
//! `kill -9` while saving loses at most that run and the store opens cleanly, a second server
//! on the same directory refuses, and a directory that cannot be written keeps nothing while
//! runs go on. `gilscope open FILE` keeps a run file's run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gilscope_server::store::{codec, file};
use gilscope_shared::history::RunEntry;
use gilscope_shared::protocol::{self, ClientMsg, Payload, RunId, ServerMsg};
use gilscope_shared::trace::{LaneId, Span, State, Trace};
use tokio_tungstenite::tungstenite::Message;

/// Every wait in these tests is bounded by this (a noisy 2-core machine).
const WAIT: Duration = Duration::from_secs(60);

/// Tests that run experiments take turns.
static EXPERIMENTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A `gilscope serve` on an ephemeral port; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gilscope(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gilscope"));
    cmd.env_remove("GILSCOPE_ADDR")
        .env("RUST_LOG", "info")
        .env("GILSCOPE_DATA", data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts a server on `data`, waiting for the line that names its URL.
fn serve(data: &Path) -> Result<Server, String> {
    let mut child = gilscope(data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });
    let (err_tx, err_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if err_tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = line_rx.recv_timeout(WAIT).unwrap_or_default();
    let Some(url) = line.split("http://").nth(1) else {
        let _ = child.wait();
        // Every line it wrote: the reader ends at end of file, after the child's exit.
        let mut err = Vec::new();
        while let Ok(line) = err_rx.recv_timeout(WAIT) {
            err.push(line);
        }
        return Err(err.join("\n"));
    };
    let addr = url.split('/').next().unwrap().parse().unwrap();
    Ok(Server {
        child,
        addr,
        stderr: err_rx,
    })
}

/// One HTTP/1.1 request; the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = answer[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[line_end + 2 + size + 2..];
    }
}

fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = http(addr, "GET", path, b"");
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Starts a run over the websocket and waits for the message that it is over.
async fn run(addr: SocketAddr, spec: serde_json::Value) -> RunEntry {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let start = serde_json::json!({"type": "start", "spec": spec}).to_string();
    ws.send(Message::text(start)).await.unwrap();
    let mut mine: Option<RunId> = None;
    tokio::time::timeout(WAIT, async {
        loop {
            let Some(Ok(Message::Binary(bytes))) = ws.next().await else {
                continue;
            };
            let Ok(ServerMsg::Run(info)) = protocol::decode(&Payload::Binary(bytes.to_vec()))
            else {
                continue;
            };
            let id = *mine.get_or_insert(info.id);
            if info.id == id && info.state.is_over() {
                return RunEntry { info, kept: None };
            }
        }
    })
    .await
    .expect("the run never ended")
}

/// Replays run `id` over the websocket: its info and the trace its frames rebuild.
async fn replay(addr: SocketAddr, id: RunId) -> Trace {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let Payload::Binary(bytes) = protocol::encode(&ClientMsg::Subscribe { id }) else {
        unreachable!()
    };
    ws.send(Message::binary(bytes)).await.unwrap();
    // Answers come in order: the pong follows the replay's last frame.
    let Payload::Binary(bytes) = protocol::encode(&ClientMsg::Ping { nonce: 7 }) else {
        unreachable!()
    };
    ws.send(Message::binary(bytes)).await.unwrap();
    let mut trace = Trace::default();
    let mut frames = 0;
    tokio::time::timeout(WAIT, async {
        loop {
            let Some(Ok(Message::Binary(bytes))) = ws.next().await else {
                continue;
            };
            match protocol::decode(&Payload::Binary(bytes.to_vec())) {
                Ok(ServerMsg::Frame(frame)) if frame.run == id => {
                    if frame.reset {
                        trace = Trace::default();
                    }
                    trace.apply(frame.delta);
                    frames += 1;
                }
                Ok(ServerMsg::Pong { nonce: 7 }) => return,
                Ok(ServerMsg::Error(err)) => panic!("replay refused: {}", err.message),
                _ => {}
            }
        }
    })
    .await
    .expect("the replay never came");
    assert!(frames > 0);
    trace
}

fn short() -> serde_json::Value {
    serde_json::json!({"preset": "cpu-threads", "knobs": {"threads": 2, "work": 2_000_000}})
}

/// Waits until the store holds `runs` runs (saving is not announced: asked every 20 ms).
fn wait_kept(addr: SocketAddr, runs: u64) {
    let deadline = Instant::now() + WAIT;
    while get_json(addr, "/api/store")["runs"].as_u64() < Some(runs) {
        assert!(Instant::now() < deadline, "never saved");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop_gracefully(mut server: Server) {
    let sent = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", server.child.id())])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn yesterdays_runs_are_there_after_a_restart() {
    let _turn = EXPERIMENTS.lock().await;
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path()).unwrap();
    let first = run(server.addr, short()).await.info;
    let io = run(server.addr, serde_json::json!({"preset": "io-threads"}))
        .await
        .info;
    let summary = get_json(server.addr, &format!("/api/runs/{}", first.id))["summary"].clone();
    let trace = get_json(
        server.addr,
        &format!("/api/runs/{}/trace?format=gilscope", first.id),
    );
    let (status, _) = http(
        server.addr,
        "PATCH",
        &format!("/api/runs/{}", io.id),
        br#"{"name":"yesterday","starred":true}"#,
    );
    assert_eq!(status, 200);
    stop_gracefully(server);

    let server = serve(data.path()).unwrap();
    let listed = get_json(server.addr, "/api/runs");
    let ids: Vec<u64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![first.id, io.id], "{listed}");
    assert_eq!(listed[1]["kept"]["name"], "yesterday");
    assert_eq!(listed[1]["kept"]["starred"], true);
    let again = get_json(server.addr, &format!("/api/runs/{}", first.id));
    assert_eq!(again["summary"], summary);
    assert_eq!(again["state"], "finished");
    let trace_again = get_json(
        server.addr,
        &format!("/api/runs/{}/trace?format=gilscope", first.id),
    );
    assert_eq!(trace_again, trace, "the same trace");
    let chrome = get_json(server.addr, &format!("/api/runs/{}/trace", first.id));
    assert!(chrome["traceEvents"].as_array().unwrap().len() > 10);

    // Replayed over the websocket, as the dashboard opens /?run=ID.
    let replayed = replay(server.addr, first.id).await;
    let stored: Trace = serde_json::from_value(trace).unwrap();
    assert_eq!(replayed.lanes.len(), stored.lanes.len());
    assert_eq!(replayed.end, stored.end);

    // Ids go on after the highest kept.
    let next = run(server.addr, short()).await.info;
    assert!(next.id > io.id, "{} after {}", next.id, io.id);
}

/// A run file of `spans` jittered spans (about 3 bytes each), with `header`'s run info.
fn big_file(header: &file::RunHeader, spans: u64) -> Vec<u8> {
    let mut trace = Trace::threads(Default::default(), 2);
    let (mut t, mut seed) = (0u64, 7u64);
    for i in 0..spans {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let duration = 1 + (seed >> 40) % 100_000;
        trace.spans.push(Span {
            lane: LaneId((i % 2) as u32),
            state: State::Running,
            t0: t,
            t1: t + duration,
            task: None,
        });
        t += duration;
    }
    trace.end = t;
    file::write(header, &codec::encode(&trace))
}

fn kept_ids(addr: SocketAddr) -> Vec<u64> {
    get_json(addr, "/api/runs?limit=1000")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_while_saving_loses_at_most_that_run() {
    let _turn = EXPERIMENTS.lock().await;
    let data = tempfile::tempdir().unwrap();
    let mut server = serve(data.path()).unwrap();
    let kept = run(server.addr, short()).await.info;
    wait_kept(server.addr, 1);

    // Killed the moment a run is over, while its save is queued or under way.
    let big =
        serde_json::json!({"preset": "cpu-threads", "knobs": {"threads": 8, "work": 30_000_000}});
    let lost = run(server.addr, big).await.info;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert_eq!(integrity(data.path()), "ok");
    let mut server = serve(data.path()).unwrap();
    let ids = kept_ids(server.addr);
    assert!(
        ids == vec![kept.id] || ids == vec![kept.id, lost.id],
        "{ids:?}"
    );

    // Killed while it stores an imported run of 1M spans: the import is in flight (sent
    // whole, not yet answered), so its transaction is under way or about to be.
    let (_, small) = http(
        server.addr,
        "GET",
        &format!("/api/runs/{}/file", kept.id),
        b"",
    );
    let (header, _, _) = file::read(&small).unwrap();
    let body = big_file(&header, 1_000_000);
    let mut imported = Vec::new();
    for _ in 0..2 {
        let (status, answer) = http(server.addr, "POST", "/api/runs/import", &body);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
        let entry: RunEntry = serde_json::from_slice(&answer).unwrap();
        imported.push(entry.info.id);
    }
    let mut stream = TcpStream::connect(server.addr).unwrap();
    write!(
        stream,
        "POST /api/runs/import HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(stream);

    // The store opens cleanly: SQLite's own check, then a server on it with every run that
    // was answered as kept, each whole.
    assert_eq!(integrity(data.path()), "ok");
    let server = serve(data.path()).unwrap();
    let ids = kept_ids(server.addr);
    for id in imported.iter().chain([&kept.id]) {
        assert!(ids.contains(id), "run {id} was answered as kept: {ids:?}");
        let (status, _) = http(server.addr, "GET", &format!("/api/runs/{id}/file"), b"");
        assert_eq!(status, 200, "run {id}");
    }
    assert!(ids.len() <= imported.len() + 3, "{ids:?}");
}

/// SQLite's own check of the store's database.
fn integrity(data: &Path) -> String {
    let conn = rusqlite::Connection::open(data.join("runs.sqlite3")).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_second_server_on_the_same_directory_refuses() {
    let data = tempfile::tempdir().unwrap();
    let first = serve(data.path()).unwrap();
    let refused = serve(data.path()).err().expect("the second server refuses");
    assert!(
        refused.contains("another gilscope (process") && refused.contains("--data-dir"),
        "{refused}"
    );
    // The first goes on.
    assert_eq!(get_json(first.addr, "/api/store")["enabled"], true);
    drop(first);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_that_cannot_be_written_keeps_nothing_and_runs_go_on() {
    let _turn = EXPERIMENTS.lock().await;
    let data = tempfile::tempdir().unwrap();
    // A regular file where the directory should be: nothing can be made under it (root
    // ignores permission bits, so a read-only mode would not show it).
    let blocked = data.path().join("file");
    std::fs::write(&blocked, "x").unwrap();
    let server = serve(&blocked.join("gilscope")).unwrap();
    let status = get_json(server.addr, "/api/store");
    assert_eq!(status["enabled"], false);
    let error = status["error"].as_str().unwrap();
    assert!(
        error.contains("cannot keep runs in") && error.contains("not kept"),
        "{error}"
    );
    let logged: Vec<String> = server.stderr.try_iter().collect();
    assert!(
        logged.iter().any(|l| l.contains("cannot keep runs in")),
        "{logged:?}"
    );
    let info = run(server.addr, short()).await.info;
    assert_eq!(info.state, gilscope_shared::protocol::RunState::Finished);
    let (code, _) = http(
        server.addr,
        "GET",
        &format!("/api/runs/{}/trace", info.id),
        b"",
    );
    assert_eq!(code, 200, "the run is still served from memory");
    let (code, body) = http(
        server.addr,
        "PATCH",
        &format!("/api/runs/{}", info.id),
        br#"{"starred":true}"#,
    );
    assert_eq!(code, 503, "{}", String::from_utf8_lossy(&body));
    // Its run file is still made, from memory.
    let (code, body) = http(
        server.addr,
        "GET",
        &format!("/api/runs/{}/file", info.id),
        b"",
    );
    assert_eq!(code, 200);
    assert!(body.starts_with(file::MAGIC));
}

#[tokio::test(flavor = "multi_thread")]
async fn gilscope_open_keeps_a_run_file() {
    let _turn = EXPERIMENTS.lock().await;
    let here = tempfile::tempdir().unwrap();
    let there = tempfile::tempdir().unwrap();
    let server = serve(here.path()).unwrap();
    let info = run(server.addr, short()).await.info;
    wait_kept(server.addr, 1);
    let (status, file) = http(
        server.addr,
        "GET",
        &format!("/api/runs/{}/file", info.id),
        b"",
    );
    assert_eq!(status, 200);
    let path = here.path().join("run.gilscope");
    std::fs::write(&path, &file).unwrap();

    // Into a store no server holds: kept directly.
    let out = gilscope(there.path())
        .args(["open", path.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("?run=1"), "{said}");
    // Into the store the running server holds: handed to it.
    let out = gilscope(here.path())
        .args([
            "open",
            path.to_str().unwrap(),
            "--addr",
            &server.addr.to_string(),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = get_json(server.addr, "/api/runs");
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");

    // A file that is not a run: one line, nothing kept.
    std::fs::write(&path, b"hello").unwrap();
    let out = gilscope(there.path())
        .args(["open", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("not a gilscope run file"), "{err}");
}
