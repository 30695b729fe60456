//! The operating-system calls the engine makes, safe, over the `rustix` crate: clocks, the
//! thread id, waiting on a pipe, non-blocking reads and writes, tying a child process to
//! its parent, reaping and killing process trees. The one place below the interpreter; only
//! the process-shared semaphores and the shared-memory mapping (`multiprocessing/shm.rs`)
//! still speak `libc` directly, and here `wait4` (CPU time of a reaped tree) and a thread's
//! scheduling policy, which `rustix` does not offer.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::time::{clock_gettime, ClockId, Timespec};

/// `CLOCK_MONOTONIC` in ns: the same clock in every process of a run (a vDSO call, no
/// system call: it is read for every recorded event).
#[inline]
pub fn monotonic_ns() -> u64 {
    ns(clock_gettime(ClockId::Monotonic))
}

/// CPU time of the calling thread, in ns.
pub fn thread_cpu_ns() -> u64 {
    ns(clock_gettime(ClockId::ThreadCPUTime))
}

#[inline]
fn ns(ts: Timespec) -> u64 {
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The calling thread's OS id (what `/proc/<pid>/task/<tid>` names).
pub fn thread_id() -> u32 {
    rustix::thread::gettid().as_raw_nonzero().get() as u32
}

/// Which way a pipe end is waited on.
#[derive(Clone, Copy, Debug)]
pub enum Ready {
    Read,
    Write,
}

/// Waits at most `timeout` until `fd` is ready; true if it is (a closed or broken pipe counts
/// as ready: the read or write then says so).
pub fn wait_ready(fd: impl AsFd, ready: Ready, timeout: Duration) -> bool {
    let events = match ready {
        Ready::Read => PollFlags::IN,
        Ready::Write => PollFlags::OUT,
    };
    let mut fds = [PollFd::new(&fd, events)];
    let timeout = Timespec {
        tv_sec: timeout.as_secs() as _,
        tv_nsec: timeout.subsec_nanos() as _,
    };
    matches!(poll(&mut fds, Some(&timeout)), Ok(n) if n > 0) && !fds[0].revents().is_empty()
}

/// What a non-blocking read or write did.
#[derive(Debug)]
pub enum Transfer {
    /// This many bytes (0 for a read: the other end closed the pipe).
    Done(usize),
    /// Nothing now: the pipe is empty (read) or full (write), or a signal interrupted.
    WouldBlock,
}

fn transfer(result: Result<usize, Errno>) -> io::Result<Transfer> {
    match result {
        Ok(n) => Ok(Transfer::Done(n)),
        Err(Errno::AGAIN) | Err(Errno::INTR) => Ok(Transfer::WouldBlock),
        Err(e) => Err(e.into()),
    }
}

/// One `read(2)` into `buf`.
pub fn read(fd: impl AsFd, buf: &mut [u8]) -> io::Result<Transfer> {
    transfer(rustix::io::read(fd, buf))
}

/// One `read(2)` into the spare capacity of `buf` (which it then includes), uninitialised as
/// CPython's `os.read` buffer is: no zeroing CPython does not do.
pub fn read_into_spare(fd: impl AsFd, buf: &mut Vec<u8>) -> io::Result<Transfer> {
    transfer(rustix::io::read(fd, rustix::buffer::spare_capacity(buf)))
}

/// One `write(2)` of `buf`.
pub fn write(fd: impl AsFd, buf: &[u8]) -> io::Result<Transfer> {
    transfer(rustix::io::write(fd, buf))
}

/// Makes reads and writes on `fd` return at once instead of blocking.
pub fn set_nonblocking(fd: impl AsFd) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(&fd)?;
    rustix::fs::fcntl_setfl(&fd, flags | rustix::fs::OFlags::NONBLOCK)?;
    Ok(())
}

/// A pipe, both ends close-on-exec and non-blocking (every wait on them is a bounded poll).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pipe::{pipe_with, PipeFlags};
    Ok(pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?)
}

/// Asks the kernel to SIGKILL this process when the thread that started it ends.
pub fn die_with_parent() -> io::Result<()> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
    Ok(())
}

/// The parent process's pid (1, or a subreaper's, once the parent has died).
pub fn parent_pid() -> u32 {
    rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get() as u32)
}

