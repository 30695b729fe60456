//! Trace export (issue #15, item 1): Chrome Trace JSON written as it is made, streamed to the
//! client, the same events as the value tree it replaces, memory flat whatever the trace's
//! size, and at most `Limits::exports` exports at once.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use futures_util::StreamExt;
use gilscope_server::export::write_chrome;
use gilscope_server::{app, AppState, Limits};
use gilscope_shared::protocol::RunInfo;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Counts the bytes this test process has allocated, and the most at once since a reset: the
/// server runs in this process, so its allocations are counted.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` came from `alloc`/`realloc` above with this layout.
        unsafe { System.dealloc(p, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as the caller's contract for `realloc`, passed on unchanged.
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests of this file measure memory: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(60);
const HOST: &str = "127.0.0.1:7878";

async fn request(
    state: &AppState,
    method: Method,
    path: &str,
    body: Option<String>,
) -> axum::response::Response {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    app(state.clone()).oneshot(request).await.unwrap()
}

async fn json(response: axum::response::Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Runs `spec` on the server to its end; answers its id.
async fn run_to_end(state: &AppState, spec: serde_json::Value) -> u64 {
    let response = request(state, Method::POST, "/api/runs", Some(spec.to_string())).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = json(response).await["id"].as_u64().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let info: RunInfo = serde_json::from_value(
            json(request(state, Method::GET, &format!("/api/runs/{id}"), None).await).await,
        )
        .unwrap();
        if info.state.is_over() {
            return id;
        }
        assert!(Instant::now() < deadline, "run {id} did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `Read` over chunks sent from async code, so a blocking JSON parser can check a body
/// without holding it.
struct ChunkReader {
    chunks: std::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.recv() {
                Ok(chunk) => self.current = chunk,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Reads a streamed body to its end, checking it is one JSON document; answers its length.
async fn read_valid_json(body: Body) -> usize {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Bytes>(4);
    let parser = std::thread::spawn(move || {
        let reader = ChunkReader {
            chunks: rx,
            current: Bytes::new(),
        };
        serde_json::from_reader::<_, serde::de::IgnoredAny>(std::io::BufReader::new(reader))
    });
    let mut len = 0;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.expect("the body streams to its end");
        len += chunk.len();
        let tx = tx.clone();
        tokio::task::spawn_blocking(move || tx.send(chunk))
            .await
            .unwrap()
            .unwrap();
    }
    drop(tx);
    parser
        .join()
        .unwrap()
        .expect("the export is one valid JSON document");
    len
}

#[test]
fn chrome_export_parses_to_the_same_events_as_the_value_tree_it_replaces() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let _g = common::serial();
    // GIL hand-offs, drop requests, lost updates, counters: every kind of event.
    let outcome = common::run(
        "counter-race",
        &[
            ("increments", "200000"),
            ("threads", "3"),
            ("switch_interval_ms", "0.1"),
        ],
    );
    let mut written = Vec::new();
    write_chrome(&outcome.trace, &mut written).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&written).unwrap();
    // The old tree as the client got it: as text. (Parsing is not exact to the last bit for
    // every float, so compare both documents after the same text-to-value trip.)
    let before: serde_json::Value =
        serde_json::from_str(&old::to_chrome(&outcome.trace).to_string()).unwrap();
    let events = parsed["traceEvents"].as_array().unwrap();
    assert_eq!(
        events.len(),
        before["traceEvents"].as_array().unwrap().len()
    );
    for ph in ["M", "X", "C", "s", "f"] {
        assert!(events.iter().any(|e| e["ph"] == ph), "no {ph} event");
    }
    assert_eq!(parsed, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporting_a_big_trace_keeps_memory_flat_and_exports_are_bounded() {
    let _one = ONE_AT_A_TIME.lock().await;
    common::use_worker_exe();
    let limits = Limits {
        exports: 2,
        ..Limits::default()
    };
    let state = AppState::with_limits(HOST.parse().unwrap(), CancellationToken::new(), limits);
    state.runs.spawn_executor();
    // Python 2's GIL checked after every bytecode: a hand-off and two spans per few
    // bytecodes. How many depends on the threads' luck: double the work until it is big.
    let mut work = 50_000;
    let (id, trace_bytes) = loop {
        let spec = serde_json::json!({"preset": "gil-flavours",
            "knobs": {"gil": "ticks", "check_ticks": 1, "threads": 8, "work": work}});
        let id = run_to_end(&state, spec).await;
        let trace_bytes = state.runs.trace(id).unwrap().1.heap_bytes();
        if trace_bytes > 8 << 20 {
            break (id, trace_bytes);
        }
        assert!(
            work < 1_000_000,
            "the trace stays small: {trace_bytes} bytes"
        );
        work *= 2;
    };

    for format in ["chrome", "gilscope"] {
        let baseline = CURRENT.load(Ordering::Relaxed);
        PEAK.store(baseline, Ordering::Relaxed);
        let response = request(
            &state,
            Method::GET,
            &format!("/api/runs/{id}/trace?format={format}"),
            None,
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let len = read_valid_json(response.into_body()).await;
        let peak = PEAK.load(Ordering::Relaxed) - baseline;
        eprintln!("{format}: {len} bytes of JSON from a trace of {trace_bytes} bytes; peak growth {peak} bytes");
        assert!(len > trace_bytes, "{len} bytes written");
        assert!(
            peak < (8 << 20).min(trace_bytes / 2),
            "{format}: exporting grew memory by {peak} bytes (trace {trace_bytes}, JSON {len})"
        );
    }

    // Two exports nobody reads hold both permits: a third is refused, not queued.
    let path = format!("/api/runs/{id}/trace");
    let held = vec![
        request(&state, Method::GET, &path, None).await,
        request(&state, Method::GET, &path, None).await,
    ];
    assert!(held.iter().all(|r| r.status() == StatusCode::OK));
    let refused = request(&state, Method::GET, &format!("/api/runs/{id}/trace"), None).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let refusal = json(refused).await;
    assert_eq!(refusal["field"], "trace", "{refusal}");
    // A client that goes away frees its export.
    drop(held);
    let deadline = Instant::now() + WAIT;
    loop {
        let response = request(&state, Method::GET, &format!("/api/runs/{id}/trace"), None).await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the abandoned exports never ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Chrome export as it was before it was streamed: a `serde_json::Value` tree. The
/// streamed export must parse to exactly this.
mod old {
    use gilscope_shared::trace::{GilFlavour, MarkKind, Nanos, State, Trace};
    use serde_json::{json, Value};

    const GIL_TID: u32 = 0;

    fn us(t: Nanos) -> f64 {
        t as f64 / 1000.0
    }

    fn short(state: State) -> &'static str {
        match state {
            State::Running => "running",
            State::WaitGil => "wait GIL",
            State::Io => "I/O",
            State::WaitLock => "wait lock",
            State::BlockedPut => "blocked put",
            State::BlockedGet => "blocked get",
            State::Join => "join",
            State::Idle => "idle",
            State::Done => "done",
            State::Starting => "starting",
        }
    }

    /// The whole trace as one Chrome Trace Event JSON document.
    pub fn to_chrome(trace: &Trace) -> Value {
        let mut events = Vec::new();
        let pid_of = |lane: u32| trace.lanes.get(lane as usize).map_or(0, |l| l.interp.0);
        for interp in &trace.interpreters {
            events.push(
                json!({"ph": "M", "name": "process_name", "pid": interp.id.0,
                "args": {"name": format!("{} (GIL: {})", interp.name, interp.gil.name())}}),
            );
            if interp.gil != GilFlavour::None {
                events.push(json!({"ph": "M", "name": "thread_name", "pid": interp.id.0,
                    "tid": GIL_TID, "args": {"name": "GIL"}}));
                events.push(
                    json!({"ph": "M", "name": "thread_sort_index", "pid": interp.id.0,
                    "tid": GIL_TID, "args": {"sort_index": -1}}),
                );
            }
        }
        for lane in &trace.lanes {
            events.push(
                json!({"ph": "M", "name": "thread_name", "pid": lane.interp.0,
                "tid": lane.id.0 + 1, "args": {"name": lane.name}}),
            );
            events.push(
                json!({"ph": "M", "name": "thread_sort_index", "pid": lane.interp.0,
                "tid": lane.id.0 + 1, "args": {"sort_index": lane.id.0}}),
            );
        }
        for span in trace.spans.iter().filter(|s| s.t1 > s.t0) {
            let pid = pid_of(span.lane.0);
            let mut args = json!({"state": span.state.label()});
            if let Some(task) = span.task {
                args["task"] = json!(task);
            }
            events.push(json!({"ph": "X", "name": short(span.state), "cat": "state",
                "pid": pid, "tid": span.lane.0 + 1, "ts": us(span.t0), "dur": us(span.t1 - span.t0),
                "args": args}));
            let gil = trace
                .interpreter(trace.lanes[span.lane.0 as usize].interp)
                .is_some_and(|i| i.gil != GilFlavour::None);
            if span.state == State::Running && gil {
                let name = &trace.lanes[span.lane.0 as usize].name;
                events.push(
                    json!({"ph": "X", "name": format!("held by {name}"), "cat": "gil",
                    "pid": pid, "tid": GIL_TID, "ts": us(span.t0), "dur": us(span.t1 - span.t0)}),
                );
            }
        }
        for (n, mark) in trace.marks.iter().enumerate() {
            let pid = pid_of(mark.lane.0);
            let tid = mark.lane.0 + 1;
            match mark.kind {
                MarkKind::Handoff {
                    from: Some(from),
                    to,
                    ..
                } if from != to => {
                    events.push(
                        json!({"ph": "s", "name": "GIL hand-off", "cat": "handoff", "id": n,
                        "pid": pid_of(from.0), "tid": from.0 + 1, "ts": us(mark.t)}),
                    );
                    events.push(
                        json!({"ph": "f", "bp": "e", "name": "GIL hand-off", "cat": "handoff",
                        "id": n, "pid": pid_of(to.0), "tid": to.0 + 1, "ts": us(mark.t)}),
                    );
                }
                MarkKind::DropRequest { holder } => {
                    events.push(
                        json!({"ph": "i", "s": "t", "name": "drop request", "pid": pid,
                        "tid": tid, "ts": us(mark.t), "args": {"holder": holder.0}}),
                    );
                }
                MarkKind::LostUpdate { read, written } => {
                    events.push(
                        json!({"ph": "i", "s": "t", "name": "lost update", "pid": pid,
                        "tid": tid, "ts": us(mark.t), "args": {"read": read, "written": written}}),
                    );
                }
                _ => {}
            }
        }
        for sample in &trace.samples {
            let name = trace
                .counters
                .get(sample.counter.0 as usize)
                .map_or("counter", |c| c.name.as_str());
            events.push(
                json!({"ph": "C", "name": name, "pid": 0, "ts": us(sample.t),
                "args": {"value": sample.value}}),
            );
        }
        json!({"traceEvents": events, "displayTimeUnit": "ms"})
    }
}
