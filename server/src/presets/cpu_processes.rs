//! `cpu-processes`: each process has its own interpreter and GIL, so CPU-bound work runs in
//! parallel — at the price of starting the processes.

use std::sync::Arc;

use gilscope_shared::spec::{Group, Knobs};

use super::common::{child_program, count, processes, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, RunEnv, ThreadHandle};
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::running::program::{Experiment, Lesson, Preset};
use crate::engine::running::worker::WorkerCtx;

pub struct CpuProcesses;

const PYTHON: &str = r#"import multiprocessing as mp
import time

PROCESSES = {{processes}}
WORK = {{work}}  # bytecodes per process; one loop iteration is 7 bytecodes

def count(n):
    x = 0
    for i in range(n // 7):
        x += i
    return x

if __name__ == "__main__":
    mp.set_start_method({{start_method}})
    start = time.perf_counter()
    procs = [mp.Process(target=count, args=(WORK,)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - start

    start = time.perf_counter()
    count(WORK * PROCESSES)  # the same total work in one process
    baseline = time.perf_counter() - start
    print(f"{PROCESSES} processes: {wall:.3f} s, one process: {baseline:.3f} s, "
          f"speedup {baseline / wall:.2f}")
"#;

static LESSON: Lesson = Lesson {
    name: "cpu-processes",
    group: Group::Processes,
    claim: "Each process has its own interpreter and GIL, so CPU-bound work runs in parallel.",
    description: "One GIL per process, all cores busy, speedup up to the core count; each process's lane starts with its start-up (try start_method=spawn).",
    python: PYTHON,
    knobs: || {
        vec![
            knobs::processes(2),
            knobs::work(100_000_000),
            knobs::start_method(),
        ]
    },
    small: &[("processes", "2"), ("work", "3000000")],
};

impl Preset for CpuProcesses {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let n = knobs.int("processes") as usize;
        let procs = processes(
            &child_program(self.name(), knobs),
            "worker",
            n,
            &SharedObjects::default(),
        );
        let main = with_main(
            &interp,
            move |_| Ok(procs),
            |py, procs| {
                for p in procs {
                    p.start(py)?;
                    py.straight(3)?;
                }
                for p in procs {
                    p.join(py)?;
                    py.straight(3)?;
                }
                Ok(())
            },
        )?;
        Ok(Experiment::single(interp, main, Default::default()))
    }

    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let total = knobs.int("processes") as u64 * knobs.int("work") as u64;
        let main = with_main(&interp, |_| Ok(()), move |py, _| count(py, total))?;
        Ok(Some(Experiment::single(interp, main, Default::default())))
    }

    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        let work = ctx.knobs().int("work") as u64;
        with_main(interp, |_| Ok(()), move |py, _| count(py, work))
    }
}
