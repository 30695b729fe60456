//! Watching a real CPython process tree from outside while it runs, and recording what its
//! threads do into the same trace the emulation records.
//!
//! Two threads: a *discoverer* walks the tree every few ms and attaches to each new Python
//! process (with the `py-spy` crate, which reads the interpreter's memory without stopping
//! it; attaching takes milliseconds, so it is kept off the sampling path); a *sampler* at a
//! best-effort real-time priority reads every attached process's threads [`SAMPLE_HZ`] times a
//! second. Per sample and thread: holding the GIL is running; otherwise [`classify`] says
//! what it waits for. A change of holder is a GIL hand-off. A state lasts from the sample
//! that first saw it to the sample that saw the next one, so spans shorter than the period
//! are not seen (the summary says at what rate the run was sampled).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gilscope_shared::trace::{
    GilFlavour, InterpId, Interpreter, Lane, LaneId, LaneKind, MarkKind, State, Trace,
};
use py_spy::config::LockingStrategy;
use py_spy::{Config, PythonSpy, StackTrace};

use crate::cpython::classify::{classify, is_library, read_syscall, FrameRef};
use crate::cpython::tree::descendants;
use crate::engine::interpreter::interp::RunEnv;
use crate::engine::interpreter::recorder::Recorder;
use crate::engine::os;

/// Samples per second of every observed process.
pub const SAMPLE_HZ: u32 = 1000;
/// Processes observed at most; the tree may have more (they run, unobserved).
pub const MAX_OBSERVED_PROCESSES: usize = 32;
/// Processes a tree may have at most: past this the run is stopped (a fork bomb).
pub const MAX_PROCESSES: usize = 256;
/// Threads drawn at most, all processes together.
pub const MAX_LANES: usize = 256;
/// How often the tree is walked for new processes.
const DISCOVERY_PERIOD: Duration = Duration::from_millis(5);
/// How long a new process may take to become readable Python before it is left alone.
const ATTACH_PATIENCE: Duration = Duration::from_secs(3);
/// A thread missing from this many successful samples in a row has ended.
const MISSED_TO_END: u32 = 2;

/// What the observation found, besides the trace.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Sampling rounds (each reads every observed process once).
    pub rounds: u64,
    /// From the first round to the last.
    pub elapsed: Duration,
    /// Samples that failed while the process lived (torn reads: normal, skipped).
    pub torn: u64,
    /// What could not be observed, and why (each names the fix where there is one).
    pub problems: Vec<String>,
    /// Whether the sampler got its real-time priority.
    pub realtime: bool,
}

impl Report {
    /// Rounds per second actually achieved.
    pub fn rate_hz(&self) -> f64 {
        if self.elapsed.is_zero() {
            0.0
        } else {
            self.rounds as f64 / self.elapsed.as_secs_f64()
        }
    }
}

/// The observation of one process tree, running until [`Observer::finish`].
pub struct Observer {
    stop: Arc<AtomicBool>,
    too_many: Arc<AtomicBool>,
    problems: Arc<Mutex<Vec<String>>>,
    discoverer: JoinHandle<()>,
    sampler: JoinHandle<Report>,
}

impl Observer {
    /// Observes every Python process below `root`; `script` is the program's file (its
    /// lines tell what a blocked thread called).
    ///
    /// With `read_gil` false (an interpreter whose GIL py-spy cannot read: a free-threaded
    /// build, an unsupported version) every thread is drawn from /proc alone: running when on
    /// a CPU, blocked in the kernel (I/O) or idle otherwise.
    pub fn spawn(
        root: u32,
        script: PathBuf,
        env: RunEnv,
        read_gil: bool,
    ) -> std::io::Result<Observer> {
        let stop = Arc::new(AtomicBool::new(false));
        let too_many = Arc::new(AtomicBool::new(false));
        let problems = Arc::new(Mutex::new(Vec::new()));
        let (found_tx, found_rx) = channel();
        let discoverer = {
            let (stop, too_many, problems) = (stop.clone(), too_many.clone(), problems.clone());
            std::thread::Builder::new()
                .name("py-discover".into())
                .spawn(move || discover(root, read_gil, &found_tx, &stop, &too_many, &problems))?
        };
        let sampler = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("py-sampler".into())
                .spawn(move || sample(env, script, found_rx, &stop))?
        };
        Ok(Observer {
            stop,
            too_many,
            problems,
            discoverer,
            sampler,
        })
    }

    /// The tree has more than [`MAX_PROCESSES`] processes.
    pub fn too_many_processes(&self) -> bool {
        self.too_many.load(Ordering::Relaxed)
    }

    /// Ends the observation: every lane still open ends now.
    pub fn finish(self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.discoverer.join();
        let mut report = self.sampler.join().unwrap_or_default();
        report.problems.extend(std::mem::take(
            &mut *self.problems.lock().unwrap_or_else(|e| e.into_inner()),
        ));
        report
    }
}

