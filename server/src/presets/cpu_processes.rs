//! `cpu-processes`: each process has its own interpreter and GIL, so CPU-bound work runs in
//! parallel — at the price of starting the processes.

use std::sync::Arc;

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{count, start_all_join_all, with_main};
use super::harness::{Program, Setup};
use super::knobs;
use super::role::roles;
use crate::engine::interpreter::interp::{EngineError, Interp, ThreadHandle};
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::running::program::Lesson;
use crate::engine::running::worker::WorkerCtx;

pub struct CpuProcesses;

#[derive(Deserialize)]
pub struct Knobs {
    processes: usize,
    work: u64,
}

roles! {
    pub enum Role {
        /// `count(WORK)` in a process of its own.
        Worker = "worker",
    }
}

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

impl Program for CpuProcesses {
    type Knobs = Knobs;
    type Role = Role;

    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Result<ThreadHandle, EngineError> {
        let procs = setup.processes(Role::Worker, 1, knobs.processes, &SharedObjects::default());
        with_main(
            setup.interp(),
            move |_| Ok(procs),
            |py, procs| start_all_join_all(py, procs),
        )
    }

    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Result<Option<ThreadHandle>, EngineError> {
        let total = knobs.processes as u64 * knobs.work;
        with_main(setup.interp(), |_| Ok(()), move |py, _| count(py, total)).map(Some)
    }

    fn process(
        &self,
        knobs: &Knobs,
        role: Role,
        _: &WorkerCtx,
        interp: &Arc<Interp>,
    ) -> Result<ThreadHandle, EngineError> {
        let work = knobs.work;
        match role {
            Role::Worker => with_main(interp, |_| Ok(()), move |py, _| count(py, work)),
        }
    }
}
