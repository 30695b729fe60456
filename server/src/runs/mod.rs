//! The run manager: one run executes at a time so runs never disturb each other's
//! measurements; others wait in a bounded queue, a few per client; finished runs are kept for
//! replay within a budget of bytes. Viewers learn what happens through [`Runs::subscribe`], a
//! broadcast of [`Update`]s that never waits for a slow viewer (a lagging one is
//! resynchronised by the viewer's task).

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gilscope_shared::protocol::{CpythonStatus, RunId, RunInfo, RunState};
use gilscope_shared::spec::{Engine, ExperimentSpec, PresetInfo, SpecError};
use gilscope_shared::trace::{Trace, TraceDelta};
use tokio::sync::{broadcast, Notify};

use crate::cpython::python::{choose, probe_once, status};
use crate::cpython::{Python, PythonError};
use crate::engine::{self, Preset};
use crate::frames::{self, Encoded};
use crate::limits::Limits;
use crate::presets;
use crate::program::{plan_in, Planned};

mod executor;
mod kept;

use executor::remember_finished;

use crate::store::{Store, StoreError};

/// Runs waiting to start; one more is refused.
pub const QUEUE_LIMIT: usize = 16;
/// Finished runs kept for replay at most, however small (so `GET /api/runs` stays small);
/// within it, [`Limits::keep_bytes`] bounds their traces' bytes.
pub const KEEP_FINISHED: usize = 256;
/// How often a live run's news is sent to viewers (30 Hz).
pub const FRAME_PERIOD: Duration = Duration::from_millis(33);
/// Updates buffered for viewers; a viewer further behind is resynchronised.
const UPDATE_BUFFER: usize = 256;

/// Why a request to the run manager was refused.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum RunsError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{QUEUE_LIMIT} runs are already waiting; try again when one has started")]
    QueueFull,
    #[error(
        "you already have {0} runs waiting, the most one client may queue; \
         try again when one has started, or stop one"
    )]
    ClientQueueFull(usize),
    #[error("no run with id {0}")]
    NotFound(RunId),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("could not build the run's snapshot: {0}")]
    Snapshot(String),
    #[error(
        "this server listens on {0}, not only on this machine: it runs no code on CPython \
         (serve on 127.0.0.1 to run code)"
    )]
    CodeRefused(std::net::SocketAddr),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "run {0} is {1:?}: only a run that is over can be renamed, starred, noted or downloaded"
    )]
    NotOver(RunId, RunState),
    #[error("this server keeps no runs (it was started without a store, or the store could not be opened)")]
    NoStore,
    #[error("run {0} is not kept: its save failed (GET /api/store says why)")]
    NotKept(RunId),
}

/// Who asked for a run: each may have only [`Limits::queued_per_client`] runs waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    /// An HTTP client, by its address (every request may come from a new port).
    Peer(IpAddr),
    /// A websocket session, by its number.
    Session(u64),
}

/// What viewers are told, in the order it happened.
#[derive(Clone, Debug)]
pub enum Update {
    /// A run's state changed (queued, started, finished, failed, stopped).
    Run(RunInfo),
    /// What is new in the live run since the previous frame, encoded once for every viewer.
    /// `seq` counts the live run's frames; a snapshot says which it already holds.
    Frame {
        id: RunId,
        seq: u64,
        frames: Arc<Vec<Encoded>>,
    },
}

/// A run's trace so far and what a viewer needs to pick up its live frames after it.
pub struct Snapshot {
    pub info: RunInfo,
    /// Frames that rebuild the run so far, the first one a reset.
    pub frames: Vec<Encoded>,
    /// The last live frame the snapshot includes; skip live frames up to it.
    pub seq: u64,
}

/// A run as the manager keeps it.
struct Record {
    info: RunInfo,
    /// What runs, as validated when submitted.
    program: Planned,
    /// Who queued it.
    client: Client,
    /// [`Trace::heap_bytes`] of the kept trace, once the run is over.
    bytes: usize,
    /// The trace so far while live; the whole trace once over.
    trace: Arc<Trace>,
    /// Set while the run executes: stops it.
    stop: Option<engine::StopHandle>,
    /// Live frames applied to `trace` so far.
    seq: u64,
    /// The lanes' current states, from the last frame.
    open: TraceDelta,
}

#[derive(Default)]
struct Book {
    next_id: RunId,
    queue: VecDeque<RunId>,
    records: BTreeMap<RunId, Record>,
    finished: VecDeque<RunId>,
    /// The sum of the finished runs' `bytes`.
    kept_bytes: usize,
    live: Option<RunId>,
    /// Shutting down: nothing new is accepted or started.
    closed: bool,
}

