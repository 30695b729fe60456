//! `multiprocessing.SimpleQueue`: a real pipe with a read lock and a write lock in shared
//! memory, no feeder thread — what `Pool` sends tasks and results through. The writer pickles
//! and writes in its own thread; the reader reads a whole message under the read lock.
//!
//! A message is a list of integers, framed as a little-endian `u32` count of bytes, then the
//! integers. Writes bigger than `PIPE_BUF` are not atomic, hence the write lock (as in
//! CPython). Every wait is a bounded `poll`.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;

use gilscope_shared::trace::State;
use serde::{Deserialize, Serialize};

use crate::engine::interpreter::interp::{EngineError, Py};
use crate::engine::interpreter::stop::{StopFlag, Stopped, MAX_WAIT};
use crate::engine::multiprocessing::shm::{Arena, Offset, RLock};
use crate::engine::os::{self, Ready, Transfer};

/// A message may not be longer than this many integers (a map's chunk of 10M items fits).
const MAX_INTS: usize = 16 << 20;

/// A `SimpleQueue` as a child finds it.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct PipeDesc {
    pub name: String,
    pub read_fd: i32,
    pub write_fd: i32,
    pub rlock: Offset,
    pub wlock: Offset,
}

pub struct SimpleQueue {
    pub desc: PipeDesc,
    arena: Arc<Arena>,
    reader: File,
    writer: File,
}

#[derive(thiserror::Error, Debug)]
enum PipeError {
    #[error("stopped")]
    Stopped,
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("a message of {0} bytes")]
    TooLong(usize),
}

fn read_exact(fd: &File, buf: &mut [u8], stop: &StopFlag) -> Result<(), PipeError> {
    let mut filled = 0;
    while filled < buf.len() {
        match os::read(fd, &mut buf[filled..])? {
            Transfer::Done(0) => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "pipe closed").into())
            }
            Transfer::Done(n) => filled += n,
            Transfer::WouldBlock => {
                if stop.is_set() {
                    return Err(PipeError::Stopped);
                }
                os::wait_ready(fd, Ready::Read, MAX_WAIT);
            }
        }
    }
    Ok(())
}

fn write_all(fd: &File, mut buf: &[u8], stop: &StopFlag) -> Result<(), PipeError> {
    while !buf.is_empty() {
        match os::write(fd, buf)? {
            Transfer::Done(n) => buf = &buf[n..],
            Transfer::WouldBlock => {
                if stop.is_set() {
                    return Err(PipeError::Stopped);
                }
                os::wait_ready(fd, Ready::Write, MAX_WAIT);
            }
        }
    }
    Ok(())
}

impl SimpleQueue {
    /// Creates the pipe and its locks (parent, before children start).
    pub fn create(arena: &Arc<Arena>, name: &str) -> Result<SimpleQueue, EngineError> {
        let shm = EngineError::SharedMemory;
        let rlock = arena.alloc::<RLock>().map_err(shm)?;
        RLock::init(arena, rlock).map_err(shm)?;
        let wlock = arena.alloc::<RLock>().map_err(shm)?;
        RLock::init(arena, wlock).map_err(shm)?;
        let (reader, writer) = os::pipe().map_err(shm)?;
        let (reader, writer) = (File::from(reader), File::from(writer));
        let desc = PipeDesc {
            name: name.to_string(),
            read_fd: reader.as_raw_fd(),
            write_fd: writer.as_raw_fd(),
            rlock,
            wlock,
        };
        Ok(SimpleQueue {
            desc,
            arena: arena.clone(),
            reader,
            writer,
        })
    }

    /// The queue in a child.
    ///
    /// # Safety
    /// The descriptors in `desc` must be open and owned by nothing else in this process.
    pub unsafe fn attach(arena: &Arc<Arena>, desc: &PipeDesc) -> SimpleQueue {
        SimpleQueue {
            desc: desc.clone(),
            arena: arena.clone(),
            // SAFETY: the caller hands over these inherited descriptors (see above).
            reader: unsafe { File::from_raw_fd(desc.read_fd) },
            // SAFETY: as for the read end.
            writer: unsafe { File::from_raw_fd(desc.write_fd) },
        }
    }

    fn fail(py: &mut Py, what: &str, e: PipeError) -> Stopped {
        if !matches!(e, PipeError::Stopped) {
            py.interp.fail(format!("{what}: {e}"));
        }
        Stopped
    }

    /// `put(msg)` after the caller charged the pickling: the write lock and the write, with
    /// the GIL released (shown as I/O).
    pub fn put(&self, py: &mut Py, msg: &[i64]) -> Result<(), Stopped> {
        let mut bytes = Vec::with_capacity(4 + msg.len() * 8);
        bytes.extend_from_slice(&((msg.len() * 8) as u32).to_le_bytes());
        for x in msg {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        let wlock = RLock::at(&self.arena, self.desc.wlock);
        let fd = &self.writer;
        let result = py.blocking(State::Io, |_, stop| {
            wlock.acquire_blocking(stop).map_err(|_| Stopped)?;
            let r = write_all(fd, &bytes, stop);
            wlock.release();
            Ok(r)
        })?;
        result.map_err(|e| Self::fail(py, &format!("writing to {}", self.desc.name), e))
    }

    /// `get()`: waits (GIL released, shown as `waiting`) for a whole message.
    pub fn get(&self, py: &mut Py, waiting: State) -> Result<Vec<i64>, Stopped> {
        let rlock = RLock::at(&self.arena, self.desc.rlock);
        let fd = &self.reader;
        let result = py.blocking(waiting, |_, stop| {
            rlock.acquire_blocking(stop).map_err(|_| Stopped)?;
            let r = (|| {
                let mut len = [0u8; 4];
                read_exact(fd, &mut len, stop)?;
                let len = u32::from_le_bytes(len) as usize;
                if len > MAX_INTS * 8 || !len.is_multiple_of(8) {
                    return Err(PipeError::TooLong(len));
                }
                let mut body = vec![0u8; len];
                read_exact(fd, &mut body, stop)?;
                Ok(body
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect())
            })();
            rlock.release();
            Ok(r)
        })?;
        result.map_err(|e| Self::fail(py, &format!("reading from {}", self.desc.name), e))
    }
}
