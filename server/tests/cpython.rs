//! Real CPython observed from outside: what the observer sees agrees with what the program
//! measures of itself; every process of the tree is drawn; nothing outlives a run.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ensure, timing, use_worker_exe};
use gilscope_server::engine::RunOutcome;
use gilscope_server::program::start;
use gilscope_shared::spec::{Engine, ExperimentSpec};
use gilscope_shared::summary::EndReason;
use gilscope_shared::trace::{LaneId, State, Trace};

fn script(source: &str) -> ExperimentSpec {
    use_worker_exe();
    ExperimentSpec {
        engine: Some(Engine::Cpython),
        script: Some(source.to_string()),
        ..Default::default()
    }
}

/// Runs `source` on CPython. One real program at a time: they would steal each other's
/// cores (and the timing test's).
fn run(source: &str) -> RunOutcome {
    let _serial = common::serial();
    start(&script(source)).expect("python3 is installed").wait()
}

/// The share of `lane`'s time in `state`.
fn share(trace: &Trace, lane: LaneId, state: State) -> f64 {
    let (mut this, mut all) = (0u64, 0u64);
    for span in trace.spans.iter().filter(|s| s.lane == lane) {
        all += span.duration();
        if span.state == state {
            this += span.duration();
        }
    }
    this as f64 / all.max(1) as f64
}

fn lanes_named<'a>(trace: &'a Trace, prefix: &'a str) -> impl Iterator<Item = LaneId> + 'a {
    trace
        .lanes
        .iter()
        .filter(move |l| l.name.starts_with(prefix))
        .map(|l| l.id)
}

/// Four CPU-bound threads log who runs, every 200 iterations; the longest stretches of one
/// thread are its GIL holds, as CPython itself saw them.
const CPU_THREADS: &str = r#"
import threading, time
log = []
def work(k):
    n = 0
    for i in range(2_000_000):
        n += i
        if i % 200 == 0:
            log.append((time.perf_counter(), k))
threads = [threading.Thread(target=work, args=(k,), name=f"worker-{k}") for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
holds, current, since = [], None, None
for t, k in log:
    if k != current:
        if current is not None:
            holds.append(t - since)
        current, since = k, t
holds.sort()
print(f"hold_ms {1000 * holds[len(holds) // 2]:.3f}")
"#;

#[test]
fn one_thread_holds_the_gil_and_the_holds_agree_with_cpythons_own() {
    timing("cpu-bound threads on CPython", || {
        let outcome = run(CPU_THREADS);
        let s = &outcome.summary;
        ensure(s.end.is_finished(), || {
            format!("ended {:?}: {:?}", s.end, s.output)
        })?;
        ensure(s.invariants_ok, || format!("violations {:?}", s.violations))?;
        let printed = s.output.as_ref().expect("output").stdout.clone();
        let truth: f64 = printed
            .trim()
            .strip_prefix("hold_ms ")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("the program printed {printed:?}"));
        // The four threads (named `worker-k` once Python's name for them was readable).
        let workers: Vec<LaneId> = outcome
            .trace
            .lanes
            .iter()
            .filter(|l| l.name != "MainThread")
            .map(|l| l.id)
            .collect();
        ensure(workers.len() == 4, || {
            format!("lanes {:?}", outcome.trace.lanes)
        })?;
        let exactly_one = one_runner_share(&outcome.trace, &workers);
        ensure(exactly_one >= 0.95, || {
            format!("exactly one worker ran in {exactly_one:.3} of the time")
        })?;
        let hold = s.gil_hold_ms_median.expect("a GIL");
        let ratio = hold / truth;
        eprintln!("observed hold {hold:.2} ms, CPython's own {truth:.2} ms, ratio {ratio:.2}, sampled at {:?} Hz", s.sampling_hz);
        ensure((0.8..=1.25).contains(&ratio), || {
            format!("hold median {hold:.2} ms against CPython's own {truth:.2} ms")
        })?;
        ensure(s.sampling_hz.is_some_and(|hz| hz > 500.0), || {
            format!("sampled at {:?} Hz", s.sampling_hz)
        })
    });
}

