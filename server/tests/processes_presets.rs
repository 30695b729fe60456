//! What the process presets must show (issue #4), with bounds generous enough for a shared
//! 2-core machine. Timing tests run one at a time (`serial`) and take the best of a few runs:
//! other load only ever makes a parallel run look worse.

mod common;
use common::{busy_between, cores, ensure, jiffies, run, serial, timing, wait_for_quiet};
use gilscope_shared::summary::Summary;
use gilscope_shared::trace::{LaneKind, State, Trace};

/// A timing run and how many cores other work on the machine used meanwhile (the machine's
/// busy time less the run's own: its experiment's cores over its wall time, plus one core
/// for its one-process baseline).
fn timed_run(preset: &str, knobs: &[(&str, &str)]) -> (Summary, f64) {
    wait_for_quiet();
    let (a, t) = (jiffies(), std::time::Instant::now());
    let s = run(preset, knobs).summary;
    let (b, elapsed) = (jiffies(), t.elapsed().as_secs_f64());
    let ours = s.cores_busy_mean * s.wall_s + s.baseline_wall_s.unwrap_or(0.0);
    let foreign = (busy_between(a, b) * elapsed - ours).max(0.0) / elapsed;
    eprintln!(
        "{preset} {knobs:?}: speedup {:?} cores {:.2} start {:?} ms; other load {foreign:.2} cores",
        s.speedup, s.cores_busy_mean, s.figures.process_start_ms_median
    );
    (s, foreign)
}

/// The speed-up of up to `tries` runs: the first that reaches `want`, else the one with the
/// least other load on the machine, with that load.
fn best_speedup(preset: &str, knobs: &[(&str, &str)], want: f64, tries: usize) -> (Summary, f64) {
    let mut best: Option<(Summary, f64)> = None;
    for _ in 0..tries {
        let (s, foreign) = timed_run(preset, knobs);
        if s.speedup.unwrap_or(0.0) >= want && s.cores_busy_mean >= want {
            return (s, foreign);
        }
        if best.as_ref().is_none_or(|b| foreign < b.1) {
            best = Some((s, foreign));
        }
    }
    best.unwrap()
}

/// Every moment two lanes of different worker processes both held their own GIL, in ns: the
/// structural fact (one GIL per process) whatever the machine's load.
fn parallel_gil_ns(trace: &Trace) -> u64 {
    let worker = |lane: gilscope_shared::trace::LaneId| {
        trace
            .lane(lane)
            .filter(|l| l.interp.0 > 0)
            .map(|l| l.interp)
    };
    let mut edges: Vec<(u64, i32, u32)> = Vec::new();
    for s in trace.spans.iter().filter(|s| s.state == State::Running) {
        if let Some(i) = worker(s.lane) {
            edges.push((s.t0, 1, i.0));
            edges.push((s.t1, -1, i.0));
        }
    }
    edges.sort();
    let (mut holders, mut last, mut both) = (0i32, 0u64, 0u64);
    for (t, d, _) in edges {
        if holders >= 2 {
            both += t - last;
        }
        holders += d;
        last = t;
    }
    both
}

