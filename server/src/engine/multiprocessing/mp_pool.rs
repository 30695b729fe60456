//! `multiprocessing.Pool(n)` with worker processes, built as CPython builds it
//! (`Lib/multiprocessing/pool.py`):
//!
//! - `map` / `apply_async` put work on the pool's in-process task queue; `map` splits the
//!   items into chunks of CPython's default size (`divmod(len, 4 * n)`, plus one if there is
//!   a remainder) unless given one;
//! - the **task handler** thread (a lane of the parent) takes each task, pickles it and writes
//!   it to the workers' `SimpleQueue` (a real pipe with a read and a write lock);
//! - each worker process (`ForkPoolWorker-i`) reads a task, runs `f` on every item of the
//!   chunk, pickles the results and writes them to the result `SimpleQueue`;
//! - the **result handler** thread (a lane of the parent) reads them, unpickles them and fills
//!   the `AsyncResult`'s slots by index, so results come back in input order whatever order
//!   the chunks finish in; `get()` waits (GIL released) until every slot is filled.
//!
//! Costs around each step, in bytecodes (docs/processes.md): the Python of each handler's
//! loop, pickling and unpickling (a base plus a little per item), `apply_async`'s
//! `ApplyResult`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use gilscope_shared::trace::{LaneKind, MarkKind, State};

use crate::engine::interpreter::error::Inherited;
use crate::engine::interpreter::gate::Gate;
use crate::engine::interpreter::imports::Import;
use crate::engine::interpreter::interp::{EngineError, Interp, Py, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::process::{ChildProgram, Process};
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::multiprocessing::shm::Arena;
use crate::engine::multiprocessing::simple_queue::SimpleQueue;
use crate::engine::threading::queue::Queue;

/// Pickling a task or a result: a base...
pub const PICKLE_BASE_BYTECODES: u64 = 250;
/// ...plus this per item of the chunk.
pub const PICKLE_ITEM_BYTECODES: u64 = 8;
pub const UNPICKLE_BASE_BYTECODES: u64 = 150;
pub const UNPICKLE_ITEM_BYTECODES: u64 = 6;
/// One round of the task handler's loop (`_handle_tasks`).
pub const TASK_HANDLER_BYTECODES: u64 = 200;
/// One round of a worker's loop (`worker()`: get, unpack, call, put).
pub const WORKER_LOOP_BYTECODES: u64 = 200;
/// One round of the result handler (`_handle_results` and `MapResult._set`).
pub const RESULT_HANDLER_BYTECODES: u64 = 200;
/// `pool.apply_async(f, (x,))`: the `ApplyResult` (an `Event`, the cache) and the put.
pub const APPLY_ASYNC_BYTECODES: u64 = 500;
/// `pool.map`'s own Python before it waits (`_map_async`, the `MapResult`).
pub const MAP_BYTECODES: u64 = 600;

/// A function the pool's workers run on each item: `f(x)` in Python.
pub type PoolFn = Arc<dyn Fn(&mut Py, i64) -> Result<i64, Stopped> + Send + Sync>;

/// CPython's default `map` chunk size (`Pool._map_async`).
pub fn default_chunksize(items: usize, workers: usize) -> usize {
    crate::engine::threading::pool::default_chunksize(items, workers)
}

fn pickle_cost(items: usize) -> u64 {
    PICKLE_BASE_BYTECODES + PICKLE_ITEM_BYTECODES * items as u64
}

fn unpickle_cost(items: usize) -> u64 {
    UNPICKLE_BASE_BYTECODES + UNPICKLE_ITEM_BYTECODES * items as u64
}

/// The result of `map_async` / `apply_async`: slots filled by the result handler.
pub struct PoolResult {
    slots: Mutex<(Vec<Option<i64>>, usize)>,
    ready: Gate,
}

impl PoolResult {
    fn new(n: usize) -> Arc<PoolResult> {
        let ready = Gate::default();
        if n == 0 {
            ready.open();
        }
        Arc::new(PoolResult {
            slots: Mutex::new((vec![None; n], n)),
            ready,
        })
    }

    fn set(&self, first: usize, values: &[i64]) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for (i, v) in values.iter().enumerate() {
            if let Some(slot) = slots.0.get_mut(first + i) {
                if slot.replace(*v).is_none() {
                    slots.1 -= 1;
                }
            }
        }
        if slots.1 == 0 {
            self.ready.open();
        }
    }

    /// `r.get()`: blocks (GIL released) until every result is in; returns them in order.
    pub fn get(&self, py: &mut Py) -> Result<Vec<i64>, Stopped> {
        py.call(|py| {
            py.straight(20)?;
            py.blocking(State::BlockedGet, |_, stop| self.ready.wait(stop))
        })?;
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        Ok(slots.0.iter().map(|v| v.unwrap_or_default()).collect())
    }
}

