//! `cpu-threads`: with the GIL only one thread runs at a time, so threads do not speed up
//! CPU-bound work.

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{count, start_all_join_all, threads, with_main};
use super::harness::{Program, Setup, Spawned};
use super::knobs;
use super::role::NoProcesses;
use crate::engine::interpreter::interp::ThreadHandle;
use crate::engine::running::program::Lesson;

pub struct CpuThreads;

#[derive(Deserialize)]
pub struct Knobs {
    threads: usize,
    work: u64,
}

const PYTHON: &str = r#"import sys
import threading
import time

THREADS = {{threads}}
WORK = {{work}}  # bytecodes per thread; one loop iteration is 7 bytecodes
sys.setswitchinterval({{switch_interval_ms}} / 1000)
# gil = {{gil}}: CPython 3.11 has the current GIL; "ticks" is Python 2's
# (sys.setcheckinterval({{check_ticks}})), "none" is the free-threaded python3.13t.

def count(n):
    x = 0
    for i in range(n // 7):
        x += i
    return x

start = time.perf_counter()
threads = [threading.Thread(target=count, args=(WORK,)) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.perf_counter() - start

start = time.perf_counter()
count(WORK * THREADS)  # the same total work in one thread
baseline = time.perf_counter() - start
print(f"{THREADS} threads: {wall:.3f} s, one thread: {baseline:.3f} s, "
      f"speedup {baseline / wall:.2f}")
"#;

impl Program for CpuThreads {
    type Knobs = Knobs;
    type Role = NoProcesses;

    const LESSON: &'static Lesson = &Lesson {
        name: "cpu-threads",
        group: Group::Threads,
        claim: "With the GIL only one thread runs at a time: threads do not speed up CPU-bound work.",
        description: "One GIL holder at any instant, hand-offs about every switch interval, about one core busy, speedup about 1x. Try gil=none, and gil=ticks on two cores.",
        python: PYTHON,
        knobs: || {
            vec![
                knobs::threads(4),
                knobs::work(30_000_000),
                knobs::gil("current"),
                knobs::switch_interval_ms(),
                knobs::check_ticks(),
            ]
        },
        small: &[("threads", "3"), ("work", "3000000")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let (n, work) = (knobs.threads, knobs.work);
        with_main(
            setup.interp(),
            |interp| threads(interp, n, move |py, _| count(py, work)),
            |py, workers| start_all_join_all(py, workers),
        )
    }

    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let total = knobs.threads as u64 * knobs.work;
        setup.main(move |py| count(py, total)).map(Some)
    }
}
