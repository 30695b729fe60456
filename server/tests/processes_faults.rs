//! Worker processes that die, misbehave or cannot start: the run ends with a clear reason
//! naming the worker, never hangs, never leaves a process behind, and the next run works.
//! Also the bounds of the process knobs.

mod common;
use std::io::Write;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::spec;
use gilscope_server::engine::RunOutcome;
use gilscope_server::program::start;
use gilscope_shared::summary::EndReason;

/// Tests here change GILSCOPE_WORKER_EXE and count this process's children: one at a time.
static ENV: Mutex<()> = Mutex::new(());

fn env_lock() -> MutexGuard<'static, ()> {
    let g = ENV.lock().unwrap_or_else(|e| e.into_inner());
    common::use_worker_exe();
    std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope"));
    g
}

/// Pids of this test process's children that are still there (zombies included).
fn children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid = after.split_whitespace().nth(1).unwrap();
        if ppid == me {
            found.push(pid);
        }
    }
    found
}

/// Waits for the run with a bound: a hang fails the test instead of stalling the suite.
fn bounded_wait(handle: gilscope_server::engine::RunHandle, limit: Duration) -> RunOutcome {
    let t = Instant::now();
    while !handle.is_finished() {
        assert!(t.elapsed() < limit, "the run did not end within {limit:?}");
        let _ = handle.drain();
        std::thread::sleep(Duration::from_millis(10));
    }
    handle.wait()
}

fn failure(outcome: &RunOutcome) -> String {
    match &outcome.summary.end {
        EndReason::Failed { reason } => reason.clone(),
        other => panic!("expected a failed run, got {other:?}"),
    }
}

fn small_run_works() {
    let outcome = bounded_wait(
        start(&spec(
            "cpu-processes",
            &[("processes", "2"), ("work", "2000000")],
        ))
        .unwrap(),
        Duration::from_secs(30),
    );
    assert!(outcome.summary.invariants_ok, "{:?}", outcome.summary);
    assert!(children().is_empty(), "left behind: {:?}", children());
}

#[test]
fn killing_a_worker_fails_the_run_naming_it_and_leaves_nothing_behind() {
    let _g = env_lock();
    let handle = start(&spec(
        "cpu-processes",
        &[("processes", "2"), ("work", "2000000000")],
    ))
    .unwrap();
    // Wait until both workers' interpreters have reported in, with their pids.
    let t = Instant::now();
    let mut workers = Vec::new();
    while workers.len() < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "workers never reported"
        );
        let delta = handle.drain();
        workers.extend(
            delta
                .added
                .interpreters
                .iter()
                .filter(|i| i.name.starts_with("Process-"))
                .map(|i| (i.name.clone(), i.pid.unwrap())),
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let (name, pid) = workers[0].clone();
    assert!(children().contains(&pid), "{pid} is not our child");
    let status = Command::new("kill").args(["-9", &pid.to_string()]).status();
    assert!(status.unwrap().success());
    let outcome = bounded_wait(handle, Duration::from_secs(10));
    let reason = failure(&outcome);
    assert!(reason.contains(&name), "{reason}");
    assert!(reason.contains(&format!("pid {pid}")), "{reason}");
    assert!(reason.contains("signal 9"), "{reason}");
    assert!(children().is_empty(), "left behind: {:?}", children());
    // Every lane of the run ended, the killed worker's too.
    let trace = &outcome.trace;
    for lane in &trace.lanes {
        assert!(
            trace
                .spans
                .iter()
                .any(|s| s.lane == lane.id && s.state == gilscope_shared::trace::State::Done),
            "lane {} never ended",
            lane.name
        );
    }
    small_run_works();
}

/// A `Process` spawns its child when it is made (an `exec` takes milliseconds where CPython's
/// `fork` takes a fraction of one), and one never started takes its child with it.
#[test]
fn a_process_never_started_is_killed_and_reaped_when_dropped() {
    use gilscope_server::engine::interpreter::interp::InterpConfig;
    use gilscope_server::engine::multiprocessing::process::{ChildProgram, Process, StartMethod};
    let _g = env_lock();
    let program = ChildProgram {
        preset: "cpu-processes".into(),
        knobs: Default::default(),
        interp: InterpConfig {
            name: "MainProcess".into(),
            gil: Default::default(),
            switch_interval: Duration::from_millis(5),
            check_ticks: 100,
            check_every_bytecode: false,
        },
        start_method: StartMethod::Fork,
    };
    let made: Vec<Process> = (1..=3)
        .map(|i| {
            Process::new(
                &format!("Process-{i}"),
                &program,
                "worker",
                i,
                Default::default(),
            )
        })
        .collect();
    let pids: Vec<u32> = made
        .iter()
        .map(|p| p.pid().expect("spawned when made"))
        .collect();
    let ours = children();
    assert!(
        pids.iter().all(|p| ours.contains(p)),
        "{pids:?} not in {ours:?}"
    );
    drop(made);
    assert!(children().is_empty(), "left behind: {:?}", children());
    small_run_works();
}

