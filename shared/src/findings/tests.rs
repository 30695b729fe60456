//! Each rule on small hand-built runs: it fires with its numbers on one made to show it and
//! stays quiet on a control.

use std::collections::BTreeMap;

use super::*;
use crate::spec::KnobValue;
use crate::state::State;
use crate::summary::{EndReason, Figures};
use crate::trace::{
    CounterId, CounterKind, CounterTrack, GilFlavour, LaneKind, Mark, MarkKind, QueueId, Sample,
    Span,
};

const MS: u64 = 1_000_000;

pub fn summary() -> Summary {
    Summary {
        preset: "test".into(),
        knobs: BTreeMap::new(),
        wall_s: 1.0,
        baseline_wall_s: None,
        speedup: None,
        cores_busy_mean: 1.0,
        gil_handoffs: Some(100),
        gil_hold_ms_median: Some(5.0),
        gil_wait_ms_total: Some(0.0),
        gil_drop_requests: Some(0),
        baseline_ops_per_s: None,
        ns_per_bytecode: 3.0,
        bytecodes: 1,
        time_per_state_s: BTreeMap::new(),
        end: EndReason::Finished,
        violations: vec![],
        invariants_ok: true,
        engine: crate::spec::Engine::Emulated,
        sampling_hz: None,
        output: None,
        figures: Figures::default(),
    }
}

/// A trace of one interpreter with `gil`, `lanes` lanes and these spans `(lane, state, t0
/// ms, t1 ms)`.
pub fn trace(gil: GilFlavour, lanes: u32, spans: &[(u32, State, u64, u64)]) -> Trace {
    Trace {
        spans: spans
            .iter()
            .map(|&(lane, state, t0, t1)| Span {
                lane: LaneId(lane),
                state,
                t0: t0 * MS,
                t1: t1 * MS,
                task: None,
            })
            .collect(),
        end: spans.iter().map(|s| s.3).max().unwrap_or(0) * MS,
        ..Trace::threads(gil, lanes)
    }
}

fn rules(found: &[Finding]) -> Vec<&'static str> {
    found.iter().map(|f| f.facts.rule()).collect()
}

/// Two threads taking turns: each runs 10 ms while the other waits.
fn turns() -> Vec<(u32, State, u64, u64)> {
    use State::*;
    vec![
        (0, Running, 0, 10),
        (0, WaitGil, 10, 20),
        (0, Running, 20, 30),
        (1, WaitGil, 0, 10),
        (1, Running, 10, 20),
        (1, WaitGil, 20, 30),
    ]
}

#[test]
fn gil_bound_fires_for_threads_taking_turns_and_not_without_a_gil() {
    let s = summary();
    let found = findings(&s, &trace(GilFlavour::Current, 2, &turns()), Some(2));
    assert_eq!(rules(&found), ["gil_bound"]);
    assert_eq!(
        found[0].facts,
        Facts::GilBound {
            threads: 2,
            cores_busy: 1.0,
            handoffs: 100
        }
    );
    assert_eq!(found[0].evidence.len(), 2, "one wait per thread");
    assert_eq!(
        found[0].sentence(),
        "2 threads, about 1.0 core busy (100 GIL turns): try processes or gil=none."
    );

    let mut free = summary();
    free.gil_handoffs = None;
    assert!(findings(&free, &trace(GilFlavour::None, 2, &turns()), Some(2)).is_empty());
    let mut parallel = summary();
    parallel.cores_busy_mean = 1.9;
    assert!(findings(&parallel, &trace(GilFlavour::Current, 2, &turns()), Some(2)).is_empty());
    let mut with_main = trace(GilFlavour::Current, 3, &turns());
    with_main.lanes[2].kind = LaneKind::Main;
    with_main.spans.push(Span {
        lane: LaneId(2),
        state: State::WaitGil,
        t0: 0,
        t1: 30 * MS,
        task: None,
    });
    with_main.spans.push(Span {
        lane: LaneId(2),
        state: State::Running,
        t0: 30 * MS,
        t1: 31 * MS,
        task: None,
    });
    assert_eq!(
        findings(&s, &with_main, None)[0].facts,
        found[0].facts,
        "the main thread is not one of the threads"
    );
    // One after another, barely waiting: the speed-up, where measured, still tells.
    let in_turn = [(0, State::Running, 0, 10), (1, State::Running, 10, 20)];
    let t = trace(GilFlavour::Current, 2, &in_turn);
    assert!(
        findings(&s, &t, None).is_empty(),
        "no wait, no speed-up known"
    );
    let mut no_gain = summary();
    no_gain.speedup = Some(1.0);
    assert_eq!(rules(&findings(&no_gain, &t, None)), ["gil_bound"]);
    no_gain.speedup = Some(1.9);
    assert!(findings(&no_gain, &t, None).is_empty());
    let alone = [(0, State::Running, 0, 30)];
    assert!(findings(&s, &trace(GilFlavour::Current, 1, &alone), Some(2)).is_empty());
}

