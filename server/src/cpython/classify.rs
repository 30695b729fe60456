//! What a sampled thread that does not hold the GIL is doing, from its Python stack, the
//! source line it stands on, and the system call it is blocked in.
//!
//! The rule: walk the stack from the innermost frame outward while the frames are the
//! standard library's; of the calls recognised there, the outermost names what the program
//! asked for (`queue.get` rather than the `Condition.wait` inside it; a pool worker waiting
//! for a task is idle). When the program itself blocks in a C function (`time.sleep`,
//! `lock.acquire()`, `sock.recv`), there is no Python frame for it: the source line says
//! what it called. When nothing is recognised, the system call decides: a thread parked on a
//! futex with nothing else to wait for is waiting for the GIL; one in `read`, `poll` or a
//! sleep is in I/O.

use gilscope_shared::trace::State;

/// One frame as the observer saw it.
#[derive(Clone, Copy, Debug)]
pub struct FrameRef<'a> {
    /// The function's name (py-spy gives the qualified name: `Thread.join`).
    pub function: &'a str,
    pub filename: &'a str,
    /// The text of the line the frame stands on, when known.
    pub line: Option<&'a str>,
}

/// Where a blocked thread is parked in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syscall {
    /// On a CPU, not in a system call.
    Running,
    /// A futex: a lock, a condition, or the GIL.
    Futex,
    /// Waiting for a child process.
    WaitChild,
    /// Any other blocking call: reads, polls, sleeps, sockets.
    Other,
    /// Not known (the thread ended, or /proc could not be read).
    Unknown,
}

