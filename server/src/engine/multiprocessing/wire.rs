//! The pipe between the server and a worker process: length-prefixed messages (a little-endian
//! `u32` length, then that many bytes of MessagePack, via `rmp-serde`). Structs go as arrays
//! (no field names) and thread states as numbers, which keeps the bulk of the stream — spans,
//! marks, samples — to a few bytes each; both ends are this binary, so they agree on the order.
//!
//! The parent sends one [`ToWorker`] (the job) on the child's stdin; the child sends
//! [`FromWorker`] messages on its stdout: `Handshake` first (proof that it is a gilscope worker of
//! the same wire version), then batches of events, then `Done` or `Failed`.
//!
//! Reading is non-blocking and bounded: [`MessageReader`] keeps what arrived so far and hands
//! out whole messages; a length above [`MAX_MESSAGE`] or a payload that does not decode is a
//! [`WireError::Malformed`], never a panic or an unbounded allocation.

use std::io::Write;
use std::os::fd::BorrowedFd;

use gilscope_shared::trace::{Nanos, TraceDelta};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::engine::interpreter::bytecode::Calibration;
use crate::engine::interpreter::clock::ClockCalibration;
use crate::engine::multiprocessing::process::ChildProgram;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::os::{self, Transfer};

/// Bumped whenever a message changes shape.
pub const WIRE_VERSION: u32 = 7;
/// What a worker says first.
pub const MAGIC: &str = "gilscope-worker";
/// No message is larger (a batch of 512 events is a few tens of kB).
pub const MAX_MESSAGE: usize = 64 << 20;
/// [`MessageReader::fill`] reads at most this much at a time.
pub const MAX_FILL: usize = 1 << 20;

/// What the parent tells a worker to do.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub enum ToWorker {
    Job(Box<WorkerJob>),
}

/// One worker process's task: which preset program, as which role, on which shared objects.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct WorkerJob {
    /// The program and the interpreter it runs on.
    pub program: ChildProgram,
    /// `Process-1`, `ForkPoolWorker-2`, ...
    pub name: String,
    /// What this process does in the preset (`worker`, `producer`, `consumer`, ...).
    pub role: String,
    /// Its number among the processes of that role, from 0.
    pub index: u32,
    /// The run's epoch (ns on the run's clock): the child stamps its events relative to it.
    pub epoch: u64,
    /// The parent's clock (so the child's stamps sit on the parent's axis, to the tick).
    pub clock: ClockCalibration,
    /// When the parent called `p.start()`, ns since the epoch.
    pub spawned_at: Nanos,
    /// When the target may run, ns since the epoch: CPython's fork (or spawn) and the child's
    /// bootstrap after the parent's `p.start()` returned. The child pads its start-up to it.
    pub target_at: Nanos,
    /// The `multiprocessing` modules the child has already ([`Imported::bits`]): a forked
    /// child has its parent's.
    ///
    /// [`Imported::bits`]: crate::engine::interpreter::imports::Imported::bits
    pub imported: u32,
    /// The parent's calibration (so the child does not spend 60 ms measuring its own).
    pub calibration: Calibration,
    /// Bytecodes the child may execute before it stops (the run's cap, what is left of it).
    pub budget: u64,
    /// Queues, values and pipes the child inherits (by file descriptor).
    pub shared: SharedObjects,
}

/// What a worker reports.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub enum FromWorker {
    Handshake {
        magic: String,
        version: u32,
        pid: u32,
    },
    /// Events, with the child's own lane and interpreter ids (the parent renumbers them).
    Events(TraceDelta),
    /// The bytecodes the child has executed so far (with every heartbeat): the parent charges
    /// them to the run's one work budget as they happen, so a child that is killed has paid.
    Progress { bytecodes: u64 },
    /// The program ended: its CPU time, bytecodes, and whatever it returns to the parent.
    Done {
        cpu_ns: u64,
        bytecodes: u64,
        hit_cap: bool,
        results: Vec<i64>,
    },
    /// The child could not run its program.
    Failed { reason: String },
}

#[derive(thiserror::Error, Debug)]
pub enum WireError {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("pipe error: {0}")]
    Io(#[from] std::io::Error),
}

/// Encodes `msg` as one message.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let body = rmp_serde::to_vec(msg).expect("wire messages serialise");
    let mut message = Vec::with_capacity(4 + body.len());
    message.extend_from_slice(&(body.len() as u32).to_le_bytes());
    message.extend_from_slice(&body);
    message
}

/// Writes one message (blocking: the job, the child's handshake and a failure to start).
pub fn write_message<T: Serialize>(out: &mut impl Write, msg: &T) -> std::io::Result<()> {
    out.write_all(&encode(msg))?;
    out.flush()
}

/// Collects bytes from a non-blocking fd and cuts them into messages.
#[derive(Default)]
pub struct MessageReader {
    buf: Vec<u8>,
    /// The other end closed the pipe.
    pub eof: bool,
}