/// The timing claim holds on a quiet machine; on a busy one (after waiting and retrying) the
/// shortfall must be explained by the other load, and the structural claim must hold anyway.
fn assert_parallel(what: &str, s: &Summary, foreign: f64, trace_check: impl FnOnce()) {
    trace_check();
    let speedup = s.speedup.unwrap();
    if foreign < 0.3 {
        assert!(
            speedup >= 1.5,
            "{what}: speedup {speedup:.2} on a quiet machine"
        );
        assert!(
            s.cores_busy_mean >= 1.5,
            "{what}: cores {:.2}",
            s.cores_busy_mean
        );
    } else {
        // With `foreign` cores taken, at most `cores - foreign` are left for the processes;
        // but however busy the machine, processes that run in parallel are never slower
        // than one process doing all the work (the scheduler gives two runnable processes
        // at least the share of one), so the floor never drops below 1.
        let floor = (1.5 * (cores() - foreign) / cores()).clamp(1.0, 1.5);
        assert!(
            speedup >= floor * 0.9,
            "{what}: speedup {speedup:.2} with {foreign:.2} cores of other load"
        );
        eprintln!("{what}: the machine stayed busy ({foreign:.2} cores); speedup {speedup:.2}");
    }
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
        let knobs = [("processes", n), ("work", work.as_str())];
        let (s, foreign) = best_speedup("cpu-processes", &knobs, 1.7, 3);
        let started = s.figures.processes_started.unwrap();
        assert_eq!(started, n.parse::<u32>().unwrap());
        let start_ms = s.figures.process_start_ms_median.unwrap();
        assert!(start_ms > 0.5 && start_ms < 500.0, "start {start_ms} ms");
        assert_parallel(&format!("{n} processes"), &s, foreign, || {
            // The experiment's wall time (the trace also spans the baseline after it).
            let outcome = run("cpu-processes", &knobs);
            let wall = outcome.summary.wall_s * 1e9;
            let both = parallel_gil_ns(&outcome.trace) as f64;
            assert!(
                both > 0.5 * wall,
                "two GILs held together {both} of {wall} ns"
            );
        });
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
        let knobs = [("processes", n), ("items", "40"), ("work", "5000000")];
        let (s, foreign) = best_speedup("process-pool-map", &knobs, 1.7, 3);
        assert_eq!(s.figures.results_in_order, Some(true));
        // divmod(40, 4 * n), plus one for a remainder: 5 for 2 workers, 3 for 4.
        let want = if n == "2" { 5 } else { 3 };
        assert_eq!(s.figures.chunksize, Some(want));
        assert_parallel(&format!("Pool({n})"), &s, foreign, || {
            let outcome = run("process-pool-map", &knobs);
            let wall = outcome.summary.wall_s * 1e9;
            let both = parallel_gil_ns(&outcome.trace) as f64;
            assert!(
                both > 0.3 * wall,
                "two GILs held together {both} of {wall} ns"
            );
        });
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
    assert_eq!(outcome.summary.figures.chunksize, Some(7));
    assert_eq!(outcome.summary.figures.results_in_order, Some(true));
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
    assert_eq!(outcome.summary.figures.results_in_order, Some(true));
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
    assert_eq!(s.figures.final_count, s.figures.expected_count);
    assert_eq!(s.figures.queue_capacity, Some(5));
    assert_eq!(s.figures.queue_depth_max, Some(5.0));
    assert!(s.violations.is_empty());
    assert!(lanes_in_state(&slow.trace, "Process-", State::BlockedPut) >= 2);
    assert!(slow.trace.lanes.iter().any(|l| l.kind == LaneKind::Feeder));
    assert!(s.figures.messages_per_s.unwrap() > 0.0);
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
    assert_eq!(
        fast.summary.figures.final_count,
        fast.summary.figures.expected_count
    );
    assert!(lanes_in_state(&fast.trace, "Process-", State::BlockedGet) >= 2);
    assert!(fast.summary.figures.queue_depth_max.unwrap() <= 5.0);
}

#[test]
fn empty_says_true_while_an_item_is_in_flight() {
    let _g = serial();
    let s = run("queue-qsize-unreliable", &[("items", "1000")]).summary;
    let wrong = s.figures.empty_while_qsize_positive.unwrap();
    assert!(wrong > 0 && wrong <= 1000, "{wrong}");
    assert!(s.figures.empty_mismatch_samples.unwrap() > 0);
    assert!(s.figures.queue_samples.unwrap() >= 1000);
    eprintln!("empty() True while qsize() >= 1: {wrong} of 1000");
    // Never full at the default capacity of a million.
    assert_eq!(
        (s.figures.full_said, s.figures.full_wrong),
        (Some(0), Some(0))
    );
}

/// `full()` reads the capacity semaphore, which only the one producer lowers: when it says
/// "not full", the `put(block=False)` right after finds room, every time. It can be wrong only
/// the other way (it said full, and the consumer freed a slot in between).
#[test]
fn full_can_only_be_wrong_when_it_says_full() {
    let _g = serial();
    let s = run(
        "queue-qsize-unreliable",
        &[("items", "1000"), ("capacity", "2")],
    )
    .summary;
    let (said, wrong) = (s.figures.full_said.unwrap(), s.figures.full_wrong.unwrap());
    assert!(said > 0, "the queue of 2 never filled");
    assert!(
        wrong <= said,
        "full() wrong {wrong} times, said full {said} times"
    );
    eprintln!("full(): said full {said} of 1000 tries, wrong {wrong} times");
}

#[test]
fn shared_value_loses_updates_without_the_lock_and_none_with_it() {
    let _g = serial();
    let knobs = [("processes", "2"), ("increments", "100000")];
    let unlocked = run("shared-value", &[knobs[0], knobs[1], ("lock", "false")]).summary;
    assert_eq!(unlocked.figures.expected_count, Some(200_000));
    assert!(
        unlocked.figures.lost_updates.unwrap() > 0,
        "{:?}",
        unlocked.figures.lost_updates
    );
    let locked = run("shared-value", &[knobs[0], knobs[1], ("lock", "true")]).summary;
    assert_eq!(locked.figures.lost_updates, Some(0));
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
        unlocked.figures.lost_updates, unlocked.wall_s, locked.wall_s
    );
}

