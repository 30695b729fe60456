//! `counter-race`: all threads share variables; updates need a lock.

use std::sync::{Arc, Mutex};

use gilscope_shared::spec::{Group, Knobs};
use gilscope_shared::trace::CounterKind;

use super::common::{start_all_join_all, threads, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, Py, RunEnv};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::threading::counter::{Form, SharedInt};
use crate::engine::threading::lock::Lock;

pub struct CounterRace;

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

struct Setup {
    counter: Arc<SharedInt>,
    lock: Option<Arc<Lock>>,
    form: Form,
    increments: u64,
    threads: usize,
}

fn setup(knobs: &Knobs) -> Setup {
    Setup {
        counter: Arc::new(SharedInt::default()),
        lock: knobs.bool("lock").then(|| Arc::new(Lock::default())),
        form: Form::parse(knobs.choice("form")).expect("validated choice"),
        increments: knobs.int("increments") as u64,
        threads: knobs.int("threads") as usize,
    }
}

static LESSON: Lesson = Lesson {
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

impl Preset for CounterRace {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let s = setup(knobs);
        let measures = Arc::new(Mutex::new(Measures {
            expected_count: Some((s.threads as u64 * s.increments) as i64),
            ..Measures::default()
        }));
        let track = interp.new_counter("counter", CounterKind::SharedValue);
        let (counter, lock, form, n) = (s.counter.clone(), s.lock.clone(), s.form, s.increments);
        let (result, reader) = (measures.clone(), s.counter.clone());
        let main = with_main(
            &interp,
            move |interp| {
                threads(interp, s.threads, move |py, _| {
                    work(py, &counter, n, form, lock.as_deref())
                })
            },
            move |py, workers| {
                start_all_join_all(py, workers)?;
                result.lock().unwrap_or_else(|e| e.into_inner()).final_count = Some(reader.get());
                Ok(())
            },
        )?;
        let mut experiment = Experiment::single(interp, main, measures);
        let probe = s.counter.clone();
        experiment
            .probes
            .push((track, Box::new(move || probe.get() as f64)));
        Ok(experiment)
    }

    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let s = setup(knobs);
        let total = s.threads as u64 * s.increments;
        let main = with_main(
            &interp,
            |_| Ok(()),
            move |py, _| work(py, &s.counter, total, s.form, s.lock.as_deref()),
        )?;
        Ok(Some(Experiment::single(interp, main, Arc::default())))
    }
}