/// Of the time from the first worker's running to the last one's, the share in which
/// exactly one of `workers` was running.
fn one_runner_share(trace: &Trace, workers: &[LaneId]) -> f64 {
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for span in trace.spans.iter().filter(|s| workers.contains(&s.lane)) {
        if span.state == State::Running {
            edges.push((span.t0, 1));
            edges.push((span.t1, -1));
        }
    }
    edges.sort();
    let (Some(first), Some(last)) = (edges.first(), edges.last()) else {
        return 0.0;
    };
    let (mut running, mut at, mut one) = (0, first.0, 0u64);
    for (t, step) in &edges {
        if running == 1 {
            one += t - at;
        }
        running += step;
        at = *t;
    }
    one as f64 / (last.0 - first.0).max(1) as f64
}

#[test]
fn io_bound_threads_are_mostly_blocked_on_io() {
    let outcome = run(r#"
import threading, time
def fetch():
    for _ in range(20):
        time.sleep(0.01)
threads = [threading.Thread(target=fetch, name=f"io-{k}") for k in range(3)]
for t in threads: t.start()
for t in threads: t.join()
"#);
    assert!(outcome.summary.end.is_finished(), "{:?}", outcome.summary);
    for lane in lanes_named(&outcome.trace, "io-") {
        let io = share(&outcome.trace, lane, State::Io);
        assert!(io > 0.7, "lane {lane:?} in I/O {io:.2} of its time");
    }
    let main = outcome
        .trace
        .lanes
        .iter()
        .find(|l| l.name == "MainThread")
        .unwrap();
    assert!(share(&outcome.trace, main.id, State::Join) > 0.7);
}

#[test]
fn each_child_process_is_an_interpreter_with_its_own_gil_activity() {
    let outcome = run(r#"
import multiprocessing as mp
def burn(n):
    total = 0
    for i in range(n):
        total += i
if __name__ == "__main__":
    mp.set_start_method("fork")
    ps = [mp.Process(target=burn, args=(10_000_000,)) for _ in range(2)]
    for p in ps: p.start()
    for p in ps: p.join()
"#);
    let s = &outcome.summary;
    assert!(s.end.is_finished(), "{:?} {:?}", s.end, s.output);
    let trace = &outcome.trace;
    assert!(trace.interpreters.len() >= 3, "{:?}", trace.interpreters);
    let children: Vec<_> = trace
        .interpreters
        .iter()
        .filter(|i| i.name != "MainProcess")
        .collect();
    let mut busy = 0;
    for child in &children {
        let running: u64 = trace
            .spans
            .iter()
            .filter(|span| span.state == State::Running)
            .filter(|span| trace.lanes[span.lane.0 as usize].interp == child.id)
            .map(|span| span.duration())
            .sum();
        if running > 50_000_000 {
            busy += 1;
        }
    }
    assert!(
        busy >= 2,
        "children that ran Python for 50 ms or more: {busy} of {children:?}"
    );
}

/// Every pid of `trace`'s interpreters is gone (or never was).
fn all_gone(trace: &Trace) -> bool {
    trace
        .interpreters
        .iter()
        .filter_map(|i| i.pid)
        .all(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// A program that starts a Pool and a Process and never ends on its own.
const FOREVER: &str = r#"
import multiprocessing as mp, time
def forever(_=None):
    while True:
        time.sleep(0.05)
if __name__ == "__main__":
    pool = mp.Pool(2)
    pool.map_async(forever, range(2))
    p = mp.Process(target=forever)
    p.start()
    print("started", flush=True)
    forever()
"#;

#[test]
fn stop_ends_the_whole_tree() {
    let _serial = common::serial();
    let handle = start(&script(FOREVER)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = BTreeMap::new();
    loop {
        let delta = handle.drain();
        for interp in delta.added.interpreters {
            seen.insert(interp.id, interp);
        }
        if seen.len() >= 4 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(seen.len() >= 4, "processes observed: {seen:?}");
    handle.stop();
    let outcome = handle.wait();
    assert_eq!(outcome.summary.end, EndReason::Stopped);
    assert!(
        all_gone(&outcome.trace),
        "left running: {:?}",
        outcome.trace.interpreters
    );
}

#[test]
fn a_kill_9_of_gilscope_leaves_no_python_behind() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forever.py");
    std::fs::write(&path, FOREVER).unwrap();
    let mut gilscope = Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .arg("python")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let me = gilscope.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let pythons = loop {
        let found: Vec<u32> = gilscope_server::cpython::tree::descendants(me)
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.contains("python"))
            })
            .collect();
        if found.len() >= 4 || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(pythons.len() >= 4, "python processes: {pythons:?}");
    gilscope.kill().unwrap(); // SIGKILL
    gilscope.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let alive = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"))
    };
    while pythons.iter().any(alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<&u32> = pythons.iter().filter(|p| alive(p)).collect();
    assert!(
        left.is_empty(),
        "still running after gilscope was killed: {left:?}"
    );
}

#[test]
fn a_syntax_error_fails_the_run_with_the_traceback() {
    let outcome = run("def broken(:\n    pass\n");
    let s = &outcome.summary;
    let EndReason::Failed { reason } = &s.end else {
        panic!("ended {:?}", s.end)
    };
    assert!(reason.contains("SyntaxError"), "{reason}");
    let stderr = &s.output.as_ref().unwrap().stderr;
    assert!(
        stderr.contains("SyntaxError") && stderr.contains("line 1"),
        "{stderr}"
    );
}

#[test]
fn an_exception_fails_the_run_and_keeps_what_was_printed() {
    let outcome = run("print('before')\nraise ValueError('boom')\n");
    let output = outcome.summary.output.as_ref().unwrap();
    assert_eq!(output.stdout, "before\n");
    assert!(output.stderr.contains("Traceback") && output.stderr.contains("ValueError: boom"));
    assert_eq!(output.exit_code, Some(1));
    assert!(matches!(outcome.summary.end, EndReason::Failed { .. }));
}

#[test]
fn a_flood_of_output_is_bounded() {
    let outcome = run("import sys\nfor _ in range(4096):\n    sys.stdout.write('x' * 1024)\n");
    let output = outcome.summary.output.as_ref().unwrap();
    assert!(outcome.summary.end.is_finished());
    assert_eq!(
        output.stdout.len(),
        gilscope_server::cpython::output::KEEP_BYTES
    );
    assert_eq!(
        output.stdout.len() as u64 + output.dropped_bytes,
        4096 * 1024
    );
}

#[test]
fn no_python_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.py");
    std::fs::write(&path, "print('hello')\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .args(["python", "--python", "/nonexistent/python3"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("engine")
            && stderr.contains("/nonexistent/python3")
            && stderr.contains("--python"),
        "{stderr}"
    );
}

#[test]
fn a_lesson_runs_on_cpython_with_its_knobs() {
    let _serial = common::serial();
    let out = Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .args(["run", "counter-race", "--cpython", "--json"])
        .args(["--set", "threads=2", "--set", "increments=300000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["engine"], "cpython");
    assert_eq!(json["preset"], "counter-race");
    assert!(
        json["output"]["stdout"]
            .as_str()
            .unwrap()
            .contains("expected 600000"),
        "{json}"
    );
    assert!(json["sampling_hz"].as_f64().unwrap() > 0.0);
}

/// Over HTTP: a lesson on CPython is a run like any other; code from a foreign page is
/// refused; a server listening beyond this machine runs no code.
mod http {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use gilscope_server::{app, AppState};
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt;

    fn post(state: &AppState, body: &str, origin: &str) -> Request<Body> {
        Request::post("/api/runs")
            .header("host", state.local_addr.to_string())
            .header("origin", origin)
            .header("content-type", "application/json")
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                40000,
            ))))
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    async fn status_and_body(state: &AppState, body: &str, origin: &str) -> (StatusCode, String) {
        let response = app(state.clone())
            .oneshot(post(state, body, origin))
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn a_script_from_a_foreign_page_is_refused() {
        super::use_worker_exe();
        let state = AppState::new(([127, 0, 0, 1], 7878).into(), CancellationToken::new());
        let (status, body) =
            status_and_body(&state, r#"{"script": "print(1)"}"#, "http://evil.example").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(state.runs.list().is_empty());
    }

    #[tokio::test]
    async fn a_server_beyond_loopback_runs_no_code() {
        let state = AppState::new(([0, 0, 0, 0], 7878).into(), CancellationToken::new());
        assert!(!state.runs.cpython_status().available);
        let (status, body) = status_and_body(
            &state,
            r#"{"preset": "cpu-threads", "engine": "cpython"}"#,
            "http://0.0.0.0:7878",
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("\"engine\""), "{body}");
    }

    #[tokio::test]
    async fn bad_engine_and_script_specs_name_their_field() {
        let state = AppState::new(([127, 0, 0, 1], 7878).into(), CancellationToken::new());
        let origin = "http://127.0.0.1:7878";
        for (body, field) in [
            (r#"{"preset": "cpu-threads", "engine": "pypy"}"#, "engine"),
            (
                r#"{"preset": "cpu-threads", "engine": "emulated", "script": "x"}"#,
                "script",
            ),
            (r#"{"engine": "cpython"}"#, "preset"),
        ] {
            let (status, text) = status_and_body(&state, body, origin).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
            assert!(
                text.contains(&format!("\"field\":\"{field}\"")),
                "{body}: {text}"
            );
        }
        let huge = format!(r#"{{"script": "{}"}}"#, "x".repeat(70_000));
        let (status, text) = status_and_body(&state, &huge, origin).await;
        assert!(status.is_client_error(), "{text}");
    }

    #[tokio::test]
    async fn a_lesson_on_cpython_is_queued_with_its_engine() {
        super::use_worker_exe();
        let state = AppState::new(([127, 0, 0, 1], 7878).into(), CancellationToken::new());
        state
            .runs
            .set_python(Err(gilscope_server::cpython::PythonError::NotFound(
                "/nonexistent/python3".into(),
            )));
        let origin = "http://127.0.0.1:7878";
        let body = r#"{"preset": "cpu-threads", "engine": "cpython"}"#;
        let (status, text) = status_and_body(&state, body, origin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("/nonexistent/python3"), "{text}");
        state
            .runs
            .set_python(gilscope_server::cpython::python::probe(
                &gilscope_server::cpython::python::choose(None),
            ));
        let (status, text) = status_and_body(&state, body, origin).await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let info: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(info["spec"]["engine"], "cpython");
    }
}

#[test]
fn compare_prints_a_row_per_figure_both_engines_have() {
    let _serial = common::serial();
    let out = Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .args(["compare", "cpu-threads", "--runs", "1", "--json"])
        .args(["--set", "threads=2", "--set", "work=3000000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let figures: Vec<&str> = rows.iter().filter_map(|r| r["figure"].as_str()).collect();
    assert!(figures.contains(&"speedup"), "{stdout}");
    for row in &rows {
        assert!(
            row["emulated"].as_f64().unwrap() > 0.0 && row["cpython"].as_f64().unwrap() > 0.0,
            "{row}"
        );
    }
}

/// A program of our own on CPython within `caps`, the interpreter adjusted by `adjust`.
fn run_with(
    source: &str,
    caps: gilscope_server::engine::Caps,
    adjust: impl FnOnce(&mut gilscope_server::cpython::Python),
) -> RunOutcome {
    use_worker_exe();
    let _serial = common::serial();
    let python =
        gilscope_server::cpython::python::probe(&gilscope_server::cpython::python::choose(None));
    let mut python = python.expect("python3 is installed");
    adjust(&mut python);
    let program = gilscope_server::cpython::Program {
        label: "script".into(),
        knobs: Default::default(),
        source: source.into(),
        python,
        observe: true,
    };
    gilscope_server::cpython::start(program, caps)
        .unwrap()
        .wait()
}

#[test]
fn a_program_that_never_ends_is_ended_at_the_wall_cap() {
    let caps = gilscope_server::engine::Caps {
        max_wall: Duration::from_secs(1),
        ..gilscope_server::engine::CAPS
    };
    let started = Instant::now();
    let outcome = run_with("while True:\n    pass\n", caps, |_| {});
    assert!(
        matches!(
            outcome.summary.end,
            EndReason::HitCap {
                cap: gilscope_shared::summary::Cap::Wall,
                ..
            }
        ),
        "{:?}",
        outcome.summary.end
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(all_gone(&outcome.trace));
}

#[test]
fn a_flood_of_processes_ends_the_run_and_every_process() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let source = format!(
        r#"
import os, time
with open({pids:?}, "a") as log:
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        log.write(f"{{pid}}\n")
        log.flush()
time.sleep(60)
"#,
        pids = pids.display().to_string()
    );
    let outcome = run_with(&source, gilscope_server::engine::CAPS, |_| {});
    let EndReason::Failed { reason } = &outcome.summary.end else {
        panic!("ended {:?}", outcome.summary.end)
    };
    assert!(reason.contains("more than 256 processes"), "{reason}");
    let started: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    assert!(started.len() > 256, "{}", started.len());
    let alive: Vec<&u32> = started
        .iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"))
        })
        .collect();
    assert!(alive.is_empty(), "still running: {alive:?}");
}

#[test]
fn a_python_whose_gil_cannot_be_read_is_drawn_from_proc() {
    let outcome = run_with(CPU_THREADS, gilscope_server::engine::CAPS, |python| {
        python.unreadable_gil = Some("a free-threaded build has no GIL to read".into())
    });
    let s = &outcome.summary;
    assert!(s.end.is_finished(), "{:?}", s.end);
    assert!(
        s.violations.iter().any(|v| v.contains("no GIL to read")),
        "{:?}",
        s.violations
    );
    assert!(outcome
        .trace
        .interpreters
        .iter()
        .all(|i| i.gil == gilscope_shared::trace::GilFlavour::None));
    assert_eq!(s.gil_handoffs, None, "no GIL figures without a GIL record");
    let busy: u64 = outcome
        .trace
        .spans
        .iter()
        .filter(|span| span.state == State::Running)
        .map(|span| span.duration())
        .sum();
    assert!(busy > 100_000_000, "threads on a CPU for {busy} ns");
    assert!(outcome.trace.lanes.len() >= 5, "{:?}", outcome.trace.lanes);
}

#[test]
fn spawned_pool_workers_and_a_manager_are_each_observed() {
    let outcome = run(r#"
import multiprocessing as mp
def burn(n):
    t = 0
    for i in range(n):
        t += i
    return t
if __name__ == "__main__":
    mp.set_start_method("spawn")
    with mp.Pool(2) as pool:
        print(sum(pool.map(burn, [2_000_000] * 4)))
    manager = mp.Manager()
    shared = manager.dict()
    for i in range(2000):  # ~0.1 s of the manager serving: time to attach to it under load
        shared[i] = i
    manager.shutdown()
"#);
    let s = &outcome.summary;
    assert!(s.end.is_finished(), "{:?} {:?}", s.end, s.output);
    let names: Vec<&str> = outcome
        .trace
        .interpreters
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    // The main process, the resource tracker, two pool workers, the manager.
    assert!(names.len() >= 5, "{names:?}");
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "names repeat: {names:?}");
}

/// `gilscope compare`'s reference runs are not observed: the program's own print is there and
/// no thread of it is drawn.
#[test]
fn a_reference_run_is_not_observed_but_keeps_what_it_printed() {
    let _serial = common::serial();
    let mut spec = script(
        "import multiprocessing as mp\n\
         def f(x):\n    return x * x\n\
         if __name__ == '__main__':\n    with mp.Pool(2) as p:\n        print('speedup', sum(p.map(f, range(10))))\n",
    );
    spec.knobs = BTreeMap::new();
    let out = gilscope_server::program::start_unobserved(&spec, None)
        .expect("python3 is installed")
        .wait();
    assert!(out.summary.end.is_finished(), "{:?}", out.summary.end);
    assert_eq!(out.summary.speedup, Some(285.0), "{:?}", out.summary.output);
    let python_lanes = out
        .trace
        .lanes
        .iter()
        .filter(|l| l.name.contains("MainThread"))
        .count();
    assert_eq!(python_lanes, 0, "{:?}", out.trace.lanes);
}
