//! `multiprocessing.Queue(maxsize)` across processes, built the way CPython builds it
//! (`Lib/multiprocessing/queues.py`):
//!
//! - a capacity semaphore (`BoundedSemaphore(maxsize)`), a POSIX semaphore in the run's shared
//!   memory: `put` takes a slot (blocking while the queue is full), `get` gives it back;
//! - in each process, a buffer and a feeder thread (`QueueFeederThread`, a lane of its own,
//!   started lazily by the first `put`) that pickles what is buffered and writes it to
//! - a real OS pipe, under a write lock; `get` reads from the pipe under a read lock.
//!
//! `qsize()` is `maxsize - sem_getvalue(sem)`; `empty()` is "the pipe has nothing to read"
//! (`poll`), so an item still in a feeder's buffer is invisible to it: `empty()` can answer
//! True just after a `put`. Every put and get records a mark with its item and samples the
//! true depth (items put and not yet got, an integer in shared memory), what `qsize()` and
//! what `empty()` return, all at the same instant. The sampled `empty()` is read from a count
//! of the messages in the pipe (written and not yet read, kept beside each write and read)
//! rather than from a `poll` of its own: a system call on every put and get is a cost CPython
//! does not pay, and on the producer's side it held the GIL the feeder needed (issue #10).
//! `q.empty()` itself polls, as CPython does.
//!
//! Costs around each operation, in bytecodes (docs/processes.md): the Python code of `put` and
//! `get`, pickling and unpickling a small int, and the feeder's wake-up — a real one here: the
//! feeder is a thread of the producer's interpreter and must take its GIL.
//!
//! Simplification: a waiter for the read lock (another consumer is in `recv`) is shown as
//! blocked in `get`, like the one in `recv`: both wait for an item.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use gilscope_shared::trace::{CounterId, CounterKind, LaneKind, MarkKind, QueueId, State};
use serde::{Deserialize, Serialize};

use crate::engine::interpreter::cond::Cond;
use crate::engine::interpreter::imports::Import;
use crate::engine::interpreter::interp::{EngineError, Interp, Py, ThreadHandle};
use crate::engine::interpreter::stop::{wait_while, StopFlag, Stopped, MAX_WAIT};
use crate::engine::multiprocessing::shm::{Arena, Offset, RLock, Sem};
use crate::engine::os::{self, Ready, Transfer};

/// `Queue()` once its module is imported: a `Lock`, a `BoundedSemaphore`, a `Pipe`, a
/// `Condition` and the `Queue`'s own Python; 0.3 ms on CPython 3.11 here (a later `Queue()`).
pub const NEW_BYTECODES: u64 = 90_000;
/// `Queue.put`'s Python (closed check, semaphore call, `with self._notempty`, append,
/// `notify()`): 622 ns a put on this machine, feeder's share included (docs/processes.md).
pub const PUT_BYTECODES: u64 = 150;
// `Queue.get`'s Python around its two reads (`with self._rlock`, `_recv_bytes`,
// `self._sem.release()`): 500 bytecodes. A consumer process keeps up with 348k messages/s
// here, so a get with unpickling and its read system calls costs at most 2.9 µs; 4.1–5.2 µs
// measured in the producer's own process, where the feeder competes for the GIL. Charged
// where CPython spends it, most of it holding the read lock (below).

/// `get`'s checks and the `with self._rlock:`'s Python `__enter__` up to its C acquire.
/// Timed here (a pipe full of waiting items, best of seven loops of 2,000): `q.get()` 1.8 µs;
/// `with q._rlock: q._reader.recv_bytes()` and `q._sem.release()` 1.47 µs of it, of which
/// `recv_bytes` and the release alone 1.21 µs; so about 15 % of get's Python comes before
/// the lock, 75 % under it, 10 % after (`_sem.release()`, the return).
const GET_BEFORE_LOCK: u64 = 75;
/// `recv_bytes`' Python around its two reads (`_recv(4)`, `struct.unpack`, `_recv(size)`,
/// `getvalue()`), and `__exit__` up to its C release: all with the read lock held, so
/// consumers sharing a queue wait for each other's.
const GET_UNDER_LOCK: u64 = 380;
const GET_AFTER_LOCK: u64 = 45;
/// `_ForkingPickler.dumps(obj)` of a small int, in the feeder: 1.37 µs here (`timeit`).
pub const PICKLE_BYTECODES: u64 = 415;
/// `_ForkingPickler.loads(res)` in `get`: 83 ns here.
pub const UNPICKLE_BYTECODES: u64 = 25;
/// One round of the feeder's loop around a send (`_feed`: the condition, popleft, the lock).
pub const FEED_BYTECODES: u64 = 100;
/// `q.qsize()`: a method call and `sem_getvalue` (67 ns here); `q.full()` costs the same.
pub const QSIZE_BYTECODES: u64 = 15;
/// `q.put(x, block=False)` that finds no room: the closed check, the semaphore's failed try,
/// `raise Full` and the caller's `except queue.Full` (287 ns here, 277 over an empty loop).
pub const PUT_FULL_BYTECODES: u64 = 85;
/// `q.empty()`: `not self._poll()` goes through `multiprocessing.connection.wait` and a
/// selector (2.3 µs here), around its `poll` system call.
pub const EMPTY_BYTECODES: u64 = 650;

