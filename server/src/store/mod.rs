//! The store: every run that is over, kept in an embedded SQLite database (WAL) in the data
//! directory, its trace compressed ([`codec`]), within a bound of bytes (the oldest runs that
//! are not starred go first). It survives restarts; `docs/store.md` says what it promises.
//!
//! One writer thread does every write, in the order asked: a run's save never waits on the
//! async runtime and never delays the next run (the run manager only queues it), and a rename
//! or delete asked after a save applies after it. Reads use a connection of their own (WAL
//! lets them run beside the writer); callers on the async runtime call them from
//! `spawn_blocking`.

pub mod codec;
pub mod file;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use gilscope_shared::history::{
    Kept, RunEdit, RunEntry, StoreStatus, MAX_NAME_CHARS, MAX_NOTE_CHARS,
};
use gilscope_shared::protocol::{RunId, RunInfo};
use gilscope_shared::trace::Trace;
use rusqlite::{params, Connection, OptionalExtension};

/// Default bound of the store, in bytes (`gilscope serve --store-bytes`).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// Most runs one page of a list holds (`GET /api/runs?limit=`).
pub const MAX_PAGE: usize = 1000;
/// Runs in a page when `limit` is left out.
pub const DEFAULT_PAGE: usize = 100;

/// Why the store cannot do what was asked. Messages name the directory and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("cannot keep runs in {dir}: {reason}", dir = dir.display())]
    Open { dir: PathBuf, reason: String },
    #[error(
        "another gilscope (process {owner}) keeps its runs in {dir}; stop it, or give this one \
         another --data-dir",
        dir = dir.display()
    )]
    Locked { dir: PathBuf, owner: String },
    #[error(
        "the store in {dir} was made by a newer gilscope (schema {found}, this one knows up to \
         {}); update gilscope or use another --data-dir",
        schema::SCHEMA_VERSION,
        dir = dir.display()
    )]
    NewerSchema { dir: PathBuf, found: i64 },
    #[error("the store cannot write: {0} (runs go on, but are not kept)")]
    Write(String),
    #[error("the store cannot read: {0}")]
    Read(String),
    #[error("no run with id {0} is kept")]
    NotFound(RunId),
    #[error(transparent)]
    File(#[from] file::FileError),
    #[error("{field} is {len} characters; at most {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("the store's writer has stopped")]
    Stopped,
}

/// Where the store lives and how big it may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub dir: PathBuf,
    /// Bytes of runs kept at most (traces and infos); beyond it the oldest unstarred go.
    pub max_bytes: u64,
    /// Pages the database may have at most (SQLite's `max_page_count`): lets tests make the
    /// disk "full". None in use.
    pub max_pages: Option<u32>,
}

impl StoreConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            dir: dir.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            max_pages: None,
        }
    }
}

/// A page of a list: `lesson` only, the newest `limit` runs with ids below `before`, listed
/// oldest first; the next page (older runs) is `before` = the first run's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub lesson: Option<String>,
    pub before: Option<RunId>,
    pub limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            lesson: None,
            before: None,
            limit: DEFAULT_PAGE,
        }
    }
}

type WriteJob = Box<dyn FnOnce(&mut Connection) + Send>;

struct Inner {
    config: StoreConfig,
    read: Mutex<Connection>,
    jobs: Mutex<mpsc::Sender<WriteJob>>,
    /// Why the last save failed, until one succeeds.
    error: Arc<Mutex<Option<String>>>,
    _lock: schema::DirLock,
}

/// The store; cheap to clone.
#[derive(Clone)]
pub struct Store(Arc<Inner>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.0.config.dir)
            .finish()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn write_error(err: rusqlite::Error) -> StoreError {
    StoreError::Write(err.to_string())
}

fn read_error(err: impl std::fmt::Display) -> StoreError {
    StoreError::Read(err.to_string())
}

