//! `multiprocessing.Process` for real: the `gilscope` binary re-executed as `gilscope worker`,
//! with its own interpreter and GIL, supervised by one thread of the parent.
//!
//! The supervisor thread spawns the child (so `PR_SET_PDEATHSIG`, which the child arms and
//! which fires when the *thread* that started it ends, stays armed exactly as long as someone
//! watches the child), sends it its [`WorkerJob`], then reads its messages with `poll` in slices of
//! [`MAX_WAIT`]: events are renumbered into the run's lane and interpreter ids and delivered to
//! the run's sink, so the child's lanes sit on the run's time axis. It ends by reaping the
//! child, always:
//!
//! - the child said `Done` and exited 0: the process is joined normally;
//! - the run stops (user, cap, another failure): SIGKILL, reap, close the child's lanes;
//! - the child dies, closes its pipe, sends garbage, never says `Handshake`: the run fails with a
//!   reason naming the worker, the child is killed and reaped.
//!
//! Which executable: `GILSCOPE_WORKER_EXE` if set, else the current executable — which in a
//! library test or bench is the test binary, hence the override (tests point it at
//! `CARGO_BIN_EXE_gilscope`). The `Handshake` handshake catches an executable that is not a
//! gilscope worker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gilscope_shared::spec::Knobs;
use gilscope_shared::trace::State;
use serde::{Deserialize, Serialize};

use crate::engine::interpreter::bytecode::calibration;
use crate::engine::interpreter::gate::Gate;
use crate::engine::interpreter::interp::{InterpConfig, Py};
use crate::engine::interpreter::stop::{Stopped, MAX_WAIT};
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::multiprocessing::supervisor::supervise;
use crate::engine::multiprocessing::wire::WorkerJob;

/// Overrides which executable runs worker processes.
pub const WORKER_EXE_ENV: &str = "GILSCOPE_WORKER_EXE";
/// A child that has not said `Handshake` by then is not a gilscope worker (or cannot start).
pub(super) const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// After its pipe closes, a child gets this long to exit before it is killed.
pub(super) const EXIT_GRACE: Duration = Duration::from_secs(2);
/// At most this much of a child's stderr is kept for an error message.
pub(super) const STDERR_KEEP: usize = 2048;

/// What CPython's `Process.start()` (fork method) runs in the parent, in bytecodes: the
/// `Popen` object, `os.fork`, the sentinel pipe (see docs/processes.md).
pub const START_BYTECODES: u64 = 2_000;
/// `p.join()` before it blocks.
pub const JOIN_BYTECODES: u64 = 40;
/// What starting a process costs CPython 3.11 on this machine, from `p.start()` to the
/// target's first bytecode, in ns (median of 9, docs/processes.md): fork method...
pub const PYTHON_FORK_START_NS: u64 = 1_500_000;
/// ...and spawn method (a fresh interpreter that imports `multiprocessing` and unpickles).
pub const PYTHON_SPAWN_START_NS: u64 = 34_000_000;

/// `multiprocessing`'s start method, and what it costs CPython to start a process with it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StartMethod {
    /// `fork`, Linux's default up to 3.13.
    #[default]
    Fork,
    /// `spawn`: a fresh interpreter (Windows and macOS).
    Spawn,
}

impl StartMethod {
    /// From `p.start()` to the target's first bytecode on CPython 3.11, in ns.
    pub fn start_ns(self) -> u64 {
        match self {
            StartMethod::Fork => PYTHON_FORK_START_NS,
            StartMethod::Spawn => PYTHON_SPAWN_START_NS,
        }
    }
}

/// What a run's child processes run: its preset's program (for the role each child is given),
/// with the knobs of the run, on an interpreter configured as the parent's, started the way
/// the run's start method says.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ChildProgram {
    pub preset: String,
    pub knobs: Knobs,
    /// The interpreter every child builds (its name is replaced by the process's).
    pub interp: InterpConfig,
    pub start_method: StartMethod,
}

