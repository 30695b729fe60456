//! The emulated interpreter: one GIL, its threads (real OS threads), and the context
//! ([`Py`]) through which a thread's program executes "bytecodes", reaches check points,
//! calls functions and blocks.
//!
//! An [`Interp`] is a self-contained value: its GIL, its threads and where they record. A
//! worker process (a later issue) runs one of its own, with a sink that writes to a pipe.
//!
//! Check points are where CPython 3.10+ looks at its eval breaker: loop back-edges
//! (`JUMP_BACKWARD`), function entry (`RESUME`) and after calls. With
//! `check_every_bytecode` the engine checks after every bytecode, as CPython ≤ 3.9 did
//! (nearly). Under the ticks flavour every bytecode is a tick, as in Python 2.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gilscope_shared::trace::{
    CounterId, CounterKind, CounterTrack, GilFlavour, InterpId, Interpreter, Lane, LaneId,
    LaneKind, QueueId, QueueInfo, State, Trace,
};

use crate::engine::interpreter::bytecode::{calibration, Calibration};
use crate::engine::interpreter::clock::{os_tid, thread_cpu_ns, Epoch};
pub use crate::engine::interpreter::error::{EngineError, Inherited};
use crate::engine::interpreter::gate::Gate;
use crate::engine::interpreter::gil::{Gil, MAX_THREADS};
use crate::engine::interpreter::imports::Imported;
use crate::engine::interpreter::recorder::{EventSink, Recorder};
use crate::engine::interpreter::stop::{StopFlag, Stopped};

pub use crate::engine::interpreter::py::{sleep, Py};

/// Bytecodes of a Python-level call site: `LOAD_GLOBAL f`, `PRECALL`, `CALL`.
pub const CALL_BYTECODES: u64 = 3;
/// Bytecodes the interpreter spends in `Thread.start()` before the new thread exists.
pub(super) const START_BYTECODES: u64 = 60;
/// Bytecodes of `t.join()` before it blocks.
pub(super) const JOIN_BYTECODES: u64 = 20;
/// Executed bytecodes are added to the run's budget in steps of this many.
pub(super) const BUDGET_STEP: u64 = 1 << 16;

/// How an interpreter behaves.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct InterpConfig {
    /// `MainProcess`, `Process-1`, ...
    pub name: String,
    pub gil: GilFlavour,
    /// `sys.setswitchinterval`.
    pub switch_interval: Duration,
    /// Python 2's `sys.setcheckinterval` (ticks flavour).
    pub check_ticks: u32,
    /// Check the eval breaker after every bytecode (CPython ≤ 3.9) instead of at back-edges
    /// and calls only (3.10+).
    pub check_every_bytecode: bool,
}

/// Allocates the ids of a run's lanes, queues, counters and interpreters.
#[derive(Default, Debug)]
pub struct Ids {
    lanes: AtomicU32,
    queues: AtomicU32,
    counters: AtomicU32,
    interps: AtomicU32,
}

impl Ids {
    fn next(counter: &AtomicU32) -> u32 {
        counter.fetch_add(1, Ordering::Relaxed)
    }

    /// A new lane id (the parent renumbers a worker process's lanes with these).
    pub fn lane(&self) -> LaneId {
        LaneId(Self::next(&self.lanes))
    }

    /// A new interpreter id.
    pub fn interp(&self) -> InterpId {
        InterpId(Self::next(&self.interps))
    }
}

/// The run's cap on executed bytecodes, shared by all its threads.
#[derive(Debug)]
pub struct Budget {
    used: AtomicU64,
    limit: u64,
    exceeded: AtomicBool,
}

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            used: AtomicU64::new(0),
            limit,
            exceeded: AtomicBool::new(false),
        }
    }

    /// Adds `n` executed bytecodes; true once the limit is passed.
    pub fn spend(&self, n: u64) -> bool {
        let used = self.used.fetch_add(n, Ordering::Relaxed) + n;
        if used > self.limit {
            self.exceeded.store(true, Ordering::SeqCst);
        }
        used > self.limit
    }

    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::SeqCst)
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Bytecodes still allowed.
    pub fn left(&self) -> u64 {
        self.limit.saturating_sub(self.used())
    }
}

/// What every interpreter of one run shares: the clock's epoch, where events go, ids, the
/// stop flag and the work budget.
#[derive(Clone)]
pub struct RunEnv {
    pub epoch: Epoch,
    pub sink: Arc<dyn EventSink>,
    pub ids: Arc<Ids>,
    pub stop: Arc<StopFlag>,
    pub budget: Arc<Budget>,
}

