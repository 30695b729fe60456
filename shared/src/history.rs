//! Runs kept by the server's store: what a history list shows of each, how a run is renamed,
//! noted or starred, and the store's own health. The same JSON over HTTP as everywhere.

use serde::{Deserialize, Serialize};

use crate::protocol::RunInfo;

/// Longest run name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest note on a run, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// What the store keeps beside a run's info.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Kept {
    /// A name given by a person ("Tuesday's demo").
    pub name: Option<String>,
    pub note: Option<String>,
    /// Starred runs are never dropped to keep the store within its bound.
    pub starred: bool,
    /// When the run was saved (or imported), in ms since the Unix epoch.
    pub saved_at_ms: u64,
    /// Spans, marks and samples of its trace.
    pub events: u64,
    /// Bytes it takes in the store.
    pub bytes: u64,
}

/// A run in a list: its info and, once saved, what the store keeps of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    #[serde(flatten)]
    pub info: RunInfo,
    /// None while the run is queued, live, or not saved yet (or the server keeps nothing).
    #[serde(default)]
    pub kept: Option<Kept>,
}

/// A run in the dashboard's history, as [`crate::protocol::decode_listed`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub info: RunInfo,
    pub kept: Option<Kept>,
}

/// `PATCH /api/runs/{id}`: each field left out stays as it is; an empty name or note clears it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunEdit {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub starred: Option<bool>,
}

/// `GET /api/store`: where runs are kept and whether the last save worked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoreStatus {
    /// False when the server keeps nothing (no store, or it could not be opened).
    pub enabled: bool,
    /// The data directory.
    pub dir: Option<String>,
    pub runs: u64,
    pub bytes: u64,
    pub max_bytes: u64,
    /// Why runs are not being kept right now (the store could not be opened, or the last
    /// save failed: disk full, read-only); None when all is well.
    pub error: Option<String>,
}