impl Store {
    /// Opens the store in `config.dir` (made if missing), taking its lock, and starts its
    /// writer thread.
    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let dir = &config.dir;
        std::fs::create_dir_all(dir).map_err(|err| StoreError::Open {
            dir: dir.clone(),
            reason: format!("cannot create the directory: {err}"),
        })?;
        let lock = schema::lock(dir)?;
        let writer = schema::open(dir)?;
        if let Some(pages) = config.max_pages {
            writer
                .pragma_update(None, "max_page_count", pages)
                .map_err(write_error)?;
        }
        let read = schema::open(dir)?;
        let (jobs, inbox) = mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("gilscope-store".into())
            .spawn(move || {
                let mut conn = writer;
                for job in inbox {
                    job(&mut conn);
                }
            })
            .map_err(|err| StoreError::Open {
                dir: dir.clone(),
                reason: format!("cannot start the writer thread: {err}"),
            })?;
        Ok(Store(Arc::new(Inner {
            config,
            read: Mutex::new(read),
            jobs: Mutex::new(jobs),
            error: Arc::default(),
            _lock: lock,
        })))
    }

    pub fn dir(&self) -> &Path {
        &self.0.config.dir
    }

    /// Runs `job` on the writer thread after every write asked before it; blocks until done.
    fn write<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue(Box::new(move |conn| {
            let _ = reply.send(job(conn));
        }))?;
        answer.recv().map_err(|_| StoreError::Stopped)?
    }

    fn queue(&self, job: WriteJob) -> Result<(), StoreError> {
        self.0
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| StoreError::Stopped)
    }

    /// Queues a run that is over to be saved, and returns at once: encoding and writing
    /// happen on the writer thread. A failure is logged and shown by [`Store::status`].
    pub fn save(&self, info: RunInfo, trace: Arc<Trace>) {
        let error = self.0.error.clone();
        let max_bytes = self.0.config.max_bytes;
        let run = info.id;
        let queued = self.queue(Box::new(move |conn| {
            let id = info.id;
            let started = std::time::Instant::now();
            let stored = codec::encode(&trace);
            let kept = Kept {
                saved_at_ms: now_ms(),
                events: trace.events() as u64,
                ..Kept::default()
            };
            let result =
                insert(conn, &info, &kept, &stored).and_then(|()| bound(conn, max_bytes, id));
            let mut error = error.lock().unwrap_or_else(|e| e.into_inner());
            match result {
                Ok(()) => {
                    tracing::debug!(
                        run = id,
                        events = kept.events,
                        bytes = stored.len(),
                        "saved in {:?}",
                        started.elapsed()
                    );
                    *error = None;
                }
                Err(err) => {
                    tracing::error!(run = id, "run {id} is not kept: {err}");
                    *error = Some(format!("run {id} is not kept: {err}"));
                }
            }
        }));
        if let Err(err) = queued {
            tracing::error!("run {run} is not kept: {err}");
        }
    }

    /// Waits until every save queued before has been written (or has failed).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(()))
    }

    fn read(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.0.read.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The highest id kept (0 when none): new runs are numbered after it.
    pub fn max_id(&self) -> Result<RunId, StoreError> {
        self.read()
            .query_row("SELECT COALESCE(MAX(id), 0) FROM runs", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|id| id as RunId)
            .map_err(read_error)
    }

    /// A page of kept runs: the newest `page.limit` below `page.before`, oldest first.
    pub fn list(&self, page: &Page) -> Result<Vec<RunEntry>, StoreError> {
        let conn = self.read();
        let mut statement = conn
            .prepare_cached(
                "SELECT info, name, note, starred, saved_at_ms, events, bytes FROM runs
                 WHERE (?1 IS NULL OR lesson = ?1) AND id < ?2 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(read_error)?;
        let before = page
            .before
            .map_or(i64::MAX, |id| id.min(i64::MAX as u64) as i64);
        let rows = statement
            .query_map(params![page.lesson, before, page.limit as i64], entry_of)
            .map_err(read_error)?;
        let mut runs = rows
            .map(|row| row.map_err(read_error).and_then(|r| r))
            .collect::<Result<Vec<_>, _>>()?;
        runs.reverse();
        Ok(runs)
    }

    /// A kept run's info and what is kept of it.
    pub fn get(&self, id: RunId) -> Result<RunEntry, StoreError> {
        self.read()
            .query_row(
                "SELECT info, name, note, starred, saved_at_ms, events, bytes FROM runs WHERE id = ?1",
                [id as i64],
                entry_of,
            )
            .optional()
            .map_err(read_error)?
            .ok_or(StoreError::NotFound(id))?
    }

    /// A kept run's info and whole trace.
    pub fn load(&self, id: RunId) -> Result<(RunEntry, Trace), StoreError> {
        let entry = self.get(id)?;
        let stored: Vec<u8> = self
            .read()
            .query_row(
                "SELECT trace FROM traces WHERE id = ?1",
                [id as i64],
                |row| row.get(0),
            )
            .optional()
            .map_err(read_error)?
            .ok_or(StoreError::NotFound(id))?;
        let trace =
            codec::decode(&stored).map_err(|err| StoreError::Read(format!("run {id}: {err}")))?;
        Ok((entry, trace))
    }

    /// A kept run as a run file ([`file`]), after every save queued before.
    pub fn file(&self, id: RunId) -> Result<Vec<u8>, StoreError> {
        self.write(move |conn| {
            let entry = conn
                .query_row(
                    "SELECT info, name, note, starred, saved_at_ms, events, bytes FROM runs WHERE id = ?1",
                    [id as i64],
                    entry_of,
                )
                .optional()
                .map_err(read_error)?
                .ok_or(StoreError::NotFound(id))??;
            let stored: Vec<u8> = conn
                .query_row("SELECT trace FROM traces WHERE id = ?1", [id as i64], |row| {
                    row.get(0)
                })
                .map_err(read_error)?;
            let header = file::RunHeader {
                info: entry.info,
                kept: entry.kept.unwrap_or_default(),
                made_by: format!("gilscope {}", env!("CARGO_PKG_VERSION")),
            };
            Ok(file::write(&header, &stored))
        })
    }

    /// Renames, notes or stars a kept run (after every save queued before).
    pub fn edit(&self, id: RunId, edit: RunEdit) -> Result<RunEntry, StoreError> {
        check_len("name", edit.name.as_deref(), MAX_NAME_CHARS)?;
        check_len("note", edit.note.as_deref(), MAX_NOTE_CHARS)?;
        self.write(move |conn| {
            let blank = |text: Option<String>| text.map(|t| (t.trim().is_empty(), t));
            let tx = conn.transaction().map_err(write_error)?;
            let found = tx
                .query_row("SELECT 1 FROM runs WHERE id = ?1", [id as i64], |_| Ok(()))
                .optional()
                .map_err(read_error)?;
            if found.is_none() {
                return Err(StoreError::NotFound(id));
            }
            if let Some((clear, name)) = blank(edit.name) {
                tx.execute(
                    "UPDATE runs SET name = ?2 WHERE id = ?1",
                    params![id as i64, (!clear).then_some(name)],
                )
                .map_err(write_error)?;
            }
            if let Some((clear, note)) = blank(edit.note) {
                tx.execute(
                    "UPDATE runs SET note = ?2 WHERE id = ?1",
                    params![id as i64, (!clear).then_some(note)],
                )
                .map_err(write_error)?;
            }
            if let Some(starred) = edit.starred {
                tx.execute(
                    "UPDATE runs SET starred = ?2 WHERE id = ?1",
                    params![id as i64, starred],
                )
                .map_err(write_error)?;
            }
            let entry = tx
                .query_row(
                    "SELECT info, name, note, starred, saved_at_ms, events, bytes FROM runs WHERE id = ?1",
                    [id as i64],
                    entry_of,
                )
                .map_err(read_error)??;
            tx.commit().map_err(write_error)?;
            Ok(entry)
        })
    }

    /// Deletes a kept run (after every save queued before); false if none had this id.
    pub fn delete(&self, id: RunId) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction().map_err(write_error)?;
            tx.execute("DELETE FROM traces WHERE id = ?1", [id as i64])
                .map_err(write_error)?;
            let gone = tx
                .execute("DELETE FROM runs WHERE id = ?1", [id as i64])
                .map_err(write_error)?;
            tx.commit().map_err(write_error)?;
            Ok(gone > 0)
        })
    }

    /// Keeps the run of a run file under the new id `id`. The file is checked through
    /// (trace decoded) before anything is written: a bad file stores nothing.
    pub fn import(&self, id: RunId, bytes: &[u8]) -> Result<RunEntry, StoreError> {
        let (header, trace, stored) = file::read(bytes)?;
        let mut info = header.info;
        info.id = id;
        let mut kept = header.kept;
        kept.saved_at_ms = now_ms();
        kept.events = trace.events() as u64;
        check_len("name", kept.name.as_deref(), MAX_NAME_CHARS)?;
        check_len("note", kept.note.as_deref(), MAX_NOTE_CHARS)?;
        let stored = stored.to_vec();
        let max_bytes = self.0.config.max_bytes;
        self.write(move |conn| {
            insert(conn, &info, &kept, &stored)?;
            bound(conn, max_bytes, id)?;
            Ok(())
        })?;
        self.get(id)
    }

    /// What `GET /api/store` answers.
    pub fn status(&self) -> StoreStatus {
        let totals = self.read().query_row(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM runs",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
        );
        let error = self
            .0
            .error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let (runs, bytes, error) = match totals {
            Ok((runs, bytes)) => (runs as u64, bytes as u64, error),
            Err(err) => (0, 0, Some(format!("the store cannot read: {err}"))),
        };
        StoreStatus {
            enabled: true,
            dir: Some(self.dir().display().to_string()),
            runs,
            bytes,
            max_bytes: self.0.config.max_bytes,
            error,
        }
    }
}