#[test]
fn lost_updates_point_from_the_switch_to_the_stale_write() {
    let mut s = summary();
    s.figures.expected_count = Some(4000);
    s.figures.final_count = Some(3877);
    s.figures.lost_updates = Some(123);
    let mut t = trace(GilFlavour::Current, 2, &turns());
    t.marks.push(Mark {
        lane: LaneId(1),
        t: 25 * MS,
        kind: MarkKind::LostUpdate {
            read: 7,
            written: 8,
        },
    });
    let found = findings(&s, &t, None);
    assert_eq!(rules(&found), ["lost_updates", "gil_bound"], "wrong first");
    assert_eq!(found[0].severity, Severity::Wrong);
    assert_eq!(
        found[0].facts,
        Facts::LostUpdates {
            lost: 123,
            expected: 4000
        }
    );
    // Lane 1 last waited from 0 to 10 ms before its write at 25 ms (the wait from 20 ms
    // ends after the write).
    assert_eq!(
        found[0].evidence,
        [Evidence {
            lane: Some(LaneId(1)),
            t0: 0,
            t1: 25 * MS
        }]
    );
    assert!(found[0].sentence().starts_with("123 of 4000 updates lost"));

    s.figures.lost_updates = Some(0);
    assert_eq!(rules(&findings(&s, &t, None)), ["gil_bound"]);
}

#[test]
fn lock_overhead_compares_with_one_unlocked_thread() {
    let mut s = summary();
    s.figures.lost_updates = Some(0);
    s.figures.baseline_unlocked = Some(true);
    s.speedup = Some(0.4);
    let t = trace(
        GilFlavour::Current,
        2,
        &[
            (0, State::Running, 0, 10),
            (1, State::WaitLock, 0, 4),
            (1, State::Running, 4, 6),
            (1, State::WaitLock, 6, 12),
        ],
    );
    let found = findings(&s, &t, None);
    let f = found
        .iter()
        .find(|f| f.facts.rule() == "lock_overhead")
        .expect("fires");
    assert_eq!(
        f.facts,
        Facts::LockOverhead {
            slowdown: 2.5,
            waits: 2
        }
    );
    assert_eq!(f.severity, Severity::Note);
    assert_eq!(
        f.evidence[0],
        Evidence {
            lane: Some(LaneId(1)),
            t0: 6 * MS,
            t1: 12 * MS
        },
        "the longest wait first"
    );
    assert!(f.sentence().contains("2.50× slower"), "{}", f.sentence());

    let quiet = |s: &Summary| !rules(&findings(s, &t, None)).contains(&"lock_overhead");
    // Just under the threshold; without the lock in the run; with lost updates.
    s.speedup = Some(1.0 / (lock::MIN_SLOWDOWN - 0.01));
    assert!(quiet(&s));
    s.speedup = Some(0.4);
    s.figures.baseline_unlocked = Some(false);
    assert!(quiet(&s));
    s.figures.baseline_unlocked = Some(true);
    s.figures.lost_updates = Some(3);
    assert!(quiet(&s));
}

