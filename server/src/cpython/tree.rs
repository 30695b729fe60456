//! A real program's whole process tree, ended with the run whatever happens.
//!
//! gilscope does not start `python3` itself: it starts `gilscope reap`, a small process of its
//! own that becomes the *subreaper* of everything below it (orphans are re-parented to it, not
//! to init), starts `python3` in a process group of its own, and reads a control pipe from
//! gilscope. When Python exits, when gilscope asks (a byte on the pipe) and when gilscope dies
//! (`kill -9` included: the pipe reaches end of file), the reaper SIGKILLs the group and every
//! descendant left — Pool workers, a Manager, processes that moved to another group — reaps
//! them, and exits with Python's status. So no Python process outlives its run.
//!
//! ```text
//! gilscope (server) ──control pipe──▶ gilscope reap ──▶ python3 lesson.py ──▶ children…
//!        ◀── stdout, stderr (inherited by python3 and its children) ──────────┘
//! ```

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::cpython::output::Capture;
use crate::engine::multiprocessing::process::{worker_exe, ProcessError};
use crate::engine::multiprocessing::supervisor::PARENT_PID_ENV;
use crate::engine::os::{self, Ended, Ready, Reaped};

/// How often the reaper looks at its children and its control pipe.
const REAPER_TICK: Duration = Duration::from_millis(10);
/// How long ending a tree may take before the reaper gives up on stragglers.
const KILL_PATIENCE: Duration = Duration::from_secs(5);

/// What a finished tree left: how Python ended, the CPU time of the whole tree, its output.
#[derive(Debug)]
pub struct Finished {
    pub ended: Ended,
    pub cpu: Duration,
    pub stdout: String,
    pub stderr: String,
    pub dropped_bytes: u64,
}

/// The parent's side: the reaper, its control pipe and the program's output.
pub struct ProcessTree {
    reaper: Child,
    control: Option<ChildStdin>,
    stdout: Capture,
    stderr: Capture,
    ended: Option<(Ended, Duration)>,
}

impl ProcessTree {
    /// Starts `python script` (in `cwd`) under a reaper. Python runs unbuffered, so what it
    /// printed before a stop is not lost in its buffers.
    pub fn spawn(python: &Path, script: &Path, cwd: &Path) -> Result<ProcessTree, ProcessError> {
        let exe = worker_exe()?;
        let mut reaper = Command::new(&exe)
            .arg("reap")
            .arg(python)
            .arg(script)
            .current_dir(cwd)
            .env(PARENT_PID_ENV, std::process::id().to_string())
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ProcessError::Spawn {
                name: "reaper".into(),
                exe: exe.display().to_string(),
                source,
            })?;
        let take = |e: std::io::Error| ProcessError::Spawn {
            name: "output reader".into(),
            exe: exe.display().to_string(),
            source: e,
        };
        let stdout = reaper.stdout.take().expect("piped");
        let stderr = reaper.stderr.take().expect("piped");
        Ok(ProcessTree {
            control: reaper.stdin.take(),
            stdout: Capture::spawn("py-stdout", stdout).map_err(take)?,
            stderr: Capture::spawn("py-stderr", stderr).map_err(take)?,
            reaper,
            ended: None,
        })
    }

    /// The reaper's pid: the program and its processes are its descendants.
    pub fn root(&self) -> u32 {
        self.reaper.id()
    }

    /// Whether the tree has ended (reaps the reaper when it has).
    pub fn has_ended(&mut self) -> bool {
        if self.ended.is_none() {
            if let Ok(Some(ended)) = os::reap_with_cpu(self.reaper.id()) {
                self.ended = Some(ended);
            }
        }
        self.ended.is_some()
    }

    /// Ends the whole tree now (the reaper kills it and exits).
    pub fn stop(&mut self) {
        if let Some(mut control) = self.control.take() {
            let _ = control.write_all(b"x");
        }
    }

    /// Waits for the tree's end (stopping it after `patience`), then for its output.
    pub fn wait(mut self, patience: Duration) -> Finished {
        let deadline = Instant::now() + patience;
        while !self.has_ended() {
            if Instant::now() >= deadline {
                self.stop();
            }
            if Instant::now() >= deadline + KILL_PATIENCE {
                let _ = self.reaper.kill();
            }
            std::thread::sleep(REAPER_TICK);
        }
        let (ended, cpu) = self.ended.expect("ended");
        let (stdout, out_dropped) = self.stdout.finish();
        let (stderr, err_dropped) = self.stderr.finish();
        Finished {
            ended,
            cpu,
            stdout,
            stderr,
            dropped_bytes: out_dropped + err_dropped,
        }
    }
}