/// One entry of the in-process task queue: a job's chunks (`[job, first index, items...]`),
/// or `None` for "close".
type Tasks = Option<Vec<Vec<i64>>>;
type Cache = Arc<Mutex<HashMap<i64, (Arc<PoolResult>, usize)>>>;

pub struct Pool {
    workers: Vec<Process>,
    tasks: Arc<Queue<Tasks>>,
    task_handler: ThreadHandle,
    result_handler: ThreadHandle,
    cache: Cache,
    next_job: AtomicI64,
    next_item: AtomicI64,
    /// Keeps the pipes open in the parent until the pool is gone.
    _pipes: (Arc<SimpleQueue>, Arc<SimpleQueue>),
}

/// `Pool()`'s own Python beside starting its processes: three `SimpleQueue`s (a `Pipe` and a
/// `Lock` each), the task queue, the cache, the handler threads' set-up, the `Finalize`.
/// CPython 3.11 here, `Pool(1)` once imported: 1.6–3.4 ms (median 2.4), of which starting
/// its one worker 0.4–0.6: about 1.7 ms left for the rest, with its three threads' starts.
pub const NEW_BYTECODES: u64 = 500_000;

/// The role of a pool's worker processes in their jobs.
pub const POOL_WORKER: &str = "pool_worker";

impl Pool {
    /// `Pool(n)` as built before the run starts: the pipes, the `n` worker processes (not
    /// started) running `program`'s `pool_worker` role, and the two handler threads. The
    /// workers also inherit `inherited` (what a pool `initializer` hands them).
    pub fn new(
        interp: &Arc<Interp>,
        arena: &Arc<Arena>,
        program: &ChildProgram,
        n: usize,
        inherited: SharedObjects,
    ) -> Result<Pool, EngineError> {
        let inq = Arc::new(SimpleQueue::create(arena, "pool inqueue")?);
        let outq = Arc::new(SimpleQueue::create(arena, "pool outqueue")?);
        let mut shared = inherited;
        shared.arena = Some((arena.raw_fd(), arena.len()));
        shared.pipes.extend([inq.desc.clone(), outq.desc.clone()]);
        let workers = (0..n)
            .map(|i| {
                Process::new(
                    &format!("ForkPoolWorker-{}", i + 1),
                    program,
                    POOL_WORKER,
                    i as u32,
                    shared.clone(),
                )
            })
            .collect();
        let tasks: Arc<Queue<Tasks>> = Arc::new(Queue::new(interp, "pool task queue", None));
        let cache: Cache = Arc::default();
        let task_handler = {
            let (tasks, inq, outq) = (tasks.clone(), inq.clone(), outq.clone());
            interp.spawn(
                "TaskHandler",
                LaneKind::Handler,
                Box::new(move |py: &mut Py| handle_tasks(py, &tasks, &inq, &outq, n)),
            )?
        };
        let result_handler = {
            let (outq, cache) = (outq.clone(), cache.clone());
            interp.spawn(
                "ResultHandler",
                LaneKind::Handler,
                Box::new(move |py: &mut Py| handle_results(py, &outq, &cache)),
            )?
        };
        Ok(Pool {
            workers,
            tasks,
            task_handler,
            result_handler,
            cache,
            next_job: AtomicI64::new(0),
            next_item: AtomicI64::new(0),
            _pipes: (inq, outq),
        })
    }

    /// `Pool(n)`: imports `multiprocessing.pool` the first time, starts the worker processes
    /// and the handler threads.
    pub fn open(&self, py: &mut Py) -> Result<(), Stopped> {
        py.multiprocessing_call(Import::Pool, NEW_BYTECODES)?;
        for w in &self.workers {
            w.start(py)?;
        }
        py.start(&self.task_handler)?;
        py.start(&self.result_handler)
    }

    fn submit(&self, py: &mut Py, chunks: Vec<Vec<i64>>) -> Result<(), Stopped> {
        let item = self.next_item.fetch_add(1, Ordering::Relaxed) as u64;
        self.tasks.put(py, item, Some(chunks))
    }

