//! `process-pool-map`: `Pool(n).map(job, items)` distributes the work over worker processes
//! and returns a list, in input order — no queue to manage.

use std::sync::{Arc, Mutex};

use gilscope_shared::spec::{Group, Knobs};

use super::common::{arena, child_program, pool_worker_main, sequential, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, RunEnv, ThreadHandle};
use crate::engine::multiprocessing::mp_pool::Pool;
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::running::worker::WorkerCtx;

pub struct ProcessPoolMap;

const PYTHON: &str = r#"import multiprocessing as mp
import time

PROCESSES = {{processes}}
ITEMS = {{items}}
WORK = {{work}}  # bytecodes per item
CHUNKSIZE = {{chunksize}}  # 0: CPython's default, divmod(ITEMS, 4 * PROCESSES) rounded up

def f(x):
    for _ in range(WORK // 7):
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

static LESSON: Lesson = Lesson {
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

impl Preset for ProcessPoolMap {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let arena = arena()?;
        let n = knobs.int("processes") as usize;
        let pool = Pool::new(
            &interp,
            &arena,
            &child_program(self.name(), knobs),
            n,
            Default::default(),
        )?;
        let (items, chunksize) = (knobs.int("items"), knobs.int("chunksize") as usize);
        let measures = Arc::new(Mutex::new(Measures::default()));
        let m = measures.clone();
        let main = with_main(
            &interp,
            move |_| Ok((pool, arena)),
            move |py, (pool, _arena)| {
                let t0 = py.rec.now();
                pool.open(py)?;
                let xs: Vec<i64> = (0..items).collect();
                let (results, size) = pool.map(py, &xs, chunksize)?;
                pool.close_join(py)?;
                let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.results_in_order = Some(results == xs.iter().map(|x| x * x).collect::<Vec<_>>());
                m.ops = Some((items as u64, (py.rec.now() - t0) as f64 / 1e9));
                m.processes.chunksize = Some(size as u64);
                Ok(())
            },
        )?;
        Ok(Experiment::single(interp, main, measures))
    }

    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        sequential(knobs, env)
    }

    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        pool_worker_main(ctx, interp)
    }
}