#[test]
fn stopping_a_run_kills_its_workers() {
    let _g = env_lock();
    let handle = start(&spec(
        "shared-value",
        &[("processes", "3"), ("increments", "10000000")],
    ))
    .unwrap();
    let t = Instant::now();
    while children().len() < 3 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "workers never started"
        );
        let _ = handle.drain();
        std::thread::sleep(Duration::from_millis(5));
    }
    let asked = Instant::now();
    handle.stop();
    let outcome = bounded_wait(handle, Duration::from_secs(5));
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(outcome.summary.end, EndReason::Stopped);
    assert!(children().is_empty(), "left behind: {:?}", children());
    assert!(
        outcome.summary.violations.is_empty(),
        "{:?}",
        outcome.summary.violations
    );
}

/// Runs cpu-processes (two processes of `work`) with `exe` as the worker executable, and
/// checks that it left no process behind.
fn run_with_exe(exe: &str, work: &str) -> RunOutcome {
    std::env::set_var("GILSCOPE_WORKER_EXE", exe);
    let outcome = bounded_wait(
        start(&spec(
            "cpu-processes",
            &[("processes", "2"), ("work", work)],
        ))
        .unwrap(),
        Duration::from_secs(20),
    );
    std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope"));
    assert!(children().is_empty(), "left behind: {:?}", children());
    outcome
}

/// Runs cpu-processes with `exe` as the worker executable; returns why it failed.
fn fails_with_exe(exe: &str) -> String {
    failure(&run_with_exe(exe, "2000000"))
}

fn script(name: &str, body: &str) -> String {
    let path = common::scratch().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(body.as_bytes()).unwrap();
    drop(f);
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    path.display().to_string()
}

/// A Python stand-in for a worker that sends a valid handshake (MessagePack written by hand,
/// structs as arrays: {"Handshake": [magic, WIRE_VERSION, pid]}) and then does `then`.
fn fake_worker(name: &str, then: &str) -> String {
    script(
        name,
        &format!(
            r#"#!/usr/bin/env python3
import os, struct, sys, time
def s(t):
    b = t.encode()
    return bytes([0xa0 | len(b)]) + b
body = b"\x81" + s("Handshake") + b"\x93" + s("gilscope-worker") + bytes([{version}]) + b"\xce" + struct.pack(">I", os.getpid())
out = sys.stdout.buffer
out.write(struct.pack("<I", len(body)) + body)
out.flush()
{then}
"#,
            version = gilscope_server::engine::multiprocessing::wire::WIRE_VERSION,
        ),
    )
}

#[test]
fn a_worker_that_cannot_start_is_a_clear_error() {
    let _g = env_lock();
    let reason = fails_with_exe("/nonexistent/gilscope");
    assert!(
        reason.contains("worker Process-1 could not start"),
        "{reason}"
    );
    assert!(reason.contains("/nonexistent/gilscope"), "{reason}");
    small_run_works();
}

#[test]
fn an_executable_that_is_not_gilscope_is_named() {
    let _g = env_lock();
    let reason = fails_with_exe("/bin/true");
    assert!(reason.contains("Process-"), "{reason}");
    assert!(reason.contains("not a gilscope worker"), "{reason}");
    let garbage = script(
        "garbage",
        "#!/bin/sh\necho 'hello, I am not gilscope'\nsleep 5\n",
    );
    let reason = fails_with_exe(&garbage);
    assert!(reason.contains("is not a gilscope worker"), "{reason}");
    assert!(reason.contains(&garbage), "{reason}");
    small_run_works();
}

