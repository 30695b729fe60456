//! `process-pool-map`: `Pool(n).map(job, items)` distributes the work over worker processes
//! and returns a list, in input order — no queue to manage.

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{pool_main, pool_worker_main, sequential, PoolKnobs, PoolRole};
use super::harness::{Child, Program, Setup, Spawned};
use super::knobs;
use crate::engine::interpreter::interp::ThreadHandle;
use crate::engine::running::program::Lesson;

pub struct ProcessPoolMap;

#[derive(Deserialize)]
pub struct Knobs {
    #[serde(flatten)]
    pool: PoolKnobs,
    /// Items per task; 0 for CPython's default.
    chunksize: usize,
}

const PYTHON: &str = r#"import multiprocessing as mp
import time

PROCESSES = {{processes}}
ITEMS = {{items}}
WORK = {{work}}  # bytecodes per item
CHUNKSIZE = {{chunksize}}  # 0: CPython's default, divmod(ITEMS, 4 * PROCESSES) rounded up

def f(x):
    for _ in range(WORK // 3):
        pass
    return x * x

if __name__ == "__main__":
    start = time.perf_counter()
    with mp.Pool(PROCESSES) as pool:
        results = pool.map(f, range(ITEMS), CHUNKSIZE or None)
    wall = time.perf_counter() - start
    assert results == [x * x for x in range(ITEMS)]  # in input order

    start = time.perf_counter()
    [f(x) for x in range(ITEMS)]  # the same work in one process
    baseline = time.perf_counter() - start
    print(f"Pool({PROCESSES}).map: {wall:.3f} s, one process: {baseline:.3f} s, "
          f"speedup {baseline / wall:.2f}")
"#;

impl Program for ProcessPoolMap {
    type Knobs = Knobs;
    type Role = PoolRole;

    const LESSON: &'static Lesson = &Lesson {
        name: "process-pool-map",
        group: Group::Processes,
        claim: "Pool(n).map(job, items) distributes the work and returns a list; no queue needed.",
        description: "Chunks (CPython's default size unless given) handed to worker processes by the task handler, workers busy on separate cores, results collected by the result handler in input order.",
        python: PYTHON,
        knobs: || {
            vec![
                knobs::processes(2),
                knobs::items("items mapped", 40),
                knobs::chunksize(),
                knobs::work(5_000_000),
            ]
        },
        small: &[("processes", "2"), ("items", "20"), ("work", "200000")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let (chunksize, m) = (knobs.chunksize, setup.figures());
        pool_main(setup, &knobs.pool, move |py, pool, xs| {
            let (results, size) = pool.map(py, xs, chunksize)?;
            m.lock().unwrap_or_else(|e| e.into_inner()).chunksize = Some(size as u64);
            Ok(results)
        })
    }

    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        sequential(setup, &knobs.pool)
    }

    fn process(&self, knobs: &Knobs, child: Child<PoolRole>) -> Spawned {
        pool_worker_main(&child, knobs.pool.work)
    }
}
