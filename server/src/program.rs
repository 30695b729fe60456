//! What a spec asks to run, validated once where it enters: a lesson on the emulated
//! interpreter, or a program — a lesson's Python, an edit of it, any script — on the
//! machine's own CPython.

use gilscope_shared::spec::{
    render_python, Engine, ExperimentSpec, Knobs, PresetInfo, SpecError, SCRIPT_PRESET,
};

use std::path::Path;

use crate::cpython::python::{choose, probe_once};
use crate::cpython::{self, Python, PythonError};
use crate::engine::{self, Preset, RunHandle, StartError, CAPS};
use crate::presets;

/// A validated spec, ready to start.
#[derive(Clone)]
pub enum Planned {
    Emulated {
        preset: &'static dyn Preset,
        knobs: Knobs,
    },
    Cpython(cpython::Program),
}

impl Planned {
    pub fn engine(&self) -> Engine {
        match self {
            Planned::Emulated { .. } => Engine::Emulated,
            Planned::Cpython(_) => Engine::Cpython,
        }
    }

    /// The knobs as run, every one present.
    pub fn knobs(&self) -> &Knobs {
        match self {
            Planned::Emulated { knobs, .. } => knobs,
            Planned::Cpython(program) => &program.knobs,
        }
    }

    /// Starts it; returns at once.
    pub fn start(self) -> Result<RunHandle, StartError> {
        match self {
            Planned::Emulated { preset, knobs } => engine::start(preset, knobs),
            Planned::Cpython(program) => cpython::start(program, CAPS),
        }
    }
}

/// Validates `spec` against `registry` (described by `infos`, in the same order) and, for a
/// CPython run, the interpreter found (`python`).
pub fn plan_in(
    registry: &[&'static dyn Preset],
    infos: &[PresetInfo],
    spec: &ExperimentSpec,
    python: &Result<Python, PythonError>,
) -> Result<Planned, SpecError> {
    spec.check_shape()?;
    let lesson = if spec.preset.is_empty() && spec.script.is_some() {
        None
    } else {
        Some(presets::resolve_in(registry, infos, spec)?)
    };
    match spec.engine() {
        Engine::Emulated => {
            let (preset, knobs) = lesson.expect("check_shape: an emulated run names a preset");
            Ok(Planned::Emulated { preset, knobs })
        }
        Engine::Cpython => {
            let python = python
                .as_ref()
                .map_err(|e| SpecError::new("engine", e.to_string()))?
                .clone();
            let (label, knobs, source) = match (lesson, &spec.script) {
                (Some((preset, knobs)), Some(script)) => {
                    (preset.name().to_string(), knobs, script.clone())
                }
                (Some((preset, knobs)), None) => {
                    let source = render_python(preset.lesson().python, &knobs);
                    (preset.name().to_string(), knobs, source)
                }
                (None, Some(script)) => {
                    (SCRIPT_PRESET.to_string(), Knobs::default(), script.clone())
                }
                (None, None) => unreachable!("check_shape: a preset or a script"),
            };
            Ok(Planned::Cpython(cpython::Program {
                label,
                knobs,
                source,
                python,
                observe: true,
            }))
        }
    }
}

/// Why a spec could not be run.
#[derive(thiserror::Error, Debug)]
pub enum RunError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Validates `spec` against the lessons and starts it: the headless entry point (CLI, tests,
/// benches). A CPython run uses the interpreter [`choose`] finds.
pub fn start(spec: &ExperimentSpec) -> Result<RunHandle, RunError> {
    start_with_python(spec, None)
}

/// [`start`], a CPython run using `python` (a `--python` flag) when given.
pub fn start_with_python(
    spec: &ExperimentSpec,
    python: Option<&Path>,
) -> Result<RunHandle, RunError> {
    Ok(plan_with_python(spec, python)?.start()?)
}

/// [`start_with_python`] for reference figures: a CPython run is not observed (see
/// [`cpython::Program::observe`]), so it prints what the program alone measures.
pub fn start_unobserved(
    spec: &ExperimentSpec,
    python: Option<&Path>,
) -> Result<RunHandle, RunError> {
    let planned = match plan_with_python(spec, python)? {
        Planned::Cpython(program) => Planned::Cpython(cpython::Program {
            observe: false,
            ..program
        }),
        emulated => emulated,
    };
    Ok(planned.start()?)
}

/// Validates `spec`; for a CPython run, finds the interpreter (`python`, else the default).
fn plan_with_python(spec: &ExperimentSpec, python: Option<&Path>) -> Result<Planned, SpecError> {
    let found = if spec.engine() == Engine::Cpython {
        probe_once(&choose(python))
    } else {
        Err(PythonError::NotFound("(not looked for)".into()))
    };
    plan_in(presets::ALL, &presets::infos(), spec, &found)
}
