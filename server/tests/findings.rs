//! Each finding on real runs: it fires with its numbers on a lesson run made to show it and
//! stays quiet on a control run. (The rules' thresholds are unit-tested in shared.)

mod common;

use common::{ensure, run, serial, timing};
use gilscope_server::program::start;
use gilscope_shared::findings::{findings, Facts, Finding};
use gilscope_shared::spec::{Engine, ExperimentSpec};

/// The findings of one run (cores: what the rule for cores is told).
fn found(preset: &str, knobs: &[(&str, &str)], cores: Option<u32>) -> Vec<Finding> {
    let outcome = run(preset, knobs);
    let found = findings(&outcome.summary, &outcome.trace, cores);
    eprintln!(
        "{preset} {knobs:?}: speed-up {:?}, lost {:?}",
        outcome.summary.speedup, outcome.summary.figures.lost_updates
    );
    for f in &found {
        eprintln!("{preset} {knobs:?}: {}", f.sentence());
        let end = outcome.trace.end;
        assert!(
            f.evidence.iter().all(|e| e.t0 <= e.t1 && e.t1 <= end),
            "{preset}: evidence off the timeline: {f:?}"
        );
    }
    found
}

fn rule<'a>(found: &'a [Finding], id: &str) -> Option<&'a Finding> {
    found.iter().find(|f| f.facts.rule() == id)
}

#[test]
fn gil_bound_fires_for_cpu_threads_and_not_without_a_gil() {
    let _g = serial();
    let small = [("threads", "3"), ("work", "3000000")];
    let shown = found("cpu-threads", &small, Some(2));
    let f = rule(&shown, "gil_bound").expect("GIL-bound on cpu-threads");
    let Facts::GilBound {
        threads, handoffs, ..
    } = f.facts
    else {
        unreachable!()
    };
    assert_eq!(threads, 3, "{f:?}");
    assert!(handoffs >= 3, "{f:?}");
    assert!(f.evidence.iter().all(|e| e.lane.is_some() && e.t1 > e.t0));

    let free = found(
        "cpu-threads",
        &[small[0], small[1], ("gil", "none")],
        Some(2),
    );
    assert!(rule(&free, "gil_bound").is_none(), "{free:?}");
    let processes = found(
        "cpu-processes",
        &[("processes", "2"), ("work", "3000000")],
        None,
    );
    assert!(rule(&processes, "gil_bound").is_none(), "{processes:?}");
}

#[test]
fn lost_updates_fire_on_a_race_and_not_under_the_lock() {
    let _g = serial();
    let race = [
        ("threads", "3"),
        // 20,000 lose none about one run in three (a few GIL turns in 5 ms).
        ("increments", "200000"),
        ("form", "call"),
        ("switch_interval_ms", "0.1"),
    ];
    let shown = found("counter-race", &race, None);
    let f = rule(&shown, "lost_updates").expect("lost updates");
    assert_eq!(
        shown[0].facts.rule(),
        "lost_updates",
        "most important first"
    );
    let Facts::LostUpdates { lost, expected } = f.facts else {
        unreachable!()
    };
    assert_eq!(expected, 600_000);
    assert!(lost > 0 && lost < expected, "{f:?}");
    assert!(!f.evidence.is_empty());
    assert!(
        f.evidence.iter().all(|e| e.lane.is_some() && e.t1 > e.t0),
        "each from a switch to a stale write: {f:?}"
    );

    let mut locked = race.to_vec();
    locked.push(("lock", "true"));
    assert!(rule(&found("counter-race", &locked, None), "lost_updates").is_none());
}

#[test]
fn lock_overhead_fires_under_the_lock_and_not_without_it() {
    let _g = serial();
    let knobs = [
        ("threads", "3"),
        ("increments", "200000"),
        ("form", "call"),
        ("switch_interval_ms", "0.1"),
    ];
    let mut locked = knobs.to_vec();
    locked.push(("lock", "true"));
    let shown = found("counter-race", &locked, None);
    let f = rule(&shown, "lock_overhead").expect("lock overhead");
    let Facts::LockOverhead { slowdown, waits } = f.facts else {
        unreachable!()
    };
    assert!(slowdown >= 1.2 && waits > 0, "{f:?}");
    assert!(rule(&shown, "lost_updates").is_none(), "{shown:?}");
    assert!(
        f.evidence.iter().all(|e| e.lane.is_some() && e.t1 > e.t0),
        "waits for the lock: {f:?}"
    );

    let unlocked = found("counter-race", &knobs, None);
    assert!(rule(&unlocked, "lock_overhead").is_none(), "{unlocked:?}");
}

#[test]
fn convoy_fires_behind_a_cpu_thread_and_not_without_a_gil() {
    let _g = serial();
    // Long enough for dozens of round trips (the lesson's small knobs make a handful).
    let small = [("work", "30000000"), ("switch_interval_ms", "1")];
    let shown = found("convoy-effect", &small, None);
    let f = rule(&shown, "convoy").expect("convoy");
    let Facts::Convoy { median_wait_ms, .. } = f.facts else {
        unreachable!()
    };
    assert!(median_wait_ms >= 0.5, "{f:?}");
    let free = found(
        "convoy-effect",
        &[small[0], small[1], ("gil", "none")],
        None,
    );
    assert!(rule(&free, "convoy").is_none(), "{free:?}");
    // I/O threads with no CPU-bound thread take the GIL back at once.
    let io = found("io-threads", &[], None);
    assert!(rule(&io, "convoy").is_none(), "{io:?}");
}

