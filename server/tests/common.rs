//! Helpers shared by the engine tests (included with `mod common;`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use gilscope_server::engine::RunOutcome;
use gilscope_server::program::start;
use gilscope_shared::spec::{ExperimentSpec, KnobValue};
use gilscope_shared::summary::Summary;

/// Timing tests must not run at the same time: they would steal each other's cores.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// This test binary's scratch directory, under Cargo's `CARGO_TARGET_TMPDIR` and emptied on
/// first use: what its tests write for a run (scripts, data directories, traces) stays out of
/// the system's temp directory and does not pile up from one `cargo test` to the next.
pub fn scratch() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(env!("CARGO_CRATE_NAME"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// Busy and total jiffies of the whole machine so far (/proc/stat).
pub fn jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    let total = cpu.iter().sum::<u64>();
    (total - cpu[3] - cpu[4], total)
}

pub fn cores() -> f64 {
    std::thread::available_parallelism().map_or(2, |n| n.get()) as f64
}

/// Cores the whole machine kept busy between two readings.
pub fn busy_between(a: (u64, u64), b: (u64, u64)) -> f64 {
    (b.0 - a.0) as f64 / (b.1 - a.1).max(1) as f64 * cores()
}

/// Other work on a shared machine steals the cores a speed-up needs: wait (at most 10 s) until
/// less than half a core is busy before a timing run (docs/cpython.md, "Timing pitfalls").
pub fn wait_for_quiet() {
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_secs(10) {
        let a = jiffies();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let busy = busy_between(a, jiffies());
        if busy < 0.5 {
            return;
        }
        eprintln!("machine busy ({busy:.2} cores): waiting before a timing run");
    }
}

/// Runs a timing check up to three times, each once the machine is quiet, and passes if one
/// attempt does: on a shared 2-core machine another process can take a core for a moment and
/// distort one measurement, but not every one of three. Fails with every attempt's complaint.
pub fn timing(what: &str, mut attempt: impl FnMut() -> Result<(), String>) {
    let mut complaints = Vec::new();
    for _ in 0..3 {
        wait_for_quiet();
        match attempt() {
            Ok(()) => return,
            Err(complaint) => complaints.push(complaint),
        }
    }
    panic!("{what}: failed 3 times: {}", complaints.join("; "));
}

/// `Err(message)` unless `condition` holds: for [`timing`] attempts.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}

/// Worker processes run the gilscope binary; a test's own executable is not it.
pub fn use_worker_exe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("GILSCOPE_WORKER_EXE").is_none() {
            std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope"));
        }
    });
}

pub fn spec(preset: &str, knobs: &[(&str, &str)]) -> ExperimentSpec {
    use_worker_exe();
    ExperimentSpec {
        preset: preset.into(),
        knobs: knobs
            .iter()
            .map(|(k, v)| (k.to_string(), KnobValue::Text(v.to_string())))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    }
}

pub fn run(preset: &str, knobs: &[(&str, &str)]) -> RunOutcome {
    let outcome = start(&spec(preset, knobs)).expect("valid spec").wait();
    let s = &outcome.summary;
    assert!(
        s.end.is_finished(),
        "{preset} {knobs:?} did not finish: {:?}",
        s.end
    );
    assert!(
        s.violations.is_empty(),
        "{preset} {knobs:?}: {:?}",
        s.violations
    );
    outcome
}

pub fn summary(preset: &str, knobs: &[(&str, &str)]) -> Summary {
    let s = run(preset, knobs).summary;
    eprintln!(
        "{preset} {knobs:?}: wall {:.3} base {:?} speedup {:?} cores {:.2} hold {:?} lost {:?} ops {:?}/{:?}",
        s.wall_s, s.baseline_wall_s, s.speedup, s.cores_busy_mean, s.gil_hold_ms_median,
        s.figures.lost_updates, s.figures.ops_per_s, s.baseline_ops_per_s
    );
    s
}