    fn register(&self, n: usize) -> (i64, Arc<PoolResult>) {
        let job = self.next_job.fetch_add(1, Ordering::Relaxed);
        let result = PoolResult::new(n);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job, (result.clone(), 0));
        (job, result)
    }

    /// `pool.map(f, items, chunksize)`: results in input order. `chunksize` 0 = CPython's
    /// default. Returns the results and the chunk size used.
    pub fn map(
        &self,
        py: &mut Py,
        items: &[i64],
        chunksize: usize,
    ) -> Result<(Vec<i64>, usize), Stopped> {
        py.call(|py| py.straight(MAP_BYTECODES))?;
        let size = if chunksize == 0 {
            default_chunksize(items.len(), self.workers.len()).max(1)
        } else {
            chunksize
        };
        let (job, result) = self.register(items.len());
        let chunks = items
            .chunks(size)
            .enumerate()
            .map(|(c, chunk)| {
                let mut msg = vec![job, (c * size) as i64];
                msg.extend_from_slice(chunk);
                msg
            })
            .collect();
        self.submit(py, chunks)?;
        Ok((result.get(py)?, size))
    }

    /// `pool.apply_async(f, (x,))`; `task` is its index (its slot is 0 of its own result).
    pub fn apply_async(&self, py: &mut Py, x: i64) -> Result<Arc<PoolResult>, Stopped> {
        py.call(|py| py.straight(APPLY_ASYNC_BYTECODES))?;
        let (job, result) = self.register(1);
        self.submit(py, vec![vec![job, 0, x]])?;
        Ok(result)
    }

    /// `pool.close(); pool.join()`: the workers and handlers finish and are joined.
    pub fn close_join(&self, py: &mut Py) -> Result<(), Stopped> {
        py.call(|py| py.straight(40))?;
        let item = self.next_item.fetch_add(1, Ordering::Relaxed) as u64;
        self.tasks.put(py, item, None)?;
        py.join(&self.task_handler)?;
        for w in &self.workers {
            w.join(py)?;
        }
        py.join(&self.result_handler)
    }
}

/// The task handler: pickles each chunk and writes it to the workers' pipe; on close, one
/// sentinel per worker and one for the result handler.
fn handle_tasks(
    py: &mut Py,
    tasks: &Queue<Tasks>,
    inq: &SimpleQueue,
    outq: &SimpleQueue,
    workers: usize,
) -> Result<(), Stopped> {
    loop {
        let (_, entry) = tasks.get(py, State::Idle)?;
        let Some(chunks) = entry else {
            for _ in 0..workers {
                py.straight(pickle_cost(0))?;
                inq.put(py, &[])?;
            }
            return outq.put(py, &[]);
        };
        for chunk in chunks {
            py.straight(TASK_HANDLER_BYTECODES)?;
            py.straight(pickle_cost(chunk.len() - 2))?;
            inq.put(py, &chunk)?;
            py.check()?;
        }
    }
}

/// The result handler: unpickles each result message and fills its job's slots.
fn handle_results(py: &mut Py, outq: &SimpleQueue, cache: &Cache) -> Result<(), Stopped> {
    loop {
        let msg = outq.get(py, State::Idle)?;
        if msg.len() < 2 {
            return Ok(());
        }
        py.straight(unpickle_cost(msg.len() - 2))?;
        py.straight(RESULT_HANDLER_BYTECODES)?;
        let (job, first) = (msg[0], msg[1] as usize);
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        let done = if let Some((result, got)) = cache.get_mut(&job) {
            result.set(first, &msg[2..]);
            *got += msg.len() - 2;
            result.ready.is_open()
        } else {
            false
        };
        if done {
            cache.remove(&job);
        }
        drop(cache);
        py.check()?;
    }
}

/// A pool worker process's main thread (`multiprocessing.pool.worker`): reads tasks until the
/// sentinel, runs `f` on each item (marking each task), writes the results back.
pub fn worker(
    py: &mut Py,
    inq: &SimpleQueue,
    outq: &SimpleQueue,
    f: &PoolFn,
) -> Result<(), Stopped> {
    loop {
        let msg = inq.get(py, State::Idle)?;
        if msg.len() < 2 {
            return Ok(());
        }
        py.straight(WORKER_LOOP_BYTECODES)?;
        py.straight(unpickle_cost(msg.len() - 2))?;
        let (job, first) = (msg[0], msg[1]);
        let mut out = Vec::with_capacity(msg.len());
        out.extend([job, first]);
        for (i, &x) in msg[2..].iter().enumerate() {
            let task = (first as usize + i) as u32;
            py.rec.set_task(Some(task));
            py.rec.mark(MarkKind::TaskStart { task });
            out.push(py.call(|py| f(py, x))?);
            py.rec.mark(MarkKind::TaskEnd { task });
            py.rec.set_task(None);
        }
        py.straight(pickle_cost(out.len() - 2))?;
        outq.put(py, &out)?;
        py.check()?;
    }
}

/// The pool's pipes in a worker process: (tasks in, results out).
pub fn attach_pipes(
    arena: &Arc<Arena>,
    shared: &SharedObjects,
) -> Result<(SimpleQueue, SimpleQueue), EngineError> {
    match (shared.pipe("pool inqueue"), shared.pipe("pool outqueue")) {
        (Some(i), Some(o)) => {
            // SAFETY: the job's descriptors are this child's inherited pipe ends, attached once.
            Ok(unsafe { (SimpleQueue::attach(arena, i), SimpleQueue::attach(arena, o)) })
        }
        _ => Err(EngineError::NotInherited(Inherited::PoolPipes)),
    }
}
