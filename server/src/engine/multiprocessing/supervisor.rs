//! The supervisor of a worker process: one thread of the parent per child. It spawns the
//! child as the `Process` object is made, sends it its job at `p.start()`, reads its messages
//! with `poll` in slices of [`MAX_WAIT`] — events renumbered into the run's lane and
//! interpreter ids and delivered to the run's sink, work charged to the run's budget — and
//! always ends by reaping it (see `process.rs` for the cases).

use std::collections::HashMap;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gilscope_shared::trace::{InterpId, LaneId, MarkKind, Nanos, Span, State, Trace, TraceDelta};

use crate::engine::interpreter::interp::Interp;
use crate::engine::interpreter::recorder::LaneStatus;
use crate::engine::interpreter::stop::MAX_WAIT;
use crate::engine::multiprocessing::wire::{
    self, FromWorker, MessageReader, ToWorker, WorkerJob, MAGIC, WIRE_VERSION,
};

use crate::engine::multiprocessing::process::{
    worker_exe, ChildResult, ProcessError, Start, Watch, EXIT_GRACE, HELLO_TIMEOUT, STDERR_KEEP,
};
use crate::engine::os::{self, Ready};

/// Renumbers a child's lanes and interpreter into the run's, and remembers enough about each
/// lane to close it if the child is killed.
struct Renumber {
    interp: Option<InterpId>,
    lanes: Vec<Option<LaneId>>,
    status: HashMap<LaneId, Arc<LaneStatus>>,
    /// The latest instant each lane has spans up to, and whether it ended.
    last: HashMap<LaneId, (Nanos, bool)>,
}

impl Renumber {
    fn lane(&self, local: LaneId) -> Option<LaneId> {
        self.lanes.get(local.0 as usize).copied().flatten()
    }

    /// The child's delta in the run's numbering: what it added, for the run's sink (its open
    /// spans go to the lanes' live states instead).
    fn apply(&mut self, interp: &Interp, mut delta: TraceDelta) -> Result<Trace, String> {
        for i in &mut delta.added.interpreters {
            let global = interp.env.ids.interp();
            self.interp = Some(global);
            i.id = global;
        }
        let ours = self.interp;
        for lane in std::mem::take(&mut delta.added.lanes) {
            let local = lane.id.0 as usize;
            let global = interp.env.ids.lane();
            if self.lanes.len() <= local {
                self.lanes.resize(local + 1, None);
            }
            self.lanes[local] = Some(global);
            let mut lane = lane;
            lane.id = global;
            lane.interp = ours.ok_or("a lane arrived before its interpreter")?;
            self.last.insert(global, (0, false));
            // The lane reaches the sink (and the live board) at once, in its own delta.
            self.status.insert(global, interp.env.sink.open_lane(lane));
        }
        let unknown = |l: LaneId| format!("an event names lane {} it never announced", l.0);
        for s in delta
            .added
            .spans
            .iter_mut()
            .chain(delta.open_spans.iter_mut())
        {
            s.lane = self.lane(s.lane).ok_or_else(|| unknown(s.lane))?;
        }
        for s in &delta.added.spans {
            let e = self.last.entry(s.lane).or_default();
            e.0 = e.0.max(s.t1);
            e.1 |= s.state == State::Done;
        }
        for s in &delta.open_spans {
            if let Some(status) = self.status.get(&s.lane) {
                status.set(s.state, s.t0);
            }
        }
        for m in &mut delta.added.marks {
            m.lane = self.lane(m.lane).ok_or_else(|| unknown(m.lane))?;
            match &mut m.kind {
                MarkKind::DropRequest { holder } => {
                    *holder = self.lane(*holder).ok_or_else(|| unknown(*holder))?;
                }
                MarkKind::Handoff {
                    interp: i,
                    from,
                    to,
                } => {
                    *i = ours.ok_or("a hand-off before the interpreter")?;
                    *to = self.lane(*to).ok_or_else(|| unknown(*to))?;
                    if let Some(f) = from {
                        *f = self.lane(*f).ok_or_else(|| unknown(*f))?;
                    }
                }
                _ => {}
            }
        }
        Ok(delta.added)
    }