/// A message's header on the pipe: the item's number, its value and the length of the bytes
/// that follow (a `bytes` payload, see [`MpQueue::put_bytes`]).
const HEADER: usize = 24;
/// Writes up to this size are atomic (`PIPE_BUF`); longer messages are written in pieces under
/// the write lock, as CPython's `send_bytes` does.
const PIPE_BUF: usize = 4096;
/// The largest payload a message may carry (the `message_bytes` knob's cap).
pub const MAX_PAYLOAD: usize = 1 << 20;

/// The payload's bytes: zeros, as the lessons' `bytes(n)`.
pub static ZEROS: [u8; MAX_PAYLOAD] = [0; MAX_PAYLOAD];

/// A queue as a child finds it: its semaphores in the arena, its pipe, its counter tracks.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct QueueDesc {
    pub name: String,
    pub id: QueueId,
    pub capacity: u64,
    pub read_fd: i32,
    pub write_fd: i32,
    /// The capacity semaphore (`BoundedSemaphore(maxsize)`).
    pub sem: Offset,
    /// The read lock and the write lock.
    pub rlock: Offset,
    pub wlock: Offset,
    /// Items put and not yet got (the truth the trace shows).
    pub depth: Offset,
    /// Messages written to the pipe and not yet read (what a `poll` would see).
    pub in_pipe: Offset,
    pub depth_track: CounterId,
    pub qsize_track: CounterId,
    pub empty_track: CounterId,
}

/// What one process's feeder works from.
#[derive(Default)]
struct Buffer {
    /// Each put's item, value and payload length; `None` tells the feeder to finish.
    items: Mutex<VecDeque<Option<(u64, i64, usize)>>>,
    not_empty: Cond,
}

/// A `multiprocessing.Queue` as one process sees it.
pub struct MpQueue {
    pub desc: QueueDesc,
    arena: Arc<Arena>,
    reader: File,
    writer: File,
    buffer: Arc<Buffer>,
    feeder: OnceLock<ThreadHandle>,
}

fn pipe() -> io::Result<(File, File)> {
    let (reader, writer) = os::pipe()?;
    Ok((File::from(reader), File::from(writer)))
}

impl MpQueue {
    /// `Queue(maxsize)` as the program calls it: the first in an interpreter imports
    /// `multiprocessing.queues`, each one makes its lock, semaphore, condition and pipe
    /// ([`NEW_BYTECODES`]; the real ones were made before the run, [`MpQueue::create`]).
    pub fn construct(&self, py: &mut Py) -> Result<(), Stopped> {
        py.multiprocessing_call(Import::Queues, NEW_BYTECODES)
    }

