//! `io-threads`: threads still help I/O-bound work, because waiting releases the GIL.

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

pub struct IoThreads;

#[derive(Deserialize)]
pub struct Knobs {
    threads: usize,
    #[serde(flatten)]
    task: TaskKnobs,
}

const PYTHON: &str = r#"import time
from multiprocessing.pool import ThreadPool

THREADS = {{threads}}
TASKS = {{tasks}}
IO_MS = {{io_ms}}
WORK = {{work}}  # bytecodes of CPU work per task

def fetch(x):
    for i in range(WORK // 3):  # a little computing...
        pass
    time.sleep(IO_MS / 1000)  # ...then wait for "the network": the GIL is released
    return x

start = time.perf_counter()
with ThreadPool(THREADS) as pool:
    results = pool.map(fetch, range(TASKS))
wall = time.perf_counter() - start

start = time.perf_counter()
for x in range(TASKS):
    fetch(x)
baseline = time.perf_counter() - start
print(f"{THREADS} threads: {TASKS / wall:.0f} tasks/s, one thread: {TASKS / baseline:.0f} "
      f"tasks/s, speedup {baseline / wall:.2f}")
"#;

fn fetch(work: u64, io: Duration) -> TaskFn {
    Arc::new(move |py: &mut Py, x| {
        spin(py, work)?;
        py.sleep(io)?;
        Ok(x)
    })
}

impl Program for IoThreads {
    type Knobs = Knobs;
    type Role = NoProcesses;

    const LESSON: &'static Lesson = &Lesson {
        name: "io-threads",
        group: Group::Threads,
        claim: "Threads still help I/O-bound work, because waiting releases the GIL.",
        description:
            "The threads' waits overlap: speedup close to the thread count, cores mostly idle.",
        python: PYTHON,
        knobs: || {
            vec![
                knobs::threads(4),
                knobs::tasks(32),
                knobs::io_ms("I/O wait of each task (time.sleep), in ms", 10.0),
                knobs::work(20_000),
            ]
        },
        small: &[
            ("threads", "4"),
            ("tasks", "8"),
            ("io_ms", "2"),
            ("work", "7000"),
        ],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let f = fetch(knobs.task.work, knobs.task.io());
        let (size, tasks) = (knobs.threads, knobs.task.tasks);
        thread_pool_main(
            setup,
            size,
            tasks,
            |x| x,
            move |py, pool, items| pool.map(py, &f, items),
        )
    }

    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let f = fetch(knobs.task.work, knobs.task.io());
        tasks_in_turn(setup, knobs.task.tasks, f)
    }
}
