//! Faults stay local: a run whose preset panics fails with the panic's message, and the run
//! manager's queue goes on to the next run.

mod common;

use std::time::Duration;

use gilscope_server::engine::interp::{EngineError, RunEnv};
use gilscope_server::engine::{Experiment, Preset};
use gilscope_server::presets::cpu_threads::CpuThreads;
use gilscope_server::runs::{Runs, Update};
use gilscope_shared::protocol::{RunId, RunInfo, RunState};
use gilscope_shared::spec::{Group, Knobs, PresetInfo};

/// A preset whose experiment cannot even be built: its code panics.
struct Panicky;

impl Preset for Panicky {
    fn name(&self) -> &'static str {
        "panicky"
    }
    fn python(&self, _knobs: &Knobs) -> String {
        String::new()
    }
    fn info(&self) -> PresetInfo {
        PresetInfo {
            name: self.name().into(),
            group: Group::Threads,
            claim: "panics".into(),
            description: "a preset with a bug".into(),
            python: String::new(),
            python_template: String::new(),
            knobs: vec![],
        }
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
    let runs = Runs::with_presets(REGISTRY);
    let mut updates = runs.subscribe();
    let executor = runs.spawn_executor();
    let bad = runs
        .submit(common::spec("panicky", &[]))
        .expect("a valid spec");
    let good = runs
        .submit(common::spec(
            "cpu-threads",
            &[("threads", "2"), ("work", "100000")],
        ))
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
