//! The built-in presets: one file each, with its knobs, claim, the Python it mirrors and the
//! programs it builds for the engine.

use std::sync::{Arc, OnceLock};

use gilscope_shared::spec::{Knobs, PresetInfo};
use gilscope_shared::trace::LaneKind;

use crate::engine::interp::{EngineError, Interp, Py, RunEnv, ThreadHandle};
use crate::engine::run::Experiment;
use crate::engine::stop::Stopped;
use crate::engine::worker::WorkerCtx;

pub mod apply_async;
pub mod convoy_effect;
pub mod counter_race;
pub mod cpu_processes;
pub mod cpu_threads;
pub mod gil_flavours;
pub mod io_threads;
pub mod join;
pub mod knobs;
pub mod process_pool_map;
pub mod queue_producer_consumer;
pub mod queue_qsize_unreliable;
pub mod queue_vs_shared_memory;
pub mod return_values;
pub mod shared_value;
pub mod thread_pool_map;

/// A preset: what it teaches and how to run it.
pub trait Preset: Sync + Send {
    fn name(&self) -> &'static str;
    /// The Python this preset mirrors, with `knobs`' values filled in.
    fn python(&self, knobs: &Knobs) -> String;
    /// Claim, description, Python (rendered with the default knobs) and knobs.
    fn info(&self) -> PresetInfo;
    /// The experiment, its threads spawned but not started.
    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError>;
    /// The same total work done by one thread (or, for I/O presets, the I/O thread alone);
    /// none for presets whose lesson is not a speed-up.
    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        let _ = (knobs, env);
        Ok(None)
    }
    /// Whether the baseline does the experiment's total work (so `speedup` means something).
    fn baseline_is_same_work(&self) -> bool {
        true
    }
    /// The main thread of a worker process this preset starts (run by `gilscope worker` in
    /// the child, for the role and index its job names), spawned but not started.
    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        let _ = (ctx, interp);
        Err(EngineError::NoProcessProgram(self.name().to_string()))
    }
}

static PRESETS: [&dyn Preset; 15] = [
    &cpu_threads::CpuThreads,
    &io_threads::IoThreads,
    &join::Join,
    &counter_race::CounterRace,
    &thread_pool_map::ThreadPoolMap,
    &convoy_effect::ConvoyEffect,
    &gil_flavours::GilFlavours,
    &cpu_processes::CpuProcesses,
    &shared_value::SharedValuePreset,
    &queue_producer_consumer::QueueProducerConsumer,
    &queue_qsize_unreliable::QueueQsizeUnreliable,
    &process_pool_map::ProcessPoolMap,
    &apply_async::ApplyAsync,
    &queue_vs_shared_memory::QueueVsSharedMemory,
    &return_values::ReturnValues,
];

pub fn all() -> &'static [&'static dyn Preset] {
    &PRESETS
}

pub fn find(name: &str) -> Option<&'static dyn Preset> {
    PRESETS.iter().copied().find(|p| p.name() == name)
}

/// Every preset's description (computed once).
pub fn infos() -> Vec<PresetInfo> {
    static INFOS: OnceLock<Vec<PresetInfo>> = OnceLock::new();
    INFOS
        .get_or_init(|| PRESETS.iter().map(|p| p.info()).collect())
        .clone()
}

/// Spawns the interpreter's main thread first (so it is lane 0 of the interpreter), then the
/// threads `workers` builds, which `main` receives.
pub fn with_main<W: Send + Sync + 'static>(
    interp: &Arc<Interp>,
    workers: impl FnOnce(&Arc<Interp>) -> Result<W, EngineError>,
    main: impl FnOnce(&mut Py, &W) -> Result<(), Stopped> + Send + 'static,
) -> Result<ThreadHandle, EngineError> {
    let slot: Arc<OnceLock<W>> = Arc::new(OnceLock::new());
    let theirs = slot.clone();
    let handle = interp.spawn(
        "MainThread",
        LaneKind::Main,
        Box::new(move |py: &mut Py| {
            let workers = theirs
                .get()
                .expect("workers are built before the run starts");
            main(py, workers)
        }),
    )?;
    let built = workers(interp)?;
    let _ = slot.set(built);
    Ok(handle)
}

/// Spawns `n` worker threads named `Thread-1`.. running `program(py, i)`.
pub fn threads(
    interp: &Arc<Interp>,
    n: usize,
    program: impl Fn(&mut Py, usize) -> Result<(), Stopped> + Send + Sync + 'static,
) -> Result<Vec<ThreadHandle>, EngineError> {
    let program = Arc::new(program);
    (1..=n)
        .map(|i| {
            let program = program.clone();
            interp.spawn(
                &format!("Thread-{i}"),
                LaneKind::Worker,
                Box::new(move |py: &mut Py| program(py, i)),
            )
        })
        .collect()
}

/// `for t in threads: t.start()` then `for t in threads: t.join()`.
pub fn start_all_join_all(py: &mut Py, workers: &[ThreadHandle]) -> Result<(), Stopped> {
    for w in workers {
        py.start(w)?;
        py.straight(3)?;
    }
    for w in workers {
        py.join(w)?;
        py.straight(3)?;
    }
    Ok(())
}

/// `count(n)`: `for i in range(n // 7): x += i` — `n` bytecodes, 7 per iteration with the
/// back-edge check point.
pub fn count(py: &mut Py, n: u64) -> Result<(), Stopped> {
    py.call(|py| {
        py.straight(8)?; // x = 0; range(n // 7); GET_ITER
        py.for_loop(n / 7, 7)?;
        py.straight(2) // return x
    })
}

/// An experiment of one interpreter, with `measures` for its programs to fill in.
pub fn single(
    interp: Arc<Interp>,
    main: ThreadHandle,
    measures: Arc<std::sync::Mutex<crate::engine::run::Measures>>,
) -> Experiment {
    Experiment {
        interps: vec![interp],
        main,
        measures,
        probes: vec![],
    }
}
