//! The `gilscope` binary as a user runs it.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::scratch;

const WAIT: Duration = Duration::from_secs(20);

fn gilscope() -> Command {
    // Runs are kept in a directory of this test's own, never in the user's.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let data = scratch().join(format!("data-{n}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gilscope"));
    cmd.env_remove("GILSCOPE_ADDR")
        .env("RUST_LOG", "info")
        .env("GILSCOPE_DATA", data);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for `child` to exit, killing it after [`WAIT`].
fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gilscope did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs to completion (bounded); returns the status and stderr.
fn run(cmd: &mut Command) -> (ExitStatus, String) {
    let mut child = cmd.spawn().unwrap();
    let status = wait(&mut child);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected a one-line error, got:\n{stderr}");
    lines[0]
}

#[test]
fn unparseable_addr_is_a_one_line_error() {
    let (status, stderr) = run(gilscope().args(["serve", "--addr", "nonsense"]));
    assert!(!status.success());
    let line = one_line(&stderr);
    assert!(
        line.starts_with("error: invalid --addr \"nonsense\""),
        "{line}"
    );
}

#[test]
fn addr_from_the_environment_is_checked_too() {
    let (status, stderr) = run(gilscope().arg("serve").env("GILSCOPE_ADDR", "300.1.1.1:80"));
    assert!(!status.success());
    assert!(
        one_line(&stderr).contains("invalid --addr \"300.1.1.1:80\""),
        "{stderr}"
    );
}

#[test]
fn unbindable_addr_is_a_one_line_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (status, stderr) = run(gilscope().args(["serve", "--addr", &addr]));
    assert!(!status.success());
    let line = one_line(&stderr);
    assert!(
        line.starts_with(&format!("error: cannot listen on {addr}: ")),
        "{line}"
    );
}

#[test]
fn help_lists_serve() {
    let out = gilscope().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("serve"), "{help}");

    let out = gilscope().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--addr") && help.contains("GILSCOPE_ADDR") && help.contains("--open"));
}

/// `serve` prints the URL it serves, and Ctrl-C (SIGINT) stops it cleanly.
#[cfg(unix)]
#[test]
fn serve_prints_its_url_and_stops_on_ctrl_c() {
    let mut child = gilscope()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = match rx.recv_timeout(WAIT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("gilscope serve printed nothing within {WAIT:?}");
        }
    };
    assert!(line.contains("http://127.0.0.1:"), "{line}");

    // The shell's own `kill`: present even where procps is not installed.
    let sent = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = wait(&mut child);
    assert!(status.success(), "exit after Ctrl-C: {status}");
}

/// Runs `gilscope ARGS` to its end.
fn gilscope_output(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .args(args)
        .output()
        .expect("gilscope runs")
}

#[test]
fn bad_input_is_one_line_naming_the_knob_and_exit_2() {
    for (args, needle) in [
        (vec!["run", "nope"], "preset"),
        (
            vec!["run", "cpu-threads", "--set", "threads=0"],
            "threads: `0` is not allowed; expected an integer from 1 to 64",
        ),
        (
            vec!["run", "cpu-threads", "--set", "threads=two"],
            "an integer from 1 to 64",
        ),
        (
            vec!["run", "cpu-threads", "--set", "gil=maybe"],
            "one of current, ticks, none",
        ),
        (
            vec!["run", "cpu-threads", "--set", "switch_interval_ms=500"],
            "a number from 0.1 to 100",
        ),
        (
            vec!["run", "counter-race", "--set", "lock=perhaps"],
            "true or false",
        ),
        (
            vec!["run", "cpu-threads", "--set", "thread=2"],
            "thread: no such knob",
        ),
        (vec!["run", "cpu-threads", "--set", "threads"], "KNOB=VALUE"),
    ] {
        let out = gilscope_output(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn cli_prints_json_and_writes_a_chrome_trace() {
    let path = scratch().join("trace.json");
    let out = gilscope_output(&[
        "run",
        "counter-race",
        "--set",
        "increments=20000",
        "--set",
        "threads=2",
        "--json",
        "--trace",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "preset",
        "knobs",
        "wall_s",
        "baseline_wall_s",
        "speedup",
        "cores_busy_mean",
        "gil_handoffs",
        "gil_hold_ms_median",
        "gil_wait_ms_total",
        "expected_count",
        "final_count",
        "lost_updates",
        "ops_per_s",
        "baseline_ops_per_s",
        "invariants_ok",
    ] {
        assert!(summary.get(field).is_some(), "no {field} in {summary}");
    }
    assert_eq!(summary["expected_count"], 40000);
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    for ph in ["M", "X", "C", "s", "f"] {
        assert!(events.iter().any(|e| e["ph"] == ph), "no {ph} event");
    }
    assert!(events
        .iter()
        .any(|e| e["name"] == "thread_name" && e["args"]["name"] == "GIL"));
    let _ = std::fs::remove_file(path);
    let listing = gilscope_output(&["presets"]);
    let text = String::from_utf8_lossy(&listing.stdout);
    for preset in gilscope_server::presets::all() {
        assert!(text.contains(preset.name()));
    }
    assert!(text.contains("Caps on every run"));
}

#[test]
fn the_table_shows_every_figure_the_dashboard_shows_process_lessons_included() {
    let out = gilscope_output(&["run", "queue-vs-shared-memory", "--set", "items=300"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for label in [
        "Queue: messages / s",
        "shared memory polled / s",
        "shared memory + 2 semaphores / s",
        "process start",
        "wall time",
        "invariants",
    ] {
        assert!(text.contains(label), "no {label:?} in\n{text}");
    }
}

/// `--json` keeps the summary's fields at the top level and adds `findings` beside them; the
/// table prints their sentences under the figures.
#[test]
fn json_and_table_carry_the_findings() {
    let args = [
        "run",
        "cpu-threads",
        "--set",
        "threads=3",
        "--set",
        "work=3000000",
    ];
    let out = gilscope_output(&[&args[..], &["--json"]].concat());
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["preset"], "cpu-threads",
        "the summary's fields stay where they were"
    );
    let found = json["findings"].as_array().expect("a findings array");
    let gil = found
        .iter()
        .find(|f| f["rule"] == "gil_bound")
        .unwrap_or_else(|| panic!("no gil_bound in {json}"));
    assert_eq!(gil["numbers"]["threads"], 3);
    assert_eq!(gil["severity"], "slow");
    assert!(gil["evidence"].as_array().is_some_and(|e| !e.is_empty()));
    let sentence = gil["sentence"].as_str().unwrap();
    assert!(sentence.starts_with("3 threads, about"), "{sentence}");

    let out = gilscope_output(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, below) = text.split_once("\nfindings\n").expect("a findings section");
    assert!(below.contains("3 threads, about"), "{text}");
}
