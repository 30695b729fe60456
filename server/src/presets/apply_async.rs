//! `apply-async`: `apply_async` takes one set of arguments and returns one `AsyncResult`;
//! iterate for more, then `get()` each.

use gilscope_shared::spec::Group;

use super::common::{pool_main, pool_worker_main, sequential, PoolKnobs, PoolRole};
use super::harness::{Child, Program, Setup, Spawned};
use super::knobs;
use crate::engine::interpreter::interp::ThreadHandle;
use crate::engine::running::program::Lesson;

pub struct ApplyAsync;

const PYTHON: &str = r#"import multiprocessing as mp

PROCESSES = {{processes}}
ITEMS = {{items}}
WORK = {{work}}  # bytecodes per task

def f(x):
    for _ in range(WORK // 3):
        pass
    return x * x

if __name__ == "__main__":
    with mp.Pool(PROCESSES) as pool:
        pending = [pool.apply_async(f, (x,)) for x in range(ITEMS)]  # one task each
        results = [r.get() for r in pending]  # blocks until that task is done
    assert results == [x * x for x in range(ITEMS)]
    print(results[:10])
"#;

impl Program for ApplyAsync {
    type Knobs = PoolKnobs;
    type Role = PoolRole;

    const LESSON: &'static Lesson = &Lesson {
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

    fn build(&self, knobs: &PoolKnobs, setup: &mut Setup) -> Spawned {
        pool_main(setup, knobs, |py, pool, xs| {
            let pending = xs
                .iter()
                .map(|&x| pool.apply_async(py, x))
                .collect::<Result<Vec<_>, _>>()?;
            let mut results = Vec::new();
            for r in pending {
                results.extend(r.get(py)?);
            }
            Ok(results)
        })
    }

    fn baseline(&self, knobs: &PoolKnobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        sequential(setup, knobs)
    }

    fn process(&self, knobs: &PoolKnobs, child: Child<PoolRole>) -> Spawned {
        pool_worker_main(&child, knobs.work)
    }
}
