//! `io-threads`: threads still help I/O-bound work, because waiting releases the GIL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gilscope_shared::spec::{Group, Knobs};

use super::common::{count, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, Py, RunEnv};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::threading::pool::{TaskFn, ThreadPool};

pub struct IoThreads;

const PYTHON: &str = r#"import time
from multiprocessing.pool import ThreadPool

THREADS = {{threads}}
TASKS = {{tasks}}
IO_MS = {{io_ms}}
WORK = {{work}}  # bytecodes of CPU work per task


def fetch(x):
    for i in range(WORK // 7):  # a little computing...
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
        count(py, work)?;
        py.sleep(io)?;
        Ok(x)
    })
}

fn timed(
    py: &mut Py,
    measures: &Mutex<Measures>,
    tasks: u64,
    f: impl FnOnce(&mut Py) -> Result<(), Stopped>,
) -> Result<(), Stopped> {
    let t0 = py.rec.now();
    f(py)?;
    let seconds = (py.rec.now() - t0) as f64 / 1e9;
    measures.lock().unwrap_or_else(|e| e.into_inner()).ops = Some((tasks, seconds));
    Ok(())
}

static LESSON: Lesson = Lesson {
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

impl Preset for IoThreads {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let tasks = knobs.int("tasks");
        let f = fetch(
            knobs.int("work") as u64,
            Duration::from_secs_f64(knobs.float("io_ms") / 1e3),
        );
        let k = knobs.int("threads") as usize;
        let measures = Arc::new(Mutex::new(Measures::default()));
        let result = measures.clone();
        let main = with_main(
            &interp,
            |interp| ThreadPool::new(interp, k),
            move |py, pool| {
                timed(py, &result, tasks as u64, |py| {
                    pool.open(py)?;
                    let items: Vec<i64> = (0..tasks).collect();
                    let results = pool.map(py, &f, &items)?;
                    pool.close(py)?;
                    result
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .results_in_order = Some(results == items);
                    Ok(())
                })
            },
        )?;
        Ok(Experiment::single(interp, main, measures))
    }

    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let tasks = knobs.int("tasks");
        let f = fetch(
            knobs.int("work") as u64,
            Duration::from_secs_f64(knobs.float("io_ms") / 1e3),
        );
        let measures = Arc::new(Mutex::new(Measures::default()));
        let result = measures.clone();
        let main = with_main(
            &interp,
            |_| Ok(()),
            move |py, _| {
                timed(py, &result, tasks as u64, |py| {
                    for x in 0..tasks {
                        py.call(|py| f(py, x))?;
                    }
                    Ok(())
                })
            },
        )?;
        Ok(Some(Experiment::single(interp, main, measures)))
    }
}
