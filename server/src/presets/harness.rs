//! The harness between a lesson and the engine. A lesson implements [`Program`]: its knobs as
//! a struct, its worker processes' roles as an enum, and a build that receives its
//! interpreter. The blanket `impl Preset` does the rest, once for every lesson: it types the
//! validated knobs, creates the interpreter they configure and wraps the main thread the
//! lesson spawned into the engine's [`Experiment`].
//!
//! A lesson whose experiment is not one Python interpreter (plus peers, see [`Setup::peer`])
//! can still implement the engine's [`Preset`] itself.

use std::cell::OnceCell;
use std::sync::{Arc, Mutex};

use gilscope_shared::spec::Knobs;
use gilscope_shared::trace::CounterId;
use serde::de::DeserializeOwned;

use super::common::with_main;
use super::knobs::{typed, RunKnobs};
use super::role::Role;
use crate::engine::interpreter::interp::{
    EngineError, Interp, InterpConfig, Py, RunEnv, ThreadHandle,
};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::process::{ChildProgram, Process};
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::running::program::{Experiment, Figures, Lesson, Preset, Probe};
use crate::engine::running::worker::WorkerCtx;

/// A main thread spawned (not started), or why it could not be.
pub type Spawned<T = ThreadHandle> = Result<T, EngineError>;

/// A lesson's experiment, typed.
pub trait Program: Sync + Send + 'static {
    /// Its knobs: one field per knob of its [`Lesson::knobs`] that its programs read, by name
    /// (choices as enums). The interpreter's knobs and `start_method` are the harness's.
    type Knobs: DeserializeOwned;
    /// What its worker processes do ([`NoProcesses`](super::role::NoProcesses) if it starts
    /// none).
    type Role: Role;

    /// What the lesson teaches, as data.
    const LESSON: &'static Lesson;

    /// Spawns the main thread (and whatever it starts) on `setup`'s interpreter, not started.
    fn build(&self, knobs: &Self::Knobs, setup: &mut Setup) -> Spawned;

    /// The same total work done by one thread (or, for I/O lessons, the I/O thread alone);
    /// none for lessons whose point is not a speed-up.
    fn baseline(&self, knobs: &Self::Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let _ = (knobs, setup);
        Ok(None)
    }

    /// Whether the baseline does the experiment's total work (so `speedup` means something).
    fn baseline_is_same_work(&self) -> bool {
        true
    }

    /// The main thread of a worker process (`child` says which), spawned, not started.
    fn process(&self, knobs: &Self::Knobs, child: Child<Self::Role>) -> Spawned {
        let _ = knobs;
        Err(EngineError::NoProcessProgram {
            lesson: Self::LESSON.name,
            role: child.ctx.job.role.clone(),
        })
    }
}

/// A lesson's validated knobs do not fit its [`Program::Knobs`]: the struct names a knob the
/// lesson lacks, or types one differently. A bug in the lesson, which the test over every
/// lesson's defaults and small knobs catches before a student's run can.
#[derive(thiserror::Error, Debug)]
#[error("lesson {lesson}: its knobs do not fit its Knobs struct: {source}")]
pub struct KnobsMismatch {
    lesson: &'static str,
    source: serde_json::Error,
}

/// `knobs` as `P`'s struct, and the harness's own.
pub fn typed_knobs<P: Program>(knobs: &Knobs) -> Result<(P::Knobs, RunKnobs), KnobsMismatch> {
    let mismatch = |source| KnobsMismatch {
        lesson: P::LESSON.name,
        source,
    };
    Ok((
        typed(knobs).map_err(mismatch)?,
        typed(knobs).map_err(mismatch)?,
    ))
}

/// [`typed_knobs`], where a mismatch is a bug: the run (or worker) fails with its message.
fn expect_typed<P: Program>(knobs: &Knobs) -> Result<(P::Knobs, RunKnobs), EngineError> {
    typed_knobs::<P>(knobs).map_err(|e| EngineError::Program(Box::new(e)))
}

/// What a lesson's build works with: the interpreter its knobs configure (created on first
/// use), the run's figures and probes, and what its worker processes run.
pub struct Setup<'a> {
    env: &'a RunEnv,
    config: InterpConfig,
    interp: OnceCell<Arc<Interp>>,
    peers: Vec<Arc<Interp>>,
    figures: Arc<Mutex<Figures>>,
    probes: Vec<Probe>,
    child: ChildProgram,
}

