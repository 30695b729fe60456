//! A run on real CPython: the program written to a file, started under a reaper, observed
//! until it ends (or is stopped, or reaches a cap), then summarised with the same figures as
//! an emulated run, plus what it printed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gilscope_shared::spec::{Engine, Knobs};
use gilscope_shared::summary::{Cap, EndReason, Figures, ProgramOutput};

use crate::cpython::observer::{Observer, Report, MAX_PROCESSES};
use crate::cpython::printed;
use crate::cpython::python::Python;
use crate::cpython::tree::{Finished, ProcessTree};
use crate::engine::interpreter::clock::Epoch;
use crate::engine::interpreter::collector::Collector;
use crate::engine::os::Ended;
use crate::engine::running::run::{
    fresh_env, watch_cores, Caps, RunHandle, RunOutcome, StartError,
};
use crate::engine::running::summarize::{summarize, Timings};

/// What to run on CPython.
#[derive(Clone, Debug)]
pub struct Program {
    /// The lesson's name, or [`gilscope_shared::spec::SCRIPT_PRESET`].
    pub label: String,
    /// The lesson's knobs as run (none for a script).
    pub knobs: Knobs,
    /// The Python source.
    pub source: String,
    pub python: Python,
    /// Whether the observer samples it. `false` for reference figures (`gilscope compare`):
    /// the sampler reads every process 1,000 times a second at real-time priority and takes a
    /// core's share from the program — `cpu-processes` printed a speed-up of 1.63–1.74
    /// observed against 1.94–1.97 unobserved, in the same minute. Unobserved, the run has no
    /// lanes, only what the program printed, and no fork-bomb guard beyond the caps.
    pub observe: bool,
}

/// How often the conductor looks at the tree, the stop flag and the caps.
const TICK: Duration = Duration::from_millis(10);

/// Starts `program` on CPython within `caps` (the wall time and the events recorded);
/// returns at once.
pub fn start(program: Program, caps: Caps) -> Result<RunHandle, StartError> {
    let (label, knobs) = (program.label.clone(), program.knobs.clone());
    RunHandle::spawn(&label, knobs, caps, move |epoch, collector, stop| {
        conduct(program, caps, epoch, collector, stop)
    })
}

/// A private directory for the program's file, removed when dropped. Its name is random and
/// made exclusively (`tempfile`): a process killed mid-run leaves its directory behind, and a
/// name made of the pid would collide with it once the pid comes round again.
fn script_dir(source: &str) -> std::io::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::Builder::new().prefix("gilscope-").tempdir()?;
    let script = dir.path().join("program.py");
    std::fs::write(&script, source)?;
    Ok((dir, script))
}