struct Inner {
    registry: &'static [&'static dyn Preset],
    /// The CPython that runs CPython runs, or why there is none; looked for when first needed.
    python: std::sync::RwLock<Option<Result<Python, PythonError>>>,
    /// Set when the server listens beyond this machine: then no code runs on CPython.
    code_refused: std::sync::RwLock<Option<std::net::SocketAddr>>,
    presets: Vec<PresetInfo>,
    /// [`Limits::keep_bytes`].
    keep_bytes: usize,
    /// [`Limits::queued_per_client`].
    queued_per_client: usize,
    book: Mutex<Book>,
    /// Where runs that are over are kept, when the server keeps them.
    store: std::sync::RwLock<Option<Store>>,
    /// The latest snapshot built, shared by the viewers that ask for it.
    snapshot: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
    work: Notify,
    updates: broadcast::Sender<Update>,
}

/// The run manager; cheap to clone, shared by the HTTP API and every viewer.
#[derive(Clone)]
pub struct Runs(Arc<Inner>);

impl std::fmt::Debug for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let book = self.book();
        f.debug_struct("Runs")
            .field("live", &book.live)
            .field("queued", &book.queue.len())
            .field("kept", &book.records.len())
            .field("kept_bytes", &book.kept_bytes)
            .finish()
    }
}

impl Runs {
    /// A manager for the lessons of [`presets::ALL`] within `limits`; call
    /// [`Runs::spawn_executor`] to make it run anything.
    pub fn new(limits: &Limits) -> Runs {
        Runs::with_presets(presets::ALL, limits)
    }

