//! `join`: `t.join()` makes the caller wait for `t` only.

use std::time::Duration;

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{spin, start_all_join_all, threads, with_main};
use super::harness::{Program, Setup, Spawned};
use super::knobs;
use super::role::NoProcesses;
use crate::engine::interpreter::interp::{Py, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::running::program::Lesson;

pub struct Join;

#[derive(Deserialize, Clone, Copy)]
pub struct Knobs {
    threads: usize,
    io_ms: f64,
    work: u64,
}

const PYTHON: &str = r#"import threading
import time

THREADS = {{threads}}
IO_MS = {{io_ms}}
WORK = {{work}}

def job(i):
    time.sleep(i * IO_MS / 1000)  # worker i waits i times as long...
    for _ in range(WORK // 3):  # ...then computes
        pass
    print(f"Thread-{i} done")

threads = [threading.Thread(target=job, args=(i,)) for i in range(1, THREADS + 1)]
for t in threads:
    t.start()
for t in threads:
    t.join()  # waits for this thread only; the others keep running
    print(f"joined {t.name}")
"#;

/// `job(i)`: sleeps `i` times `io_ms`, then counts.
fn job(py: &mut Py, i: usize, knobs: Knobs) -> Result<(), Stopped> {
    py.call(|py| {
        py.sleep(Duration::from_secs_f64(i as f64 * knobs.io_ms / 1e3))?;
        spin(py, knobs.work)
    })
}

impl Program for Join {
    type Knobs = Knobs;
    type Role = NoProcesses;

    const LESSON: &'static Lesson = &Lesson {
        name: "join",
        group: Group::Threads,
        claim: "t.join() makes the caller wait for t only.",
        description: "The main lane is blocked in join until that worker ends, then joins the next; the other workers run on regardless.",
        python: PYTHON,
        knobs: || {
            vec![
                    knobs::threads(3),
                    knobs::io_ms("worker i first sleeps i times this long, in ms", 50.0),
                    knobs::work(10_000_000),
            ]
        },
        small: &[("threads", "3"), ("io_ms", "5"), ("work", "1000000")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let knobs = *knobs;
        with_main(
            setup.interp(),
            |interp| threads(interp, knobs.threads, move |py, i| job(py, i, knobs)),
            |py, workers| start_all_join_all(py, workers),
        )
    }

    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let knobs = *knobs;
        setup
            .main(move |py| (1..=knobs.threads).try_for_each(|i| job(py, i, knobs)))
            .map(Some)
    }
}