#[test]
fn convoy_needs_long_waits_right_after_io() {
    use State::*;
    let spans = |wait: u64| {
        (0..4)
            .flat_map(|i| {
                let t = i * 20;
                [(0, Io, t, t + 10), (0, WaitGil, t + 10, t + 10 + wait)]
            })
            .collect::<Vec<_>>()
    };
    let found = findings(&summary(), &trace(GilFlavour::Current, 1, &spans(4)), None);
    assert_eq!(rules(&found), ["convoy"]);
    assert_eq!(
        found[0].facts,
        Facts::Convoy {
            waits: 4,
            median_wait_ms: 4.0
        }
    );
    assert_eq!(found[0].evidence.len(), 4);
    assert_eq!(
        found[0].sentence(),
        "Back from I/O, a thread waited a median of 4.0 ms for the GIL (4 times)."
    );
    assert!(findings(&summary(), &trace(GilFlavour::Current, 1, &spans(0)), None).is_empty());
}

fn queue_trace(put_blocked: u64, get_blocked: u64) -> Trace {
    use State::*;
    let mut t = trace(
        GilFlavour::Current,
        2,
        &[
            (0, Running, 0, 100 - put_blocked),
            (0, BlockedPut, 100 - put_blocked, 100),
            (1, BlockedGet, 0, get_blocked),
            (1, Running, get_blocked, 100),
        ],
    );
    let q = QueueId(0);
    t.marks = vec![
        Mark {
            lane: LaneId(0),
            t: MS,
            kind: MarkKind::Put { queue: q, item: 0 },
        },
        Mark {
            lane: LaneId(1),
            t: 2 * MS,
            kind: MarkKind::Get { queue: q, item: 0 },
        },
    ];
    t
}

#[test]
fn queue_full_and_empty_read_the_blocked_share_of_each_side() {
    let found = findings(&summary(), &queue_trace(60, 5), None);
    assert_eq!(rules(&found), ["queue_full"]);
    assert_eq!(
        found[0].facts,
        Facts::QueueFull {
            share: 0.6,
            producers: 1
        }
    );
    assert_eq!(
        found[0].sentence(),
        "The queue was full 60 % of the time: the producer waited for the consumer."
    );
    let found = findings(&summary(), &queue_trace(5, 50), None);
    assert_eq!(rules(&found), ["queue_empty"]);
    assert_eq!(found[0].evidence[0].lane, Some(LaneId(1)));
    assert!(findings(&summary(), &queue_trace(5, 5), None).is_empty());
}

#[test]
fn qsize_disagreeing_points_at_the_samples_that_differ() {
    let mut s = summary();
    s.figures.queue_samples = Some(3);
    s.figures.qsize_mismatch_samples = Some(1);
    s.figures.empty_mismatch_samples = Some(2);
    let mut t = trace(GilFlavour::Current, 1, &[]);
    let q = QueueId(0);
    t.counters = vec![
        CounterTrack {
            id: CounterId(0),
            name: "depth".into(),
            kind: CounterKind::QueueDepth { queue: q },
        },
        CounterTrack {
            id: CounterId(1),
            name: "qsize".into(),
            kind: CounterKind::QueueQsize { queue: q },
        },
    ];
    let sample = |c, t, value| Sample {
        counter: CounterId(c),
        t,
        value,
    };
    t.samples = vec![
        sample(0, 1, 1.0),
        sample(1, 1, 1.0),
        sample(0, 2, 2.0),
        sample(1, 2, 0.0),
    ];
    let found = findings(&s, &t, None);
    assert_eq!(rules(&found), ["queue_probe_wrong"]);
    assert_eq!(
        found[0].evidence,
        [Evidence {
            lane: None,
            t0: 2,
            t1: 2
        }]
    );
    assert_eq!(
        found[0].sentence(),
        "Wrong answers in 3 samples: qsize() 1, empty() 2."
    );
    s.figures.qsize_mismatch_samples = Some(0);
    assert_eq!(
        findings(&s, &t, None)[0].sentence(),
        "Wrong answers in 3 samples: qsize() 0, empty() 2."
    );
    s.figures.empty_mismatch_samples = Some(0);
    assert!(findings(&s, &t, None).is_empty());
}