impl<'a> Setup<'a> {
    fn new(lesson: &str, knobs: &Knobs, run: &RunKnobs, env: &'a RunEnv) -> Setup<'a> {
        Setup {
            env,
            config: run.interp_config(),
            interp: OnceCell::new(),
            peers: Vec::new(),
            figures: Arc::default(),
            probes: Vec::new(),
            child: ChildProgram {
                preset: lesson.to_string(),
                knobs: knobs.clone(),
                interp: run.interp_config(),
                start_method: run.start_method,
            },
        }
    }

    /// The main thread running `program`, beside no other thread of its own.
    pub fn main(
        &self,
        program: impl FnOnce(&mut Py) -> Result<(), Stopped> + Send + 'static,
    ) -> Spawned {
        with_main(self.interp(), |_| Ok(()), move |py, _| program(py))
    }

    /// The experiment's Python interpreter (`MainProcess`).
    pub fn interp(&self) -> &Arc<Interp> {
        self.interp
            .get_or_init(|| Interp::new(self.config.clone(), self.env.clone()))
    }

    pub fn env(&self) -> &RunEnv {
        self.env
    }

    /// Another interpreter in the experiment, beside the Python one (an echo server); made
    /// before [`Setup::interp`] is first used, it comes first in the trace.
    pub fn peer(&mut self, config: InterpConfig) -> Arc<Interp> {
        let peer = Interp::new(config, self.env.clone());
        self.peers.push(peer.clone());
        peer
    }

    /// What the run measured beyond the trace, for the programs to fill in.
    pub fn figures(&self) -> Arc<Mutex<Figures>> {
        self.figures.clone()
    }

    /// Samples `read` every conductor tick into the counter track `track`.
    pub fn probe(&mut self, track: CounterId, read: impl Fn() -> f64 + Send + 'static) {
        self.probes.push((track, Box::new(read)));
    }

    /// What the run's worker processes run (for a `Pool`).
    pub fn child(&self) -> &ChildProgram {
        &self.child
    }

    /// `Process(target=..)` named `name`, playing number `index` of `role`, inheriting
    /// `shared`.
    pub fn process(
        &self,
        name: &str,
        role: impl Role,
        index: u32,
        shared: SharedObjects,
    ) -> Process {
        Process::new(name, &self.child, role.wire(), index, shared)
    }

    /// `n` processes of `role`, named `Process-{first}`.., each inheriting `shared`.
    pub fn processes(
        &self,
        role: impl Role,
        first: usize,
        n: usize,
        shared: &SharedObjects,
    ) -> Vec<Process> {
        (0..n)
            .map(|i| {
                let name = format!("Process-{}", first + i);
                self.process(&name, role, i as u32, shared.clone())
            })
            .collect()
    }

    fn experiment(self, main: ThreadHandle) -> Experiment {
        let interp = self.interp().clone();
        Experiment {
            interps: std::iter::once(interp).chain(self.peers).collect(),
            main,
            figures: self.figures,
            probes: self.probes,
        }
    }
}

/// A worker process as [`Program::process`] gets it: its role, its job and shared memory,
/// and the interpreter of its own its main thread runs on.
pub struct Child<'a, R> {
    pub role: R,
    pub ctx: &'a WorkerCtx,
    pub interp: &'a Arc<Interp>,
}

impl<R> Child<'_, R> {
    /// The process's main thread running `program`, spawned, not started.
    pub fn main(
        &self,
        program: impl FnOnce(&mut Py) -> Result<(), Stopped> + Send + 'static,
    ) -> Spawned {
        with_main(self.interp, |_| Ok(()), move |py, _| program(py))
    }
}

impl<P: Program> Preset for P {
    fn lesson(&self) -> &'static Lesson {
        P::LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let (typed, run) = expect_typed::<P>(knobs)?;
        let mut setup = Setup::new(self.name(), knobs, &run, env);
        let main = Program::build(self, &typed, &mut setup)?;
        Ok(setup.experiment(main))
    }

    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        let (typed, run) = expect_typed::<P>(knobs)?;
        let mut setup = Setup::new(self.name(), knobs, &run, env);
        let main = Program::baseline(self, &typed, &mut setup)?;
        Ok(main.map(|main| setup.experiment(main)))
    }

    fn baseline_is_same_work(&self) -> bool {
        Program::baseline_is_same_work(self)
    }

    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        let role =
            P::Role::from_wire(&ctx.job.role).ok_or_else(|| EngineError::NoProcessProgram {
                lesson: self.name(),
                role: ctx.job.role.clone(),
            })?;
        let (typed, _) = expect_typed::<P>(ctx.knobs())?;
        Program::process(self, &typed, Child { role, ctx, interp })
    }
}