    /// `Queue(maxsize)` in the parent: the semaphores, the depth and the pipe, and the
    /// queue's counter tracks in the trace.
    pub fn create(
        interp: &Interp,
        arena: &Arc<Arena>,
        name: &str,
        capacity: u64,
    ) -> Result<MpQueue, EngineError> {
        let shm = EngineError::SharedMemory;
        let sem = arena.alloc::<Sem>().map_err(shm)?;
        Sem::init(arena, sem, capacity.min(i32::MAX as u64) as u32).map_err(shm)?;
        let rlock = arena.alloc::<RLock>().map_err(shm)?;
        RLock::init(arena, rlock).map_err(shm)?;
        let wlock = arena.alloc::<RLock>().map_err(shm)?;
        RLock::init(arena, wlock).map_err(shm)?;
        let depth = arena.alloc::<i64>().map_err(shm)?;
        let in_pipe = arena.alloc::<i64>().map_err(shm)?;
        let (reader, writer) = pipe().map_err(shm)?;
        let id = interp.new_queue(name, Some(capacity));
        let desc = QueueDesc {
            name: name.to_string(),
            id,
            capacity,
            read_fd: reader.as_raw_fd(),
            write_fd: writer.as_raw_fd(),
            sem,
            rlock,
            wlock,
            depth,
            in_pipe,
            depth_track: interp.new_counter(
                &format!("{name} depth (true)"),
                CounterKind::QueueDepth { queue: id },
            ),
            qsize_track: interp.new_counter(
                &format!("{name}.qsize()"),
                CounterKind::QueueQsize { queue: id },
            ),
            empty_track: interp.new_counter(
                &format!("{name}.empty()"),
                CounterKind::QueueEmpty { queue: id },
            ),
        };
        Ok(MpQueue {
            desc,
            arena: arena.clone(),
            reader,
            writer,
            buffer: Arc::default(),
            feeder: OnceLock::new(),
        })
    }

    /// The queue in a child, from what its job says.
    ///
    /// # Safety
    /// The descriptors in `desc` must be the inherited pipe ends, owned by nothing else here.
    pub unsafe fn attach(arena: &Arc<Arena>, desc: &QueueDesc) -> MpQueue {
        MpQueue {
            desc: desc.clone(),
            arena: arena.clone(),
            // SAFETY: the caller hands over these inherited descriptors (see above).
            reader: unsafe { File::from_raw_fd(desc.read_fd) },
            // SAFETY: as for the read end.
            writer: unsafe { File::from_raw_fd(desc.write_fd) },
            buffer: Arc::default(),
            feeder: OnceLock::new(),
        }
    }

    fn sem(&self) -> &Sem {
        Sem::at(&self.arena, self.desc.sem)
    }

    fn depth(&self) -> &std::sync::atomic::AtomicI64 {
        self.arena.int(self.desc.depth)
    }

    fn in_pipe(&self) -> &std::sync::atomic::AtomicI64 {
        self.arena.int(self.desc.in_pipe)
    }

    /// What `q.qsize()` returns: `maxsize - sem value`.
    fn qsize_now(&self) -> i64 {
        self.desc.capacity as i64 - self.sem().value()
    }

    /// What `q.empty()` returns: nothing to read in the pipe.
    fn empty_now(&self) -> bool {
        !os::wait_ready(&self.reader, Ready::Read, std::time::Duration::ZERO)
    }

    /// Samples the true depth and what `qsize()` and `empty()` say, at one instant.
    fn sample(&self, py: &mut Py, depth: i64) {
        let t = py.rec.now();
        let empty = self.in_pipe().load(Ordering::SeqCst) <= 0;
        let qsize = self.qsize_now();
        py.rec.sample_at(self.desc.depth_track, t, depth as f64);
        py.rec.sample_at(self.desc.qsize_track, t, qsize as f64);
        py.rec
            .sample_at(self.desc.empty_track, t, f64::from(u8::from(empty)));
    }

    /// `q.qsize()`.
    pub fn qsize(&self, py: &mut Py) -> Result<i64, Stopped> {
        py.call(|py| py.straight(QSIZE_BYTECODES))?;
        Ok(self.qsize_now())
    }

    /// `q.empty()`, also sampling the three tracks at that instant. CPython's `empty()` is
    /// `not self._poll()`, a `poll` system call made with the GIL released — a moment in
    /// which the woken feeder can take the GIL.
    pub fn empty(&self, py: &mut Py) -> Result<bool, Stopped> {
        py.call(|py| py.straight(EMPTY_BYTECODES / 2))?;
        let empty = py.blocking(State::Io, |_, _| Ok(self.empty_now()))?;
        py.straight(EMPTY_BYTECODES / 2)?;
        let depth = self.depth().load(Ordering::SeqCst);
        self.sample(py, depth);
        Ok(empty)
    }

    /// `q.put(value)`; `item` numbers it in the trace.
    pub fn put(&self, py: &mut Py, item: u64, value: i64) -> Result<(), Stopped> {
        self.put_bytes(py, item, value, 0)
    }

