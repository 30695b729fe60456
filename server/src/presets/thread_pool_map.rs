//! `thread-pool-map`: a thread pool takes the tasks and distributes them; `map` returns the
//! list of results, in input order.

use std::sync::Arc;
use std::time::Duration;

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{spin, tasks_in_turn, thread_pool_main, TaskKnobs};
use super::harness::{Program, Setup, Spawned};
use super::knobs;
use super::role::NoProcesses;
use crate::engine::interpreter::interp::{Py, ThreadHandle};
use crate::engine::running::program::Lesson;
use crate::engine::threading::pool::TaskFn;

pub struct ThreadPoolMap;

#[derive(Deserialize)]
pub struct Knobs {
    pool_size: usize,
    #[serde(flatten)]
    task: TaskKnobs,
    api: Api,
}

/// How the tasks are handed to the pool.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Api {
    /// `pool.map(f, items)`.
    Map,
    /// One `pool.apply_async(f, (x,))` per item, then `.get()` each.
    ApplyAsync,
}

const PYTHON: &str = r#"import time
from multiprocessing.pool import ThreadPool

POOL_SIZE = {{pool_size}}
TASKS = {{tasks}}
WORK = {{work}}  # bytecodes of CPU work per task
IO_MS = {{io_ms}}  # then an I/O wait per task
API = {{api}}

def f(x):
    for _ in range(WORK // 3):
        pass
    if IO_MS:
        time.sleep(IO_MS / 1000)
    return x * x

with ThreadPool(POOL_SIZE) as pool:
    if API == "map":
        results = pool.map(f, range(TASKS))  # chunks handed to the workers
    else:
        pending = [pool.apply_async(f, (x,)) for x in range(TASKS)]
        results = [r.get() for r in pending]
assert results == [x * x for x in range(TASKS)]  # in input order
print(results[:10])
"#;

fn task(work: u64, io: Duration) -> TaskFn {
    Arc::new(move |py: &mut Py, x| {
        spin(py, work)?;
        if !io.is_zero() {
            py.sleep(io)?;
        }
        Ok(x * x)
    })
}

impl Program for ThreadPoolMap {
    type Knobs = Knobs;
    type Role = NoProcesses;

    const LESSON: &'static Lesson = &Lesson {
        name: "thread-pool-map",
        group: Group::Threads,
        claim:
            "A thread pool takes the tasks and distributes them; map returns the list of results.",
        description:
            "Which worker runs which task, the pool's task queue draining, results in input order.",
        python: PYTHON,
        knobs: || {
            vec![
                knobs::pool_size(4),
                knobs::tasks(40),
                knobs::work(1_000_000),
                knobs::io_ms(
                    "I/O wait per task after its CPU work, in ms (0: CPU-bound)",
                    5.0,
                ),
                knobs::api(),
            ]
        },
        small: &[
            ("pool_size", "3"),
            ("tasks", "10"),
            ("work", "100000"),
            ("io_ms", "1"),
        ],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let f = task(knobs.task.work, knobs.task.io());
        let (size, tasks, api) = (knobs.pool_size, knobs.task.tasks, knobs.api);
        thread_pool_main(
            setup,
            size,
            tasks,
            |x| x * x,
            move |py, pool, items| match api {
                Api::Map => pool.map(py, &f, items),
                Api::ApplyAsync => {
                    let pending = items
                        .iter()
                        .enumerate()
                        .map(|(i, &x)| pool.apply_async(py, &f, i, x))
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut results = Vec::new();
                    for r in pending {
                        results.extend(r.get(py)?);
                    }
                    Ok(results)
                }
            },
        )
    }

    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let f = task(knobs.task.work, knobs.task.io());
        tasks_in_turn(setup, knobs.task.tasks, f)
    }
}
