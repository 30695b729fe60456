//! `gilscope run PRESET [--set knob=value]... [--json] [--trace FILE]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use gilscope_shared::spec::{ExperimentSpec, KnobValue, SpecError};
use gilscope_shared::summary::Summary;

use crate::engine::{start, StartError};
use crate::export::write_chrome;

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
    };
    let run = match start(&spec) {
        Ok(run) => run,
        Err(StartError::Spec(e)) => return bad_input(&e),
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
    if args.json {
        println!(
            "{}",
            serde_json::to_string(summary).expect("summary serialises")
        );
    } else {
        print_table(summary);
    }
    match summary.end {
        gilscope_shared::summary::EndReason::Failed { .. } => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

fn opt(value: Option<f64>, digits: usize, unit: &str) -> String {
    value.map_or("-".to_string(), |v| format!("{v:.digits$}{unit}"))
}

fn print_table(s: &Summary) {
    let knobs: Vec<String> = s.knobs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let row = |name: &str, value: String| println!("  {name:<22} {value}");
    println!("{}  ({})", s.preset, knobs.join(" "));
    row("end", s.end.describe());
    row("wall", format!("{:.3} s", s.wall_s));
    row("baseline (1 thread)", opt(s.baseline_wall_s, 3, " s"));
    row("speedup", opt(s.speedup, 2, "x"));
    row("cores busy (mean)", format!("{:.2}", s.cores_busy_mean));
    row(
        "GIL hand-offs",
        s.gil_handoffs.map_or("-".into(), |v| v.to_string()),
    );
    row("GIL hold (median)", opt(s.gil_hold_ms_median, 2, " ms"));
    row("GIL wait (total)", opt(s.gil_wait_ms_total, 1, " ms"));
    row(
        "GIL drop requests",
        s.gil_drop_requests.map_or("-".into(), |v| v.to_string()),
    );
    if s.expected_count.is_some() {
        let i = |v: Option<i64>| v.map_or("-".into(), |v| v.to_string());
        row("expected count", i(s.expected_count));
        row("final count", i(s.final_count));
        row("lost updates", i(s.lost_updates));
    }
    if s.ops_per_s.is_some() {
        row("ops/s", opt(s.ops_per_s, 1, ""));
        row("ops/s alone", opt(s.baseline_ops_per_s, 1, ""));
    }
    if let Some(ordered) = s.results_in_order {
        row("results in order", ordered.to_string());
    }
    row("ns per bytecode", format!("{:.2}", s.ns_per_bytecode));
    let states: Vec<String> = s
        .time_per_state_s
        .iter()
        .map(|(state, t)| {
            format!(
                "{}={t:.3}s",
                serde_json::to_value(state).unwrap().as_str().unwrap_or("?")
            )
        })
        .collect();
    row("time per state", states.join(" "));
    row(
        "invariants",
        if s.invariants_ok {
            "ok".into()
        } else {
            format!("NOT ok: {}", s.violations.join("; "))
        },
    );
}
