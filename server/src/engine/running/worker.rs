//! `gilscope worker`: the child side of a worker process (hidden subcommand; the server
//! starts it, people don't).
//!
//! It reads its [`WorkerJob`] from stdin, answers `Handshake`, pads its start-up to what a CPython
//! process start costs (recorded as a `Starting` span from the parent's `p.start()`), runs the
//! preset's program for its role in an [`Interp`] of its own — its own GIL — and ships its
//! batches of events to the parent over stdout, stamped on `CLOCK_MONOTONIC` relative to the
//! parent's epoch. Stdout is reserved for messages: fd 1 is pointed at stderr once the pipe's
//! descriptor is set aside.
//!
//! The batches go out on a beat, not as they come: recording threads leave them in the
//! [`PipeSink`]'s outbox, and the worker's main thread — idle anyway while the program runs —
//! writes the outbox, a heartbeat and the bytecodes used, in one `write`, on the run's [`beat`].
//! A write per batch woke this process's writer and the server's reader thousands of times a
//! second while two processes handed a semaphore back and forth; on this kind of machine (a
//! virtual machine whose idle cores halt) background wake-ups change how fast processes wake
//! each other, so the emulation measured hand-overs several times faster than CPython, which
//! has no such threads (issue #10).

use std::fs::File;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use gilscope_shared::trace::{Lane, Span, State, Trace, TraceDelta};

use crate::engine::interpreter::bytecode::{set_calibration, spin};
use crate::engine::interpreter::clock::Epoch;
use crate::engine::interpreter::interp::{Budget, Ids, Interp, RunEnv, ThreadHandle};
use crate::engine::interpreter::recorder::{EventSink, LaneBoard, LaneStatus};
use crate::engine::interpreter::stop::StopFlag;
use crate::engine::multiprocessing::shm::Arena;
use crate::engine::multiprocessing::wire::{
    self, FromWorker, ToWorker, WorkerJob, MAGIC, WIRE_VERSION,
};
use crate::engine::os;
use crate::engine::running::beat;
use crate::engine::running::program::Registry;

/// What a preset's worker program gets: its job, the shared memory, and where to put what it
/// returns to the parent.
pub struct WorkerCtx {
    pub job: WorkerJob,
    pub arena: Option<Arc<Arena>>,
    pub results: Arc<Mutex<Vec<i64>>>,
}

impl WorkerCtx {
    /// The run's knobs.
    pub fn knobs(&self) -> &gilscope_shared::spec::Knobs {
        &self.job.program.knobs
    }
}

/// The child's sink: every batch becomes a message in the outbox, which the main thread writes
/// to the pipe on its beat (so recording threads never block on the pipe, nor wake anyone).
#[derive(Default)]
struct PipeSink {
    outbox: Mutex<Vec<FromWorker>>,
    board: LaneBoard,
}

impl PipeSink {
    fn send(&self, msg: FromWorker) {
        self.outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg);
    }

    /// Writes everything in the outbox to the pipe, in one write. Fails once the parent is gone
    /// or stopped reading.
    fn write_out(&self, out: &mut File) -> std::io::Result<()> {
        let messages = std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()));
        if messages.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for msg in &messages {
            bytes.extend_from_slice(&wire::encode(msg));
        }
        out.write_all(&bytes)
    }

    /// Each lane's state right now, as open spans.
    fn heartbeat(&self, now: u64) {
        let open_spans = self.board.open_spans(now);
        self.send(FromWorker::Events(TraceDelta {
            added: Trace {
                end: now,
                ..Trace::default()
            },
            open_spans,
        }));
    }
}

impl EventSink for PipeSink {
    fn open_lane(&self, lane: Lane) -> Arc<LaneStatus> {
        let status = self.board.open(lane.id);
        self.send(FromWorker::Events(TraceDelta::from(Trace {
            lanes: vec![lane],
            ..Trace::default()
        })));
        status
    }

    fn deliver(&self, batch: Trace) {
        self.send(FromWorker::Events(batch.into()));
    }
}

/// Why the child could not run its program.
#[derive(thiserror::Error, Debug)]
enum WorkerError {
    #[error("reading the job: {0}")]
    Job(String),
    #[error("{0}")]
    Setup(String),
}

/// Dies with the parent: `PR_SET_PDEATHSIG(SIGKILL)`, then a check that the parent is still
/// the one that started us (if it died before the `prctl`, we were re-parented and nobody
/// would ever kill us).
fn tie_to_parent() -> Result<(), String> {
    os::die_with_parent().map_err(|e| format!("prctl(PR_SET_PDEATHSIG): {e}"))?;
    let expected = std::env::var(crate::engine::multiprocessing::supervisor::PARENT_PID_ENV)
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .ok_or("started without GILSCOPE_PARENT_PID (only gilscope starts workers)")?;
    if os::parent_pid() != expected {
        return Err("the parent is gone".to_string());
    }
    Ok(())
}