/// A newly found process: attached with py-spy, or (when its GIL cannot be read) watched
/// through /proc only.
struct Found {
    pid: u32,
    spy: Option<PythonSpy>,
}

fn spy_config() -> Config {
    Config {
        blocking: LockingStrategy::NonBlocking,
        native: false,
        ..Config::default()
    }
}

/// Walks the tree and attaches to each new Python process, until stopped.
fn discover(
    root: u32,
    read_gil: bool,
    found: &Sender<Found>,
    stop: &AtomicBool,
    too_many: &AtomicBool,
    problems: &Mutex<Vec<String>>,
) {
    let config = spy_config();
    let mut attached: HashSet<u32> = HashSet::new();
    let mut first_seen: HashMap<u32, Instant> = HashMap::new();
    let mut given_up: HashSet<u32> = HashSet::new();
    let note = |text: String| {
        problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text)
    };
    while !stop.load(Ordering::Relaxed) {
        let tree = descendants(root);
        if tree.len() > MAX_PROCESSES {
            too_many.store(true, Ordering::Relaxed);
        }
        for pid in tree {
            if attached.contains(&pid) || given_up.contains(&pid) {
                continue;
            }
            if attached.len() >= MAX_OBSERVED_PROCESSES {
                given_up.insert(pid);
                note(format!(
                    "process {pid} was not observed: at most {MAX_OBSERVED_PROCESSES} processes are"
                ));
                continue;
            }
            if !read_gil {
                attached.insert(pid);
                if found.send(Found { pid, spy: None }).is_err() {
                    return;
                }
                continue;
            }
            let since = *first_seen.entry(pid).or_insert_with(Instant::now);
            match PythonSpy::new(pid as py_spy::Pid, &config) {
                Ok(spy) => {
                    attached.insert(pid);
                    if found
                        .send(Found {
                            pid,
                            spy: Some(spy),
                        })
                        .is_err()
                    {
                        return;
                    }
                }
                Err(err) => {
                    let text = format!("{err:#}");
                    if is_permission(&text) {
                        given_up.insert(pid);
                        note(permission_problem(pid));
                    } else if since.elapsed() > ATTACH_PATIENCE {
                        given_up.insert(pid);
                        if is_python(pid) {
                            note(format!("could not read Python process {pid}: {text}"));
                        }
                    }
                }
            }
        }
        std::thread::sleep(DISCOVERY_PERIOD);
    }
}

fn is_permission(text: &str) -> bool {
    text.contains("ermission denied") || text.contains("Operation not permitted")
}

/// Why a process's memory cannot be read, and the fixes.
pub fn permission_problem(pid: u32) -> String {
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .map(|s| format!(" (kernel.yama.ptrace_scope = {})", s.trim()))
        .unwrap_or_default();
    format!(
        "the kernel does not let gilscope read the memory of Python process {pid}{scope}, so \
         who holds the GIL cannot be seen; cores are still drawn. To allow it: \
         `sudo sysctl kernel.yama.ptrace_scope=0`, or give gilscope the capability: \
         `sudo setcap cap_sys_ptrace+ep $(command -v gilscope)`"
    )
}

fn is_python(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.contains("python"))
}

/// Whether `pid` is running (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// One thread being drawn.
struct ObservedThread {
    recorder: Recorder,
    missed: u32,
}

/// One attached process.
struct ObservedProcess {
    pid: u32,
    /// None: watched through /proc only.
    spy: Option<PythonSpy>,
    interp: InterpId,
    threads: HashMap<u64, ObservedThread>,
    /// Threads seen before their Python name was readable, and when first seen.
    unnamed: HashMap<u64, u64>,
    holder: Option<LaneId>,
}

/// How long a new thread may go without a readable name before it is drawn without one (a
/// thread's name is set by `threading` a moment after it starts).
const NAME_PATIENCE_NS: u64 = 100_000_000;

/// The sampler's state: processes, their lanes, the program's lines.
struct Sampler {
    env: RunEnv,
    sources: Sources,
    processes: Vec<ObservedProcess>,
    lanes: usize,
    torn: u64,
}

/// Samples until stopped, then ends every lane.
fn sample(env: RunEnv, script: PathBuf, found: Receiver<Found>, stop: &AtomicBool) -> Report {
    let realtime = os::prefer_realtime();
    let mut sampler = Sampler {
        env,
        sources: Sources::new(script),
        processes: Vec::new(),
        lanes: 0,
        torn: 0,
    };
    let period = Duration::from_secs(1) / SAMPLE_HZ;
    let mut rounds = 0u64;
    let mut first_round: Option<Instant> = None;
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        while let Ok(new) = found.try_recv() {
            sampler.attach(new);
        }
        if !sampler.processes.is_empty() {
            first_round.get_or_insert_with(Instant::now);
            sampler.round();
            rounds += 1;
        }
        next += period;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now; // behind: no burst of catch-up rounds
        }
    }
    let t = sampler.env.epoch.elapsed();
    for process in &mut sampler.processes {
        process.end_all(t);
    }
    Report {
        rounds,
        elapsed: first_round.map_or(Duration::ZERO, |f| f.elapsed()),
        torn: sampler.torn,
        problems: Vec::new(),
        realtime,
    }
}