impl RunEnv {
    /// Declares a counter track of the run and returns its id.
    pub fn new_counter(&self, name: &str, kind: CounterKind) -> CounterId {
        let id = CounterId(Ids::next(&self.ids.counters));
        self.sink.deliver(Trace {
            counters: vec![CounterTrack {
                id,
                name: name.to_string(),
                kind,
            }],
            ..Trace::default()
        });
        id
    }
}

/// One interpreter: a GIL and the threads running under it.
pub struct Interp {
    pub id: InterpId,
    pub config: InterpConfig,
    pub gil: Gil,
    pub env: RunEnv,
    pub cal: Calibration,
    next_slot: AtomicUsize,
    /// CPU time of the threads that have ended, in ns.
    cpu_ns: AtomicU64,
    /// Bytecodes executed by the threads that have ended.
    pub(super) bytecodes: AtomicU64,
    failure: Mutex<Option<String>>,
    os_threads: Mutex<Vec<JoinHandle<()>>>,
    /// The parts of `multiprocessing` imported here so far.
    pub imported: Imported,
}

/// A thread program: what `target` does. `Err(Stopped)` ends it early.
pub type Program = Box<dyn FnOnce(&mut Py) -> Result<(), Stopped> + Send>;

/// A thread of the interpreter, as the Python `Thread` object the program holds.
#[derive(Clone)]
pub struct ThreadHandle {
    pub lane: LaneId,
    pub name: String,
    pub(super) start: Arc<Gate>,
    pub(super) started: Arc<Gate>,
    pub(super) done: Arc<Gate>,
}

impl ThreadHandle {
    /// Starts the thread from outside the interpreter (the run starting its main thread).
    pub fn start_now(&self) {
        self.start.open();
    }

    pub fn is_done(&self) -> bool {
        self.done.is_open()
    }

    /// Waits (from outside the interpreter) until the thread ends, at most `timeout`.
    pub fn wait_done(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let never = StopFlag::default();
        while !self.done.is_open() {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            let _ = self.done.wait_bounded(&never, deadline - now);
        }
        true
    }
}

impl Interp {
    /// Creates an interpreter and announces it to the run's sink.
    pub fn new(config: InterpConfig, env: RunEnv) -> Arc<Interp> {
        let id = InterpId(Ids::next(&env.ids.interps));
        env.sink.deliver(Trace {
            interpreters: vec![Interpreter {
                id,
                name: config.name.clone(),
                gil: config.gil,
                pid: Some(std::process::id()),
            }],
            ..Trace::default()
        });
        let gil = Gil::new(
            config.gil,
            id,
            config.switch_interval,
            config.check_ticks,
            env.stop.clone(),
        );
        Arc::new(Interp {
            id,
            config,
            gil,
            env,
            cal: calibration(),
            next_slot: AtomicUsize::new(0),
            cpu_ns: AtomicU64::new(0),
            bytecodes: AtomicU64::new(0),
            failure: Mutex::new(None),
            os_threads: Mutex::new(Vec::new()),
            imported: Imported::default(),
        })
    }

    /// Stops every thread of the interpreter promptly.
    pub fn stop(&self) {
        self.env.stop.set();
        self.gil.wake_for_stop();
    }

    /// Records that something broke, and stops the run.
    pub fn fail(&self, reason: String) {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(reason);
        self.stop();
    }

    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// CPU time used by the threads that have ended, in ns.
    pub fn cpu_ns(&self) -> u64 {
        self.cpu_ns.load(Ordering::Relaxed)
    }

    /// Bytecodes executed by the threads that have ended.
    pub fn bytecodes(&self) -> u64 {
        self.bytecodes.load(Ordering::Relaxed)
    }

    /// Declares a queue and returns its id.
    pub fn new_queue(&self, name: &str, capacity: Option<u64>) -> QueueId {
        let id = QueueId(Ids::next(&self.env.ids.queues));
        self.env.sink.deliver(Trace {
            queues: vec![QueueInfo {
                id,
                name: name.to_string(),
                capacity,
            }],
            ..Trace::default()
        });
        id
    }

    /// Declares a counter track and returns its id.
    pub fn new_counter(&self, name: &str, kind: CounterKind) -> CounterId {
        self.env.new_counter(name, kind)
    }