/// The entry point of `gilscope worker`: `presets` finds the program its job names.
pub fn main(presets: Registry) -> ExitCode {
    if let Err(e) = tie_to_parent() {
        eprintln!("gilscope worker: {e}");
        return ExitCode::FAILURE;
    }
    let mut out = match os::take_stdout() {
        Ok(fd) => File::from(fd),
        Err(e) => {
            eprintln!("gilscope worker: cannot set up its pipe: {e}");
            return ExitCode::FAILURE;
        }
    };
    let hello = FromWorker::Handshake {
        magic: MAGIC.into(),
        version: WIRE_VERSION,
        pid: std::process::id(),
    };
    if wire::write_message(&mut out, &hello).is_err() {
        return ExitCode::FAILURE;
    }
    let job = match read_job() {
        Ok(job) => job,
        Err(e) => {
            let _ = wire::write_message(
                &mut out,
                &FromWorker::Failed {
                    reason: e.to_string(),
                },
            );
            return ExitCode::FAILURE;
        }
    };
    let sink = Arc::new(PipeSink::default());
    let code = match run(job, presets, &sink, &mut out) {
        Ok(done) => {
            // `Done` first, in a write of its own: the parent's `p.join()` returns on it (as
            // CPython's does when the child exits), while the last events, up to a beat's
            // worth, follow.
            if wire::write_message(&mut out, &done).is_err() {
                return ExitCode::from(3);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            sink.send(FromWorker::Failed {
                reason: e.to_string(),
            });
            ExitCode::FAILURE
        }
    };
    if sink.write_out(&mut out).is_err() {
        return ExitCode::from(3);
    }
    code
}

fn read_job() -> Result<WorkerJob, WorkerError> {
    let mut stdin = std::io::stdin().lock();
    let mut len = [0u8; 4];
    stdin
        .read_exact(&mut len)
        .map_err(|e| WorkerError::Job(e.to_string()))?;
    let len = u32::from_le_bytes(len) as usize;
    if len > wire::MAX_MESSAGE {
        return Err(WorkerError::Job(format!("a job of {len} bytes")));
    }
    let mut body = vec![0u8; len];
    stdin
        .read_exact(&mut body)
        .map_err(|e| WorkerError::Job(e.to_string()))?;
    match rmp_serde::from_slice::<ToWorker>(&body) {
        Ok(ToWorker::Job(job)) => Ok(*job),
        Err(e) => Err(WorkerError::Job(e.to_string())),
    }
}

fn run(
    job: WorkerJob,
    presets: Registry,
    sink: &Arc<PipeSink>,
    out: &mut File,
) -> Result<FromWorker, WorkerError> {
    set_calibration(job.calibration);
    crate::engine::interpreter::clock::set_calibration(job.clock);
    let epoch = Epoch(job.epoch);
    // Start-up: CPython's fork + bootstrap cost, as real CPU work (this process was started
    // before `p.start()`, see `Process::new`; a late one starts at once).
    let mut state = 1u64;
    while epoch.elapsed() < job.target_at {
        spin(&mut state, 2_000);
    }
    std::hint::black_box(state);
    let stop = Arc::new(StopFlag::default());
    let env = RunEnv {
        epoch,
        sink: sink.clone(),
        ids: Arc::new(Ids::default()),
        stop: stop.clone(),
        budget: Arc::new(Budget::new(job.budget)),
    };
    let config = job.program.interp.clone();
    let preset = presets(&job.program.preset)
        .ok_or_else(|| WorkerError::Setup(format!("no preset {}", job.program.preset)))?;
    let arena = job
        .shared
        .attach()
        .map_err(|e| WorkerError::Setup(format!("shared memory: {e}")))?;
    // Everything before the interpreter exists is start-up.
    let ready = epoch.elapsed();
    let interp = Interp::new(config, env.clone());
    interp.imported.inherit(job.imported);
    let results = Arc::new(Mutex::new(Vec::new()));
    let spawned_at = job.spawned_at;
    let ctx = WorkerCtx {
        job,
        arena,
        results: results.clone(),
    };
    let main: ThreadHandle = preset
        .process(&ctx, &interp)
        .map_err(|e| WorkerError::Setup(e.to_string()))?;
    sink.deliver(Trace {
        spans: vec![Span {
            lane: main.lane,
            state: State::Starting,
            t0: spawned_at.min(ready),
            t1: ready,
            task: None,
        }],
        end: ready,
        ..Trace::default()
    });
    main.start_now();
    while !main.wait_done(beat::until_next(epoch.elapsed())) {
        sink.heartbeat(epoch.elapsed());
        sink.send(FromWorker::Progress {
            bytecodes: env.budget.used(),
        });
        if sink.write_out(out).is_err() {
            // The parent is gone or stopped reading: nothing more to do.
            std::process::exit(3);
        }
    }
    interp.stop();
    interp.join_os_threads();
    if let Some(reason) = interp.failure() {
        return Err(WorkerError::Setup(reason));
    }
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(FromWorker::Done {
        cpu_ns: interp.cpu_ns(),
        bytecodes: interp.bytecodes(),
        hit_cap: env.budget.exceeded(),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::multiprocessing::wire::MessageReader;
    use std::os::fd::AsFd;

    #[test]
    fn batches_wait_in_the_outbox_and_leave_in_one_write() {
        let (rx, tx) = rustix::pipe::pipe().unwrap();
        rustix::fs::fcntl_setfl(&rx, rustix::fs::OFlags::NONBLOCK).unwrap();
        let mut out = File::from(tx);
        let sink = PipeSink::default();
        for bytecodes in 0..100 {
            sink.send(FromWorker::Progress { bytecodes });
        }
        let mut reader = MessageReader::default();
        assert_eq!(reader.fill(rx.as_fd()).unwrap(), 0, "a send writes nothing");
        sink.write_out(&mut out).unwrap();
        reader.fill(rx.as_fd()).unwrap();
        let mut got = Vec::new();
        while let Some(FromWorker::Progress { bytecodes }) = reader.next_message().unwrap() {
            got.push(bytecodes);
        }
        assert_eq!(got, (0..100).collect::<Vec<_>>(), "every message, in order");
        sink.write_out(&mut out).unwrap();
        assert_eq!(
            reader.fill(rx.as_fd()).unwrap(),
            0,
            "the outbox was emptied"
        );
    }
}