impl Sampler {
    /// Announces a newly attached process as an interpreter of the run.
    fn attach(&mut self, found: Found) {
        let interp = self.env.ids.interp();
        // Interpreters are numbered in the order they were found, never reused.
        let name = match interp.0 {
            0 => "MainProcess".to_string(),
            n => process_name(found.pid, n as usize),
        };
        self.env.sink.deliver(Trace {
            interpreters: vec![Interpreter {
                id: interp,
                name,
                // A GIL that cannot be read is not drawn as one.
                gil: if found.spy.is_some() {
                    GilFlavour::Current
                } else {
                    GilFlavour::None
                },
                pid: Some(found.pid),
            }],
            ..Trace::default()
        });
        self.processes.push(ObservedProcess {
            pid: found.pid,
            spy: found.spy,
            interp,
            threads: HashMap::new(),
            unnamed: HashMap::new(),
            holder: None,
        });
    }

    /// One sample of every process.
    fn round(&mut self) {
        let mut ended = Vec::new();
        for (index, process) in self.processes.iter_mut().enumerate() {
            let seen = match &mut process.spy {
                Some(spy) => spy
                    .get_stack_traces()
                    .map(|traces| seen_in_stacks(&traces, process.pid, &mut self.sources))
                    .map_err(|_| ()),
                None => seen_in_proc(process.pid),
            };
            let t = self.env.epoch.elapsed();
            match seen {
                Ok(seen) => process.update(t, &seen, &self.env, &mut self.lanes),
                Err(()) if !alive(process.pid) => {
                    process.end_all(t);
                    ended.push(index);
                }
                Err(()) => self.torn += 1,
            }
        }
        for index in ended.into_iter().rev() {
            self.processes.remove(index);
        }
    }
}

/// One thread as one sample saw it.
struct Seen {
    /// The observer's key for it (Python's thread id, or the OS thread id).
    id: u64,
    tid: Option<u32>,
    name: Option<String>,
    owns_gil: bool,
    state: State,
}

/// What py-spy's stacks say of each thread.
fn seen_in_stacks(traces: &[StackTrace], pid: u32, sources: &mut Sources) -> Vec<Seen> {
    traces
        .iter()
        .map(|trace| {
            let state = if trace.owns_gil {
                State::Running
            } else {
                for frame in &trace.frames {
                    sources.load(&frame.filename);
                }
                let frames: Vec<FrameRef<'_>> = trace
                    .frames
                    .iter()
                    .map(|f| FrameRef {
                        function: &f.name,
                        filename: &f.filename,
                        line: sources.line(&f.filename, f.line),
                    })
                    .collect();
                let tid = trace.os_thread_id.unwrap_or(0) as u32;
                classify(&frames, || read_syscall(pid, tid))
            };
            let tid = trace.os_thread_id.map(|t| t as u32);
            // The main thread is the one whose id is the process's (its Python name may not
            // be readable yet, before `threading` is imported).
            let name = trace
                .thread_name
                .clone()
                .or_else(|| (tid == Some(pid)).then(|| "MainThread".to_string()));
            Seen {
                id: trace.thread_id,
                tid,
                name,
                owns_gil: trace.owns_gil,
                state,
            }
        })
        .collect()
}

/// What /proc says of each thread of `pid`: on a CPU (running), in an uninterruptible wait
/// (I/O), or sleeping (idle). `Err` when the process is gone.
fn seen_in_proc(pid: u32) -> Result<Vec<Seen>, ()> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|_| ())?;
    let mut seen = Vec::new();
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // ended between the listing and the read
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map(|(comm, _)| comm.to_string());
        let code = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("S");
        let state = match code {
            "R" => State::Running,
            "D" => State::Io,
            _ => State::Idle,
        };
        let name = if tid == pid {
            Some("MainThread".to_string())
        } else {
            name
        };
        seen.push(Seen {
            id: u64::from(tid),
            tid: Some(tid),
            name,
            owns_gil: false,
            state,
        });
    }
    Ok(seen)
}

