//! `cpu-processes`: each process has its own interpreter and GIL, so CPU-bound work runs in
//! parallel — at the price of starting the processes.

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{count, start_all_join_all, with_main, WorkerRole};
use super::harness::{Child, Program, Setup, Spawned};
use super::knobs;
use crate::engine::interpreter::interp::ThreadHandle;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::running::program::Lesson;

pub struct CpuProcesses;

#[derive(Deserialize)]
pub struct Knobs {
    processes: usize,
    work: u64,
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

impl Program for CpuProcesses {
    type Knobs = Knobs;
    type Role = WorkerRole;

    const LESSON: &'static Lesson = &Lesson {
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

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let procs = setup.processes(
            WorkerRole::Worker,
            1,
            knobs.processes,
            &SharedObjects::default(),
        );
        with_main(
            setup.interp(),
            move |_| Ok(procs),
            |py, procs| start_all_join_all(py, procs),
        )
    }

    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let total = knobs.processes as u64 * knobs.work;
        setup.main(move |py| count(py, total)).map(Some)
    }

    fn process(&self, knobs: &Knobs, child: Child<WorkerRole>) -> Spawned {
        let work = knobs.work;
        match child.role {
            WorkerRole::Worker => child.main(move |py| count(py, work)),
        }
    }
}
