//! `thread-pool-map`: a thread pool takes the tasks and distributes them; `map` returns the
//! list of results, in input order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gilscope_shared::spec::{Group, Knobs};

use super::common::{count, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, Py, RunEnv};
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::threading::pool::{TaskFn, ThreadPool};

pub struct ThreadPoolMap;

const PYTHON: &str = r#"import time
from multiprocessing.pool import ThreadPool

POOL_SIZE = {{pool_size}}
TASKS = {{tasks}}
WORK = {{work}}  # bytecodes of CPU work per task
IO_MS = {{io_ms}}  # then an I/O wait per task
API = {{api}}


def f(x):
    for _ in range(WORK // 7):
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
        count(py, work)?;
        if !io.is_zero() {
            py.sleep(io)?;
        }
        Ok(x * x)
    })
}

static LESSON: Lesson = Lesson {
    name: "thread-pool-map",
    group: Group::Threads,
    claim: "A thread pool takes the tasks and distributes them; map returns the list of results.",
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

impl Preset for ThreadPoolMap {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let (k, tasks) = (knobs.int("pool_size") as usize, knobs.int("tasks"));
        let f = task(
            knobs.int("work") as u64,
            Duration::from_secs_f64(knobs.float("io_ms") / 1e3),
        );
        let use_map = knobs.choice("api") == "map";
        let measures = Arc::new(Mutex::new(Measures::default()));
        let result = measures.clone();
        let main = with_main(
            &interp,
            |interp| ThreadPool::new(interp, k),
            move |py, pool| {
                let t0 = py.rec.now();
                pool.open(py)?;
                let items: Vec<i64> = (0..tasks).collect();
                let results = if use_map {
                    pool.map(py, &f, &items)?
                } else {
                    let pending = items
                        .iter()
                        .enumerate()
                        .map(|(i, &x)| pool.apply_async(py, &f, i, x))
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut results = Vec::new();
                    for r in pending {
                        results.extend(r.get(py)?);
                    }
                    results
                };
                pool.close(py)?;
                let mut m = result.lock().unwrap_or_else(|e| e.into_inner());
                m.results_in_order =
                    Some(results == items.iter().map(|x| x * x).collect::<Vec<_>>());
                m.ops = Some((tasks as u64, (py.rec.now() - t0) as f64 / 1e9));
                Ok(())
            },
        )?;
        Ok(Experiment::single(interp, main, measures))
    }

    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let tasks = knobs.int("tasks");
        let f = task(
            knobs.int("work") as u64,
            Duration::from_secs_f64(knobs.float("io_ms") / 1e3),
        );
        let measures = Arc::new(Mutex::new(Measures::default()));
        let result = measures.clone();
        let main = with_main(
            &interp,
            |_| Ok(()),
            move |py, _| {
                let t0 = py.rec.now();
                for x in 0..tasks {
                    py.call(|py| f(py, x))?;
                }
                result.lock().unwrap_or_else(|e| e.into_inner()).ops =
                    Some((tasks as u64, (py.rec.now() - t0) as f64 / 1e9));
                Ok(())
            },
        )?;
        Ok(Some(Experiment::single(interp, main, measures)))
    }
}