    /// Ends every lane of a killed child at `now` (its last state is unknown: idle).
    fn close_lanes(&self, interp: &Interp, now: Nanos) {
        let mut spans = Vec::new();
        for (&lane, &(t, ended)) in &self.last {
            if ended {
                continue;
            }
            let since = self
                .status
                .get(&lane)
                .and_then(|s| s.get())
                .map_or(t, |(_, since)| since.max(t));
            let state = self
                .status
                .get(&lane)
                .and_then(|s| s.get())
                .map_or(State::Idle, |(s, _)| s);
            if now > t {
                spans.push(Span {
                    lane,
                    state: if since <= t { state } else { State::Idle },
                    t0: t,
                    t1: now,
                    task: None,
                });
            }
            spans.push(Span {
                lane,
                state: State::Done,
                t0: now.max(t),
                t1: now.max(t),
                task: None,
            });
            if let Some(s) = self.status.get(&lane) {
                s.set(State::Done, now.max(t));
            }
        }
        interp.env.sink.deliver(Trace {
            spans,
            end: now,
            ..Trace::default()
        });
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    if let Some(sig) = status.signal() {
        let name = match sig {
            libc::SIGKILL => " (SIGKILL)",
            libc::SIGSEGV => " (SIGSEGV)",
            libc::SIGTERM => " (SIGTERM)",
            libc::SIGABRT => " (SIGABRT)",
            _ => "",
        };
        format!("was killed by signal {sig}{name}")
    } else {
        format!("exited with status {}", status.code().unwrap_or(-1))
    }
}

/// Kills (if still running) and reaps the child; never blocks for long.
fn reap(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            // An exiting child is gone within a few hundred µs: poll often, briefly.
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_micros(100)),
            Ok(None) => {
                let _ = child.kill();
                return child.wait().ok();
            }
            Err(_) => return None,
        }
    }
}

/// Tells the child its parent's pid, so it can check it is still that process's child once
/// it has armed `PR_SET_PDEATHSIG` (see `worker::main`).
pub const PARENT_PID_ENV: &str = "GILSCOPE_PARENT_PID";

/// Serialises spawns: the descriptors made inheritable for one child exist only while it is
/// being spawned, and no sibling worker is spawned meanwhile.
static SPAWN: Mutex<()> = Mutex::new(());

