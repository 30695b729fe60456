//! `gilscope run PRESET [--set knob=value]... [--json] [--trace FILE]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use gilscope_shared::figures;
use gilscope_shared::findings::{findings, Finding, Severity};
use gilscope_shared::spec::{ExperimentSpec, KnobValue, SpecError};
use gilscope_shared::summary::Summary;

use crate::export::write_chrome;
use crate::presets::{start, RunError};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The preset to run (see `gilscope presets`).
    pub preset: String,
    /// Set a knob, e.g. `--set threads=4`; repeatable.
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    pub set: Vec<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write the trace as Chrome Trace Event JSON (opens in Perfetto).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// Bad input: one line, exit status 2.
fn bad_input(e: &SpecError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn parse_sets(sets: &[String]) -> Result<BTreeMap<String, KnobValue>, SpecError> {
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
        ..Default::default()
    };
    let run = match start(&spec) {
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
        println!("  {mark} {}", f.sentence);
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
    row("ns per bytecode", format!("{:.2}", s.ns_per_bytecode));
    row(
        "invariants",
        if s.invariants_ok {
            "ok".into()
        } else {
            format!("NOT ok: {}", s.violations.join("; "))
        },
    );
}