fn conduct(
    program: Program,
    caps: Caps,
    epoch: Epoch,
    collector: &Mutex<Collector>,
    user_stop: &AtomicBool,
) -> RunOutcome {
    let sink = collector.lock().unwrap_or_else(|e| e.into_inner()).sink();
    let mut env = fresh_env(epoch, sink, &caps);
    let cores = watch_cores(&env);
    if let Some((_, watching)) = &cores {
        env.sink = watching.clone();
    }
    let started = Instant::now();
    let mut end = None;
    let mut report = Report::default();
    let mut finished = None;
    match script_dir(&program.source) {
        Err(e) => {
            end = Some(EndReason::Failed {
                reason: format!("could not write the program to a temporary file: {e}"),
            })
        }
        Ok((dir, script)) => match ProcessTree::spawn(&program.python.path, &script, dir.path()) {
            Err(e) => {
                end = Some(EndReason::Failed {
                    reason: format!("could not start {}: {e}", program.python.describe()),
                })
            }
            Ok(mut tree) => {
                let read_gil = program.python.unreadable_gil.is_none();
                let observer = program
                    .observe
                    .then(|| Observer::spawn(tree.root(), script.clone(), env.clone(), read_gil));
                let deadline = started + caps.max_wall;
                while !tree.has_ended() {
                    let reason = if user_stop.load(Ordering::SeqCst) {
                        Some(EndReason::Stopped)
                    } else if env.sink.over_cap() {
                        Some(EndReason::HitCap {
                            cap: Cap::Events,
                            limit: format!("{} events", caps.max_events),
                        })
                    } else if Instant::now() >= deadline {
                        Some(EndReason::HitCap {
                            cap: Cap::Wall,
                            limit: format!("{} s", caps.max_wall.as_secs()),
                        })
                    } else if observer
                        .as_ref()
                        .is_some_and(|o| o.as_ref().is_ok_and(|o| o.too_many_processes()))
                    {
                        Some(EndReason::Failed {
                            reason: format!(
                                "the program started more than {MAX_PROCESSES} processes; \
                                 it was ended"
                            ),
                        })
                    } else {
                        None
                    };
                    if let Some(reason) = reason {
                        end.get_or_insert(reason);
                        tree.stop();
                    }
                    std::thread::sleep(TICK);
                }
                match observer {
                    Some(Ok(observer)) => report = observer.finish(),
                    Some(Err(e)) => report.problems.push(format!("could not observe: {e}")),
                    None => {}
                }
                finished = Some(tree.wait(Duration::ZERO));
            }
        },
    }
    let wall_s = started.elapsed().as_secs_f64();
    drop(cores);
    if let Some(why) = &program.python.unreadable_gil {
        report
            .problems
            .insert(0, format!("{}: {why}", program.python.describe_short()));
    }
    let end = end.unwrap_or_else(|| ended_by(finished.as_ref()));
    let trace = collector
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .finish(epoch.elapsed());
    let timings = Timings {
        wall_s,
        cpu_s: finished.as_ref().map_or(0.0, |f| f.cpu.as_secs_f64()),
        ..Timings::default()
    };
    let mut summary = summarize(
        &program.label,
        &program.knobs,
        &trace,
        &timings,
        &Figures::default(),
        end,
    );
    summary.engine = Engine::Cpython;
    summary.ns_per_bytecode = 0.0;
    summary.sampling_hz = (report.rounds > 0).then(|| report.rate_hz());
    if report.rounds == 0 && finished.is_some() {
        report
            .problems
            .push("the program ended before its threads could be observed".into());
    }
    summary.violations.extend(report.problems);
    summary.invariants_ok &= summary.violations.is_empty();
    if let Some(finished) = &finished {
        printed::apply(printed::read(&finished.stdout), &mut summary);
    }
    summary.output = finished.map(|f| ProgramOutput {
        stdout: f.stdout,
        stderr: f.stderr,
        dropped_bytes: f.dropped_bytes,
        exit_code: match f.ended {
            Ended::Exited(code) if code < 128 => Some(code),
            _ => None,
        },
        signal: match f.ended {
            Ended::Exited(code) if code > 128 => Some(code - 128),
            Ended::Signaled(signal) => Some(signal),
            _ => None,
        },
    });
    RunOutcome { trace, summary }
}

/// How a program that was neither stopped nor capped ended: finished when it exited 0.
fn ended_by(finished: Option<&Finished>) -> EndReason {
    let Some(finished) = finished else {
        return EndReason::Failed {
            reason: "the program did not run".into(),
        };
    };
    let last_line = finished
        .stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", crate::cpython::output::clip_line(l)))
        .unwrap_or_default();
    match finished.ended {
        Ended::Exited(0) => EndReason::Finished,
        Ended::Exited(125) => EndReason::Failed {
            reason: format!("could not start Python{last_line}"),
        },
        Ended::Exited(code) if code > 128 => EndReason::Failed {
            reason: format!("Python was killed by signal {}{last_line}", code - 128),
        },
        Ended::Exited(code) => EndReason::Failed {
            reason: format!("Python exited with status {code}{last_line}"),
        },
        Ended::Signaled(signal) => EndReason::Failed {
            reason: format!("the reaper was killed by signal {signal}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process killed mid-run leaves its program's directory behind, and pids come round
    /// again (32,768 of them here): the directories that names made of this process' pid would
    /// take are already there, and runs still get a fresh directory each, removed after them.
    #[test]
    fn a_left_directory_with_this_pids_name_does_not_stop_a_run() {
        let left: Vec<PathBuf> = (0..64)
            .map(|n| std::env::temp_dir().join(format!("gilscope-{}-{n}", std::process::id())))
            .filter(|path| std::fs::create_dir(path).is_ok())
            .collect();
        let (a, script) = script_dir("print(1)").expect("a fresh directory");
        let (b, _) = script_dir("print(2)").expect("another");
        assert_ne!(a.path(), b.path());
        assert_eq!(std::fs::read_to_string(&script).unwrap(), "print(1)");
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists(), "the directory went with its run");
        for path in left {
            let _ = std::fs::remove_dir(path);
        }
    }
}
