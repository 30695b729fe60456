//! The `gilscope` binary: a thin dispatcher. Each command lives in its own module of the
//! library and is called from here.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gilscope_server::{cli, serve};

/// gilscope: a live lab for Python concurrency.
#[derive(Debug, Parser)]
#[command(name = "gilscope", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard and its websocket.
    Serve(serve::ServeArgs),
    /// List the presets, their knobs and the caps.
    Presets(cli::presets::PresetsArgs),
    /// Run one preset headless and print its summary.
    Run(cli::run::RunArgs),
    /// Run a Python script on the machine's CPython, observed, and print its summary.
    Python(cli::python::PythonArgs),
    /// Run a lesson on the emulation and on CPython alternately; compare their figures.
    Compare(cli::compare::CompareArgs),
    /// Keep the run of a run file in the store; the dashboard then opens it at /?run=ID.
    Open(cli::open::OpenArgs),
    /// A worker process of a run (started by gilscope itself).
    #[command(hide = true)]
    Worker,
    /// The reaper of a real Python program's process tree (started by gilscope itself).
    #[command(hide = true)]
    Reap {
        python: std::path::PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            init_tracing();
            match serve::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    // One line: the error and its causes, joined with ": ".
                    eprintln!("error: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Presets(args) => cli::presets::main(args),
        Command::Run(args) => cli::run::main(args),
        Command::Python(args) => cli::python::main(args),
        Command::Compare(args) => cli::compare::main(args),
        Command::Open(args) => cli::open::main(args),
        Command::Worker => {
            gilscope_server::engine::running::worker::main(gilscope_server::presets::find)
        }
        Command::Reap { python, args } => gilscope_server::cpython::tree::reaper_main(python, args),
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