    /// `q.put(bytes(payload))` (with `value` riding along for the lessons that check it): the
    /// feeder pickles and writes the payload's bytes for real, so a big message costs its copies
    /// and its trips through the pipe. `payload` is at most [`MAX_PAYLOAD`].
    pub fn put_bytes(
        &self,
        py: &mut Py,
        item: u64,
        value: i64,
        payload: usize,
    ) -> Result<(), Stopped> {
        py.call(|py| py.straight(PUT_BYTECODES))?;
        if !self.sem().try_wait() {
            let sem = self.sem();
            py.blocking(State::BlockedPut, |_, stop| {
                sem.wait(stop).map_err(Stopped::from)
            })?;
        }
        self.append(py, item, value, payload.min(MAX_PAYLOAD))
    }

    /// `q.put(value, block=False)`: false where CPython raises `queue.Full` (no room: the
    /// capacity semaphore is at zero).
    pub fn put_nowait(&self, py: &mut Py, item: u64, value: i64) -> Result<bool, Stopped> {
        if !self.sem().try_wait() {
            py.call(|py| py.straight(PUT_FULL_BYTECODES))?;
            return Ok(false);
        }
        py.call(|py| py.straight(PUT_BYTECODES))?;
        self.append(py, item, value, 0)?;
        Ok(true)
    }

    /// `q.full()`: whether the capacity semaphore is at zero (`_semlock._is_zero()`), the
    /// same count `qsize()` reads.
    pub fn full(&self, py: &mut Py) -> Result<bool, Stopped> {
        py.call(|py| py.straight(QSIZE_BYTECODES))?;
        Ok(self.sem().value() == 0)
    }

    /// The rest of a `put` once its unit of capacity is taken: the item joins the feeder's
    /// buffer.
    fn append(&self, py: &mut Py, item: u64, value: i64, payload: usize) -> Result<(), Stopped> {
        let depth = self.depth().fetch_add(1, Ordering::SeqCst) + 1;
        let t = py.rec.now();
        py.rec.mark_at(
            t,
            MarkKind::Put {
                queue: self.desc.id,
                item,
            },
        );
        self.start_feeder(py)?;
        let mut items = self.buffer.items.lock().unwrap_or_else(|e| e.into_inner());
        items.push_back(Some((item, value, payload)));
        drop(items);
        self.buffer.not_empty.notify_one();
        self.sample(py, depth);
        Ok(())
    }

    /// Starts this process's feeder thread on the first `put` (`Queue._start_thread`).
    fn start_feeder(&self, py: &mut Py) -> Result<(), Stopped> {
        if self.feeder.get().is_some() {
            return Ok(());
        }
        let buffer = self.buffer.clone();
        // The feeder writes with its own handle on the pipe (as CPython's `_feed` gets
        // `self._writer`).
        let writer = match self.writer.try_clone() {
            Ok(w) => w,
            Err(e) => {
                py.interp.fail(format!("queue feeder: {e}"));
                return Err(Stopped);
            }
        };
        let arena = self.arena.clone();
        let (wlock, in_pipe) = (self.desc.wlock, self.desc.in_pipe);
        let spawned = py.interp.spawn(
            "QueueFeederThread",
            LaneKind::Feeder,
            Box::new(move |py: &mut Py| {
                let pipe = Pipe {
                    writer: &writer,
                    wlock: RLock::at(&arena, wlock),
                    in_pipe: arena.int(in_pipe),
                };
                feed(py, &buffer, pipe)
            }),
        );
        match spawned {
            Ok(handle) => {
                py.start(&handle)?;
                let _ = self.feeder.set(handle);
                Ok(())
            }
            Err(e) => {
                py.interp.fail(format!("queue feeder: {e}"));
                Err(Stopped)
            }
        }
    }

    /// What a process does at exit for each queue it put into (`Queue._finalize_join`):
    /// tells its feeder to finish the buffer and joins it.
    pub fn join_thread(&self, py: &mut Py) -> Result<(), Stopped> {
        let Some(feeder) = self.feeder.get() else {
            return Ok(());
        };
        self.buffer
            .items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(None);
        self.buffer.not_empty.notify_one();
        py.join(feeder)
    }

