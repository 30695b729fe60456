//! `counter-race`: all threads share variables; updates need a lock.

use std::sync::Arc;

use gilscope_shared::spec::Group;
use gilscope_shared::trace::CounterKind;
use serde::Deserialize;

use super::common::{start_all_join_all, threads, with_main};
use super::harness::{Program, Setup, Spawned};
use super::knobs;
use super::role::NoProcesses;
use crate::engine::interpreter::interp::{Py, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::running::program::Lesson;
use crate::engine::threading::counter::{Form, SharedInt};
use crate::engine::threading::lock::Lock;

pub struct CounterRace;

#[derive(Deserialize)]
pub struct Knobs {
    threads: usize,
    increments: u64,
    form: Form,
    lock: bool,
}

const PYTHON: &str = r#"import sys
import threading

THREADS = {{threads}}
INCREMENTS = {{increments}}
FORM = {{form}}  # "augmented" or "call"
LOCK = {{lock}}
sys.setswitchinterval({{switch_interval_ms}} / 1000)
# check_every_bytecode = {{check_every_bytecode}}: CPython <= 3.9 checked for a switch
# between almost every bytecode; 3.10+ only at loop back-edges and calls.

counter = 0
lock = threading.Lock()

def one():
    return 1

def work(n):
    global counter
    for _ in range(n):
        if LOCK:
            with lock:
                if FORM == "call":
                    counter = counter + one()
                else:
                    counter += 1
        elif FORM == "call":
            counter = counter + one()  # a call (a switch point) between read and write
        else:
            counter += 1  # LOAD_GLOBAL, LOAD_CONST, BINARY_OP, STORE_GLOBAL

threads = [threading.Thread(target=work, args=(INCREMENTS,)) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
expected = THREADS * INCREMENTS
print(f"expected {expected}, got {counter}, lost {expected - counter}")
"#;

/// `work(n)`: n increments of the shared counter.
fn work(
    py: &mut Py,
    counter: &SharedInt,
    n: u64,
    form: Form,
    lock: Option<&Lock>,
) -> Result<(), Stopped> {
    py.call(|py| {
        py.straight(6)?; // range(n), GET_ITER
        for _ in 0..n {
            counter.increment(py, form, lock)?;
        }
        Ok(())
    })
}

/// The shared counter, and the lock guarding it if the knobs ask for one.
fn shared(knobs: &Knobs) -> (Arc<SharedInt>, Option<Arc<Lock>>) {
    let lock = knobs.lock.then(|| Arc::new(Lock::default()));
    (Arc::new(SharedInt::default()), lock)
}

impl Program for CounterRace {
    type Knobs = Knobs;
    type Role = NoProcesses;

    const LESSON: &'static Lesson = &Lesson {
        name: "counter-race",
        group: Group::Threads,
        claim: "All threads share variables; updating them needs a lock.",
        description: "Lost updates when a switch falls between the read and the write. On 3.10+ `counter += 1` happens to lose nothing (no check point inside it) while `counter = counter + one()` loses many: luck, not safety. With the lock the count is exact, and slower.",
        python: PYTHON,
        knobs: || {
            vec![
                    knobs::threads(4),
                    knobs::increments(1_000_000),
                    knobs::form(),
                    knobs::lock(),
                    knobs::check_every_bytecode(),
                    knobs::switch_interval_ms(),
                    knobs::gil("current"),
            ]
        },
        small: &[("threads", "3"), ("increments", "20000"), ("form", "call")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let (counter, lock) = shared(knobs);
        let (n, form, increments) = (knobs.threads, knobs.form, knobs.increments);
        let result = setup.figures();
        {
            let mut figures = result.lock().unwrap_or_else(|e| e.into_inner());
            figures.expected_count = Some((n as u64 * increments) as i64);
            figures.baseline_unlocked = Some(knobs.lock);
        }
        let track = setup
            .interp()
            .new_counter("counter", CounterKind::SharedValue);
        let (reader, probe) = (counter.clone(), counter.clone());
        let main = with_main(
            setup.interp(),
            move |interp| {
                threads(interp, n, move |py, _| {
                    work(py, &counter, increments, form, lock.as_deref())
                })
            },
            move |py, workers| {
                start_all_join_all(py, workers)?;
                result.lock().unwrap_or_else(|e| e.into_inner()).final_count = Some(reader.get());
                Ok(())
            },
        )?;
        setup.probe(track, move || probe.get() as f64);
        Ok(main)
    }

    /// One thread, and no lock: one thread needs none, so with `lock=true` the speed-up is
    /// what the lock cost (`baseline_unlocked`).
    fn baseline(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let counter = SharedInt::default();
        let total = knobs.threads as u64 * knobs.increments;
        let form = knobs.form;
        setup
            .main(move |py| work(py, &counter, total, form, None))
            .map(Some)
    }
}
