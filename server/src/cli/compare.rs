//! `gilscope compare PRESET [--set k=v]... [--runs N] [--json]`: the emulation and real
//! CPython alternately, N times each, then one row per figure both sides have. CPython runs
//! unobserved here: the figures are what the lesson's Python prints, and sampling it would
//! slow it.

use std::process::ExitCode;

use std::collections::BTreeMap;

use gilscope_shared::spec::{Engine, ExperimentSpec, KnobValue, SpecError};

use crate::cli::run::{bad_input, parse_sets};
use crate::compare::{rows, summary_figures};
use crate::program::{start_unobserved, RunError};

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The lesson to compare (see `gilscope presets`).
    pub preset: String,
    /// Set a knob, e.g. `--set threads=4`; repeatable.
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    pub set: Vec<String>,
    /// Runs of each engine, alternating.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub runs: u32,
    /// The CPython to run (default: $GILSCOPE_PYTHON, else `python3` on the PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<std::path::PathBuf>,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
}

/// CPython 3.11 has one GIL, the current one: a lesson with a `gil` knob is compared at
/// `gil=current` (set for it when not given; any other value refused).
fn cpython_gil(
    preset: &str,
    mut knobs: BTreeMap<String, KnobValue>,
) -> Result<BTreeMap<String, KnobValue>, SpecError> {
    let has_gil = crate::presets::infos()
        .iter()
        .any(|p| p.name == preset && p.knobs.iter().any(|k| k.name == "gil"));
    if !has_gil {
        return Ok(knobs);
    }
    match knobs.get("gil") {
        None => {
            knobs.insert("gil".into(), KnobValue::Text("current".into()));
            Ok(knobs)
        }
        Some(KnobValue::Text(g)) if g == "current" => Ok(knobs),
        Some(_) => Err(SpecError::new(
            "gil",
            "CPython 3.11 has only the current GIL: compare with gil=current",
        )),
    }
}

pub fn main(args: CompareArgs) -> ExitCode {
    let knobs = match parse_sets(&args.set).and_then(|k| cpython_gil(&args.preset, k)) {
        Ok(knobs) => knobs,
        Err(e) => return bad_input(&e),
    };
    let (mut emulated, mut cpython) = (Vec::new(), Vec::new());
    for _ in 0..args.runs {
        for engine in [Engine::Emulated, Engine::Cpython] {
            let spec = ExperimentSpec {
                preset: args.preset.clone(),
                knobs: knobs.clone(),
                engine: Some(engine),
                ..Default::default()
            };
            // CPython unobserved: the observer's sampling would slow the reference.
            let summary = match start_unobserved(&spec, args.python.as_deref()) {
                Ok(run) => run.wait().summary,
                Err(RunError::Spec(e)) => return bad_input(&e),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if !summary.end.is_finished() {
                eprintln!(
                    "error: the {} run {}",
                    engine.name(),
                    summary.end.describe()
                );
                return ExitCode::FAILURE;
            }
            match engine {
                Engine::Emulated => emulated.push(summary_figures(&summary)),
                Engine::Cpython => cpython.push(summary_figures(&summary)),
            }
        }
    }
    let rows = rows(&emulated, &cpython);
    if args.json {
        println!("{}", serde_json::to_string(&rows).expect("rows serialise"));
    } else {
        println!(
            "{}: medians of {} runs each (spread: (largest - smallest) / median)\n  {:<28} {:>14} {:>14} {:>7} {:>8} {:>8}",
            args.preset, args.runs, "figure", "emulated", "CPython", "ratio", "spread", "spread"
        );
        let percent = |s: Option<f64>| s.map_or("-".into(), |s| format!("{:.0} %", s * 100.0));
        for row in &rows {
            let ratio = row.ratio.map_or("-".into(), |r| format!("{r:.2}"));
            println!(
                "  {:<28} {:>14.3} {:>14.3} {:>7} {:>8} {:>8}",
                row.figure,
                row.emulated,
                row.cpython,
                ratio,
                percent(row.emulated_spread),
                percent(row.cpython_spread)
            );
        }
    }
    ExitCode::SUCCESS
}