#[test]
fn a_malformed_message_is_a_clear_error() {
    let _g = env_lock();
    let exe = fake_worker(
        "malformed",
        "out.write(struct.pack('<I', 3) + b'\\xc1\\xc1\\xc1'); out.flush(); time.sleep(5)",
    );
    let reason = fails_with_exe(&exe);
    assert!(reason.contains("sent a malformed message"), "{reason}");
    assert!(reason.contains("Process-"), "{reason}");
    let huge = fake_worker(
        "huge",
        "out.write(struct.pack('<I', 0xffffffff)); out.flush(); time.sleep(5)",
    );
    let reason = fails_with_exe(&huge);
    assert!(reason.contains("malformed"), "{reason}");
    small_run_works();
}

#[test]
fn a_broken_pipe_is_a_clear_error() {
    let _g = env_lock();
    let exe = fake_worker("quitter", "sys.exit(0)");
    let reason = fails_with_exe(&exe);
    assert!(
        reason.contains("closed its pipe before finishing"),
        "{reason}"
    );
    assert!(reason.contains("exited with status 0"), "{reason}");
    small_run_works();
}

fn gilscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .args(args)
        .output()
        .expect("gilscope runs")
}

#[test]
fn process_knobs_are_bounded_one_line_exit_2() {
    // Its short-lived children would show up in the other tests' counts.
    let _g = env_lock();
    for (args, needle) in [
        (
            vec!["run", "cpu-processes", "--set", "processes=65"],
            "processes: `65` is not allowed; expected an integer from 1 to 64",
        ),
        (
            vec!["run", "queue-producer-consumer", "--set", "items=10000001"],
            "items: `10000001` is not allowed; expected an integer from 1 to 10000000",
        ),
        (
            vec!["run", "queue-producer-consumer", "--set", "capacity=0"],
            "capacity: `0` is not allowed; expected an integer from 1 to 1000000",
        ),
        (
            vec!["run", "queue-qsize-unreliable", "--set", "capacity=1000001"],
            "an integer from 1 to 1000000",
        ),
        (
            vec!["run", "process-pool-map", "--set", "processes=0"],
            "an integer from 1 to 64",
        ),
        (
            vec!["run", "return-values", "--set", "shared=global"],
            "one of none, argument, initializer, manager",
        ),
    ] {
        let out = gilscope(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// Children of `pid` (from /proc).
fn children_of(pid: u32) -> Vec<u32> {
    let want = pid.to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        if after.split_whitespace().nth(1) == Some(want.as_str()) {
            found.push(p);
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry: look at its state too.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
        .unwrap_or(false)
}

/// `p.join()` returns when the child says `Done`, as CPython's returns when the child exits,
/// not when the parent has read the child's last events (which follow `Done`): a child that
/// says `Done` and then keeps its pipe open for 1.5 s does not hold the program up. It is
/// still reaped before the run ends.
#[test]
fn join_returns_when_the_child_says_done() {
    let _g = env_lock();
    // {"Done": [cpu_ns, bytecodes, hit_cap, results]}, structs as arrays.
    let exe = fake_worker(
        "done-then-linger",
        "body = b'\\x81' + s('Done') + b'\\x94\\x00\\x00\\xc2\\x90'\n\
         out.write(struct.pack('<I', len(body)) + body); out.flush(); time.sleep(1.5)",
    );
    let outcome = run_with_exe(&exe, "1000");
    assert_eq!(
        outcome.summary.end,
        EndReason::Finished,
        "{:?}",
        outcome.summary.end
    );
    let wall = outcome.summary.wall_s;
    assert!(
        wall < 1.0,
        "the program took {wall} s: its joins waited for the children's exit"
    );
    small_run_works();
}

#[test]
fn workers_die_with_the_server() {
    let _g = env_lock();
    let mut server = Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .args([
            "run",
            "cpu-processes",
            "--set",
            "processes=2",
            "--set",
            "work=2000000000",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let workers = loop {
        let found = children_of(server.id());
        if found.len() == 2 {
            break found;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "workers never started: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    server.kill().unwrap(); // SIGKILL: the server gets no chance to clean up
    server.wait().unwrap();
    let t = Instant::now();
    while workers.iter().any(|&w| alive(w)) {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "workers {workers:?} outlived the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_worker_started_by_hand_refuses_to_run() {
    let _g = env_lock();
    let out = Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .arg("worker")
        .env_remove("GILSCOPE_PARENT_PID")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only gilscope starts workers"), "{err}");
}
