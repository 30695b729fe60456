//! `join`: `t.join()` makes the caller wait for `t` only.

use std::sync::Arc;
use std::time::Duration;

use gilscope_shared::spec::{Group, Knobs};

use super::common::{count, start_all_join_all, threads, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, Py, RunEnv};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::running::program::{Experiment, Lesson, Preset};

pub struct Join;

const PYTHON: &str = r#"import threading
import time

THREADS = {{threads}}
IO_MS = {{io_ms}}
WORK = {{work}}


def job(i):
    time.sleep(i * IO_MS / 1000)  # worker i waits i times as long...
    for _ in range(WORK // 7):  # ...then computes
        pass
    print(f"Thread-{i} done")


threads = [threading.Thread(target=job, args=(i,)) for i in range(1, THREADS + 1)]
for t in threads:
    t.start()
for t in threads:
    t.join()  # waits for this thread only; the others keep running
    print(f"joined {t.name}")
"#;

fn job(py: &mut Py, i: usize, io_ms: f64, work: u64) -> Result<(), Stopped> {
    py.call(|py| {
        py.sleep(Duration::from_secs_f64(i as f64 * io_ms / 1e3))?;
        count(py, work)
    })
}

static LESSON: Lesson = Lesson {
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

impl Preset for Join {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let (n, io_ms, work) = (
            knobs.int("threads") as usize,
            knobs.float("io_ms"),
            knobs.int("work") as u64,
        );
        let main = with_main(
            &interp,
            |interp| threads(interp, n, move |py, i| job(py, i, io_ms, work)),
            |py, workers| start_all_join_all(py, workers),
        )?;
        Ok(Experiment::single(interp, main, Arc::default()))
    }

    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let (n, io_ms, work) = (
            knobs.int("threads") as usize,
            knobs.float("io_ms"),
            knobs.int("work") as u64,
        );
        let main = with_main(
            &interp,
            |_| Ok(()),
            move |py, _| (1..=n).try_for_each(|i| job(py, i, io_ms, work)),
        )?;
        Ok(Some(Experiment::single(interp, main, Arc::default())))
    }
}
