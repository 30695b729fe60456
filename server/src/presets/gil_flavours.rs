//! `gil-flavours`: the same workload — CPU-bound threads plus one thread doing short I/O
//! waits — under the current GIL, Python 2's tick GIL and no GIL.

use std::time::Duration;

use gilscope_shared::spec::Group;
use gilscope_shared::trace::LaneKind;
use serde::Deserialize;

use super::common::{spin, start_all_join_all, threads, with_main};
use super::harness::{Program, Setup, Spawned};
use super::knobs;
use super::role::NoProcesses;
use crate::engine::interpreter::interp::{EngineError, Py, ThreadHandle};
use crate::engine::running::program::Lesson;

pub struct GilFlavours;

#[derive(Deserialize)]
pub struct Knobs {
    threads: usize,
    work: u64,
    io_ms: f64,
}

const PYTHON: &str = r#"import sys
import threading
import time

THREADS = {{threads}}
WORK = {{work}}
IO_MS = {{io_ms}}
# gil = {{gil}}. On CPython 3.11 this is the current GIL; for "ticks" run it on Python 2
# (print as a statement aside) with sys.setcheckinterval({{check_ticks}}); for "none" on
# python3.13t.
sys.setswitchinterval({{switch_interval_ms}} / 1000)

def count(n):
    for i in range(n // 3):
        pass

def poll(done, wakeups):
    while not done.is_set():
        time.sleep(IO_MS / 1000)  # a short I/O wait; then it needs the GIL back
        wakeups.append(time.perf_counter())

done, wakeups = threading.Event(), []
io = threading.Thread(target=poll, args=(done, wakeups))
workers = [threading.Thread(target=count, args=(WORK,)) for _ in range(THREADS)]
start = time.perf_counter()
io.start()
for t in workers:
    t.start()
for t in workers:
    t.join()
wall = time.perf_counter() - start
done.set()
io.join()
print(f"{wall:.3f} s, I/O thread woke {len(wakeups) / wall:.0f} times/s "
      f"(alone: {1000 / IO_MS:.0f}/s)")
"#;

impl Program for GilFlavours {
    type Knobs = Knobs;
    type Role = NoProcesses;

    const LESSON: &'static Lesson = &Lesson {
        name: "gil-flavours",
        group: Group::Beyond,
        claim: "The GIL has changed: Python 2's tick GIL thrashes on several cores, 3.2+ hands over every switch interval, 3.13t has none.",
        description: "Compare speedup, cores busy, hand-offs and how often the I/O thread gets to run under gil=current, ticks and none.",
        python: PYTHON,
        knobs: || {
            vec![
                    knobs::gil("ticks"),
                    knobs::threads(2),
                    knobs::work(30_000_000),
                    knobs::io_ms("the I/O thread's wait between polls, in ms", 1.0),
                    knobs::switch_interval_ms(),
                    knobs::check_ticks(),
            ]
        },
        small: &[("threads", "2"), ("work", "3000000"), ("io_ms", "1")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let (n, work) = (knobs.threads, knobs.work);
        let io_wait = Duration::from_secs_f64(knobs.io_ms / 1e3);
        let result = setup.figures();
        with_main(
            setup.interp(),
            move |interp| -> Result<(ThreadHandle, Vec<ThreadHandle>), EngineError> {
                let workers = threads(interp, n, move |py, _| spin(py, work))?;
                let watched = workers.clone();
                let io = interp.spawn(
                    "io",
                    LaneKind::Worker,
                    Box::new(move |py: &mut Py| {
                        let t0 = py.rec.now();
                        let mut wakeups = 0u64;
                        while !watched.iter().all(|w| w.is_done()) {
                            py.straight(6)?;
                            py.sleep(io_wait)?;
                            wakeups += 1;
                            py.check()?;
                        }
                        let seconds = (py.rec.now() - t0) as f64 / 1e9;
                        result.lock().unwrap_or_else(|e| e.into_inner()).ops_per_s =
                            Some(wakeups as f64 / seconds);
                        Ok(())
                    }),
                )?;
                Ok((io, workers))
            },
            |py, (io, workers)| {
                py.start(io)?;
                start_all_join_all(py, workers)?;
                py.join(io)
            },
        )
    }

    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let total = knobs.threads as u64 * knobs.work;
        setup.main(move |py| spin(py, total)).map(Some)
    }
}