fn check_len(field: &'static str, text: Option<&str>, max: usize) -> Result<(), StoreError> {
    let len = text.map_or(0, |t| t.chars().count());
    if len > max {
        return Err(StoreError::TooLong { field, len, max });
    }
    Ok(())
}

/// A row of `SELECT info, name, note, starred, saved_at_ms, events, bytes`.
fn entry_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<RunEntry, StoreError>> {
    let info: Vec<u8> = row.get(0)?;
    let kept = Kept {
        name: row.get(1)?,
        note: row.get(2)?,
        starred: row.get(3)?,
        saved_at_ms: row.get::<_, i64>(4)? as u64,
        events: row.get::<_, i64>(5)? as u64,
        bytes: row.get::<_, i64>(6)? as u64,
    };
    Ok(rmp_serde::from_slice::<RunInfo>(&info)
        .map(|info| RunEntry {
            info,
            kept: Some(kept),
        })
        .map_err(|err| StoreError::Read(format!("a run's info is damaged: {err}"))))
}

/// Writes one run, its info and trace, in one transaction: a crash keeps all of it or none.
fn insert(
    conn: &mut Connection,
    info: &RunInfo,
    kept: &Kept,
    stored: &[u8],
) -> Result<(), StoreError> {
    let packed = rmp_serde::to_vec_named(info).map_err(|err| StoreError::Write(err.to_string()))?;
    let bytes = (packed.len() + stored.len()) as i64;
    let tx = conn.transaction().map_err(write_error)?;
    tx.execute(
        "INSERT OR REPLACE INTO runs (id, lesson, engine, state, saved_at_ms, name, note, starred, events, bytes, info)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            info.id as i64,
            info.spec.preset,
            info.spec.engine().name(),
            format!("{:?}", info.state).to_lowercase(),
            kept.saved_at_ms as i64,
            kept.name,
            kept.note,
            kept.starred,
            kept.events as i64,
            bytes,
            packed,
        ],
    )
    .map_err(write_error)?;
    tx.execute(
        "INSERT OR REPLACE INTO traces (id, trace) VALUES (?1, ?2)",
        params![info.id as i64, stored],
    )
    .map_err(write_error)?;
    tx.commit().map_err(write_error)
}

