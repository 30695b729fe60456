//! `gilscope presets`: every preset with its knobs (default, bounds, description) and the caps.

use std::process::ExitCode;

use gilscope_shared::spec::KnobKind;

use crate::engine::CAPS;
use crate::presets::infos;

#[derive(clap::Args, Debug)]
pub struct PresetsArgs {
    /// Print the presets as JSON (the same as `GET /api/presets`).
    #[arg(long)]
    pub json: bool,
}

pub fn main(args: PresetsArgs) -> ExitCode {
    let presets = infos();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&presets).expect("presets serialise")
        );
        return ExitCode::SUCCESS;
    }
    for preset in &presets {
        println!("{}  [{}]", preset.name, preset.group.title());
        println!("  {}", preset.claim);
        for knob in &preset.knobs {
            let default = match &knob.kind {
                KnobKind::Int { default, .. } => default.to_string(),
                KnobKind::Float { default, .. } => default.to_string(),
                KnobKind::Bool { default } => default.to_string(),
                KnobKind::Choice { default, .. } => default.clone(),
            };
            println!(
                "    {:<22} default {:<12} {:<34} {}",
                knob.name,
                default,
                knob.allowed(),
                knob.description
            );
        }
        println!();
    }
    println!(
        "Caps on every run: at most {} bytecodes executed by all its processes (experiment \
         and baseline each), at most {} s of wall time (baseline included), at most {} \
         recorded events; a run that hits one ends there and says so in its summary.",
        CAPS.max_bytecodes,
        CAPS.max_wall.as_secs(),
        CAPS.max_events
    );
    ExitCode::SUCCESS
}