    /// `q.get()`: the item's number and value.
    pub fn get(&self, py: &mut Py) -> Result<(u64, i64), Stopped> {
        py.call(|py| py.straight(GET_BEFORE_LOCK))?;
        let rlock = RLock::at(&self.arena, self.desc.rlock);
        if !rlock.try_acquire() {
            py.blocking(State::BlockedGet, |_, stop| {
                rlock.acquire_blocking(stop).map_err(Stopped::from)
            })?;
        }
        let got = py
            .straight(GET_UNDER_LOCK / 2)
            .and_then(|()| recv(py, &self.reader, HEADER))
            .and_then(|header| {
                let len = u64::from_le_bytes(header[16..].try_into().expect("8 bytes")) as usize;
                if len > MAX_PAYLOAD {
                    py.interp
                        .fail(format!("queue pipe: a message of {len} bytes"));
                    return Err(Stopped);
                }
                let payload = recv(py, &self.reader, len)?;
                py.straight(GET_UNDER_LOCK - GET_UNDER_LOCK / 2)?;
                Ok((header, payload))
            });
        if got.is_ok() {
            self.in_pipe().fetch_sub(1, Ordering::SeqCst);
        }
        rlock.release();
        let (header, payload) = got?;
        let item = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let value = i64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        // The depth drops before the slot is given back, so it never exceeds the capacity.
        let depth = self.depth().fetch_sub(1, Ordering::SeqCst) - 1;
        self.sem().post();
        let t = py.rec.now();
        py.rec.mark_at(
            t,
            MarkKind::Get {
                queue: self.desc.id,
                item,
            },
        );
        self.sample(py, depth);
        py.straight(GET_AFTER_LOCK + UNPICKLE_BYTECODES)?;
        // `loads` makes a new bytes object of the payload: an allocation and a copy.
        std::hint::black_box(payload.to_vec());
        Ok((item, value))
    }
}

/// `Connection._recv(size)` as CPython 3.11 runs it, allocation for allocation and through the
/// same C allocator (Rust's `System` is glibc's `malloc`, as CPython's large objects are): each
/// `os.read(fd, remaining)` makes a bytes object for all that remains and shrinks it to what
/// came, and that is appended to an `io.BytesIO`, which grows by CPython's rule
/// ([`bytes_io_write`]); `getvalue()` trims it to the message. A 1 MiB message arrives 64 KB
/// of pipe at a time: sixteen reads, a dozen moves of the growing buffer, and the pages all of
/// it faults in are much of what the message costs (CPython here: about 300 page faults a
/// message). Blocks (GIL released, `BlockedGet`) while the pipe has nothing; `Err(Stopped)`
/// once the run stops or the pipe breaks.
fn recv(py: &mut Py, reader: &File, size: usize) -> Result<Vec<u8>, Stopped> {
    let mut bytes_io = Vec::new();
    while bytes_io.len() < size {
        let mut chunk = Vec::with_capacity(size - bytes_io.len());
        match os::read_into_spare(reader, &mut chunk) {
            Ok(Transfer::Done(n)) if n > 0 => {
                chunk.shrink_to_fit(); // `_PyBytes_Resize` to what came
                bytes_io_write(&mut bytes_io, &chunk);
            }
            Ok(Transfer::WouldBlock) => py.blocking(State::BlockedGet, |_, stop| loop {
                stop.check()?;
                if os::wait_ready(reader, Ready::Read, MAX_WAIT) {
                    return Ok(());
                }
            })?,
            Ok(Transfer::Done(_)) => {
                py.interp.fail("queue pipe: closed".to_string());
                return Err(Stopped);
            }
            Err(e) => {
                py.interp.fail(format!("queue pipe: {e}"));
                return Err(Stopped);
            }
        }
    }
    bytes_io.shrink_to_fit(); // `getvalue()`
    Ok(bytes_io)
}

/// `io.BytesIO.write(data)` at the end of `buf`, whose capacity is the BytesIO's allocation.
/// When the data does not fit, CPython 3.11's `resize_buffer` grows the allocation to the new
/// size (plus one) if that is more than an eighth over it, else to an eighth over the new
/// size, as `list` does.
fn bytes_io_write(buf: &mut Vec<u8>, data: &[u8]) {
    let size = buf.len() + data.len();
    let alloc = buf.capacity();
    if size > alloc {
        let wanted = if size <= alloc + alloc / 8 {
            size + (size >> 3) + if size < 9 { 3 } else { 6 }
        } else {
            size + 1
        };
        buf.reserve_exact(wanted - buf.len());
    }
    buf.extend_from_slice(data);
}

/// The pipe's end as a feeder writes to it.
struct Pipe<'a> {
    writer: &'a File,
    wlock: &'a RLock,
    /// Counted up after each write (see [`QueueDesc::in_pipe`]).
    in_pipe: &'a std::sync::atomic::AtomicI64,
}

