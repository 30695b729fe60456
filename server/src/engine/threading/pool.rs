//! `multiprocessing.pool.ThreadPool(k)`: `map` (CPython's chunk size, results in input order)
//! and `apply_async` / `AsyncResult.get()`.
//!
//! Simplified from CPython in one respect: the caller puts tasks straight into the workers'
//! task queue (CPython routes them through a task-handler thread, and results through a
//! result-handler thread). Workers wait for tasks shown as `Idle`; the caller waits for
//! results in `get()`, shown as `BlockedGet`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gilscope_shared::trace::{LaneKind, MarkKind, State};

use crate::engine::interpreter::gate::Gate;
use crate::engine::interpreter::interp::{EngineError, Interp, Py, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::threading::queue::Queue;

/// A function the pool runs on each item: `f(x)` in Python.
pub type TaskFn = Arc<dyn Fn(&mut Py, i64) -> Result<i64, Stopped> + Send + Sync>;

/// A chunk of `(index, argument)` pairs for one worker, or `None`: "exit".
type Job = Option<(TaskFn, Vec<(usize, i64)>, Arc<AsyncResult>)>;

/// The result of `map_async` / `apply_async`: filled in by the workers, slot by slot.
pub struct AsyncResult {
    /// The task number of the first slot (`apply_async` numbers its one task).
    first: usize,
    slots: Mutex<(Vec<Option<i64>>, usize)>,
    ready: Gate,
}

impl AsyncResult {
    fn new(first: usize, n: usize) -> Arc<AsyncResult> {
        let ready = Gate::default();
        if n == 0 {
            ready.open();
        }
        Arc::new(AsyncResult {
            first,
            slots: Mutex::new((vec![None; n], n)),
            ready,
        })
    }

    fn set(&self, task: usize, value: i64) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.0[task - self.first].replace(value).is_none() {
            slots.1 -= 1;
        }
        if slots.1 == 0 {
            self.ready.open();
        }
    }

    /// `r.get()`: blocks (GIL released) until every result is in; returns them in order.
    pub fn get(&self, py: &mut Py) -> Result<Vec<i64>, Stopped> {
        py.call(|py| {
            py.straight(10)?;
            py.blocking(State::BlockedGet, |_, stop| self.ready.wait(stop))
        })?;
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        Ok(slots.0.iter().map(|v| v.expect("ready")).collect())
    }
}

/// CPython's default `map` chunk size (`Pool._map_async`).
pub fn default_chunksize(items: usize, workers: usize) -> usize {
    if items == 0 {
        return 0;
    }
    let (chunksize, extra) = (items / (workers * 4), items % (workers * 4));
    chunksize + usize::from(extra > 0)
}

pub struct ThreadPool {
    tasks: Arc<Queue<Job>>,
    workers: Vec<ThreadHandle>,
    next_item: AtomicU64,
}

impl ThreadPool {
    /// Creates the pool's `k` worker threads (started by [`ThreadPool::open`]).
    pub fn new(interp: &Arc<Interp>, k: usize) -> Result<ThreadPool, EngineError> {
        let tasks: Arc<Queue<Job>> = Arc::new(Queue::new(interp, "pool tasks", None));
        let workers = (1..=k)
            .map(|i| {
                let tasks = tasks.clone();
                interp.spawn(
                    &format!("PoolWorker-{i}"),
                    LaneKind::PoolWorker,
                    Box::new(move |py: &mut Py| worker(py, &tasks)),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(ThreadPool {
            tasks,
            workers,
            next_item: AtomicU64::new(0),
        })
    }

    /// `ThreadPool(k)`: starts the workers.
    pub fn open(&self, py: &mut Py) -> Result<(), Stopped> {
        self.workers.iter().try_for_each(|w| py.start(w))
    }

    fn submit(
        &self,
        py: &mut Py,
        f: &TaskFn,
        chunk: Vec<(usize, i64)>,
        result: &Arc<AsyncResult>,
    ) -> Result<(), Stopped> {
        let item = self.next_item.fetch_add(1, Ordering::Relaxed);
        self.tasks
            .put(py, item, Some((f.clone(), chunk, result.clone())))
    }

    /// `pool.map(f, items)`: the results in input order.
    pub fn map(&self, py: &mut Py, f: &TaskFn, items: &[i64]) -> Result<Vec<i64>, Stopped> {
        let result = AsyncResult::new(0, items.len());
        let size = default_chunksize(items.len(), self.workers.len()).max(1);
        let indexed: Vec<(usize, i64)> = items.iter().copied().enumerate().collect();
        for chunk in indexed.chunks(size) {
            self.submit(py, f, chunk.to_vec(), &result)?;
        }
        result.get(py)
    }

    /// `pool.apply_async(f, (x,))`; `task` numbers it in the trace.
    pub fn apply_async(
        &self,
        py: &mut Py,
        f: &TaskFn,
        task: usize,
        x: i64,
    ) -> Result<Arc<AsyncResult>, Stopped> {
        let result = AsyncResult::new(task, 1);
        self.submit(py, f, vec![(task, x)], &result)?;
        Ok(result)
    }

    /// Leaving `with ThreadPool(k) as pool:`: tells each worker to exit and joins them.
    pub fn close(&self, py: &mut Py) -> Result<(), Stopped> {
        for _ in &self.workers {
            let item = self.next_item.fetch_add(1, Ordering::Relaxed);
            self.tasks.put(py, item, None)?;
        }
        self.workers.iter().try_for_each(|w| py.join(w))
    }
}

/// A pool worker: takes chunks until told to exit.
fn worker(py: &mut Py, tasks: &Queue<Job>) -> Result<(), Stopped> {
    while let (_, Some((f, chunk, result))) = tasks.get(py, State::Idle)? {
        for (index, x) in chunk {
            let task = index as u32;
            py.rec.set_task(Some(task));
            py.rec.mark(MarkKind::TaskStart { task });
            let value = py.call(|py| f(py, x))?;
            py.rec.mark(MarkKind::TaskEnd { task });
            py.rec.set_task(None);
            result.set(index, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::default_chunksize;

    #[test]
    fn chunksize_is_cpythons() {
        // divmod(len, 4 * workers), plus one if there is a remainder.
        assert_eq!(default_chunksize(32, 2), 4);
        assert_eq!(default_chunksize(33, 2), 5);
        assert_eq!(default_chunksize(10, 4), 1);
        assert_eq!(default_chunksize(100, 8), 4);
        assert_eq!(default_chunksize(0, 8), 0);
    }
}