/// Starts the child with its inherited descriptors open. No `pre_exec` hook: that would make
/// std `fork` the whole server (page tables included, several ms for a big process) instead
/// of `posix_spawn`'s `vfork`. So the child arms `PR_SET_PDEATHSIG` itself, first thing, and
/// checks `getppid()` against [`PARENT_PID_ENV`]; and the shared descriptors (all
/// `O_CLOEXEC`) are passed as inheritable duplicates made just for this spawn — the job
/// names the duplicates' numbers. Returns the child, the executable and the job to send.
fn spawn_child(job: &WorkerJob) -> Result<(Child, String, WorkerJob), ProcessError> {
    let exe = worker_exe()?;
    let exe_text = exe.display().to_string();
    let spawn_error = |source| ProcessError::Spawn {
        name: job.name.clone(),
        exe: exe_text.clone(),
        source,
    };
    let _one_at_a_time = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    let mut dups: HashMap<i32, std::os::fd::OwnedFd> = HashMap::new();
    for fd in job.shared.inherit_fds() {
        // SAFETY: `dup` of a descriptor this process owns; the copy has no FD_CLOEXEC.
        let d = unsafe { libc::dup(fd) };
        if d < 0 {
            return Err(spawn_error(std::io::Error::last_os_error()));
        }
        // SAFETY: `d` is new and owned here (closed when `dups` drops, after the spawn).
        dups.insert(fd, unsafe { std::os::fd::FromRawFd::from_raw_fd(d) });
    }
    let mut sent = job.clone();
    sent.shared
        .renumber_fds(&|fd| dups.get(&fd).map_or(fd, |d| d.as_raw_fd()));
    let mut cmd = Command::new(&exe);
    cmd.arg("worker")
        .env(PARENT_PID_ENV, std::process::id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().map_err(spawn_error)?;
    drop(dups);
    Ok((child, exe_text, sent))
}

/// The supervisor thread's whole life: spawn the child at once (and say so on `spawn_done`),
/// wait for `p.start()` (or for the `Process` to be dropped unstarted: kill and reap), then
/// feed, read, reap.
pub(super) fn supervise(
    job: WorkerJob,
    spawn_done: &SyncSender<()>,
    start: &Receiver<Start>,
    watch: &Watch,
) {
    let spawned = spawn_child(&job);
    if let Ok((child, _, _)) = &spawned {
        watch.pid.store(child.id(), Ordering::Relaxed);
    }
    let _ = spawn_done.send(());
    let Ok(go) = start.recv() else {
        if let Ok((mut child, _, _)) = spawned {
            let _ = child.kill();
            let _ = child.wait();
        }
        watch.done.open();
        return;
    };
    let interp = &go.interp;
    let name = job.name.clone();
    let (mut child, exe, mut job) = match spawned {
        Ok(c) => c,
        Err(e) => {
            interp.fail(e.to_string());
            watch.done.open();
            return;
        }
    };
    job.epoch = go.epoch;
    job.spawned_at = go.spawned_at;
    job.target_at = go.target_at;
    job.budget = go.budget;
    job.imported = go.imported;
    let pid = child.id();
    let outcome = read_child(interp, &job, &mut child, &exe, watch);
    let (renumber, result) = outcome;
    let status = match &result {
        // A child that finished (or closed its pipe) exits at once; give it a moment.
        Ok(Some(_)) | Err(ProcessError::Died { .. }) => reap(&mut child, EXIT_GRACE),
        Ok(None) | Err(_) => reap(&mut child, Duration::ZERO),
    };
    let stderr = read_rest(&mut child);
    let exit = || status.map_or("vanished".to_string(), describe_exit);
    let failure = match result {
        // Its result and work were recorded when it said `Done`.
        Ok(Some(_)) if status.is_some_and(|s| s.success()) => None,
        Ok(Some(_)) | Ok(None) if interp.env.stop.is_set() => {
            // The run is stopping: the child was killed on purpose.
            renumber.close_lanes(interp, interp.env.epoch.elapsed());
            None
        }
        Ok(_) => Some(ProcessError::Died {
            name,
            pid,
            how: format!("{} before finishing its program", exit()),
            stderr,
        }),
        Err(ProcessError::Died { name, pid, how, .. }) => Some(ProcessError::Died {
            name,
            pid,
            how: format!("{how} and {}", exit()),
            stderr,
        }),
        Err(e) => Some(e),
    };
    if let Some(failure) = failure {
        renumber.close_lanes(interp, interp.env.epoch.elapsed());
        interp.fail(failure.to_string());
    }
    watch.done.open();
}

/// Whatever the child wrote to stderr, trimmed, for an error message.
fn read_rest(child: &mut Child) -> String {
    let Some(mut err) = child.stderr.take() else {
        return String::new();
    };
    let mut buf = Vec::new();
    let _ = (&mut err)
        .take(STDERR_KEEP as u64 * 4)
        .read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        let tail: String = text
            .chars()
            .rev()
            .take(STDERR_KEEP)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!(": {}", tail.replace('\n', " | "))
    }
}