/// The feeder thread (`Queue._feed`): waits for buffered items (idle, GIL released),
/// pickles each (with the GIL) and writes it to the pipe under the write lock.
fn feed(py: &mut Py, buffer: &Buffer, pipe: Pipe) -> Result<(), Stopped> {
    loop {
        let next = {
            let mut items = buffer.items.lock().unwrap_or_else(|e| e.into_inner());
            items.pop_front()
        };
        let Some(entry) = next else {
            py.blocking(State::Idle, |_, stop| {
                let items = buffer.items.lock().unwrap_or_else(|e| e.into_inner());
                wait_while(stop, &buffer.not_empty, items, |items| items.is_empty()).map(drop)
            })?;
            continue;
        };
        let Some((item, value, payload)) = entry else {
            return Ok(()); // the sentinel: the process is exiting
        };
        py.straight(FEED_BYTECODES)?;
        py.straight(PICKLE_BYTECODES)?;
        // Pickling copies the payload into a new buffer (`_ForkingPickler.dumps` writes into a
        // fresh `BytesIO` for every object): a real allocation and a real copy, whose pages a
        // big message faults in anew when the allocator has given the last one back.
        let mut msg = Vec::with_capacity(HEADER + payload);
        msg.extend_from_slice(&item.to_le_bytes());
        msg.extend_from_slice(&value.to_le_bytes());
        msg.extend_from_slice(&(payload as u64).to_le_bytes());
        msg.extend_from_slice(&ZEROS[..payload]);
        let sent = py.blocking(State::Io, |_, stop| {
            pipe.wlock.acquire_blocking(stop).map_err(Stopped::from)?;
            let sent = write_msg(pipe.writer, &msg, stop);
            if sent.is_ok() {
                pipe.in_pipe.fetch_add(1, Ordering::SeqCst);
            }
            pipe.wlock.release();
            sent
        });
        if sent.is_err() && !py.stop_flag().is_set() {
            py.interp
                .fail("a queue feeder could not write to the queue's pipe".to_string());
        }
        sent?;
        py.check()?;
    }
}

/// Writes one message, waiting in bounded polls while the pipe is full. Up to `PIPE_BUF`
/// bytes it is one atomic write; a longer one goes in pieces (the caller holds the write lock,
/// so pieces of two messages never interleave).
fn write_msg(writer: &File, msg: &[u8], stop: &StopFlag) -> Result<(), Stopped> {
    let mut sent = 0;
    while sent < msg.len() {
        match os::write(writer, &msg[sent..]) {
            Ok(Transfer::Done(n)) if n > 0 => {
                debug_assert!(
                    n == msg.len() || msg.len() > PIPE_BUF,
                    "a short atomic write"
                );
                sent += n;
                continue;
            }
            Ok(Transfer::WouldBlock) => {}
            // An error (or a zero-byte write) means the pipe broke.
            Ok(Transfer::Done(_)) | Err(_) => return Err(Stopped),
        }
        stop.check()?;
        os::wait_ready(writer, Ready::Write, MAX_WAIT);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader's buffer grows as CPython's `io.BytesIO` does: its allocations after each of
    /// sixteen writes of 64 KiB (a 1 MiB message read from the pipe), and after writes of 4, 3
    /// and 100 bytes, as CPython 3.11 reports them (`sys.getsizeof(b)` less the BytesIO's 80
    /// bytes and the bytes object's 33).
    #[test]
    fn the_readers_buffer_grows_as_cpythons_bytes_io() {
        let cpython = [
            65_537, 131_073, 196_609, 262_145, 327_681, 393_217, 458_753, 524_289, 663_558,
            663_558, 811_014, 811_014, 958_470, 958_470, 1_105_926, 1_105_926,
        ];
        let mut buf = Vec::new();
        let grown: Vec<usize> = cpython
            .iter()
            .map(|_| {
                bytes_io_write(&mut buf, &[7; 65_536]);
                buf.capacity()
            })
            .collect();
        assert_eq!(grown, cpython);
        assert_eq!(buf.len(), 1 << 20);
        let mut small = Vec::new();
        let grown: Vec<usize> = [4, 3, 100]
            .iter()
            .map(|&n| {
                bytes_io_write(&mut small, &vec![1; n]);
                small.capacity()
            })
            .collect();
        assert_eq!(grown, [5, 8, 108]);
    }
}
