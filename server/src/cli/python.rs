//! `gilscope python SCRIPT [--python PATH] [--json] [--trace FILE]`: any Python program on
//! the machine's own CPython, observed from outside; the same summary as `gilscope run`.

use std::path::PathBuf;
use std::process::ExitCode;

use gilscope_shared::spec::{Engine, ExperimentSpec, SpecError, MAX_SCRIPT_BYTES};

use crate::cli::run::{bad_input, start_and_report, OutputArgs};

#[derive(clap::Args, Debug)]
pub struct PythonArgs {
    /// The Python file to run.
    pub script: PathBuf,
    /// The CPython to run (default: $GILSCOPE_PYTHON, else `python3` on the PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn main(args: PythonArgs) -> ExitCode {
    let source = match std::fs::metadata(&args.script) {
        Ok(meta) if meta.len() > MAX_SCRIPT_BYTES as u64 => {
            return bad_input(&SpecError::new(
                "SCRIPT",
                format!(
                    "{} is {} bytes; at most {MAX_SCRIPT_BYTES} bytes are accepted",
                    args.script.display(),
                    meta.len()
                ),
            ))
        }
        _ => match std::fs::read_to_string(&args.script) {
            Ok(source) => source,
            Err(e) => {
                return bad_input(&SpecError::new(
                    "SCRIPT",
                    format!("cannot read {}: {e}", args.script.display()),
                ))
            }
        },
    };
    let spec = ExperimentSpec {
        engine: Some(Engine::Cpython),
        script: Some(source),
        ..Default::default()
    };
    start_and_report(&spec, args.python.as_deref(), &args.output)
}