/// Keeps this process's stdout for private use and points fd 1 at stderr, so that nothing
/// printed by accident can corrupt what is written to the returned descriptor.
pub fn take_stdout() -> io::Result<OwnedFd> {
    let stdout = rustix::io::dup(rustix::stdio::stdout())?;
    rustix::stdio::dup2_stdout(rustix::stdio::stderr())?;
    Ok(stdout)
}

/// How a child process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

impl Ended {
    fn from_status(status: rustix::process::WaitStatus) -> Ended {
        match (status.exit_status(), status.terminating_signal()) {
            (Some(code), _) => Ended::Exited(code),
            (None, Some(signal)) => Ended::Signaled(signal),
            (None, None) => Ended::Exited(-1),
        }
    }
}

/// Makes this process the reaper of its orphaned descendants: they become its children when
/// their parent dies, so it can end them all.
pub fn become_subreaper() -> io::Result<()> {
    Ok(rustix::process::set_child_subreaper(Some(
        rustix::process::getpid(),
    ))?)
}

fn pid(raw: u32) -> Option<rustix::process::Pid> {
    rustix::process::Pid::from_raw(raw as i32)
}

/// SIGKILLs process `raw` (gone already is fine).
pub fn kill(raw: u32) {
    if let Some(p) = pid(raw) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
}

/// SIGKILLs every process of group `raw` (gone already is fine).
pub fn kill_group(raw: u32) {
    if let Some(p) = pid(raw) {
        let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
    }
}

/// What reaping found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reaped {
    /// This child ended.
    Child(u32, Ended),
    /// Children are alive, none has ended.
    Nothing,
    /// This process has no children left.
    NoChildren,
}

/// Reaps one ended child of this process, without waiting.
pub fn reap_any() -> Reaped {
    use rustix::process::{wait, WaitOptions};
    // `wait`, not `waitpid(None)`: that one only waits for children of this process group.
    match wait(WaitOptions::NOHANG) {
        Ok(Some((p, status))) => {
            Reaped::Child(p.as_raw_nonzero().get() as u32, Ended::from_status(status))
        }
        Ok(None) => Reaped::Nothing,
        Err(Errno::INTR) => Reaped::Nothing,
        Err(_) => Reaped::NoChildren,
    }
}

/// Reaps child `raw` if it has ended, without waiting: how it ended and the CPU time it and
/// every descendant it reaped used (user + system).
pub fn reap_with_cpu(raw: u32) -> io::Result<Option<(Ended, Duration)>> {
    let mut status = 0;
    // SAFETY: `rusage` is plain data, zero is a valid value; `wait4` writes both out-params.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals that outlive the call; WNOHANG never blocks.
    let got = unsafe { libc::wait4(raw as i32, &mut status, libc::WNOHANG, &mut usage) };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    if got == 0 {
        return Ok(None);
    }
    let ended = if libc::WIFEXITED(status) {
        Ended::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Ended::Signaled(libc::WTERMSIG(status))
    } else {
        Ended::Exited(-1)
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Some((ended, time(usage.ru_utime) + time(usage.ru_stime))))
}

/// Asks for a real-time (FIFO) priority for the calling thread, so a sampler keeps its
/// period on a busy machine; false where the system refuses (no privilege), which is fine.
pub fn prefer_realtime() -> bool {
    // Priority 10 of SCHED_FIFO's 1..=99: above every normal thread, below the kernel's own.
    let param = libc::sched_param { sched_priority: 10 };
    // SAFETY: `pthread_self` is always valid for the calling thread; `param` outlives the call.
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_advance_and_a_pipe_carries_bytes() {
        let t = monotonic_ns();
        assert!(monotonic_ns() >= t);
        assert!(thread_id() > 0);
        let (r, w) = pipe().expect("a pipe");
        assert!(!wait_ready(&r, Ready::Read, Duration::from_millis(1)));
        assert!(matches!(read(&r, &mut [0; 4]), Ok(Transfer::WouldBlock)));
        assert!(matches!(write(&w, b"abc"), Ok(Transfer::Done(3))));
        assert!(wait_ready(&r, Ready::Read, Duration::from_millis(100)));
        let mut buf = [0; 4];
        assert!(matches!(read(&r, &mut buf), Ok(Transfer::Done(3))));
        assert_eq!(&buf[..3], b"abc");
        drop(w);
        assert!(matches!(read(&r, &mut buf), Ok(Transfer::Done(0))));
    }
}
