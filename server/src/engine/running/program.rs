//! The program API: what a lesson gives the engine to run. A [`Preset`] builds an
//! [`Experiment`] (interpreters with their threads spawned, not started) from knobs that were
//! validated where they entered; its programs fill in [`Figures`] beyond the trace.
//!
//! The engine never looks a preset up by name: the application (run manager, CLI, the worker
//! entry point) resolves a spec against its registry and hands the engine the preset itself.

use std::sync::{Arc, Mutex};

use gilscope_shared::spec::{render_python, Group, KnobDef, Knobs, PresetInfo};
pub use gilscope_shared::summary::Figures;
use gilscope_shared::trace::CounterId;

use crate::engine::interpreter::interp::{EngineError, Interp, RunEnv, ThreadHandle};
use crate::engine::running::worker::WorkerCtx;

/// What a lesson is, as data: its name, where the dashboard lists it, what it claims, the
/// Python it mirrors (a template with `{{knob}}` holes) and its knobs.
pub struct Lesson {
    pub name: &'static str,
    pub group: Group,
    /// The notes' claim, one sentence.
    pub claim: &'static str,
    /// What to look at, and what to try.
    pub description: &'static str,
    /// The Python the lesson mirrors, runnable on CPython once its knobs are filled in.
    pub python: &'static str,
    /// Its knobs, with their bounds and defaults.
    pub knobs: fn() -> Vec<KnobDef>,
    /// Knob values that make a run of a second or less: what tests and smoke checks use.
    pub small: &'static [(&'static str, &'static str)],
}

/// A lesson's experiment: what it teaches (its [`Lesson`]) and how to run it.
pub trait Preset: Sync + Send {
    fn lesson(&self) -> &'static Lesson;
    fn name(&self) -> &'static str {
        self.lesson().name
    }
    /// The Python this preset mirrors, with `knobs`' values filled in.
    fn python(&self, knobs: &Knobs) -> String {
        render_python(self.lesson().python, knobs)
    }
    /// Claim, description, Python (rendered with the default knobs) and knobs.
    fn info(&self) -> PresetInfo {
        let lesson = self.lesson();
        let knobs = (lesson.knobs)();
        let defaults = Knobs(
            knobs
                .iter()
                .map(|k| (k.name.clone(), k.default_value()))
                .collect(),
        );
        PresetInfo {
            name: lesson.name.into(),
            group: lesson.group,
            claim: lesson.claim.into(),
            description: lesson.description.into(),
            python: self.python(&defaults),
            python_template: lesson.python.into(),
            knobs,
        }
    }
    /// The experiment, its threads spawned but not started.
    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError>;
    /// The same total work done by one thread (or, for I/O presets, the I/O thread alone);
    /// none for presets whose lesson is not a speed-up.
    fn baseline(&self, knobs: &Knobs, env: &RunEnv) -> Result<Option<Experiment>, EngineError> {
        let _ = (knobs, env);
        Ok(None)
    }
    /// Whether the baseline does the experiment's total work (so `speedup` means something).
    fn baseline_is_same_work(&self) -> bool {
        true
    }
    /// The main thread of a worker process this preset starts (run by `gilscope worker` in
    /// the child, for the role and index its job names), spawned but not started.
    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        let _ = interp;
        Err(EngineError::NoProcessProgram {
            lesson: self.name(),
            role: ctx.job.role.clone(),
        })
    }
}

/// Finds a preset by name: the application's registry, handed to the engine's entry points
/// that need one (a worker process learns its preset's name from its job).
pub type Registry = fn(&str) -> Option<&'static dyn Preset>;

/// A value sampled every conductor tick into a counter track (a shared variable).
pub type Probe = (CounterId, Box<dyn Fn() -> f64 + Send>);

/// One phase of a run as a preset builds it: interpreters with their threads spawned (not
/// started), and the main thread to start.
pub struct Experiment {
    pub interps: Vec<Arc<Interp>>,
    pub main: ThreadHandle,
    pub figures: Arc<Mutex<Figures>>,
    pub probes: Vec<Probe>,
}

impl Experiment {
    /// An experiment of one interpreter whose programs fill in `figures`.
    pub fn single(interp: Arc<Interp>, main: ThreadHandle, figures: Arc<Mutex<Figures>>) -> Self {
        Experiment {
            interps: vec![interp],
            main,
            figures,
            probes: vec![],
        }
    }
}
