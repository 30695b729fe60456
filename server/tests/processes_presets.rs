//! What the process presets must show (issue #4), with bounds generous enough for a shared
//! 2-core machine. Timing tests run one at a time (`serial`) and take the best of a few runs:
//! other load only ever makes a parallel run look worse.

mod common;
use common::{run, serial};
use gilscope_shared::summary::Summary;
use gilscope_shared::trace::{LaneKind, State, Trace};

/// Cores busy on the whole machine over `window` (from /proc/stat).
fn machine_busy_cores(window: std::time::Duration) -> f64 {
    let read = || -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        let idle = cpu[3] + cpu[4];
        (cpu.iter().sum::<u64>() - idle, cpu.iter().sum::<u64>())
    };
    let (b0, t0) = read();
    std::thread::sleep(window);
    let (b1, t1) = read();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * cores
}

/// Other work on a shared machine steals the cores a speed-up needs: wait (at most 20 s) until
/// less than half a core is busy before a timing run (observing-real-cpython.md).
fn wait_for_quiet() {
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_secs(20) {
        let busy = machine_busy_cores(std::time::Duration::from_millis(300));
        if busy < 0.5 {
            return;
        }
        eprintln!("machine busy ({busy:.2} cores): waiting before a timing run");
    }
}

/// The best speedup of up to `tries` runs, each on a quiet machine, with its summary.
fn best_speedup(preset: &str, knobs: &[(&str, &str)], want: f64, tries: usize) -> Summary {
    let mut best: Option<Summary> = None;
    for _ in 0..tries {
        wait_for_quiet();
        let s = run(preset, knobs).summary;
        eprintln!(
            "{preset} {knobs:?}: speedup {:?} cores {:.2} start {:?} ms",
            s.speedup, s.cores_busy_mean, s.processes.process_start_ms_median
        );
        let better = best
            .as_ref()
            .is_none_or(|b| s.speedup.unwrap_or(0.0) > b.speedup.unwrap_or(0.0));
        if better {
            best = Some(s);
        }
        if best.as_ref().unwrap().speedup.unwrap_or(0.0) >= want {
            break;
        }
    }
    best.unwrap()
}

fn lanes_in_state(trace: &Trace, name_prefix: &str, state: State) -> usize {
    trace
        .lanes
        .iter()
        .filter(|l| {
            trace
                .interpreter(l.interp)
                .is_some_and(|i| i.name.starts_with(name_prefix))
        })
        .filter(|l| {
            trace
                .spans
                .iter()
                .any(|s| s.lane == l.id && s.state == state && s.t1 > s.t0)
        })
        .count()
}

#[test]
fn cpu_processes_run_in_parallel_each_with_its_own_gil() {
    let _g = serial();
    for n in ["2", "4"] {
        // 200M bytecodes in all: about 0.66 s in one process.
        let work = (200_000_000 / n.parse::<u64>().unwrap()).to_string();
        let s = best_speedup(
            "cpu-processes",
            &[("processes", n), ("work", &work)],
            1.7,
            3,
        );
        assert!(
            s.speedup.unwrap() >= 1.5,
            "{n} processes: speedup {:?}",
            s.speedup
        );
        assert!(
            s.cores_busy_mean >= 1.5,
            "{n} processes: cores {}",
            s.cores_busy_mean
        );
        let started = s.processes.processes_started.unwrap();
        assert_eq!(started, n.parse::<u32>().unwrap());
        let start_ms = s.processes.process_start_ms_median.unwrap();
        assert!(start_ms > 0.5 && start_ms < 500.0, "start {start_ms} ms");
    }
    // One interpreter (and GIL) per process, each with the pid of a real other process.
    let outcome = run("cpu-processes", &[("processes", "2"), ("work", "2000000")]);
    let t = &outcome.trace;
    assert_eq!(t.interpreters.len(), 3);
    let pids: std::collections::HashSet<_> = t.interpreters.iter().map(|i| i.pid).collect();
    assert_eq!(pids.len(), 3, "{:?}", t.interpreters);
    assert!(t.spans.iter().any(|s| s.state == State::Starting));
}

#[test]
fn process_pool_map_runs_in_parallel_in_order_with_cpythons_chunks() {
    let _g = serial();
    for n in ["2", "4"] {
        let s = best_speedup(
            "process-pool-map",
            &[("processes", n), ("items", "40"), ("work", "5000000")],
            1.7,
            3,
        );
        assert!(s.speedup.unwrap() >= 1.5, "{n}: speedup {:?}", s.speedup);
        assert_eq!(s.results_in_order, Some(true));
        // divmod(40, 4 * n), plus one for a remainder: 5 for 2 workers, 3 for 4.
        let want = if n == "2" { 5 } else { 3 };
        assert_eq!(s.processes.chunksize, Some(want));
    }
    let outcome = run(
        "process-pool-map",
        &[
            ("processes", "2"),
            ("items", "30"),
            ("work", "100000"),
            ("chunksize", "7"),
        ],
    );
    assert_eq!(outcome.summary.processes.chunksize, Some(7));
    assert_eq!(outcome.summary.results_in_order, Some(true));
    let t = &outcome.trace;
    for handler in ["TaskHandler", "ResultHandler"] {
        let lane = t.lanes.iter().find(|l| l.name == handler).unwrap();
        assert_eq!(lane.kind, LaneKind::Handler);
        assert_eq!(t.interpreters[lane.interp.0 as usize].name, "MainProcess");
    }
    // Every item ran as a task in a worker process.
    let tasks = t
        .marks
        .iter()
        .filter(|m| matches!(m.kind, gilscope_shared::trace::MarkKind::TaskEnd { .. }))
        .count();
    assert_eq!(tasks, 30);
}

