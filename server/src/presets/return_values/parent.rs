//! The parent's side: the three ways, one after the other, each timed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::files::{cleanup, read_files, temporary_directory};
use super::{Knobs, Role, Shared};
use crate::engine::interpreter::interp::{EngineError, Py};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_manager::{Proxy, OP_SHUTDOWN};
use crate::engine::multiprocessing::mp_pool::Pool;
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::multiprocessing::process::Process;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::multiprocessing::shared_value::SharedValue;
use crate::engine::multiprocessing::shm::Arena;
use crate::engine::multiprocessing::simple_queue::SimpleQueue;
use crate::engine::running::program::Figures;
use crate::presets::common::arena;
use crate::presets::harness::Setup;

/// What CPython raises when a `Value` travels as a `Pool.map` argument (3.11, verified).
pub const VALUE_ARGUMENT_ERROR: &str =
    "RuntimeError: Synchronized objects should only be shared between processes through inheritance";

/// The `Manager`'s server process, the pipe it serves requests from and one reply pipe per
/// client.
type Manager = (Process, SimpleQueue, Vec<SimpleQueue>);

/// The parent's objects: the children of each way and what they share.
pub struct Parent {
    dir: String,
    q: MpQueue,
    value: SharedValue,
    manager: Option<Manager>,
    pool: Pool,
    files: Vec<Process>,
    queues: Vec<Process>,
    /// Kept until the rest is gone.
    _arena: Arc<Arena>,
    /// The files' folder (`dir`): the program removes it as CPython's `with` does, and this
    /// once the processes that write there are gone if the run stopped before; its name is
    /// random and made exclusively, so no folder a killed run left can be taken for it.
    _files_dir: tempfile::TempDir,
}

impl Parent {
    /// The ways' processes (not started), their queue, value and pipes, and the files' folder.
    pub fn new(knobs: &Knobs, setup: &Setup) -> Result<Parent, EngineError> {
        let n = knobs.processes;
        let arena = arena()?;
        let shm = EngineError::SharedMemory;
        let files_dir = tempfile::Builder::new()
            .prefix("gilscope-results-")
            .tempdir()
            .map_err(shm)?;
        let dir = files_dir.path().display().to_string();
        let q = MpQueue::create(setup.interp(), &arena, "results", 1_000_000)?;
        let value = SharedValue::create(&arena).map_err(shm)?;
        let base = SharedObjects {
            arena: Some((arena.raw_fd(), arena.len())),
            ..SharedObjects::default()
        };
        let mut inherited = SharedObjects::default();
        if knobs.shared == Shared::Initializer {
            let (v, l) = value.offsets();
            inherited.values = vec![("value".into(), v), ("value_lock".into(), l)];
        }
        let manager = if knobs.shared == Shared::Manager {
            let requests = SimpleQueue::create(&arena, "manager requests")?;
            let replies = (0..n)
                .map(|k| SimpleQueue::create(&arena, &format!("manager reply {k}")))
                .collect::<Result<Vec<_>, _>>()?;
            inherited.pipes.push(requests.desc.clone());
            inherited
                .pipes
                .extend(replies.iter().map(|r| r.desc.clone()));
            let mut shared = base.clone();
            shared.pipes = inherited.pipes.clone();
            let server = setup.process("SyncManager-1", Role::Manager, 0, shared);
            Some((server, requests, replies))
        } else {
            None
        };
        let pool = Pool::new(setup.interp(), &arena, setup.child(), n as usize, inherited)?;
        let mut files_shared = base.clone();
        files_shared.paths = vec![dir.clone()];
        let files = setup.processes(Role::FileWriter, 1, n as usize, &files_shared);
        let mut q_shared = base;
        q_shared.queues = vec![q.desc.clone()];
        let queues = setup.processes(Role::QueueWriter, n as usize + 1, n as usize, &q_shared);
        Ok(Parent {
            dir,
            q,
            value,
            manager,
            pool,
            files,
            queues,
            _arena: arena,
            _files_dir: files_dir,
        })
    }

    /// The main thread: the three ways, timed into `return_ms_by_way`, and the count of the
    /// shared `Value` the knobs ask for.
    pub fn run(&self, py: &mut Py, knobs: &Knobs, figures: &Mutex<Figures>) -> Result<(), Stopped> {
        let items = knobs.items;
        let expect: Vec<i64> = (0..items).map(|x| x * x).collect();
        let mut ms = BTreeMap::new();
        let mut all_ok = true;
        let mut check = |mut got: Vec<i64>| {
            got.sort_unstable();
            all_ok &= got == expect;
        };
        // A file per worker.
        let t0 = py.rec.now();
        temporary_directory(py)?;
        for w in &self.files {
            w.start(py)?;
        }
        for w in &self.files {
            w.join(py)?;
        }
        check(read_files(py, &self.dir, knobs.processes)?);
        cleanup(py, &self.dir)?;
        ms.insert("files".to_string(), (py.rec.now() - t0) as f64 / 1e6);
        // A queue.
        let t0 = py.rec.now();
        self.q.construct(py)?;
        for w in &self.queues {
            w.start(py)?;
        }
        let mut got = Vec::with_capacity(items as usize);
        for _ in 0..items {
            got.push(self.q.get(py)?.1);
        }
        for w in &self.queues {
            w.join(py)?;
        }
        check(got);
        ms.insert("queue".to_string(), (py.rec.now() - t0) as f64 / 1e6);
        // A pool's return (with the shared Value the knob asks for).
        let t0 = py.rec.now();
        if matches!(knobs.shared, Shared::Initializer | Shared::Argument) {
            self.value.construct(py)?;
        }
        // `with mp.Manager() as m:` is inside the timed way too.
        if let Some((server, ..)) = &self.manager {
            server.start(py)?;
        }
        self.pool.open(py)?;
        let xs: Vec<i64> = (0..items).collect();
        let (results, _) = self.pool.map(py, &xs, 0)?;
        self.pool.close_join(py)?;
        ms.insert("pool".to_string(), (py.rec.now() - t0) as f64 / 1e6);
        let in_order = results == expect;
        let mut counted = None;
        if let Some((server, requests, replies)) = &self.manager {
            let proxy = Proxy {
                client: 0,
                requests,
                reply: &replies[0],
            };
            counted = Some(proxy.call(py, OP_SHUTDOWN, 0)?);
            server.join(py)?;
        } else if knobs.shared == Shared::Initializer {
            counted = Some(self.value.peek());
        }
        let mut m = figures.lock().unwrap_or_else(|e| e.into_inner());
        m.results_in_order = Some(in_order && all_ok);
        m.return_ms_by_way = Some(ms);
        if knobs.shared == Shared::Argument {
            m.python_exception = Some(VALUE_ARGUMENT_ERROR.to_string());
        }
        if let Some(c) = counted {
            m.expected_count = Some(items);
            m.final_count = Some(c);
        }
        Ok(())
    }
}
