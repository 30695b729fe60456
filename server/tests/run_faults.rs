//! Faults stay local and caps hold: a run whose preset panics fails with the panic's message
//! and the run manager's queue goes on; a run that records too many events, or whose worker
//! processes together do too much work, ends with `hit_cap` within its bounds.

mod common;

use std::time::Duration;

use gilscope_server::engine::interpreter::interp::{EngineError, RunEnv};
use gilscope_server::engine::{start_with_caps, Caps, Experiment, Lesson, Preset, CAPS};
use gilscope_server::presets;
use gilscope_server::presets::cpu_threads::CpuThreads;
use gilscope_server::runs::{Client, Runs, Update};
use gilscope_server::Limits;
use gilscope_shared::protocol::{RunId, RunInfo, RunState};
use gilscope_shared::spec::{Group, Knobs};
use gilscope_shared::summary::{Cap, EndReason};

/// A preset whose experiment cannot even be built: its code panics.
struct Panicky;

static PANICKY: Lesson = Lesson {
    name: "panicky",
    group: Group::Threads,
    claim: "panics",
    description: "a preset with a bug",
    python: "",
    knobs: Vec::new,
    small: &[],
};

impl Preset for Panicky {
    fn lesson(&self) -> &'static Lesson {
        &PANICKY
    }
    fn build(&self, _knobs: &Knobs, _env: &RunEnv) -> Result<Experiment, EngineError> {
        panic!("a bug in the panicky preset");
    }
}

static REGISTRY: &[&dyn Preset] = &[&Panicky, &CpuThreads];

/// Waits for run `id` to be over, from the manager's updates.
async fn over(
    updates: &mut tokio::sync::broadcast::Receiver<Update>,
    runs: &Runs,
    id: RunId,
) -> RunInfo {
    let wait = async {
        loop {
            let info = runs.get(id).expect("the run is known");
            if info.state.is_over() {
                return info;
            }
            let _ = updates.recv().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the run ends within 30 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_run_fails_with_its_reason_and_the_queue_goes_on() {
    let runs = Runs::with_presets(REGISTRY, &Limits::default());
    let mut updates = runs.subscribe();
    let executor = runs.spawn_executor();
    let bad = runs
        .submit(common::spec("panicky", &[]), Client::Session(1))
        .expect("a valid spec");
    let good = runs
        .submit(
            common::spec("cpu-threads", &[("threads", "2"), ("work", "100000")]),
            Client::Session(1),
        )
        .expect("a valid spec");

    let bad = over(&mut updates, &runs, bad.id).await;
    assert_eq!(bad.state, RunState::Failed);
    let error = bad.error.expect("a failed run says why");
    assert!(
        error.contains("a bug in the panicky preset"),
        "the reason names the panic: {error}"
    );

    let good = over(&mut updates, &runs, good.id).await;
    assert_eq!(good.state, RunState::Finished, "{:?}", good.error);
    runs.shutdown();
    executor.await.expect("the executor ends cleanly");
}

/// Starts `preset` with `knobs` within `caps`; its outcome, within 30 s.
fn run_capped(
    preset: &str,
    knobs: &[(&str, &str)],
    caps: Caps,
) -> gilscope_server::engine::RunOutcome {
    let (preset, knobs) = presets::resolve(&common::spec(preset, knobs)).expect("a valid spec");
    let handle = start_with_caps(preset, knobs, caps).expect("the run starts");
    // Wait for the outcome itself (no polling); a run that does not end fails the test.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // The receiver is gone only if the test already failed.
        let _ = tx.send(handle.wait());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the run ends within 30 s")
}

#[test]
fn a_run_that_records_too_many_events_stops_at_the_event_cap() {
    let caps = Caps {
        max_events: 20_000,
        ..CAPS
    };
    // Python 2's GIL released every bytecode: hand-offs by the hundred thousand per second.
    let outcome = run_capped(
        "gil-flavours",
        &[
            ("gil", "ticks"),
            ("check_ticks", "1"),
            ("threads", "4"),
            ("work", "2000000000"),
        ],
        caps,
    );
    assert_eq!(
        outcome.summary.end,
        EndReason::HitCap {
            cap: Cap::Events,
            limit: "20000 events".into()
        }
    );
    let t = &outcome.trace;
    let events = (t.spans.len() + t.marks.len() + t.samples.len()) as u64;
    assert!(
        events <= 2 * caps.max_events,
        "{events} events kept against a cap of {}",
        caps.max_events
    );
}

#[test]
fn worker_processes_share_one_work_budget_and_the_summary_counts_their_work() {
    let _serial = common::serial();
    let caps = Caps {
        max_bytecodes: 60_000_000,
        ..CAPS
    };
    // Four processes of 200M bytecodes each: 800M against a cap of 60M for the whole run.
    let outcome = run_capped(
        "cpu-processes",
        &[("processes", "4"), ("work", "200000000")],
        caps,
    );
    let s = &outcome.summary;
    assert!(
        matches!(s.end, EndReason::HitCap { cap: Cap::Work, .. }),
        "{:?}",
        s.end
    );
    assert!(
        s.bytecodes >= caps.max_bytecodes,
        "the summary counts the children's work: {} bytecodes against a cap of {}",
        s.bytecodes,
        caps.max_bytecodes
    );
    assert!(
        s.bytecodes <= caps.max_bytecodes * 2,
        "one budget for the run: {} bytecodes ran against a cap of {}",
        s.bytecodes,
        caps.max_bytecodes
    );
}
