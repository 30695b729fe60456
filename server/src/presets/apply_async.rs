//! `apply-async`: `apply_async` takes one set of arguments and returns one `AsyncResult`;
//! iterate for more, then `get()` each.

use std::sync::{Arc, Mutex};

use gilscope_shared::spec::{Group, Knobs};

use super::common::{arena, child_program, pool_worker_main, sequential, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, RunEnv, ThreadHandle};
use crate::engine::multiprocessing::mp_pool::Pool;
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::running::worker::WorkerCtx;

pub struct ApplyAsync;

const PYTHON: &str = r#"import multiprocessing as mp

PROCESSES = {{processes}}
ITEMS = {{items}}
WORK = {{work}}  # bytecodes per task


def f(x):
    for _ in range(WORK // 7):
        pass
    return x * x


if __name__ == "__main__":
    with mp.Pool(PROCESSES) as pool:
        pending = [pool.apply_async(f, (x,)) for x in range(ITEMS)]  # one task each
        results = [r.get() for r in pending]  # blocks until that task is done
    assert results == [x * x for x in range(ITEMS)]
    print(results[:10])
"#;

static LESSON: Lesson = Lesson {
    name: "apply-async",
    group: Group::Processes,
    claim: "apply_async takes one set of arguments and returns one result; iterate for more.",
    description: "Submissions (the main thread) against completions (the workers, the result handler), and the main thread blocked in get().",
    python: PYTHON,
    knobs: || {
        vec![
            knobs::processes(2),
            knobs::items("tasks submitted, one apply_async each", 40),
            knobs::work(2_000_000),
        ]
    },
    small: &[("processes", "2"), ("items", "10"), ("work", "200000")],
};

impl Preset for ApplyAsync {
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
        let items = knobs.int("items");
        let measures = Arc::new(Mutex::new(Measures::default()));
        let m = measures.clone();
        let main = with_main(
            &interp,
            move |_| Ok((pool, arena)),
            move |py, (pool, _arena)| {
                let t0 = py.rec.now();
                pool.open(py)?;
                let pending = (0..items)
                    .map(|x| pool.apply_async(py, x))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut results = Vec::new();
                for r in pending {
                    results.extend(r.get(py)?);
                }
                pool.close_join(py)?;
                let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.results_in_order = Some(results == (0..items).map(|x| x * x).collect::<Vec<_>>());
                m.ops = Some((items as u64, (py.rec.now() - t0) as f64 / 1e9));
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
