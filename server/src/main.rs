use clap::{Parser, Subcommand};

use gilscope_server::cli;

/// gilscope: a live lab for Python concurrency.
#[derive(Parser)]
#[command(name = "gilscope", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the presets, their knobs and the caps.
    Presets(cli::presets::PresetsArgs),
    /// Run one preset headless and print its summary.
    Run(cli::run::RunArgs),
}

fn main() -> std::process::ExitCode {
    match Args::parse().command {
        Command::Presets(args) => cli::presets::main(args),
        Command::Run(args) => cli::run::main(args),
    }
}
