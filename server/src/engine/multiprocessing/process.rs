//! `multiprocessing.Process` for real: the `gilscope` binary re-executed as `gilscope worker`,
//! with its own interpreter and GIL, supervised by one thread of the parent.
//!
//! The supervisor thread spawns the child when the `Process` object is made (so
//! `PR_SET_PDEATHSIG`, which the child arms and which fires when the *thread* that started it
//! ends, stays armed exactly as long as someone watches the child); at `p.start()` it sends it
//! its [`WorkerJob`], then reads its messages with `poll` in slices of
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
//!
//! [`MAX_WAIT`]: crate::engine::interpreter::stop::MAX_WAIT

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gilscope_shared::spec::Knobs;
use gilscope_shared::trace::{Nanos, State};
use serde::{Deserialize, Serialize};

use crate::engine::interpreter::bytecode::calibration;
use crate::engine::interpreter::gate::Gate;
use crate::engine::interpreter::imports::Import;
use crate::engine::interpreter::interp::{Interp, InterpConfig, Py};
use crate::engine::interpreter::stop::Stopped;
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

/// What CPython's `Process.start()` costs the parent, in bytecodes: the `Popen` object's
/// Python and `os.fork` itself (the kernel copying the parent's page tables, the GIL held),
/// 0.30 ms on CPython 3.11 here (median of 20 later starts; `os.fork` alone 0.15 ms).
pub const START_BYTECODES: u64 = 90_000;
/// `p.join()` before it blocks.
pub const JOIN_BYTECODES: u64 = 40;
/// From the parent's return from `p.start()` to the target's first bytecode on CPython 3.11
/// here, in ns: fork method (the child's `_bootstrap`; 0.8–1.1 ms, median 0.9)...
pub const PYTHON_FORK_CHILD_NS: u64 = 900_000;
/// ...and spawn method (a fresh interpreter that imports `multiprocessing` and unpickles:
/// 34 ms from `p.start()`, less the parent's share).
pub const PYTHON_SPAWN_CHILD_NS: u64 = 33_700_000;

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
    /// From the parent's return from `p.start()` to the target's first bytecode on CPython
    /// 3.11, in ns.
    pub fn child_start_ns(self) -> u64 {
        match self {
            StartMethod::Fork => PYTHON_FORK_CHILD_NS,
            StartMethod::Spawn => PYTHON_SPAWN_CHILD_NS,
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
    pub(super) done: Gate,
    pub(super) pid: AtomicU32,
    pub(super) result: Mutex<Option<ChildResult>>,
}

/// What `p.start()` tells the supervisor: the run to report to and the job's times.
pub(super) struct Start {
    pub(super) interp: Arc<Interp>,
    pub(super) epoch: u64,
    pub(super) spawned_at: Nanos,
    pub(super) target_at: Nanos,
    pub(super) budget: u64,
    /// What the child has imported already: its parent's modules if forked.
    pub(super) imported: u32,
}

/// A `multiprocessing.Process` of the run (created before the run starts, started by the
/// program with [`Process::start`]).
///
/// Its child is spawned when the object is made, and waits for its job: CPython's `fork`
/// copies a running interpreter in a fraction of a millisecond, while `exec` of a fresh
/// `gilscope worker` takes 0.3–7 ms here (more on a busy machine), which would otherwise show
/// as a late start. A process never started is killed and reaped when the object is dropped.
pub struct Process {
    pub name: String,
    start_method: StartMethod,
    /// Tells the supervisor to send the job; taken by `start` (or dropped unstarted).
    start: Mutex<Option<SyncSender<Start>>>,
    /// The supervisor thread, or why it could not be started.
    supervisor: Mutex<Option<Result<JoinHandle<()>, String>>>,
    watch: Arc<Watch>,
}

impl Process {
    /// `Process(target=..)`: the child that will run `program` for `role` number `index`,
    /// spawned now (see [`Process`]).
    pub fn new(
        name: &str,
        program: &ChildProgram,
        role: &str,
        index: u32,
        shared: SharedObjects,
    ) -> Process {
        let mut program = program.clone();
        program.interp.name = name.to_string();
        let start_method = program.start_method;
        let job = WorkerJob {
            program,
            name: name.to_string(),
            role: role.to_string(),
            index,
            epoch: 0,
            clock: crate::engine::interpreter::clock::calibration(),
            spawned_at: 0,
            target_at: 0,
            imported: 0,
            calibration: calibration(),
            budget: 0,
            shared,
        };
        let watch = Arc::new(Watch::default());
        let (start, started) = sync_channel(1);
        let (spawned, spawn_done) = sync_channel(1);
        let supervisor = {
            let watch = watch.clone();
            std::thread::Builder::new()
                .name(format!("sup-{name}").chars().take(15).collect())
                .spawn(move || supervise(job, &spawned, &started, &watch))
                .map_err(|e| format!("could not start a supervisor thread: {e}"))
        };
        // One child at a time, each exec'd before the run starts: several spawned at once on
        // two cores would still be starting when the program starts them.
        if supervisor.is_ok() {
            let _ = spawn_done.recv_timeout(HELLO_TIMEOUT);
        }
        Process {
            name: name.to_string(),
            start_method,
            start: Mutex::new(Some(start)),
            supervisor: Mutex::new(Some(supervisor)),
            watch,
        }
    }

    /// `p.start()`: runs `Process.start`'s Python and `os.fork` in the parent (the first
    /// start of the interpreter also its imports, [`Import::PopenFork`]), GIL held as in
    /// CPython; then the child, already waiting, gets its job and starts its target
    /// CPython's bootstrap time later.
    pub fn start(&self, py: &mut Py) -> Result<(), Stopped> {
        let spawned_at = py.rec.now();
        py.multiprocessing_call(Import::PopenFork, START_BYTECODES)?;
        let Some(start) = self.start.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Ok(()); // started twice: CPython asserts; nothing to do here
        };
        let interp = py.interp.clone();
        let supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match supervisor {
            Some(Ok(handle)) => interp.adopt(handle),
            Some(Err(e)) => {
                interp.fail(e);
                return Err(Stopped);
            }
            None => {}
        }
        let target_at = py.rec.now() + self.start_method.child_start_ns();
        let imported = match self.start_method {
            StartMethod::Fork => interp.imported.bits(),
            StartMethod::Spawn => 0,
        };
        let _ = start.send(Start {
            imported,
            epoch: interp.env.epoch.0,
            spawned_at,
            target_at,
            budget: interp.env.budget.left(),
            interp,
        });
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

    /// The child's pid, once spawned.
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

impl Drop for Process {
    /// A process never started: its supervisor kills and reaps the waiting child.
    fn drop(&mut self) {
        let unstarted = self
            .start
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(unstarted);
        let supervisor = self
            .supervisor
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(Ok(handle)) = supervisor {
            let _ = handle.join();
        }
    }
}