/// Sends the job and reads the child's messages until it finishes, fails or the run stops.
/// `Ok(Some)`: it said `Done` and closed its pipe; `Ok(None)`: the run stopped (the child is
/// still to be killed).
///
/// A child says `Done` before its last events (see `worker::main`): its result and work are
/// recorded and `p.join()` returns at once, as CPython's does when the child exits, not once
/// the parent has read a beat's worth of the child's events. The rest is still read, until
/// the pipe closes (at most [`EXIT_GRACE`]), even if the run is stopping meanwhile.
fn read_child(
    interp: &Arc<Interp>,
    job: &WorkerJob,
    child: &mut Child,
    exe: &str,
    watch: &Watch,
) -> (Renumber, Result<Option<ChildResult>, ProcessError>) {
    let mut renumber = Renumber {
        interp: None,
        lanes: Vec::new(),
        status: HashMap::new(),
        last: HashMap::new(),
    };
    let name = job.name.clone();
    let pid = child.id();
    // The job goes in one message; then stdin is closed. A child that is gone already makes
    // this fail with EPIPE (SIGPIPE is ignored by Rust programs), which the reads below see.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = wire::write_message(&mut stdin, &ToWorker::Job(Box::new(job.clone())));
    }
    let Some(stdout) = child.stdout.take() else {
        return (renumber, Err(died(&name, pid, "has no stdout pipe")));
    };
    if let Err(e) = os::set_nonblocking(&stdout) {
        return (
            renumber,
            Err(died(&name, pid, &format!("has an unusable pipe: {e}"))),
        );
    }
    let mut reader = MessageReader::default();
    let started = Instant::now();
    let mut hello = false;
    // The child's bytecodes charged to the run's budget so far.
    let mut charged = 0u64;
    // The child's result, once it said `Done`, and until when its last events are awaited.
    let mut finished: Option<(ChildResult, Instant)> = None;
    loop {
        match &finished {
            Some((_, since)) if since.elapsed() > EXIT_GRACE => break,
            Some(_) => {}
            None if interp.env.stop.is_set() => return (renumber, Ok(None)),
            None => {}
        }
        os::wait_ready(&stdout, Ready::Read, MAX_WAIT);
        if let Err(e) = reader.fill(stdout.as_fd()) {
            return (
                renumber,
                Err(died(&name, pid, &format!("broke its pipe: {e}"))),
            );
        }
        loop {
            if finished.is_none() && interp.env.stop.is_set() {
                break; // the top of the outer loop ends the child
            }
            let msg = match reader.next_message::<FromWorker>() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) if !hello => {
                    return (
                        renumber,
                        Err(ProcessError::NotAWorker {
                            name,
                            pid,
                            exe: exe.to_string(),
                            detail: format!("(its first output is not a gilscope message: {e})"),
                        }),
                    )
                }
                Err(e) => {
                    return (
                        renumber,
                        Err(ProcessError::Malformed {
                            name,
                            pid,
                            detail: e.to_string(),
                        }),
                    )
                }
            };
            match msg {
                FromWorker::Handshake { magic, version, .. } => {
                    if magic != MAGIC || version != WIRE_VERSION {
                        return (
                            renumber,
                            Err(ProcessError::NotAWorker {
                                name,
                                pid,
                                exe: exe.to_string(),
                                detail: format!(
                                    "(says {magic} v{version}, want {MAGIC} v{WIRE_VERSION})"
                                ),
                            }),
                        );
                    }
                    hello = true;
                }
                _ if !hello => {
                    return (
                        renumber,
                        Err(ProcessError::Malformed {
                            name,
                            pid,
                            detail: "a message before the handshake".into(),
                        }),
                    )
                }
                FromWorker::Events(delta) => match renumber.apply(interp, delta) {
                    Ok(added) => {
                        if !added.is_empty() {
                            interp.env.sink.deliver(added);
                        }
                    }
                    Err(detail) => {
                        return (renumber, Err(ProcessError::Malformed { name, pid, detail }))
                    }
                },
                FromWorker::Progress { bytecodes } => {
                    // The run's conductor sees the budget exceeded and stops every process.
                    interp.env.budget.spend(bytecodes.saturating_sub(charged));
                    charged = charged.max(bytecodes);
                }
                FromWorker::Done {
                    cpu_ns,
                    bytecodes,
                    hit_cap,
                    results,
                } => {
                    if hit_cap || interp.env.budget.spend(bytecodes.saturating_sub(charged)) {
                        interp.env.budget.spend(interp.env.budget.left() + 1);
                        interp.stop();
                    }
                    let result = ChildResult {
                        cpu_ns,
                        bytecodes,
                        results,
                    };
                    interp.add_work(cpu_ns, bytecodes);
                    *watch.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result.clone());
                    watch.done.open();
                    finished = Some((result, Instant::now()));
                }
                FromWorker::Failed { reason } => {
                    return (renumber, Err(ProcessError::Failed { name, pid, reason }))
                }
            }
        }
        if reader.eof {
            if let Some((result, _)) = finished {
                return (renumber, Ok(Some(result)));
            }
            let how = if hello {
                "closed its pipe before finishing its program"
            } else {
                "closed its pipe without its handshake (not a gilscope worker, or it could not start)"
            };
            return (renumber, Err(died(&name, pid, how)));
        }
        if !hello && started.elapsed() > HELLO_TIMEOUT {
            return (
                renumber,
                Err(ProcessError::NotAWorker {
                    name,
                    pid,
                    exe: exe.to_string(),
                    detail: format!("(no hello within {} s)", HELLO_TIMEOUT.as_secs()),
                }),
            );
        }
    }
    // Said `Done`, then kept its pipe open past the grace: it is killed when reaped.
    let result = finished.map(|(result, _)| result);
    (renumber, Ok(result))
}

fn died(name: &str, pid: u32, how: &str) -> ProcessError {
    ProcessError::Died {
        name: name.to_string(),
        pid,
        how: how.to_string(),
        stderr: String::new(),
    }
}