#[test]
fn queue_full_and_empty_follow_the_slower_side() {
    let _g = serial();
    let base = [
        ("items", "200"),
        ("produce_work", "1000"),
        ("consume_work", "20000"),
    ];
    let slow_consumer = found("queue-producer-consumer", &base, None);
    let f = rule(&slow_consumer, "queue_full").expect("queue full");
    let Facts::QueueFull { share, producers } = f.facts else {
        unreachable!()
    };
    assert!((0.2..=1.0).contains(&share), "{f:?}");
    assert!(
        producers >= 2,
        "two producers (and whoever puts the sentinels): {f:?}"
    );
    assert!(
        rule(&slow_consumer, "queue_empty").is_none(),
        "{slow_consumer:?}"
    );

    // A queue with room for every item never blocks a put.
    let mut roomy = base.to_vec();
    roomy.push(("capacity", "1000"));
    assert!(rule(
        &found("queue-producer-consumer", &roomy, None),
        "queue_full"
    )
    .is_none());

    let slow_producers = [
        ("items", "200"),
        ("produce_work", "20000"),
        ("consume_work", "1000"),
    ];
    let shown = found("queue-producer-consumer", &slow_producers, None);
    assert!(rule(&shown, "queue_empty").is_some(), "{shown:?}");
}

#[test]
fn qsize_probes_fire_on_the_unreliable_lesson_only() {
    let _g = serial();
    let shown = found("queue-qsize-unreliable", &[("items", "300")], None);
    let f = rule(&shown, "queue_probe_wrong").expect("qsize()/empty() wrong");
    let Facts::QueueProbeWrong {
        qsize_wrong,
        empty_wrong,
        samples,
    } = f.facts
    else {
        unreachable!()
    };
    assert!(qsize_wrong + empty_wrong > 0 && samples > 0, "{f:?}");
    let threads = found(
        "cpu-threads",
        &[("threads", "2"), ("work", "1000000")],
        None,
    );
    assert!(rule(&threads, "queue_probe_wrong").is_none());
}

#[test]
fn start_up_and_chunking_on_a_pool_and_neither_for_threads() {
    let _g = serial();
    let small = [("processes", "2"), ("items", "20"), ("work", "200000")];
    let shown = found("process-pool-map", &small, None);
    let f = rule(&shown, "start_up").expect("start-up");
    let Facts::StartUp { processes, ms, .. } = f.facts else {
        unreachable!()
    };
    assert!(processes >= 2 && ms > 0.0, "{f:?}");
    // CPython's default chunksize for 20 items on 2 processes: ceil(20 / 8) = 3.
    let f = rule(&shown, "chunking").expect("chunking");
    assert_eq!(
        f.facts,
        Facts::Chunking {
            tasks: 7,
            chunksize: 3,
            items: 20
        }
    );
    let mut one = small.to_vec();
    one.push(("chunksize", "1"));
    assert!(rule(&found("process-pool-map", &one, None), "chunking").is_none());

    let threads = found(
        "cpu-threads",
        &[("threads", "2"), ("work", "1000000")],
        None,
    );
    assert!(rule(&threads, "start_up").is_none() && rule(&threads, "chunking").is_none());
}

#[test]
fn cores_limit_fires_with_more_processes_than_cores() {
    let _g = serial();
    let knobs = [("processes", "3"), ("work", "20000000")];
    // Told the machine has 2 cores: 3 processes cannot beat 2.
    timing("cores limit", || {
        let shown = found("cpu-processes", &knobs, Some(2));
        let f = rule(&shown, "cores_limit");
        ensure(f.is_some(), || format!("no cores-limit finding: {shown:?}"))
    });
    // Told it has 4: the core count was not the limit.
    let quiet = found("cpu-processes", &knobs, Some(4));
    assert!(rule(&quiet, "cores_limit").is_none(), "{quiet:?}");
}

/// The findings of a lesson's Python run on the machine's CPython.
fn found_on_cpython(preset: &str, knobs: &[(&str, &str)]) -> Vec<Finding> {
    let _g = serial();
    let spec = ExperimentSpec {
        engine: Some(Engine::Cpython),
        ..common::spec(preset, knobs)
    };
    let outcome = start(&spec).expect("python3 is installed").wait();
    assert!(
        outcome.summary.end.is_finished(),
        "{preset} on CPython: {:?}",
        outcome.summary.end
    );
    let found = findings(&outcome.summary, &outcome.trace, None);
    for f in &found {
        eprintln!("{preset} {knobs:?} on CPython: {}", f.sentence());
    }
    found
}

#[test]
fn lost_updates_and_wrong_probes_fire_on_cpython_runs_too() {
    let race = [
        ("threads", "3"),
        ("increments", "200000"),
        ("form", "call"),
        ("switch_interval_ms", "0.1"),
    ];
    let shown = found_on_cpython("counter-race", &race);
    let f = rule(&shown, "lost_updates").expect("lost updates on CPython");
    let Facts::LostUpdates { lost, expected } = f.facts else {
        unreachable!()
    };
    assert_eq!(expected, 600_000, "{f:?}");
    assert!(lost > 0 && lost < expected, "{f:?}");
    let mut locked = race.to_vec();
    locked.push(("lock", "true"));
    let quiet = found_on_cpython("counter-race", &locked);
    assert!(rule(&quiet, "lost_updates").is_none(), "{quiet:?}");

    let probes = found_on_cpython("queue-qsize-unreliable", &[]);
    let f = rule(&probes, "queue_probe_wrong").expect("empty() wrong on CPython");
    let Facts::QueueProbeWrong {
        empty_wrong,
        samples,
        ..
    } = f.facts
    else {
        unreachable!()
    };
    assert!(empty_wrong > 0 && samples > 0, "{f:?}");
}
