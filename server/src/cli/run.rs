//! `gilscope run PRESET [--set knob=value]... [--cpython [--python PATH]] [--json] [--trace FILE]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use gilscope_shared::figures;
use gilscope_shared::findings::{findings, Finding, Severity};
use gilscope_shared::spec::{Engine, ExperimentSpec, KnobValue, SpecError};
use gilscope_shared::summary::Summary;

use crate::export::write_chrome;
use crate::program::{start_with_python, RunError};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The preset to run (see `gilscope presets`).
    pub preset: String,
    /// Set a knob, e.g. `--set threads=4`; repeatable.
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    pub set: Vec<String>,
    /// Run the lesson's Python on the machine's own CPython, observed from outside, instead
    /// of the emulation.
    #[arg(long)]
    pub cpython: bool,
    /// The CPython to run (default: $GILSCOPE_PYTHON, else `python3` on the PATH).
    #[arg(long, value_name = "PATH", requires = "cpython")]
    pub python: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How a headless run reports.
#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write the trace as Chrome Trace Event JSON (opens in Perfetto).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// Bad input: one line, exit status 2.
pub fn bad_input(e: &SpecError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

pub fn parse_sets(sets: &[String]) -> Result<BTreeMap<String, KnobValue>, SpecError> {
    sets.iter()
        .map(|set| match set.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), KnobValue::Text(v.trim().to_string())))
            }
            _ => Err(SpecError::new(
                set.as_str(),
                "expected KNOB=VALUE, e.g. --set threads=4",
            )),
        })
        .collect()
}

pub fn main(args: RunArgs) -> ExitCode {
    let knobs = match parse_sets(&args.set) {
        Ok(knobs) => knobs,
        Err(e) => return bad_input(&e),
    };
    let spec = ExperimentSpec {
        preset: args.preset.clone(),
        knobs,
        engine: args.cpython.then_some(Engine::Cpython),
        ..Default::default()
    };
    start_and_report(&spec, args.python.as_deref(), &args.output)
}

/// Starts `spec`, waits for its end and reports it: what the program printed (a CPython
/// run), the summary (a table, or JSON) and the findings; the trace to a file if asked.
pub fn start_and_report(
    spec: &ExperimentSpec,
    python: Option<&std::path::Path>,
    args: &OutputArgs,
) -> ExitCode {
    let run = match start_with_python(spec, python) {
        Ok(run) => run,
        Err(RunError::Spec(e)) => return bad_input(&e),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = run.wait();
    if let Some(path) = &args.trace {
        let written = std::fs::File::create(path)
            .and_then(|file| write_chrome(&outcome.trace, std::io::BufWriter::new(file)));
        if let Err(e) = written {
            eprintln!("error: could not write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let summary = &outcome.summary;
    let cores = std::thread::available_parallelism()
        .ok()
        .and_then(|n| u32::try_from(n.get()).ok());
    let found = findings(summary, &outcome.trace, cores);
    if args.json {
        let report = Report {
            summary,
            findings: &found,
        };
        println!(
            "{}",
            serde_json::to_string(&report).expect("summary serialises")
        );
    } else {
        if let Some(output) = &summary.output {
            print!("{}", output.stdout);
            eprint!("{}", output.stderr);
            if output.dropped_bytes > 0 {
                eprintln!(
                    "[{} more bytes of output were dropped]",
                    output.dropped_bytes
                );
            }
        }
        print_table(summary);
        print_findings(&found);
    }
    match summary.end {
        gilscope_shared::summary::EndReason::Failed { .. } => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

/// `--json`: the summary's fields at the top level, as before, and the findings beside them.
#[derive(serde::Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    findings: &'a [Finding],
}

/// The findings' sentences under the table, most important first.
fn print_findings(found: &[Finding]) {
    if found.is_empty() {
        return;
    }
    println!("findings");
    for f in found {
        let mark = match f.severity {
            Severity::Wrong => "!!",
            Severity::Slow => "! ",
            Severity::Note => "- ",
        };
        println!("  {mark} {}", f.sentence());
    }
}

/// The run's figures as the dashboard's cards show them (the same presenter), then what
/// only a terminal reader wants: time per state, calibration, the trace's invariants.
fn print_table(s: &Summary) {
    let knobs: Vec<String> = s.knobs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let row = |name: &str, value: String| println!("  {name:<26} {value}");
    println!("{}  ({})", s.preset, knobs.join(" "));
    for card in figures::cards(s, None) {
        let value = if card.detail.is_empty() {
            card.value
        } else {
            format!("{}   ({})", card.value, card.detail)
        };
        row(card.label, value);
    }
    let states: Vec<String> = figures::state_shares(s)
        .iter()
        .map(|(state, share)| format!("{} {:.0} %", state.label(), share * 100.0))
        .collect();
    row("time per state", states.join(", "));
    match s.sampling_hz {
        Some(hz) => row(
            "observed",
            format!("CPython, sampled at {hz:.0} Hz (shorter spans are not seen)"),
        ),
        None => row("ns per bytecode", format!("{:.2}", s.ns_per_bytecode)),
    }
    row(
        "invariants",
        if s.invariants_ok {
            "ok".into()
        } else if s.violations.is_empty() && !s.end.is_finished() {
            // Nothing violated; a run that did not finish is not vouched for.
            format!("not checked: the run {}", s.end.describe())
        } else if s.violations.is_empty() {
            "NOT ok: results out of order".into()
        } else {
            format!("NOT ok: {}", s.violations.join("; "))
        },
    );
}