/// Drops the oldest unstarred runs until the store holds at most `max_bytes`; `newest`
/// (the run just saved) stays whatever its size.
fn bound(conn: &mut Connection, max_bytes: u64, newest: RunId) -> Result<(), StoreError> {
    let total: i64 = conn
        .query_row("SELECT COALESCE(SUM(bytes), 0) FROM runs", [], |row| {
            row.get(0)
        })
        .map_err(read_error)?;
    let mut over = total - max_bytes.min(i64::MAX as u64) as i64;
    if over <= 0 {
        return Ok(());
    }
    let oldest: Vec<(i64, i64)> = {
        let mut statement = conn
            .prepare("SELECT id, bytes FROM runs WHERE starred = 0 AND id != ?1 ORDER BY id")
            .map_err(read_error)?;
        let rows = statement
            .query_map([newest as i64], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(read_error)?;
        rows.collect::<Result<_, _>>().map_err(read_error)?
    };
    let tx = conn.transaction().map_err(write_error)?;
    for (id, bytes) in oldest {
        if over <= 0 {
            break;
        }
        tx.execute("DELETE FROM traces WHERE id = ?1", [id])
            .map_err(write_error)?;
        tx.execute("DELETE FROM runs WHERE id = ?1", [id])
            .map_err(write_error)?;
        tracing::info!(
            run = id,
            "dropped from the store to keep it within {max_bytes} bytes"
        );
        over -= bytes;
    }
    if over > 0 {
        tracing::warn!("the store is over its bound of {max_bytes} bytes with starred runs alone");
    }
    tx.commit().map_err(write_error)
}