#[test]
fn queue_vs_shared_memory_reports_all_three_rates() {
    let _g = serial();
    let s = run("queue-vs-shared-memory", &[("items", "5000")]).summary;
    let rates = s.figures.messages_per_s_by_way.unwrap();
    for way in ["queue", "value_semaphores", "value_polled"] {
        assert!(rates[way] > 100.0, "{way}: {rates:?}");
    }
    assert_eq!(s.figures.messages_per_s, Some(rates["queue"]));
}

/// Small messages polled under a lock by more processes than there are cores: a process that
/// holds the lock is preempted while the others spin on it, and polling collapses to a few
/// hundred messages a second while a `Queue` moves over a hundred thousand (CPython 3.11 on two
/// machines of this project's kind: 609 against 169,693 and 324 against 101,238 messages/s,
/// two pairs of 2,000; the emulation 579 and 274). With one pair on two cores the ratio
/// depends on the machine's wake-ups: 10× on the first machine, 2.2–2.6× on the second, which
/// is no margin for a test (docs/fidelity.md).
#[test]
fn small_messages_polled_by_more_processes_than_cores_go_many_times_slower_than_a_queue() {
    let _g = serial();
    // Two processes a pair: twice as many as cores (two pairs on two cores), at most 8 pairs.
    let pairs = (cores() as u32).clamp(2, 8).to_string();
    // A run of 500 messages a pair is short (tens of milliseconds when nobody is preempted
    // holding the lock): in some runs no holder is, and polling keeps up, a few times slower
    // than the Queue (CPython too: one of five runs of 300 in a comparison). Three attempts,
    // as for the timings.
    timing("polling collapses", || {
        let s = run(
            "queue-vs-shared-memory",
            &[("items", "500"), ("pairs", pairs.as_str())],
        )
        .summary;
        assert!(s.end.is_finished(), "{:?}", s.end);
        let rates = s.figures.messages_per_s_by_way.unwrap();
        eprintln!("queue-vs-shared-memory, {pairs} pairs of 500: {rates:?}");
        ensure(rates["queue"] > 10.0 * rates["value_polled"], || {
            format!("{rates:?}")
        })
    });
}

/// Big messages: the Queue pickles each, pushes it through a 64 KB pipe in pieces and reads it
/// back allocation by allocation; the shared-memory slot copies it twice. Shared memory wins by
/// far (CPython 3.11 here: 693 against 14,829 messages/s at 1 MiB).
#[test]
fn big_messages_go_faster_through_shared_memory_than_through_a_queue() {
    let _g = serial();
    let s = run(
        "queue-vs-shared-memory",
        &[("items", "200"), ("message_bytes", "1048576")],
    )
    .summary;
    assert!(s.end.is_finished(), "{:?}", s.end);
    let rates = s.figures.messages_per_s_by_way.unwrap();
    assert!(
        rates["value_semaphores"] > 3.0 * rates["queue"],
        "{rates:?}"
    );
}

/// `pairs`: a way's pairs run at once, its processes named as CPython names them (the way's
/// producers, then its consumers). The run finishes only if every consumer got its `items` messages, whether
/// from the one shared Queue or from its pair's own slot.
#[test]
fn pairs_of_processes_run_each_way_at_once() {
    let _g = serial();
    let outcome = run(
        "queue-vs-shared-memory",
        &[("items", "400"), ("pairs", "3")],
    );
    let (s, t) = (&outcome.summary, &outcome.trace);
    assert!(s.end.is_finished(), "{:?}", s.end);
    assert_eq!(s.figures.processes_started, Some(18));
    let rates = s.figures.messages_per_s_by_way.clone().unwrap();
    assert_eq!(rates.len(), 3, "{rates:?}");
    // Each way's six processes: the time each was alive, from its first span to its last.
    let alive = |name: &str| {
        let interp = t.interpreters.iter().find(|i| i.name == name).unwrap().id;
        let lanes: Vec<_> = t
            .lanes
            .iter()
            .filter(|l| l.interp == interp)
            .map(|l| l.id)
            .collect();
        let spans = t.spans.iter().filter(|s| lanes.contains(&s.lane));
        let t0 = spans.clone().map(|s| s.t0).min().unwrap();
        (t0, spans.map(|s| s.t1).max().unwrap())
    };
    // A pair's life: from the first of its two processes' starts (the parent's `p.start()`)
    // to the last one's end. Every pair of a way overlaps every other (run one after the
    // other, none would): the way starts all its consumers before any producer, and a pair
    // ends only after its producer has started.
    for (way, first) in [("queue", 1), ("value_semaphores", 7), ("value_polled", 13)] {
        let pairs: Vec<(u64, u64)> = (0..3)
            .map(|k| {
                let (p, c) = (
                    alive(&format!("Process-{}", first + k)),
                    alive(&format!("Process-{}", first + 3 + k)),
                );
                (p.0.min(c.0), p.1.max(c.1))
            })
            .collect();
        for a in &pairs {
            for b in &pairs {
                assert!(
                    a.0 < b.1 && b.0 < a.1,
                    "{way}: pairs one after the other: {pairs:?}"
                );
            }
        }
    }
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
        let ms = s.figures.return_ms_by_way.clone().unwrap();
        for way in ["files", "queue", "pool"] {
            assert!(ms[way] > 0.0, "{shared}: {ms:?}");
        }
        assert_eq!(s.figures.results_in_order, Some(true), "{shared}");
        if counted {
            assert_eq!(s.figures.final_count, Some(600), "{shared}");
            assert!(s.figures.python_exception.is_none());
        } else {
            let e = s.figures.python_exception.unwrap();
            assert!(e.starts_with("RuntimeError: Synchronized objects"), "{e}");
        }
    }
}