    fn spawn_os_thread(
        self: &Arc<Self>,
        name: &str,
        kind: LaneKind,
        body: impl FnOnce(Recorder) + Send + 'static,
    ) -> Result<LaneId, EngineError> {
        let lane = LaneId(Ids::next(&self.env.ids.lanes));
        let interp = self.clone();
        let lane_name = name.to_string();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        // OS thread names are at most 15 bytes.
        let os_name: String = name.chars().take(15).collect();
        let handle = std::thread::Builder::new().name(os_name).spawn(move || {
            let rec = Recorder::new(
                Lane {
                    id: lane,
                    interp: interp.id,
                    name: lane_name,
                    kind,
                    tid: Some(os_tid()),
                },
                interp.env.epoch,
                interp.env.sink.clone(),
                State::Idle,
            );
            let _ = ready_tx.send(());
            let cpu0 = thread_cpu_ns();
            body(rec);
            interp
                .cpu_ns
                .fetch_add(thread_cpu_ns() - cpu0, Ordering::Relaxed);
        })?;
        self.os_threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
        // Lanes reach the collector in id order: wait for this one to announce itself.
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| EngineError::NoReport)?;
        Ok(lane)
    }

    /// Creates a Python thread (not started: it waits, idle, for [`Py::start`]).
    pub fn spawn(
        self: &Arc<Self>,
        name: &str,
        kind: LaneKind,
        program: Program,
    ) -> Result<ThreadHandle, EngineError> {
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
        if slot >= MAX_THREADS {
            return Err(EngineError::TooManyThreads);
        }
        let (start, started, done) = (
            Arc::new(Gate::default()),
            Arc::new(Gate::default()),
            Arc::new(Gate::default()),
        );
        let gates = (start.clone(), started.clone(), done.clone());
        let interp = self.clone();
        let thread_name = name.to_string();
        let lane = self.spawn_os_thread(name, kind, move |rec| {
            let (start, started, done) = gates;
            let mut py = Py::new(interp.clone(), slot, rec);
            let guard = EndGuard {
                interp: &interp,
                name: &thread_name,
                done: &done,
            };
            let outcome = (|| {
                start.wait(&interp.env.stop)?;
                interp.gil.take(slot, &mut py.rec)?;
                py.holds = true;
                started.open();
                program(&mut py)
            })();
            let _ = outcome; // Stopped: the run is ending, the conductor knows why.
            py.exit();
            drop(guard);
        })?;
        self.gil.register(slot, lane);
        Ok(ThreadHandle {
            lane,
            name: name.to_string(),
            start,
            started,
            done,
        })
    }

    /// Starts a thread that is not Python (the echo end of a socket): no GIL, and it
    /// records its own states. It should return once `stop` is set.
    pub fn spawn_peer(
        self: &Arc<Self>,
        name: &str,
        body: impl FnOnce(&mut Recorder, &StopFlag) + Send + 'static,
    ) -> Result<LaneId, EngineError> {
        let interp = self.clone();
        self.spawn_os_thread(name, LaneKind::Peer, move |mut rec| {
            body(&mut rec, &interp.env.stop);
            rec.finish();
        })
    }

    /// Makes `handle` one of the interpreter's OS threads, joined with them (a worker
    /// process's supervisor).
    pub fn adopt(&self, handle: JoinHandle<()>) {
        self.os_threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    /// Adds CPU time and bytecodes done elsewhere (by a worker process) to this interpreter's.
    pub fn add_work(&self, cpu_ns: u64, bytecodes: u64) {
        self.cpu_ns.fetch_add(cpu_ns, Ordering::Relaxed);
        self.bytecodes.fetch_add(bytecodes, Ordering::Relaxed);
    }

    /// Waits for every OS thread of the interpreter to end (call after stopping it or after
    /// its main thread ended).
    pub fn join_os_threads(&self) {
        let handles =
            std::mem::take(&mut *self.os_threads.lock().unwrap_or_else(|e| e.into_inner()));
        for handle in handles {
            if handle.join().is_err() {
                self.fail("an engine thread panicked".to_string());
            }
        }
    }
}

/// Marks a thread's end even if its program panicked, so nobody waits for it forever.
struct EndGuard<'a> {
    interp: &'a Interp,
    name: &'a str,
    done: &'a Gate,
}

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.interp
                .fail(format!("thread {} panicked (an engine bug)", self.name));
        }
        self.done.open();
    }
}