#[test]
fn apply_async_returns_each_result_and_the_caller_waits_in_get() {
    let _g = serial();
    let outcome = run(
        "apply-async",
        &[("processes", "2"), ("items", "12"), ("work", "3000000")],
    );
    assert_eq!(outcome.summary.results_in_order, Some(true));
    assert!(lanes_in_state(&outcome.trace, "MainProcess", State::BlockedGet) >= 1);
}

#[test]
fn queue_depth_stays_within_capacity_and_both_sides_block() {
    let _g = serial();
    // Slow consumer: producers wait in put, the queue fills up to its capacity.
    let slow = run(
        "queue-producer-consumer",
        &[
            ("producers", "2"),
            ("consumers", "1"),
            ("items", "150"),
            ("capacity", "5"),
            ("produce_work", "1000"),
            ("consume_work", "300000"),
        ],
    );
    let s = &slow.summary;
    assert_eq!(s.final_count, s.expected_count);
    assert_eq!(s.processes.queue_capacity, Some(5));
    assert_eq!(s.processes.queue_depth_max, Some(5.0));
    assert!(s.violations.is_empty());
    assert!(lanes_in_state(&slow.trace, "Process-", State::BlockedPut) >= 2);
    assert!(slow.trace.lanes.iter().any(|l| l.kind == LaneKind::Feeder));
    assert!(s.processes.messages_per_s.unwrap() > 0.0);
    // Fast consumers: they wait in get.
    let fast = run(
        "queue-producer-consumer",
        &[
            ("producers", "1"),
            ("consumers", "2"),
            ("items", "150"),
            ("capacity", "5"),
            ("produce_work", "300000"),
            ("consume_work", "1000"),
        ],
    );
    assert_eq!(fast.summary.final_count, fast.summary.expected_count);
    assert!(lanes_in_state(&fast.trace, "Process-", State::BlockedGet) >= 2);
    assert!(fast.summary.processes.queue_depth_max.unwrap() <= 5.0);
}

#[test]
fn empty_says_true_while_an_item_is_in_flight() {
    let _g = serial();
    let s = run("queue-qsize-unreliable", &[("items", "1000")]).summary;
    let wrong = s.processes.empty_while_qsize_positive.unwrap();
    assert!(wrong > 0 && wrong <= 1000, "{wrong}");
    assert!(s.processes.empty_mismatch_samples.unwrap() > 0);
    assert!(s.processes.queue_samples.unwrap() >= 1000);
    eprintln!("empty() True while qsize() >= 1: {wrong} of 1000");
}

#[test]
fn shared_value_loses_updates_without_the_lock_and_none_with_it() {
    let _g = serial();
    let knobs = [("processes", "2"), ("increments", "100000")];
    let unlocked = run("shared-value", &[knobs[0], knobs[1], ("lock", "false")]).summary;
    assert_eq!(unlocked.expected_count, Some(200_000));
    assert!(
        unlocked.lost_updates.unwrap() > 0,
        "{:?}",
        unlocked.lost_updates
    );
    let locked = run("shared-value", &[knobs[0], knobs[1], ("lock", "true")]).summary;
    assert_eq!(locked.lost_updates, Some(0));
    assert!(
        locked
            .time_per_state_s
            .get(&State::WaitLock)
            .copied()
            .unwrap_or(0.0)
            > 0.0
    );
    eprintln!(
        "shared-value 2 x 100k: lost {:?} without the lock; {:.3} s vs {:.3} s",
        unlocked.lost_updates, unlocked.wall_s, locked.wall_s
    );
}

#[test]
fn queue_vs_shared_memory_reports_all_three_rates() {
    let _g = serial();
    let s = run("queue-vs-shared-memory", &[("items", "5000")]).summary;
    let rates = s.processes.messages_per_s_by_way.unwrap();
    for way in ["queue", "value_semaphores", "value_polled"] {
        assert!(rates[way] > 100.0, "{way}: {rates:?}");
    }
    assert_eq!(s.processes.messages_per_s, Some(rates["queue"]));
}

#[test]
fn return_values_three_ways_and_the_value_argument_error() {
    let _g = serial();
    for (shared, counted) in [
        ("argument", false),
        ("initializer", true),
        ("manager", true),
    ] {
        let s = run(
            "return-values",
            &[("processes", "2"), ("items", "600"), ("shared", shared)],
        )
        .summary;
        let ms = s.processes.return_ms_by_way.clone().unwrap();
        for way in ["file", "queue", "pool"] {
            assert!(ms[way] > 0.0, "{shared}: {ms:?}");
        }
        assert_eq!(s.results_in_order, Some(true), "{shared}");
        if counted {
            assert_eq!(s.final_count, Some(600), "{shared}");
            assert!(s.processes.python_exception.is_none());
        } else {
            let e = s.processes.python_exception.unwrap();
            assert!(e.starts_with("RuntimeError: Synchronized objects"), "{e}");
        }
    }
}
