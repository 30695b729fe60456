//! Helpers that several lessons share: the shape of a Python program's main thread, its
//! worker threads and processes, `count(n)`, the run's shared memory and queue, the roles and
//! knobs of lessons alike, and the pool lessons' main thread, worker and baseline. A lesson's
//! own helpers stay in its file.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use gilscope_shared::trace::LaneKind;
use serde::Deserialize;

use super::harness::{Child, Setup, Spawned};
use super::role::roles;
use crate::engine::interpreter::error::Inherited;
use crate::engine::interpreter::interp::{EngineError, Interp, Py, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_pool::{attach_pipes, worker, Pool, PoolFn, POOL_WORKER};
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::multiprocessing::process::Process;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::multiprocessing::shm::Arena;
use crate::engine::running::program::Figures;
use crate::engine::running::worker::WorkerCtx;
use crate::engine::threading::pool::{TaskFn, ThreadPool};

/// Spawns the interpreter's main thread first (so it is lane 0 of the interpreter), then the
/// threads `workers` builds, which `main` receives.
pub fn with_main<W: Send + Sync + 'static>(
    interp: &Arc<Interp>,
    workers: impl FnOnce(&Arc<Interp>) -> Result<W, EngineError>,
    main: impl FnOnce(&mut Py, &W) -> Result<(), Stopped> + Send + 'static,
) -> Spawned {
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

/// What `start()` and `join()` apply to: a thread or a process.
pub trait Startable {
    fn start(&self, py: &mut Py) -> Result<(), Stopped>;
    fn join(&self, py: &mut Py) -> Result<(), Stopped>;
}

impl Startable for ThreadHandle {
    fn start(&self, py: &mut Py) -> Result<(), Stopped> {
        py.start(self)
    }

    fn join(&self, py: &mut Py) -> Result<(), Stopped> {
        py.join(self)
    }
}

impl Startable for Process {
    fn start(&self, py: &mut Py) -> Result<(), Stopped> {
        Process::start(self, py)
    }

    fn join(&self, py: &mut Py) -> Result<(), Stopped> {
        Process::join(self, py)
    }
}

/// `for w in workers: w.start()` then `for w in workers: w.join()`.
pub fn start_all_join_all(py: &mut Py, workers: &[impl Startable]) -> Result<(), Stopped> {
    for w in workers {
        w.start(py)?;
        py.straight(3)?;
    }
    for w in workers {
        w.join(py)?;
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

/// `spin(n)`: `for _ in range(n // 3): pass` — `n` bytecodes, 3 per iteration (`FOR_ITER`,
/// `STORE_FAST`, `JUMP_BACKWARD`, the back-edge a check point): the lessons' CPU work
/// between other calls. CPython 3.11 runs it at 12.3 ns an iteration here, 4.1 ns a bytecode
/// (`count`'s loop: 27.8 ns, 4.0 ns a bytecode, the same hour), so a bytecode of it is charged
/// as one of `count`'s. Until 2026-12-04 these lessons looped `range(n // 7)` and were
/// charged as `count`: 7 bytecodes an iteration where CPython runs 3, their work 2.3 times as
/// long as CPython's beside the same fixed costs (issue #10).
pub fn spin(py: &mut Py, n: u64) -> Result<(), Stopped> {
    py.call(|py| {
        py.straight(6)?; // range(n // 3); GET_ITER
        py.for_loop(n / 3, 3)?;
        py.straight(2) // return None
    })
}

/// The run's shared memory: 64 KB is plenty for a few values and queues.
pub fn arena() -> Result<Arc<Arena>, EngineError> {
    arena_with_room(0)
}

/// The run's shared memory, with `room` bytes more (for an `Array`).
pub fn arena_with_room(room: usize) -> Result<Arc<Arena>, EngineError> {
    Arena::create(64 * 1024 + room.next_multiple_of(4096))
        .map(Arc::new)
        .map_err(EngineError::SharedMemory)
}

/// The run's shared memory with a queue `q` of `capacity` in it, and what a child must
/// inherit to reach both.
pub fn queue_in_arena(
    setup: &Setup,
    capacity: u64,
) -> Result<(Arc<Arena>, MpQueue, SharedObjects), EngineError> {
    queue_in_arena_with_room(setup, capacity, 0)
}

/// [`queue_in_arena`] with `room` bytes more of shared memory.
pub fn queue_in_arena_with_room(
    setup: &Setup,
    capacity: u64,
    room: usize,
) -> Result<(Arc<Arena>, MpQueue, SharedObjects), EngineError> {
    let arena = arena_with_room(room)?;
    let q = MpQueue::create(setup.interp(), &arena, "q", capacity)?;
    let shared = SharedObjects {
        arena: Some((arena.raw_fd(), arena.len())),
        queues: vec![q.desc.clone()],
        ..SharedObjects::default()
    };
    Ok((arena, q, shared))
}

/// The run's queue in a child.
pub fn attach_queue(ctx: &WorkerCtx, name: &str) -> Result<MpQueue, EngineError> {
    match (&ctx.arena, ctx.job.shared.queue(name)) {
        // SAFETY: the job's descriptors are this child's inherited pipe ends, used once.
        (Some(arena), Some(desc)) => Ok(unsafe { MpQueue::attach(arena, desc) }),
        _ => Err(EngineError::NotInherited(Inherited::Queue(name.into()))),
    }
}

/// `f(x)`: `work` bytecodes (a `pass` loop), then `x * x`.
pub fn square_after(work: u64) -> PoolFn {
    Arc::new(move |py, x| {
        spin(py, work)?;
        py.straight(4)?;
        Ok(x * x)
    })
}

roles! {
    /// The one role of the lessons whose worker processes all run the same program.
    pub enum WorkerRole {
        Worker = "worker",
    }
}

roles! {
    /// The one role of the pool lessons' worker processes.
    pub enum PoolRole {
        Worker = POOL_WORKER,
    }
}

/// The knobs of the pool lessons.
#[derive(Deserialize)]
pub struct PoolKnobs {
    pub processes: usize,
    pub items: i64,
    pub work: u64,
}

/// The main thread of the pool lessons: `with Pool(processes) as pool:` then `submit`'s
/// calls over `range(items)`, timed; the results checked against `[f(x) for x in items]`.
pub fn pool_main(
    setup: &Setup,
    knobs: &PoolKnobs,
    submit: impl FnOnce(&mut Py, &Pool, &[i64]) -> Result<Vec<i64>, Stopped> + Send + 'static,
) -> Spawned {
    let arena = arena()?;
    let pool = Pool::new(
        setup.interp(),
        &arena,
        setup.child(),
        knobs.processes,
        Default::default(),
    )?;
    let (items, figures) = (knobs.items, setup.figures());
    with_main(
        setup.interp(),
        move |_| Ok((pool, arena)),
        move |py, (pool, _arena)| {
            let t0 = py.rec.now();
            pool.open(py)?;
            let xs: Vec<i64> = (0..items).collect();
            let results = submit(py, pool, &xs)?;
            pool.close_join(py)?;
            let mut m = figures.lock().unwrap_or_else(|e| e.into_inner());
            m.results_in_order = Some(results == xs.iter().map(|x| x * x).collect::<Vec<_>>());
            m.ops_per_s = Some(items as f64 / ((py.rec.now() - t0) as f64 / 1e9));
            Ok(())
        },
    )
}

/// The worker-process side of the pool lessons.
pub fn pool_worker_main(child: &Child<PoolRole>, work: u64) -> Spawned {
    let ctx = child.ctx;
    let arena = ctx
        .arena
        .as_ref()
        .ok_or_else(|| EngineError::NotInherited(Inherited::Arena))?;
    let (inq, outq) = attach_pipes(arena, &ctx.job.shared)?;
    let f = square_after(work);
    child.main(move |py| worker(py, &inq, &outq, &f))
}

/// The one-process baseline of the pool lessons: `[f(x) for x in range(items)]`.
pub fn sequential(setup: &Setup, knobs: &PoolKnobs) -> Spawned<Option<ThreadHandle>> {
    let (items, f) = (knobs.items, square_after(knobs.work));
    setup
        .main(move |py| (0..items).try_for_each(|x| py.call(|py| f(py, x)).map(drop)))
        .map(Some)
}

/// Times `body` and records it as `n` operations.
pub fn timed_ops(
    py: &mut Py,
    figures: &Mutex<Figures>,
    n: u64,
    body: impl FnOnce(&mut Py) -> Result<(), Stopped>,
) -> Result<(), Stopped> {
    let t0 = py.rec.now();
    body(py)?;
    let seconds = (py.rec.now() - t0) as f64 / 1e9;
    figures.lock().unwrap_or_else(|e| e.into_inner()).ops_per_s = Some(n as f64 / seconds);
    Ok(())
}

/// The knobs of the thread-pool lessons' tasks.
#[derive(Deserialize)]
pub struct TaskKnobs {
    pub tasks: i64,
    /// Bytecodes of CPU work per task.
    pub work: u64,
    /// The I/O wait per task, in ms.
    pub io_ms: f64,
}

impl TaskKnobs {
    pub fn io(&self) -> Duration {
        Duration::from_secs_f64(self.io_ms / 1e3)
    }
}

/// The main thread of the thread-pool lessons: a `ThreadPool(size)` opened, `submit`'s calls
/// over `range(tasks)`, the pool closed; timed as `tasks` operations, the results checked
/// against `[expect(x) for x in range(tasks)]`, in order.
pub fn thread_pool_main(
    setup: &Setup,
    size: usize,
    tasks: i64,
    expect: fn(i64) -> i64,
    submit: impl FnOnce(&mut Py, &ThreadPool, &[i64]) -> Result<Vec<i64>, Stopped> + Send + 'static,
) -> Spawned {
    let result = setup.figures();
    with_main(
        setup.interp(),
        |interp| ThreadPool::new(interp, size),
        move |py, pool| {
            timed_ops(py, &result, tasks as u64, |py| {
                pool.open(py)?;
                let items: Vec<i64> = (0..tasks).collect();
                let results = submit(py, pool, &items)?;
                pool.close(py)?;
                let in_order = results.into_iter().eq(items.into_iter().map(expect));
                result
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .results_in_order = Some(in_order);
                Ok(())
            })
        },
    )
}

/// The one-thread baseline of the thread-pool lessons: `for x in range(tasks): f(x)`, timed.
pub fn tasks_in_turn(setup: &Setup, tasks: i64, f: TaskFn) -> Spawned<Option<ThreadHandle>> {
    let result = setup.figures();
    let main = setup.main(move |py| {
        timed_ops(py, &result, tasks as u64, |py| {
            for x in 0..tasks {
                py.call(|py| f(py, x))?;
            }
            Ok(())
        })
    })?;
    Ok(Some(main))
}