impl ObservedProcess {
    fn update(&mut self, t: u64, threads: &[Seen], env: &RunEnv, lanes: &mut usize) {
        let mut seen = HashSet::new();
        let mut holder = None;
        for thread in threads {
            seen.insert(thread.id);
            if !self.threads.contains_key(&thread.id) {
                if *lanes >= MAX_LANES {
                    continue;
                }
                if thread.name.is_none() {
                    let first = *self.unnamed.entry(thread.id).or_insert(t);
                    if t.saturating_sub(first) < NAME_PATIENCE_NS {
                        if let Some(spy) = &mut self.spy {
                            // py-spy looks a missing name up again only after a second: now.
                            spy.python_thread_names.remove(&thread.id);
                        }
                        continue;
                    }
                }
                self.unnamed.remove(&thread.id);
                *lanes += 1;
                let lane = new_lane(env, self.interp, thread);
                let recorder = Recorder::new(lane, env.epoch, env.sink.clone(), State::Idle);
                self.threads.insert(
                    thread.id,
                    ObservedThread {
                        recorder,
                        missed: 0,
                    },
                );
            }
            let Some(observed) = self.threads.get_mut(&thread.id) else {
                continue;
            };
            observed.missed = 0;
            if thread.owns_gil {
                holder = Some(observed.recorder.lane());
            }
            observed.recorder.enter_at(thread.state, None, t);
        }
        if let Some(to) = holder {
            if self.holder != Some(to) {
                if let Some(thread) = self
                    .threads
                    .values_mut()
                    .find(|th| th.recorder.lane() == to)
                {
                    thread.recorder.mark_at(
                        t,
                        MarkKind::Handoff {
                            interp: self.interp,
                            from: self.holder,
                            to,
                        },
                    );
                }
                self.holder = Some(to);
            }
        }
        // A thread missing from a sample has stopped being anything now; missing from
        // [`MISSED_TO_END`] samples in a row, it has ended.
        let mut gone = Vec::new();
        for (id, thread) in self.threads.iter_mut().filter(|(id, _)| !seen.contains(id)) {
            thread.missed += 1;
            thread.recorder.enter_at(State::Idle, None, t);
            if thread.missed >= MISSED_TO_END {
                gone.push(*id);
            }
        }
        for id in gone {
            if let Some(mut thread) = self.threads.remove(&id) {
                thread.recorder.finish_at(t);
            }
        }
    }

    fn end_all(&mut self, t: u64) {
        for (_, mut thread) in self.threads.drain() {
            thread.recorder.finish_at(t);
        }
    }
}

/// A lane for a thread seen for the first time.
fn new_lane(env: &RunEnv, interp: InterpId, thread: &Seen) -> Lane {
    let name = thread
        .name
        .clone()
        .unwrap_or_else(|| format!("thread {}", thread.tid.map_or(thread.id, u64::from)));
    let kind = if name == "MainThread" {
        LaneKind::Main
    } else if name.starts_with("QueueFeederThread") {
        LaneKind::Feeder
    } else if name.contains("_handle_") {
        LaneKind::Handler
    } else if name.starts_with("ThreadPoolExecutor") {
        LaneKind::PoolWorker
    } else {
        LaneKind::Worker
    };
    Lane {
        id: env.ids.lane(),
        interp,
        name,
        kind,
        tid: thread.tid,
    }
}

/// A child process's name: what started it, where its command line says so.
fn process_name(pid: u32, index: usize) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline);
    if cmdline.contains("resource_tracker") {
        "resource tracker".into()
    } else if cmdline.contains("forkserver") {
        "fork server".into()
    } else {
        format!("Process-{index}")
    }
}

/// The lines of the files the program runs, read once each (bounded).
struct Sources {
    files: HashMap<String, Option<Vec<String>>>,
}

/// Files read at most, and the largest read.
const MAX_SOURCE_FILES: usize = 64;
const MAX_SOURCE_BYTES: u64 = 1 << 20;

impl Sources {
    fn new(script: PathBuf) -> Sources {
        let mut sources = Sources {
            files: HashMap::new(),
        };
        sources.load(&script.to_string_lossy());
        sources
    }

    /// Reads a file of the program once (not the library's: it is recognised by its
    /// functions, not its lines).
    fn load(&mut self, filename: &str) {
        if is_library(filename)
            || self.files.contains_key(filename)
            || self.files.len() >= MAX_SOURCE_FILES
        {
            return;
        }
        let lines = std::fs::metadata(filename)
            .ok()
            .filter(|m| m.len() <= MAX_SOURCE_BYTES)
            .and_then(|_| std::fs::read_to_string(filename).ok())
            .map(|text| text.lines().map(str::to_string).collect());
        self.files.insert(filename.to_string(), lines);
    }

    /// The text of line `line` (1-based) of `filename`, when it can be read.
    fn line(&self, filename: &str, line: i32) -> Option<&str> {
        if line < 1 {
            return None;
        }
        self.files
            .get(filename)?
            .as_ref()?
            .get(line as usize - 1)
            .map(String::as_str)
    }
}
