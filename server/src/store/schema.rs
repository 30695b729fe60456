//! The store's directory and database: where it lives, the lock that keeps a second server
//! out, and the tables.
//!
//! `runs` holds what a list needs (small rows, indexed by lesson); `traces` the encoded trace
//! of each run, read only when a run is opened. `PRAGMA user_version` is the schema's
//! version: a database made by a newer gilscope is refused, not changed.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::StoreError;

/// The schema this gilscope writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
/// The database's file name in the data directory.
pub const DB_FILE: &str = "runs.sqlite3";
/// The lock file's name in the data directory; it holds the owner's process id.
pub const LOCK_FILE: &str = "gilscope.lock";
/// How long a statement waits for another connection's write to end before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    lesson TEXT NOT NULL,
    engine TEXT NOT NULL,
    state TEXT NOT NULL,
    saved_at_ms INTEGER NOT NULL,
    name TEXT,
    note TEXT,
    starred INTEGER NOT NULL DEFAULT 0,
    events INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    info BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_lesson ON runs (lesson, id);
CREATE TABLE IF NOT EXISTS traces (
    id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    trace BLOB NOT NULL
);
";

/// `$GILSCOPE_DATA`'s default: the user's data directory (`$XDG_DATA_HOME/gilscope`, else
/// `~/.local/share/gilscope`).
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("gilscope"))
}

/// Holds the data directory for this process: released when dropped (or when the process
/// dies, `kill -9` included: the kernel drops `flock` locks with the file descriptor).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Takes the data directory's lock, or says who holds it.
pub fn lock(dir: &Path) -> Result<DirLock, StoreError> {
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|err| StoreError::Open {
            dir: dir.to_path_buf(),
            reason: format!("cannot create {}: {err}", path.display()),
        })?;
    use rustix::fs::{flock, FlockOperation};
    if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
        let owner = std::fs::read_to_string(&path).unwrap_or_default();
        return Err(StoreError::Locked {
            dir: dir.to_path_buf(),
            owner: owner.trim().to_string(),
        });
    }
    // Best effort: the pid only makes the message to a second server clearer.
    let _ = file.set_len(0);
    let _ = write!(file, "{}", std::process::id());
    Ok(DirLock { _file: file })
}

/// Opens (creating if need be) the database in `dir`: WAL journal, foreign keys on, the
/// tables made, the schema's version checked.
pub fn open(dir: &Path) -> Result<Connection, StoreError> {
    let path = dir.join(DB_FILE);
    let open_error = |err: rusqlite::Error| StoreError::Open {
        dir: dir.to_path_buf(),
        reason: format!("{}: {err}", path.display()),
    };
    let conn = Connection::open(&path).map_err(open_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
    let journal: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(open_error)?;
    if !journal.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            "the store at {} is not in WAL mode ({journal})",
            dir.display()
        );
    }
    // NORMAL is safe with WAL: a crash loses at most the last commits, never the database.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .map_err(open_error)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(open_error)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            dir: dir.to_path_buf(),
            found: version,
        });
    }
    conn.execute_batch(CREATE).map_err(open_error)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(open_error)?;
    Ok(conn)
}