/// A thread that does not hold the GIL: what it is doing. `frames` are innermost first;
/// `syscall` is asked only when the stack alone does not tell.
pub fn classify(frames: &[FrameRef<'_>], syscall: impl FnOnce() -> Syscall) -> State {
    let mut found = None;
    let mut user_frame = None;
    for frame in frames {
        if !is_library(frame.filename) {
            user_frame = Some(frame);
            break;
        }
        if let Some(state) = library_call(frame) {
            found = Some(state);
        }
    }
    if let Some(state) = found {
        return state;
    }
    let parked = syscall();
    match user_frame.and_then(|f| f.line).and_then(line_call) {
        // On a sleeping or I/O line but parked on a futex or running: the call has not
        // started or is over, and the thread waits for the GIL around it.
        Some(State::Io) if matches!(parked, Syscall::Futex | Syscall::Running) => State::WaitGil,
        Some(state) => state,
        None => match parked {
            Syscall::WaitChild => State::Join,
            Syscall::Other => State::Io,
            Syscall::Futex | Syscall::Running | Syscall::Unknown => State::WaitGil,
        },
    }
}

/// The standard library (and frozen bootstrap modules), not the program.
pub fn is_library(filename: &str) -> bool {
    filename.starts_with("<frozen") || filename.contains("/lib/python3")
}

/// `Thread.join` -> `join`.
fn short(function: &str) -> &str {
    function.rsplit('.').next().unwrap_or(function)
}

/// A standard-library function that blocks, and in what state.
fn library_call(frame: &FrameRef<'_>) -> Option<State> {
    let file = frame.filename;
    let f = short(frame.function);
    let module = |name: &str| file.ends_with(name);
    let state = if module("/threading.py") {
        match f {
            "join" | "_wait_for_tstate_lock" => State::Join,
            "wait" | "wait_for" | "acquire" | "__enter__" => State::WaitLock,
            _ => return None,
        }
    } else if module("/queue.py") || module("/multiprocessing/queues.py") {
        match f {
            "get" => State::BlockedGet,
            "put" => State::BlockedPut,
            "_feed" => State::Idle,
            _ => return None,
        }
    } else if module("/multiprocessing/pool.py") {
        match f {
            "worker" | "_handle_tasks" | "_handle_results" | "_handle_workers" => State::Idle,
            "get" | "wait" | "map" | "starmap" | "join" | "next" | "_wait_for_updates" => {
                State::Join
            }
            _ => return None,
        }
    } else if module("/multiprocessing/process.py") || module("/multiprocessing/popen_fork.py") {
        match f {
            "join" | "wait" | "poll" => State::Join,
            _ => return None,
        }
    } else if module("/multiprocessing/connection.py") {
        match f {
            "recv" | "recv_bytes" | "_recv" | "_recv_bytes" | "poll" | "wait" | "send"
            | "send_bytes" | "accept" => State::Io,
            _ => return None,
        }
    } else if module("/multiprocessing/synchronize.py") {
        match f {
            "acquire" | "__enter__" | "wait" | "wait_for" => State::WaitLock,
            _ => return None,
        }
    } else if module("/multiprocessing/managers.py") {
        match f {
            "serve_forever" | "accepter" | "handle_request" | "serve_client" => State::Idle,
            "_callmethod" => State::Io,
            _ => return None,
        }
    } else if module("/concurrent/futures/thread.py") || module("/concurrent/futures/process.py") {
        match f {
            "_worker" | "_process_worker" => State::Idle,
            _ => return None,
        }
    } else if module("/concurrent/futures/_base.py") {
        match f {
            "result" | "wait" | "as_completed" | "_result_or_cancel" | "result_iterator" => {
                State::Join
            }
            _ => return None,
        }
    } else if module("/subprocess.py") {
        match f {
            "wait" | "communicate" | "_wait" => State::Join,
            _ => return None,
        }
    } else if module("/selectors.py") || module("/socket.py") || module("/ssl.py") {
        match f {
            "select" | "accept" | "recv_into" | "readinto" | "create_connection" | "recv"
            | "sendall" | "read" => State::Io,
            _ => return None,
        }
    } else if module("/multiprocessing/resource_tracker.py") {
        match f {
            "main" => State::Idle,
            _ => return None,
        }
    } else {
        return None;
    };
    Some(state)
}

/// What a line of the program calls that blocks in C, without a Python frame of its own.
fn line_call(line: &str) -> Option<State> {
    let code = line.split('#').next().unwrap_or(line).trim();
    let has = |needle: &str| code.contains(needle);
    if has(".join(") && !has("\".join(") && !has("'.join(") {
        Some(State::Join)
    } else if has(".acquire(")
        || (code.starts_with("with ") && code.to_lowercase().contains("lock"))
    {
        Some(State::WaitLock)
    } else if has("sleep(")
        || has(".recv")
        || has(".send")
        || has(".accept(")
        || has(".connect(")
        || has("select(")
        || has("input(")
        || has(".read(")
        || has(".readline(")
        || has(".write(")
        || has("urlopen(")
    {
        Some(State::Io)
    } else if has(".get(") {
        Some(State::BlockedGet)
    } else if has(".put(") {
        Some(State::BlockedPut)
    } else {
        None
    }
}

/// Reads where thread `tid` of process `pid` is parked (`/proc/<pid>/task/<tid>/syscall`).
pub fn read_syscall(pid: u32, tid: u32) -> Syscall {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")) else {
        return Syscall::Unknown;
    };
    let first = text.split_whitespace().next().unwrap_or("");
    if first == "running" {
        return Syscall::Running;
    }
    match first.parse::<i64>() {
        Ok(n) if n == libc::SYS_futex => Syscall::Futex,
        Ok(n) if n == libc::SYS_wait4 || n == libc::SYS_waitid => Syscall::WaitChild,
        Ok(n) if n >= 0 => Syscall::Other,
        _ => Syscall::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = "/usr/lib/python3.11";

    fn frame<'a>(function: &'a str, filename: &'a str, line: Option<&'a str>) -> FrameRef<'a> {
        FrameRef {
            function,
            filename,
            line,
        }
    }

    fn never() -> Syscall {
        panic!("the stack alone decides")
    }

    #[test]
    fn the_outermost_library_call_names_the_wait() {
        let threading = format!("{LIB}/threading.py");
        let queue = format!("{LIB}/queue.py");
        let stack = [
            frame("Condition.wait", &threading, None),
            frame("Queue.get", &queue, None),
            frame("consumer", "/tmp/lesson.py", Some("    item = q.get()")),
        ];
        assert_eq!(classify(&stack, never), State::BlockedGet);
        let join = [
            frame("Thread._wait_for_tstate_lock", &threading, None),
            frame("Thread.join", &threading, None),
            frame("<module>", "/tmp/lesson.py", Some("t.join()")),
        ];
        assert_eq!(classify(&join, never), State::Join);
    }

    #[test]
    fn a_pool_worker_between_tasks_is_idle() {
        let connection = format!("{LIB}/multiprocessing/connection.py");
        let queues = format!("{LIB}/multiprocessing/queues.py");
        let pool = format!("{LIB}/multiprocessing/pool.py");
        let process = format!("{LIB}/multiprocessing/process.py");
        let stack = [
            frame("_recv", &connection, None),
            frame("SimpleQueue.get", &queues, None),
            frame("worker", &pool, None),
            frame("BaseProcess.run", &process, None),
        ];
        assert_eq!(classify(&stack, never), State::Idle);
    }

    #[test]
    fn a_c_call_is_read_from_the_source_line() {
        let sleep = [frame(
            "io_task",
            "/tmp/l.py",
            Some("    time.sleep(0.01)  # I/O"),
        )];
        assert_eq!(classify(&sleep, || Syscall::Other), State::Io);
        // Parked on a futex on that line: waiting for the GIL before or after the sleep.
        assert_eq!(classify(&sleep, || Syscall::Futex), State::WaitGil);
        let lock = [frame("work", "/tmp/l.py", Some("        with lock:"))];
        assert_eq!(classify(&lock, || Syscall::Futex), State::WaitLock);
        let text = [frame("f", "/tmp/l.py", Some("s = \", \".join(names)"))];
        assert_eq!(classify(&text, || Syscall::Futex), State::WaitGil);
    }

    #[test]
    fn otherwise_the_system_call_decides() {
        let busy = [frame("work", "/tmp/l.py", Some("    n += i"))];
        assert_eq!(classify(&busy, || Syscall::Futex), State::WaitGil);
        assert_eq!(classify(&busy, || Syscall::Other), State::Io);
        assert_eq!(classify(&busy, || Syscall::WaitChild), State::Join);
        assert_eq!(classify(&[], || Syscall::Unknown), State::WaitGil);
    }

    #[test]
    fn a_sleeping_threads_syscall_is_read() {
        let pid = std::process::id();
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let sleeper = std::thread::spawn(move || {
            tx.send(crate::engine::os::thread_id()).unwrap();
            let _ = done_rx.recv_timeout(std::time::Duration::from_secs(10));
        });
        let tid = rx.recv().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while read_syscall(pid, tid) != Syscall::Futex && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        // A channel's timed wait parks on a futex.
        assert_eq!(read_syscall(pid, tid), Syscall::Futex);
        done_tx.send(()).unwrap();
        sleeper.join().unwrap();
        assert_eq!(read_syscall(pid, u32::MAX), Syscall::Unknown);
    }
}
