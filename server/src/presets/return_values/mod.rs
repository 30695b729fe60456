//! `return-values`: results can come back from worker processes through a file per worker, a
//! `Queue`, or a `Pool` return — timed side by side in one run. And the "conflict with shared
//! memory": a `Value` passed as an argument to `Pool.map` raises CPython's `RuntimeError`
//! (recorded in the summary as `python_exception`; the pool then runs without it), while a
//! pool `initializer` (inheritance) or a `Manager` (a server process) work.
//!
//! The parent's side is in [`parent`], the worker processes' in [`workers`], the file way's
//! reading and writing in [`files`].

mod files;
mod parent;
mod python;
mod workers;

use gilscope_shared::spec::{Group, KnobDef, KnobKind};
use serde::Deserialize;

use crate::engine::multiprocessing::mp_pool::POOL_WORKER;
use crate::engine::running::program::Lesson;
use crate::presets::common::with_main;
use crate::presets::harness::{Child, Program, Setup, Spawned};
use crate::presets::knobs;
use crate::presets::role::roles;

pub use parent::VALUE_ARGUMENT_ERROR;

pub struct ReturnValues;

#[derive(Deserialize, Clone, Copy)]
pub struct Knobs {
    processes: u32,
    items: i64,
    shared: Shared,
}

/// How the pool's workers also count the results in a shared `Value` (the `shared` knob).
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Shared {
    /// They don't.
    None,
    /// Passed to `Pool.map`: CPython raises its `RuntimeError`, and the pool runs without it.
    Argument,
    /// Inherited through the pool's `initializer`.
    Initializer,
    /// A `Manager`'s `Value` and `Lock`, through proxies.
    Manager,
}

roles! {
    pub enum Role {
        /// Writes its part of the results to a file of its own.
        FileWriter = "file_writer",
        /// Puts its part of the results into the queue.
        QueueWriter = "queue_writer",
        /// The `Manager`'s server process.
        Manager = "manager",
        /// A worker of the pool.
        PoolWorker = POOL_WORKER,
    }
}

fn shared_knob() -> KnobDef {
    KnobDef {
        name: "shared".into(),
        description: "also count the results in a shared Value: none; argument (passed to Pool.map: CPython's RuntimeError); initializer (inherited through the pool's initializer); manager (a Manager's Value and Lock, through proxies)".into(),
        kind: KnobKind::Choice {
            options: ["none", "argument", "initializer", "manager"]
                .map(String::from)
                .to_vec(),
            default: "initializer".into(),
        },
    }
}

/// Worker `i`'s items: `range(i, items, processes)`.
fn part(i: u32, knobs: &Knobs) -> impl Iterator<Item = i64> {
    (i64::from(i)..knobs.items).step_by(knobs.processes.max(1) as usize)
}

impl Program for ReturnValues {
    type Knobs = Knobs;
    type Role = Role;

    const LESSON: &'static Lesson = &Lesson {
        name: "return-values",
        group: Group::Caveats,
        claim: "Results come back through a file (slow), a queue (slow with many writers) or a Pool return, which seems to conflict with shared memory.",
        description: "The three ways timed side by side (return_ms_by_way). shared=argument shows the RuntimeError CPython raises for a Value passed to Pool.map; initializer and manager are the ways that work.",
        python: python::PYTHON,
        knobs: || vec![
                knobs::processes(4),
                knobs::items("results computed by the workers", 10_000),
                shared_knob(),
            ],
        small: &[("processes", "2"), ("items", "400")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let parent = parent::Parent::new(knobs, setup)?;
        let (knobs, figures) = (*knobs, setup.figures());
        with_main(
            setup.interp(),
            move |_| Ok(parent),
            move |py, parent| parent.run(py, &knobs, &figures),
        )
    }

    fn process(&self, knobs: &Knobs, child: Child<Role>) -> Spawned {
        workers::main(knobs, child)
    }
}
