//! A run as one file, to carry between machines (`GET /api/runs/{id}/file`,
//! `POST /api/runs/import`, `gilscope open FILE`).
//!
//! | bytes | what |
//! |---|---|
//! | 12 | [`MAGIC`], `gilscope-run` |
//! | 2 | the format's version, little-endian ([`FILE_VERSION`]) |
//! | 4 | the header's length, little-endian |
//! | n | the header: [`RunHeader`] as named MessagePack (self-describing) |
//! | rest | the trace, as the store keeps it ([`super::codec`]: its own version, then zstd) |

use gilscope_shared::history::Kept;
use gilscope_shared::protocol::RunInfo;
use gilscope_shared::trace::Trace;
use serde::{Deserialize, Serialize};

use super::codec;

/// What every run file starts with.
pub const MAGIC: &[u8; 12] = b"gilscope-run";
/// The version of this layout this gilscope writes, and the newest it reads.
pub const FILE_VERSION: u16 = 1;
/// A run file's usual extension.
pub const EXTENSION: &str = "gilscope";
/// Largest header read, in bytes (a run's info with its summary is a few kilobytes; a
/// CPython run's output is bounded well below this).
pub const MAX_HEADER_BYTES: u32 = 16 * 1024 * 1024;
const PREFIX: usize = MAGIC.len() + 2 + 4;

/// Everything about a run but its trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    pub info: RunInfo,
    pub kept: Kept,
    /// The gilscope that wrote the file.
    pub made_by: String,
}

/// Why bytes are not a run file gilscope can open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("not a gilscope run file (it does not start with \"gilscope-run\")")]
    Foreign,
    #[error("the run file is cut short: {0}")]
    Truncated(&'static str),
    #[error(
        "the run file is format version {0}, newer than this gilscope reads \
         (up to {FILE_VERSION}): update gilscope to open it"
    )]
    Newer(u16),
    #[error("the run file's header is damaged: {0}")]
    Header(String),
    #[error("the run file's trace is damaged: {0}")]
    Trace(String),
    #[error("the run file's run is not over (state {0:?}); only finished, failed or stopped runs are kept")]
    NotOver(gilscope_shared::protocol::RunState),
}

/// A run file: the prefix, `header`, and a trace already encoded by [`codec::encode`].
pub fn write(header: &RunHeader, stored_trace: &[u8]) -> Vec<u8> {
    let head = rmp_serde::to_vec_named(header).expect("a run's header always encodes");
    let mut out = Vec::with_capacity(PREFIX + head.len() + stored_trace.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FILE_VERSION.to_le_bytes());
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(stored_trace);
    out
}

/// A run file checked through: its header, its trace decoded (so a damaged one is refused
/// before anything is stored), and the trace's stored bytes, to keep as they are.
pub fn read(bytes: &[u8]) -> Result<(RunHeader, Trace, &[u8]), FileError> {
    if bytes.is_empty() {
        return Err(FileError::Truncated("it is empty"));
    }
    if bytes.len() < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) {
            FileError::Truncated("no room for its version")
        } else {
            FileError::Foreign
        });
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(FileError::Foreign);
    }
    if bytes.len() < PREFIX {
        return Err(FileError::Truncated(
            "no room for its version and header length",
        ));
    }
    let version = u16::from_le_bytes([bytes[12], bytes[13]]);
    if version > FILE_VERSION {
        return Err(FileError::Newer(version));
    }
    if version == 0 {
        return Err(FileError::Header("format version 0 does not exist".into()));
    }
    let head_len = u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
    if head_len > MAX_HEADER_BYTES {
        return Err(FileError::Header(format!(
            "it claims {head_len} bytes, over the {MAX_HEADER_BYTES} a header may have"
        )));
    }
    let rest = &bytes[PREFIX..];
    let head_len = head_len as usize;
    if rest.len() < head_len {
        return Err(FileError::Truncated("the header is incomplete"));
    }
    let (head, stored_trace) = rest.split_at(head_len);
    let header: RunHeader =
        rmp_serde::from_slice(head).map_err(|err| FileError::Header(err.to_string()))?;
    if !header.info.state.is_over() {
        return Err(FileError::NotOver(header.info.state));
    }
    if stored_trace.is_empty() {
        return Err(FileError::Truncated("the trace is missing"));
    }
    let trace = codec::decode(stored_trace).map_err(|err| FileError::Trace(err.to_string()))?;
    Ok((header, trace, stored_trace))
}