#[test]
fn worker_processes_can_be_watched_live() {
    let _g = serial();
    let handle = gilscope_server::program::start(&common::spec(
        "cpu-processes",
        &[("processes", "2"), ("work", "150000000")],
    ))
    .unwrap();
    let mut rebuilt = Trace::default();
    let mut worker_open_span = false;
    while !handle.is_finished() {
        let delta = handle.drain();
        // A worker's lane shows its current state while it runs (its heartbeat).
        worker_open_span |= delta.open_spans.iter().any(|s| {
            s.state == State::Running
                && rebuilt
                    .lane(s.lane)
                    .and_then(|l| rebuilt.interpreter(l.interp))
                    .is_some_and(|i| i.name.starts_with("Process-"))
        });
        rebuilt.apply(delta);
        std::thread::sleep(std::time::Duration::from_millis(15));
    }
    rebuilt.apply(handle.drain());
    let outcome = handle.wait();
    assert!(outcome.summary.invariants_ok, "{:?}", outcome.summary.end);
    assert!(worker_open_span, "no live state of a worker lane was seen");
    assert_eq!(rebuilt.lanes.len(), outcome.trace.lanes.len());
    assert_eq!(rebuilt.spans.len(), outcome.trace.spans.len());
    // The workers' lanes are on the run's time axis: they start after the run and end
    // before it ends.
    for lane in outcome.trace.lanes.iter().filter(|l| l.interp.0 > 0) {
        let spans: Vec<_> = outcome
            .trace
            .spans
            .iter()
            .filter(|s| s.lane == lane.id)
            .collect();
        assert!(spans.iter().all(|s| s.t1 <= outcome.trace.end));
    }
}

/// The first `Process.start()` of an interpreter imports what forking needs (2.8 ms of
/// Python in the parent, before the fork); the later ones do not. Each child's `Starting` span
/// runs from its `p.start()`: the first is that much longer than the quickest later one.
#[test]
fn the_first_process_start_imports_and_the_later_ones_do_not() {
    let _g = serial();
    let outcome = run("return-values", &[("processes", "2"), ("items", "400")]);
    let t = &outcome.trace;
    let starting = |name: &str| {
        let lane = t.lanes.iter().find(|l| {
            l.interp.0 > 0 && {
                let interp = t.interpreters.iter().find(|i| i.id == l.interp).unwrap();
                interp.name == name
            }
        });
        let lane = lane.unwrap_or_else(|| panic!("no lane of {name}"));
        let s = t
            .spans
            .iter()
            .find(|s| s.lane == lane.id && s.state == State::Starting);
        s.unwrap_or_else(|| panic!("{name} never started"))
            .duration() as f64
            / 1e6
    };
    // The files way starts Process-1 first, then Process-2; the queue way 3 and 4.
    let first = starting("Process-1");
    let later: Vec<f64> = ["Process-2", "Process-3", "Process-4"]
        .map(starting)
        .to_vec();
    let quickest = later.iter().copied().fold(f64::MAX, f64::min);
    eprintln!("starting: first {first:.2} ms, later {later:.2?} ms");
    assert!(first >= 2.5, "first start {first} ms");
    assert!(
        quickest < first - 1.5,
        "first {first} ms, later {later:?} ms"
    );
    // Every lane ended, the children's too: their last events come after their `Done`.
    for lane in &t.lanes {
        assert!(
            t.spans
                .iter()
                .any(|s| s.lane == lane.id && s.state == State::Done),
            "lane {} never ended",
            lane.name
        );
    }
}