#[test]
fn start_up_counts_parallel_starts_once() {
    use State::*;
    let spans = |start: u64| {
        vec![
            (0, Starting, 0, start),
            (1, Starting, 0, start),
            (0, Running, start, 100),
            (1, Running, start, 100),
        ]
    };
    let found = findings(&summary(), &trace(GilFlavour::Current, 2, &spans(30)), None);
    assert_eq!(rules(&found), ["start_up"]);
    assert_eq!(
        found[0].facts,
        Facts::StartUp {
            processes: 2,
            ms: 30.0,
            share: 0.3
        }
    );
    assert_eq!(found[0].severity, Severity::Slow);
    assert_eq!(
        found[0].sentence(),
        "Starting 2 processes took 30 ms, 30 % of the run."
    );
    let small = findings(&summary(), &trace(GilFlavour::Current, 2, &spans(5)), None);
    assert_eq!(small[0].severity, Severity::Note);
    assert!(findings(&summary(), &trace(GilFlavour::Current, 2, &spans(1)), None).is_empty());
}

#[test]
fn cores_limit_needs_more_workers_than_cores_and_no_gil_in_the_way() {
    let mut s = summary();
    s.speedup = Some(1.9);
    s.cores_busy_mean = 2.0;
    s.knobs.insert("processes".to_string(), KnobValue::Int(4));
    let t = trace(GilFlavour::Current, 1, &[(0, State::Running, 0, 10)]);
    let found = findings(&s, &t, Some(2));
    assert_eq!(rules(&found), ["cores_limit"]);
    assert_eq!(
        found[0].sentence(),
        "Speed-up 1.90× on 2 cores: 4 workers cannot beat the core count."
    );
    assert!(findings(&s, &t, Some(4)).is_empty());
    assert!(findings(&s, &t, None).is_empty());
    // I/O-bound workers beat the core count: the cores were not the limit.
    s.speedup = Some(3.9);
    assert!(findings(&s, &t, Some(2)).is_empty());
    s.speedup = Some(1.9);
    s.cores_busy_mean = 0.9;
    assert!(findings(&s, &t, Some(2)).is_empty());
    // GIL-bound threads on one core: the GIL is the limit, not the cores.
    s.cores_busy_mean = 1.0;
    s.speedup = Some(1.0);
    let found = findings(&s, &trace(GilFlavour::Current, 2, &turns()), Some(1));
    assert_eq!(rules(&found), ["gil_bound"]);
}

#[test]
fn chunking_reports_tasks_of_several_items() {
    let mut s = summary();
    s.figures.chunksize = Some(3);
    s.knobs.insert("items".to_string(), KnobValue::Int(20));
    let t = trace(GilFlavour::Current, 1, &[]);
    let found = findings(&s, &t, None);
    assert_eq!(rules(&found), ["chunking"]);
    assert_eq!(
        found[0].sentence(),
        "map sent 7 tasks of 3 items (chunksize) for 20 items."
    );
    s.figures.chunksize = Some(1);
    assert!(findings(&s, &t, None).is_empty());
}

#[test]
fn json_carries_rule_numbers_severity_sentence_and_evidence() {
    let found = Finding::new(
        Facts::Convoy {
            waits: 3,
            median_wait_ms: 1.5,
        },
        Severity::Slow,
        vec![Evidence {
            lane: Some(LaneId(2)),
            t0: 1,
            t1: 2,
        }],
    );
    let json = serde_json::to_value(&found).unwrap();
    assert_eq!(json["rule"], found.facts.rule());
    assert_eq!(json["numbers"]["median_wait_ms"], 1.5);
    assert_eq!(json["severity"], "slow");
    assert_eq!(json["sentence"], found.sentence());
    assert_eq!(json["evidence"][0]["lane"], 2);
    assert_eq!(serde_json::from_value::<Finding>(json).unwrap(), found);
}