impl MessageReader {
    /// Reads whatever is available now (the fd must be non-blocking). Returns bytes read.
    pub fn fill(&mut self, fd: BorrowedFd<'_>) -> Result<usize, WireError> {
        let mut total = 0;
        let mut chunk = [0u8; 64 * 1024];
        // A child that writes as fast as we read must not keep the reader here (or grow the
        // buffer) without end: at most this much per call, the rest stays in the pipe.
        while total < MAX_FILL {
            match os::read(fd, &mut chunk)? {
                Transfer::Done(0) => {
                    self.eof = true;
                    return Ok(total);
                }
                Transfer::Done(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    total += n;
                }
                Transfer::WouldBlock => return Ok(total),
            }
        }
        Ok(total)
    }

    /// The next whole message, decoded; `Ok(None)` if it has not fully arrived.
    pub fn next_message<T: DeserializeOwned>(&mut self) -> Result<Option<T>, WireError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_le_bytes(self.buf[..4].try_into().expect("4 bytes")) as usize;
        if len > MAX_MESSAGE {
            return Err(WireError::Malformed(format!(
                "a message of {len} bytes (at most {MAX_MESSAGE})"
            )));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let decoded = rmp_serde::from_slice(&self.buf[4..4 + len])
            .map_err(|e| WireError::Malformed(e.to_string()));
        self.buf.drain(..4 + len);
        decoded.map(Some)
    }

    /// Bytes received that do not form a whole message yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::trace::{
        InterpId, Lane, LaneId, LaneKind, Mark, MarkKind, QueueId, Span, State, Trace,
    };
    use std::os::fd::{AsFd, AsRawFd};

    fn pipe() -> (std::fs::File, std::fs::File) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two descriptors.
        let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
        assert_eq!(made, 0);
        use std::os::fd::FromRawFd;
        // SAFETY: both fds were just created and are owned here.
        unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        }
    }

    #[test]
    fn events_survive_the_pipe_including_tagged_enums() {
        let (r, mut w) = pipe();
        let span = Span {
            lane: LaneId(2),
            state: State::Starting,
            t0: 1,
            t1: 9,
            task: None,
        };
        // The bulk of the stream stays compact: an array of numbers, no field names.
        assert!(rmp_serde::to_vec(&span).unwrap().len() <= 24);
        let added = Trace {
            lanes: vec![Lane {
                id: LaneId(2),
                interp: InterpId(0),
                name: "MainThread".into(),
                kind: LaneKind::Main,
                tid: Some(7),
            }],
            spans: vec![span],
            marks: vec![Mark {
                lane: LaneId(2),
                t: 5,
                kind: MarkKind::Put {
                    queue: QueueId(1),
                    item: 42,
                },
            }],
            end: 9,
            ..Trace::default()
        };
        let delta = TraceDelta {
            added,
            open_spans: vec![span],
        };
        write_message(&mut w, &FromWorker::Events(delta.clone())).unwrap();
        write_message(&mut w, &FromWorker::Failed { reason: "x".into() }).unwrap();
        let mut reader = MessageReader::default();
        reader.fill(r.as_fd()).unwrap();
        match reader.next_message::<FromWorker>().unwrap() {
            Some(FromWorker::Events(got)) => assert_eq!(got, delta),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            reader.next_message::<FromWorker>().unwrap(),
            Some(FromWorker::Failed { .. })
        ));
        assert!(reader.next_message::<FromWorker>().unwrap().is_none());
    }

    #[test]
    fn a_fill_reads_at_most_max_fill_however_fast_the_child_writes() {
        let (rx, tx) = pipe();
        // The writer blocks when the pipe is full (its end is made blocking here).
        // SAFETY: F_SETFL on our own descriptor.
        unsafe { libc::fcntl(tx.as_raw_fd(), libc::F_SETFL, 0) };
        let writer = std::thread::spawn(move || {
            let mut tx = tx;
            let chunk = vec![0u8; 64 * 1024];
            for _ in 0..(4 * MAX_FILL / chunk.len()) {
                if tx.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
        let mut reader = MessageReader::default();
        let mut total = 0;
        while total < 4 * MAX_FILL {
            let n = reader.fill(rx.as_fd()).expect("reading works");
            assert!(n <= MAX_FILL, "one fill read {n} bytes");
            total += n;
            reader.buf.clear();
            if n == 0 {
                std::thread::yield_now();
            }
        }
        writer.join().expect("the writer ends");
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let (r, mut w) = pipe();
        w.write_all(&[5, 0, 0, 0, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1])
            .unwrap();
        let mut reader = MessageReader::default();
        reader.fill(r.as_fd()).unwrap();
        assert!(matches!(
            reader.next_message::<FromWorker>(),
            Err(WireError::Malformed(_))
        ));
        w.write_all(&u32::MAX.to_le_bytes()).unwrap();
        reader.fill(r.as_fd()).unwrap();
        assert!(matches!(
            reader.next_message::<FromWorker>(),
            Err(WireError::Malformed(_))
        ));
        drop(w);
        reader.fill(r.as_fd()).unwrap();
        assert!(reader.eof);
    }
}
