//! Runs kept in the store, through the HTTP API in process: listed in pages, read back,
//! renamed, starred, deleted; downloaded as a run file and imported again with the same
//! trace; bad files, bad query parameters and a full disk each refused with a clear message.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use gilscope_server::runs::Update;
use gilscope_server::store::file::{self, RunHeader, FILE_VERSION};
use gilscope_server::store::{codec, StoreConfig};
use gilscope_server::{app, AppState};
use gilscope_shared::history::RunEntry;
use gilscope_shared::protocol::{RunId, RunState};
use gilscope_shared::spec::{ExperimentSpec, KnobValue};
use gilscope_shared::trace::Trace;
use gilscope_shared::validate::validate;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Tests that run experiments take turns.
static EXPERIMENTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(60);

const ADDR: ([u8; 4], u16) = ([127, 0, 0, 1], 7878);
const PEER: ([u8; 4], u16) = ([127, 0, 0, 1], 40000);

struct Server {
    state: AppState,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.runs.shutdown();
    }
}

fn start_with(config: impl FnOnce(&std::path::Path) -> StoreConfig) -> Server {
    static WORKER_EXE: std::sync::Once = std::sync::Once::new();
    WORKER_EXE
        .call_once(|| std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope")));
    let dir = tempfile::tempdir().unwrap();
    let mut state = AppState::new(ADDR.into(), CancellationToken::new());
    state.open_store(config(dir.path())).unwrap();
    state.runs.spawn_executor();
    Server { state, _dir: dir }
}

fn start() -> Server {
    start_with(|dir| StoreConfig::new(dir))
}

async fn request(
    server: &Server,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .extension(ConnectInfo(SocketAddr::from(PEER)))
        .header(header::HOST, SocketAddr::from(ADDR).to_string())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = app(server.state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

async fn json(
    server: &Server,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let (status, bytes) = request(server, method, path, body.as_bytes().to_vec()).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
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

/// Runs `spec` to its end (waiting for the run manager's news, not polling) and waits until
/// the store has written it.
async fn run(server: &Server, spec: &ExperimentSpec) -> RunId {
    let mut updates = server.state.runs.subscribe();
    let body = serde_json::to_string(spec).unwrap();
    let (status, info) = json(server, Method::POST, "/api/runs", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{info}");
    let id = info["id"].as_u64().unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            match updates.recv().await {
                Ok(Update::Run(info)) if info.id == id && info.state.is_over() => break,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(err) => panic!("{err}"),
            }
        }
    })
    .await
    .expect("the run never ended");
    let store = server.state.runs.store().unwrap();
    tokio::task::spawn_blocking(move || store.flush().unwrap())
        .await
        .unwrap();
    id
}

fn short() -> ExperimentSpec {
    spec("cpu-threads", &[("threads", 2), ("work", 2_000_000)])
}

async fn trace_of(server: &Server, id: RunId) -> Trace {
    let (status, bytes) = request(
        server,
        Method::GET,
        &format!("/api/runs/{id}/trace?format=gilscope"),
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_run_file_imports_back_to_the_same_trace() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start();
    let id = run(&server, &short()).await;
    let (status, bytes) = request(
        &server,
        Method::GET,
        &format!("/api/runs/{id}/file"),
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(file::MAGIC));

    let (status, bytes2) = request(&server, Method::POST, "/api/runs/import", bytes.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bytes2)
    );
    let imported: RunEntry = serde_json::from_slice(&bytes2).unwrap();
    assert!(imported.info.id > id, "a new id: {}", imported.info.id);
    assert_eq!(imported.info.summary, {
        let (_, original) = json(&server, Method::GET, &format!("/api/runs/{id}"), "").await;
        serde_json::from_value::<RunEntry>(original)
            .unwrap()
            .info
            .summary
    });

    let original = trace_of(&server, id).await;
    let back = trace_of(&server, imported.info.id).await;
    assert!(validate(&back).is_empty(), "{:?}", validate(&back));
    assert_eq!(back.time_per_state(), original.time_per_state());
    for lane in &original.lanes {
        let per_lane = |t: &Trace| -> Vec<(gilscope_shared::trace::State, u64)> {
            let mut v = Vec::new();
            for state in gilscope_shared::trace::State::ALL {
                v.push((
                    state,
                    t.spans
                        .iter()
                        .filter(|s| s.lane == lane.id && s.state == state)
                        .map(|s| s.duration())
                        .sum(),
                ));
            }
            v
        };
        assert_eq!(per_lane(&back), per_lane(&original), "lane {}", lane.name);
    }
    assert_eq!(back.spans, original.spans);
    assert_eq!(back.marks, original.marks);

    // A run file far over the 64 KiB other bodies may have is taken.
    let (header, _, _) = file::read(&bytes).unwrap();
    let mut big = original.clone();
    let mut t = big.end;
    let mut seed: u64 = 1;
    for i in 0..100_000u64 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let duration = 1 + (seed >> 40) % 100_000;
        big.spans.push(gilscope_shared::trace::Span {
            lane: gilscope_shared::trace::LaneId((i % 2) as u32),
            state: gilscope_shared::trace::State::Running,
            t0: t,
            t1: t + duration,
            task: None,
        });
        t += duration;
    }
    big.end = t;
    let big_file = file::write(&header, &codec::encode(&big));
    assert!(big_file.len() > 64 * 1024, "{} bytes", big_file.len());
    let (status, answer) = request(&server, Method::POST, "/api/runs/import", big_file).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let entry: RunEntry = serde_json::from_slice(&answer).unwrap();
    assert_eq!(trace_of(&server, entry.info.id).await.spans, big.spans);
}

#[tokio::test]
async fn runs_are_listed_in_pages_edited_and_deleted() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start();
    let a = run(&server, &short()).await;
    let b = run(&server, &spec("io-threads", &[])).await;
    let c = run(&server, &short()).await;

    let (status, page) = json(&server, Method::GET, "/api/runs?limit=2", "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![b, c], "the newest two, oldest first");
    let (_, page) = json(
        &server,
        Method::GET,
        &format!("/api/runs?limit=2&before={b}"),
        "",
    )
    .await;
    let ids: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![a]);
    let (_, page) = json(&server, Method::GET, "/api/runs?lesson=io-threads", "").await;
    let ids: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![b]);
    assert!(page[0]["kept"]["events"].as_u64().unwrap() > 0, "{page}");
    // The dashboard's form: the same page, in the wire format the websocket's decoder reads.
    let (status, bytes) = request(
        &server,
        Method::GET,
        "/api/runs?lesson=io-threads&format=wire",
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let listed = gilscope_shared::protocol::decode_listed(&bytes).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].info.id, b);
    assert_eq!(
        listed[0].kept.as_ref().map(|k| k.events),
        page[0]["kept"]["events"].as_u64()
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("limit=x", "limit"),
        ("before=0", "before"),
        ("before=-3", "before"),
        ("lesson=NOPE%20", "lesson"),
        ("colour=red", "colour"),
        ("limit=1&limit=2", "limit"),
        ("format=xml", "format"),
    ] {
        let (status, err) = json(&server, Method::GET, &format!("/api/runs?{query}"), "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {err}");
        assert_eq!(err["field"], field, "{query}: {err}");
    }
    let (_, err) = json(&server, Method::GET, "/api/runs?limit=0", "").await;
    assert!(
        err["error"].as_str().unwrap().contains("1 to 1000"),
        "{err}"
    );

    let path = format!("/api/runs/{a}");
    let (status, edited) = json(
        &server,
        Method::PATCH,
        &path,
        r#"{"name":"for Tuesday","note":"show the convoy","starred":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["kept"]["name"], "for Tuesday");
    assert_eq!(edited["kept"]["starred"], true);
    let (_, got) = json(&server, Method::GET, &path, "").await;
    assert_eq!(got["kept"]["note"], "show the convoy");
    let (status, _) = json(&server, Method::PATCH, &path, r#"{"name":""}"#).await;
    assert_eq!(status, StatusCode::OK);
    let (_, got) = json(&server, Method::GET, &path, "").await;
    assert_eq!(
        got["kept"]["name"],
        serde_json::Value::Null,
        "an empty name clears it"
    );

    let long = format!(r#"{{"name":"{}"}}"#, "x".repeat(101));
    let (status, err) = json(&server, Method::PATCH, &path, &long).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name")),
        "{err}"
    );
    let (status, err) = json(&server, Method::PATCH, &path, r#"{"stared":true}"#).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("stared")),
        "{err}"
    );
    let (status, _) = json(
        &server,
        Method::PATCH,
        "/api/runs/9999",
        r#"{"starred":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = json(&server, Method::DELETE, &format!("/api/runs/{b}"), "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = json(&server, Method::GET, &format!("/api/runs/{b}"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = json(&server, Method::GET, &format!("/api/runs/{b}/trace"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = json(&server, Method::DELETE, &format!("/api/runs/{b}"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = json(&server, Method::GET, "/api/runs", "").await;
    assert_eq!(page.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn acting_on_kept_runs_needs_this_machine() {
    let server = start();
    let foreign = SocketAddr::from(([10, 0, 0, 9], 5000));
    for (method, path) in [
        (Method::PATCH, "/api/runs/1"),
        (Method::DELETE, "/api/runs/1"),
        (Method::POST, "/api/runs/import"),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .extension(ConnectInfo(foreign))
            .header(header::HOST, SocketAddr::from(ADDR).to_string())
            .body(Body::from("{}"))
            .unwrap();
        let response = app(server.state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let (status, _) = json(&server, method.clone(), path, "{}").await;
        assert_ne!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {path} from this machine"
        );
    }
    let request = Request::builder()
        .method(Method::PATCH)
        .uri("/api/runs/1")
        .extension(ConnectInfo(SocketAddr::from(PEER)))
        .header(header::HOST, SocketAddr::from(ADDR).to_string())
        .header(header::ORIGIN, "http://evil.example")
        .body(Body::from("{}"))
        .unwrap();
    let response = app(server.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_run_files_are_refused_and_nothing_is_stored() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start();
    let id = run(&server, &short()).await;
    let (_, good) = request(
        &server,
        Method::GET,
        &format!("/api/runs/{id}/file"),
        Vec::new(),
    )
    .await;
    let (_, before) = json(&server, Method::GET, "/api/store", "").await;

    let mut newer = good.clone();
    newer[12..14].copy_from_slice(&(FILE_VERSION + 1).to_le_bytes());
    let mut corrupt = good.clone();
    let last = corrupt.len() - 40;
    for byte in &mut corrupt[last..] {
        *byte ^= 0xa5;
    }
    let (header, _, stored) = file::read(&good).unwrap();
    let mut newer_trace = stored.to_vec();
    newer_trace[0] = codec::CODEC_VERSION + 1;
    let newer_codec = file::write(&header, &newer_trace);
    let live = file::write(
        &RunHeader {
            info: gilscope_shared::protocol::RunInfo {
                state: RunState::Running,
                ..header.info.clone()
            },
            ..header.clone()
        },
        stored,
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "foreign",
            b"{\"traceEvents\":[]}".to_vec(),
            "not a gilscope run file",
        ),
        ("empty", Vec::new(), "it is empty"),
        ("truncated header", good[..30].to_vec(), "cut short"),
        (
            "truncated trace",
            good[..good.len() - 200].to_vec(),
            "damaged",
        ),
        ("corrupt", corrupt, "damaged"),
        ("newer file", newer, "newer than this gilscope"),
        ("newer trace", newer_codec, "update gilscope"),
        ("not over", live, "not over"),
    ];
    for (what, bytes, says) in cases {
        let (status, err) = request(&server, Method::POST, "/api/runs/import", bytes).await;
        let err: serde_json::Value = serde_json::from_slice(&err).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {err}");
        assert_eq!(err["field"], "file", "{what}: {err}");
        assert!(
            err["error"].as_str().unwrap().contains(says),
            "{what}: {err}"
        );
    }
    let (_, after) = json(&server, Method::GET, "/api/store", "").await;
    assert_eq!(after["runs"], before["runs"], "nothing stored");

    // A 1 GB upload is refused from its Content-Length, before a byte is read.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/runs/import")
        .extension(ConnectInfo(SocketAddr::from(PEER)))
        .header(header::HOST, SocketAddr::from(ADDR).to_string())
        .header(header::CONTENT_LENGTH, (1u64 << 30).to_string())
        .body(Body::empty())
        .unwrap();
    let response = app(server.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_full_disk_is_reported_and_runs_go_on() {
    let _turn = EXPERIMENTS.lock().await;
    // A "disk" of 8 pages of 4 KiB: the tables take 4, a run about 1; it fills in a few runs.
    let server = start_with(|dir| StoreConfig {
        max_pages: Some(8),
        ..StoreConfig::new(dir)
    });
    let mut error = String::new();
    let mut ids = Vec::new();
    for _ in 0..30 {
        let id = run(&server, &short()).await;
        ids.push(id);
        let (_, got) = json(&server, Method::GET, &format!("/api/runs/{id}"), "").await;
        assert_eq!(
            got["state"], "finished",
            "the run itself is unaffected: {got}"
        );
        // Still in memory: it can be exported as long as the server runs.
        assert!(trace_of(&server, id).await.events() > 0);
        let (_, status) = json(&server, Method::GET, "/api/store", "").await;
        if let Some(said) = status["error"].as_str() {
            error = said.to_string();
            break;
        }
    }
    assert!(
        error.contains("full") && error.contains("not kept"),
        "the store never said it was full: {error:?}"
    );
    // And the next run starts and ends as usual (kept or not: a smaller run may still fit
    // where the last one did not, as runs' sizes vary with their hand-overs).
    let next = run(&server, &short()).await;
    let (_, got) = json(&server, Method::GET, &format!("/api/runs/{next}"), "").await;
    assert_eq!(got["state"], "finished", "{got}");
    // A run not kept cannot be starred, and says why; its file is still made from memory.
    let mut not_kept = None;
    for &id in ids.iter().rev() {
        let (_, got) = json(&server, Method::GET, &format!("/api/runs/{id}"), "").await;
        if got["kept"].is_null() {
            not_kept = Some(id);
            break;
        }
    }
    let not_kept = not_kept.expect("the run the store had no room for is listed, not kept");
    let (status, err) = json(
        &server,
        Method::PATCH,
        &format!("/api/runs/{not_kept}"),
        r#"{"starred":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{err}");
    assert!(err["error"].as_str().unwrap().contains("not kept"), "{err}");
    let (status, bytes) = request(
        &server,
        Method::GET,
        &format!("/api/runs/{not_kept}/file"),
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(file::read(&bytes).is_ok());
}

#[tokio::test]
async fn a_store_from_a_newer_gilscope_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    drop(gilscope_server::store::Store::open(StoreConfig::new(dir.path())).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("runs.sqlite3")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    // The writer thread lets go of the directory's lock once the store is dropped; wait
    // for it by asking (bounded), as the lock is released by the OS, not announced.
    let deadline = std::time::Instant::now() + WAIT;
    let err = loop {
        match gilscope_server::store::Store::open(StoreConfig::new(dir.path())) {
            Err(gilscope_server::store::StoreError::Locked { .. }) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the lock was never released"
                );
                tokio::task::yield_now().await;
            }
            Err(err) => break err.to_string(),
            Ok(_) => panic!("a newer schema was opened"),
        }
    };
    assert!(
        err.contains("newer gilscope (schema 99") && err.contains("update gilscope"),
        "{err}"
    );
}

#[tokio::test]
async fn a_store_over_its_bound_drops_the_oldest_unstarred_runs() {
    let _turn = EXPERIMENTS.lock().await;
    let server = start_with(|dir| StoreConfig {
        max_bytes: 1,
        ..StoreConfig::new(dir)
    });
    let a = run(&server, &short()).await;
    let (status, _) = json(
        &server,
        Method::PATCH,
        &format!("/api/runs/{a}"),
        r#"{"starred":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let b = run(&server, &short()).await;
    let c = run(&server, &short()).await;
    let store = server.state.runs.store().unwrap();
    let kept: Vec<u64> = tokio::task::spawn_blocking(move || {
        store
            .list(&gilscope_server::store::Page::default())
            .unwrap()
            .into_iter()
            .map(|e| e.info.id)
            .collect()
    })
    .await
    .unwrap();
    assert_eq!(
        kept,
        vec![a, c],
        "b went first; a is starred; c is the newest ({b})"
    );
}
