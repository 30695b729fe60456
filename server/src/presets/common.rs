//! Helpers that several lessons share: the shape of a Python program's main thread, its
//! worker threads and processes, `count(n)`, the run's shared memory, and the pool presets'
//! worker function. A lesson's own helpers stay in its file.

use std::sync::{Arc, OnceLock};

use gilscope_shared::spec::{KnobValue, Knobs};
use gilscope_shared::trace::LaneKind;

use super::knobs::interp_config;
use crate::engine::interpreter::interp::{EngineError, Interp, Py, RunEnv, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_pool::{attach_pipes, worker, PoolFn};
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::multiprocessing::process::{ChildProgram, Process, StartMethod};
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::multiprocessing::shm::Arena;
use crate::engine::running::program::Experiment;
use crate::engine::running::worker::WorkerCtx;

/// What the child processes of a run of `preset` with `knobs` run: the interpreter the knobs
/// configure, started with the knobs' `start_method` (fork when the lesson has none).
pub fn child_program(preset: &str, knobs: &Knobs) -> ChildProgram {
    let start_method = match knobs.0.get("start_method") {
        Some(KnobValue::Text(m)) if m == "spawn" => StartMethod::Spawn,
        _ => StartMethod::Fork,
    };
    ChildProgram {
        preset: preset.to_string(),
        knobs: knobs.clone(),
        interp: interp_config(knobs),
        start_method,
    }
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

/// `Process-1`.. running `role` of `program`, each inheriting `shared`.
pub fn processes(
    program: &ChildProgram,
    role: &str,
    n: usize,
    shared: &SharedObjects,
) -> Vec<Process> {
    (0..n)
        .map(|i| {
            Process::new(
                &format!("Process-{}", i + 1),
                program,
                role,
                i as u32,
                shared.clone(),
            )
        })
        .collect()
}

/// The run's shared memory: one page is plenty for a few values and queues.
pub fn arena() -> Result<Arc<Arena>, EngineError> {
    Arena::create(64 * 1024)
        .map(Arc::new)
        .map_err(|e| EngineError::Shm(e.to_string()))
}

/// The run's queue in a child.
pub fn attach_queue(ctx: &WorkerCtx, name: &str) -> Result<MpQueue, EngineError> {
    match (&ctx.arena, ctx.job.shared.queue(name)) {
        // SAFETY: the job's descriptors are this child's inherited pipe ends, used once.
        (Some(arena), Some(desc)) => Ok(unsafe { MpQueue::attach(arena, desc) }),
        _ => Err(EngineError::Shm(format!("the job carries no queue {name}"))),
    }
}

/// `f(x)`: `work` bytecodes, then `x * x`.
pub fn square_after(work: u64) -> PoolFn {
    Arc::new(move |py, x| {
        count(py, work)?;
        py.straight(4)?;
        Ok(x * x)
    })
}

/// The worker-process side of the pool presets.
pub fn pool_worker_main(
    ctx: &WorkerCtx,
    interp: &Arc<Interp>,
) -> Result<ThreadHandle, EngineError> {
    let arena = ctx
        .arena
        .as_ref()
        .ok_or_else(|| EngineError::Shm("the job carries no shared memory".into()))?;
    let (inq, outq) = attach_pipes(arena, &ctx.job.shared)?;
    let f = square_after(ctx.knobs().int("work") as u64);
    with_main(interp, |_| Ok(()), move |py, _| worker(py, &inq, &outq, &f))
}

/// The one-process baseline of the pool presets: `[f(x) for x in range(items)]`.
pub fn sequential(knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
    let interp = Interp::new(interp_config(knobs), env.clone());
    let (items, f) = (knobs.int("items"), square_after(knobs.int("work") as u64));
    let main = with_main(
        &interp,
        |_| Ok(()),
        move |py, _| {
            for x in 0..items {
                py.call(|py| f(py, x))?;
            }
            Ok(())
        },
    )?;
    Ok(Some(Experiment::single(interp, main, Default::default())))
}