#[derive(thiserror::Error, Debug)]
pub enum ProcessError {
    #[error("cannot find the gilscope executable for worker processes: {0}")]
    NoExecutable(String),
    #[error("worker {name} could not start ({exe}): {source}")]
    Spawn {
        name: String,
        exe: String,
        source: std::io::Error,
    },
    #[error("worker {name} (pid {pid}) is not a gilscope worker: {exe} {detail}")]
    NotAWorker {
        name: String,
        pid: u32,
        exe: String,
        detail: String,
    },
    #[error("worker {name} (pid {pid}) {how}{stderr}")]
    Died {
        name: String,
        pid: u32,
        how: String,
        stderr: String,
    },
    #[error("worker {name} (pid {pid}) sent a malformed message: {detail}")]
    Malformed {
        name: String,
        pid: u32,
        detail: String,
    },
    #[error("worker {name} (pid {pid}) failed: {reason}")]
    Failed {
        name: String,
        pid: u32,
        reason: String,
    },
}

/// The executable that runs `gilscope worker`.
pub fn worker_exe() -> Result<PathBuf, ProcessError> {
    if let Some(path) = std::env::var_os(WORKER_EXE_ENV) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()
        .map_err(|e| ProcessError::NoExecutable(format!("current_exe: {e}")))?;
    let stem = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem == "gilscope" {
        Ok(exe)
    } else {
        Err(ProcessError::NoExecutable(format!(
            "the current executable {} is not gilscope; set {WORKER_EXE_ENV} to the gilscope binary",
            exe.display()
        )))
    }
}

/// What the parent learns from a child that finished.
#[derive(Debug, Clone, Default)]
pub struct ChildResult {
    pub cpu_ns: u64,
    pub bytecodes: u64,
    pub results: Vec<i64>,
}

/// What the supervisor shares with the `Process` object.
#[derive(Default)]
pub(super) struct Watch {
    pub(super) spawned: Gate,
    pub(super) done: Gate,
    pub(super) pid: AtomicU32,
    pub(super) result: Mutex<Option<ChildResult>>,
}

/// A `multiprocessing.Process` of the run (created before the run starts, started by the
/// program with [`Process::start`]).
pub struct Process {
    pub name: String,
    job: Mutex<Option<WorkerJob>>,
    watch: Arc<Watch>,
}

impl Process {
    /// `Process(target=..)`: the child will run `program` for `role` number `index`.
    pub fn new(
        name: &str,
        program: &ChildProgram,
        role: &str,
        index: u32,
        shared: SharedObjects,
    ) -> Process {
        let mut program = program.clone();
        program.interp.name = name.to_string();
        Process {
            name: name.to_string(),
            job: Mutex::new(Some(WorkerJob {
                program,
                name: name.to_string(),
                role: role.to_string(),
                index,
                epoch: 0,
                clock: crate::engine::interpreter::clock::calibration(),
                spawned_at: 0,
                calibration: calibration(),
                budget: 0,
                shared,
            })),
            watch: Arc::new(Watch::default()),
        }
    }

    /// `p.start()`: runs `Process.start`'s Python, then forks and execs the child (the
    /// supervisor does; this thread waits for the `fork`, holding the GIL as CPython does).
    pub fn start(&self, py: &mut Py) -> Result<(), Stopped> {
        py.call(|py| py.straight(START_BYTECODES))?;
        let Some(mut job) = self.job.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Ok(()); // started twice: CPython asserts; nothing to do here
        };
        let interp = py.interp.clone();
        job.epoch = interp.env.epoch.0;
        job.spawned_at = py.rec.now();
        job.budget = interp.env.budget.left();
        let watch = self.watch.clone();
        let handle = std::thread::Builder::new()
            .name(format!("sup-{}", self.name).chars().take(15).collect())
            .spawn(move || supervise(&interp, job, &watch));
        match handle {
            Ok(h) => py.interp.adopt(h),
            Err(e) => {
                py.interp
                    .fail(format!("could not start a supervisor thread: {e}"));
                return Err(Stopped);
            }
        }
        while !self.watch.spawned.wait_bounded(py.stop_flag(), MAX_WAIT) {
            py.stop_flag().check()?;
        }
        Ok(())
    }

    /// `p.join()`: waits, GIL released, until the child has finished and been reaped.
    pub fn join(&self, py: &mut Py) -> Result<(), Stopped> {
        py.call(|py| {
            py.straight(JOIN_BYTECODES)?;
            let watch = self.watch.clone();
            py.blocking(State::Join, |_, stop| watch.done.wait(stop))
        })
    }

    /// The child's pid, once started.
    pub fn pid(&self) -> Option<u32> {
        Some(self.watch.pid.load(Ordering::Relaxed)).filter(|p| *p != 0)
    }

    /// What the child returned, once joined.
    pub fn result(&self) -> Option<ChildResult> {
        self.watch
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