impl Drop for ProcessTree {
    /// A tree dropped before its end (a panic, an early return) is ended too.
    fn drop(&mut self) {
        if !self.has_ended() {
            self.stop();
            let deadline = Instant::now() + KILL_PATIENCE;
            while !self.has_ended() && Instant::now() < deadline {
                std::thread::sleep(REAPER_TICK);
            }
        }
    }
}

/// Every process below `root` (not `root` itself), parents before children.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(pid) = frontier.pop() {
        for child in children(pid) {
            if !out.contains(&child) && out.len() < 4096 {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

/// The children of `pid`, as the kernel lists them per thread.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        let path = task.path().join("children");
        if let Ok(text) = std::fs::read_to_string(path) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// `gilscope reap PYTHON ARGS...`: the reaper's own side (see the module's docs). Its stdin
/// is the control pipe; Python inherits its stdout and stderr.
pub fn reaper_main(python: PathBuf, args: Vec<OsString>) -> ExitCode {
    let fail = |what: &str| {
        eprintln!("gilscope reap: {what}");
        ExitCode::from(125)
    };
    if let Err(e) = os::become_subreaper() {
        return fail(&format!("cannot become a subreaper: {e}"));
    }
    // The parent may have died before this process armed anything: then nobody wants it.
    let expected_parent = std::env::var(PARENT_PID_ENV).ok();
    if expected_parent.is_some_and(|p| p != os::parent_pid().to_string()) {
        return fail("the gilscope that started this is gone");
    }
    let control = std::io::stdin();
    if os::set_nonblocking(control.as_fd()).is_err() {
        return fail("cannot watch the control pipe");
    }
    let python_pid = match Command::new(&python)
        .args(&args)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
    {
        Ok(child) => child.id(),
        Err(e) => return fail(&format!("cannot start {}: {e}", python.display())),
    };
    let mut ended = None;
    'watch: loop {
        loop {
            match os::reap_any() {
                Reaped::Child(pid, how) if pid == python_pid => ended = Some(how),
                Reaped::Child(..) => {}
                Reaped::Nothing | Reaped::NoChildren => break,
            }
        }
        if ended.is_some() {
            break;
        }
        if os::wait_ready(control.as_fd(), Ready::Read, REAPER_TICK) {
            let mut byte = [0u8; 1];
            match os::read(control.as_fd(), &mut byte) {
                // A byte: stop. End of file or an error: gilscope is gone.
                Ok(os::Transfer::Done(_)) | Err(_) => break 'watch,
                Ok(os::Transfer::WouldBlock) => {}
            }
        }
    }
    end_tree(python_pid);
    match ended {
        Some(Ended::Exited(code)) => ExitCode::from(code.clamp(0, 255) as u8),
        Some(Ended::Signaled(signal)) => ExitCode::from((128 + signal).clamp(0, 255) as u8),
        None => ExitCode::from(128 + 9),
    }
}

/// SIGKILLs Python's process group and every descendant left, and reaps them all.
fn end_tree(group: u32) {
    let me = std::process::id();
    let deadline = Instant::now() + KILL_PATIENCE;
    loop {
        os::kill_group(group);
        for pid in descendants(me) {
            os::kill(pid);
        }
        loop {
            match os::reap_any() {
                Reaped::Child(..) => {}
                Reaped::Nothing => break,
                Reaped::NoChildren => return,
            }
        }
        if Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