    /// A manager for other presets than the lessons (tests).
    pub fn with_presets(registry: &'static [&'static dyn Preset], limits: &Limits) -> Runs {
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        Runs(Arc::new(Inner {
            registry,
            python: std::sync::RwLock::new(None),
            code_refused: std::sync::RwLock::new(None),
            presets: registry.iter().map(|p| p.info()).collect(),
            keep_bytes: limits.keep_bytes,
            queued_per_client: limits.queued_per_client,
            book: Mutex::new(Book {
                next_id: 1,
                ..Book::default()
            }),
            store: std::sync::RwLock::new(None),
            snapshot: tokio::sync::Mutex::new(None),
            work: Notify::new(),
            updates,
        }))
    }

    pub fn presets(&self) -> &[PresetInfo] {
        &self.0.presets
    }

    /// Uses `python` (as probed) for CPython runs from now on.
    pub fn set_python(&self, python: Result<Python, PythonError>) {
        *self.0.python.write().unwrap_or_else(|e| e.into_inner()) = Some(python);
    }

    /// The CPython found (looked for now if not yet).
    fn python(&self) -> Result<Python, PythonError> {
        if let Some(found) = &*self.0.python.read().unwrap_or_else(|e| e.into_inner()) {
            return found.clone();
        }
        let found = probe_once(&choose(None));
        self.0
            .python
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(found)
            .clone()
    }

    /// Refuses CPython runs: the server listens on `addr`, beyond this machine.
    pub fn refuse_code(&self, addr: std::net::SocketAddr) {
        *self
            .0
            .code_refused
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(addr);
    }

    /// Whether CPython runs can be asked for, and why not: for the dashboard.
    pub fn cpython_status(&self) -> CpythonStatus {
        match *self
            .0
            .code_refused
            .read()
            .unwrap_or_else(|e| e.into_inner())
        {
            Some(addr) => CpythonStatus {
                available: false,
                detail: RunsError::CodeRefused(addr).to_string(),
            },
            None => status(&self.python()),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        // A panic while holding the lock leaves the book consistent (every change is one
        // statement), so a poisoned lock is still usable.
        self.0.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Validates `spec` and queues it for `client`.
    pub fn submit(&self, spec: ExperimentSpec, client: Client) -> Result<RunInfo, RunsError> {
        let python = if spec.engine() == Engine::Cpython {
            self.python()
        } else {
            Err(PythonError::NotFound("(not needed)".into()))
        };
        let planned = plan_in(self.0.registry, &self.0.presets, &spec, &python)?;
        if planned.engine() == Engine::Cpython {
            if let Some(addr) = *self
                .0
                .code_refused
                .read()
                .unwrap_or_else(|e| e.into_inner())
            {
                return Err(RunsError::CodeRefused(addr));
            }
        }
        let info = {
            let mut book = self.book();
            if book.closed {
                return Err(RunsError::ShuttingDown);
            }
            if book.queue.len() >= QUEUE_LIMIT {
                return Err(RunsError::QueueFull);
            }
            let waiting = book
                .queue
                .iter()
                .filter(|id| book.records.get(id).is_some_and(|r| r.client == client))
                .count();
            if waiting >= self.0.queued_per_client {
                return Err(RunsError::ClientQueueFull(waiting));
            }
            let id = book.next_id;
            book.next_id += 1;
            let info = RunInfo {
                id,
                spec: ExperimentSpec {
                    preset: spec.preset,
                    knobs: planned.knobs().0.clone(),
                    engine: Some(planned.engine()),
                    script: spec.script,
                },
                state: RunState::Queued,
                summary: None,
                error: None,
            };
            book.queue.push_back(id);
            book.records.insert(
                id,
                Record {
                    info: info.clone(),
                    program: planned,
                    client,
                    bytes: 0,
                    trace: Arc::default(),
                    stop: None,
                    seq: 0,
                    open: TraceDelta::default(),
                },
            );
            info
        };
        self.announce(Update::Run(info.clone()));
        self.0.work.notify_one();
        Ok(info)
    }

    /// Stops a queued or running run. Stopping a run that is over changes nothing.
    pub fn stop(&self, id: RunId) -> Result<RunInfo, RunsError> {
        let info = {
            let mut book = self.book();
            let queued = book.queue.iter().position(|&q| q == id);
            let record = book.records.get_mut(&id).ok_or(RunsError::NotFound(id))?;
            match (record.info.state, queued) {
                (RunState::Queued, Some(_)) => {
                    record.info.state = RunState::Stopped;
                    let info = record.info.clone();
                    book.queue.retain(|&q| q != id);
                    remember_finished(&mut book, id, self.0.keep_bytes);
                    self.keep(info.clone(), Arc::default());
                    info
                }
                (RunState::Running, _) => {
                    if let Some(stop) = &record.stop {
                        stop.stop();
                    }
                    return Ok(record.info.clone());
                }
                _ => return Ok(record.info.clone()),
            }
        };
        self.announce(Update::Run(info.clone()));
        Ok(info)
    }

    pub fn get(&self, id: RunId) -> Result<RunInfo, RunsError> {
        let book = self.book();
        let record = book.records.get(&id).ok_or(RunsError::NotFound(id))?;
        Ok(record.info.clone())
    }

    /// Every run the manager still knows, oldest first.
    pub fn list(&self) -> Vec<RunInfo> {
        self.book()
            .records
            .values()
            .map(|r| r.info.clone())
            .collect()
    }

    /// A run's trace: so far while it runs, whole once over.
    pub fn trace(&self, id: RunId) -> Result<(RunInfo, Arc<Trace>), RunsError> {
        let book = self.book();
        let record = book.records.get(&id).ok_or(RunsError::NotFound(id))?;
        Ok((record.info.clone(), record.trace.clone()))
    }

    /// The run executing now, if any.
    pub fn live_id(&self) -> Option<RunId> {
        self.book().live
    }

    /// A run from its start, as frames: for a viewer that joins late, falls behind, or
    /// replays a finished run. Built off the async workers, and shared: viewers that ask at
    /// about the same time (a class joining together) get one snapshot, built once. A
    /// snapshot is reused only if it already holds every frame announced before the call, so
    /// a viewer that subscribed first misses nothing.
    pub async fn snapshot(&self, id: RunId) -> Result<Arc<Snapshot>, RunsError> {
        let floor = self.book().records.get(&id).map(|record| record.seq);
        let Some(floor) = floor else {
            return self.stored_snapshot(id).await;
        };
        let mut latest = self.0.snapshot.lock().await;
        let (info, trace, open, seq) = self.current(id)?;
        if let Some(cached) = latest.as_ref() {
            if cached.info.id == id && cached.info.state == info.state && cached.seq >= floor {
                return Ok(cached.clone());
            }
        }
        let frames = if info.state == RunState::Queued {
            Vec::new()
        } else {
            tokio::task::spawn_blocking(move || frames::snapshot(id, &trace, &open))
                .await
                .map_err(|e| RunsError::Snapshot(e.to_string()))?
        };
        let snapshot = Arc::new(Snapshot { info, frames, seq });
        *latest = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// A run's info, trace so far, lanes' current states and frame number, under the lock.
    fn current(&self, id: RunId) -> Result<(RunInfo, Arc<Trace>, TraceDelta, u64), RunsError> {
        let book = self.book();
        let record = book.records.get(&id).ok_or(RunsError::NotFound(id))?;
        let open = if record.info.state.is_over() {
            TraceDelta::default()
        } else {
            record.open.clone()
        };
        Ok((record.info.clone(), record.trace.clone(), open, record.seq))
    }

    /// Updates from now on. Pair with [`Runs::snapshot`] to catch up with a run already going.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.0.updates.subscribe()
    }

    fn announce(&self, update: Update) {
        // No receiver is fine: nobody is watching.
        let _ = self.0.updates.send(update);
    }

    /// Starts the task that executes queued runs one after another, until [`Runs::shutdown`].
    pub fn spawn_executor(&self) -> tokio::task::JoinHandle<()> {
        let runs = self.clone();
        tokio::spawn(async move {
            loop {
                let next = {
                    let mut book = runs.book();
                    if book.closed {
                        return;
                    }
                    book.queue.pop_front()
                };
                match next {
                    Some(id) => runs.execute_isolated(id).await,
                    None => runs.0.work.notified().await,
                }
            }
        })
    }

    /// Stops the live run and every queued one, and lets the executor end once the live run
    /// has wound down. New runs are refused from now on.
    pub fn shutdown(&self) {
        let queued: Vec<RunId> = {
            let mut book = self.book();
            book.closed = true;
            book.queue.iter().copied().collect()
        };
        for id in queued {
            let _ = self.stop(id);
        }
        if let Some(id) = self.live_id() {
            let _ = self.stop(id);
        }
        self.0.work.notify_one();
    }
}
