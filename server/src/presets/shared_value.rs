//! `shared-value`: shared memory via `Value(type, init)`; modifying it needs a lock. Without
//! `get_lock()` the processes lose updates — a real race between cores, in real shared
//! memory; with it the count is exact and the lock's cost shows as waiting.

use std::sync::Arc;

use gilscope_shared::spec::{Group, KnobDef, KnobKind};
use gilscope_shared::trace::CounterKind;
use serde::Deserialize;

use super::common::{arena, with_main, WorkerRole};
use super::harness::{Child, Program, Setup, Spawned};
use super::knobs;
use crate::engine::interpreter::error::Inherited;
use crate::engine::interpreter::interp::EngineError;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::multiprocessing::shared_value::SharedValue;
use crate::engine::running::program::Lesson;
use crate::engine::running::worker::WorkerCtx;

pub struct SharedValuePreset;

#[derive(Deserialize)]
pub struct Knobs {
    processes: usize,
    increments: i64,
    lock: bool,
}

const PYTHON: &str = r#"import multiprocessing as mp

PROCESSES = {{processes}}
INCREMENTS = {{increments}}  # per process
LOCK = {{lock}}

def work(v, n, lock):
    for _ in range(n):
        if lock:
            with v.get_lock():  # holds the lock across the read and the write
                v.value += 1
        else:
            v.value += 1  # a locked read, then a locked write: not atomic

if __name__ == "__main__":
    v = mp.Value("i", 0)  # an int in shared memory, with a process-shared RLock
    procs = [mp.Process(target=work, args=(v, INCREMENTS, LOCK)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    expected = PROCESSES * INCREMENTS
    print(f"expected {expected}, got {v.value}, lost {expected - v.value}")
"#;

fn increments() -> KnobDef {
    KnobDef {
        name: "increments".into(),
        description: "increments per process".into(),
        kind: KnobKind::Int {
            min: 1,
            max: 10_000_000,
            default: 100_000,
        },
    }
}

fn attach_value(ctx: &WorkerCtx) -> Result<SharedValue, EngineError> {
    let shared = &ctx.job.shared;
    match (
        &ctx.arena,
        shared.value("value"),
        shared.value("value_lock"),
    ) {
        (Some(arena), Some(v), Some(l)) => Ok(SharedValue::attach(arena, v, l)),
        _ => Err(EngineError::NotInherited(Inherited::Value("value".into()))),
    }
}

impl Program for SharedValuePreset {
    type Knobs = Knobs;
    type Role = WorkerRole;

    const LESSON: &'static Lesson = &Lesson {
        name: "shared-value",
        group: Group::Processes,
        claim: "Shared memory via Value(type, init); modifying it needs a lock.",
        description: "Without the lock the processes lose updates (a real race between cores); with it the total is exact and the processes wait for the lock.",
        python: PYTHON,
        knobs: || vec![
                knobs::processes(4),
                increments(),
                knobs::process_lock("hold v.get_lock() around v.value += 1"),
            ],
        small: &[("processes", "2"), ("increments", "20000")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let n = knobs.processes;
        let arena = arena()?;
        let value = Arc::new(SharedValue::create(&arena).map_err(EngineError::SharedMemory)?);
        let (v, l) = value.offsets();
        let shared = SharedObjects {
            arena: Some((arena.raw_fd(), arena.len())),
            values: vec![("value".into(), v), ("value_lock".into(), l)],
            ..SharedObjects::default()
        };
        let track = setup
            .interp()
            .new_counter("v.value", CounterKind::SharedValue);
        let procs = setup.processes(WorkerRole::Worker, 1, n, &shared);
        let m = setup.figures();
        m.lock().unwrap_or_else(|e| e.into_inner()).expected_count =
            Some(n as i64 * knobs.increments);
        let final_value = value.clone();
        let main = with_main(
            setup.interp(),
            move |_| Ok(procs),
            move |py, procs| {
                final_value.construct(py)?;
                for p in procs {
                    p.start(py)?;
                }
                for p in procs {
                    p.join(py)?;
                }
                m.lock().unwrap_or_else(|e| e.into_inner()).final_count = Some(final_value.peek());
                Ok(())
            },
        )?;
        setup.probe(track, move || value.peek() as f64);
        Ok(main)
    }

    fn process(&self, knobs: &Knobs, child: Child<WorkerRole>) -> Spawned {
        let WorkerRole::Worker = child.role;
        let value = attach_value(child.ctx)?;
        let (n, lock) = (knobs.increments, knobs.lock);
        child.main(move |py| {
            py.call(|py| {
                py.straight(6)?; // range(n), GET_ITER
                for _ in 0..n {
                    value.increment(py, lock)?;
                }
                Ok(())
            })
        })
    }
}
