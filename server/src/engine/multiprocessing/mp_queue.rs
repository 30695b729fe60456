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
//! what `empty()` return, all at the same instant.
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
use crate::engine::interpreter::interp::{EngineError, Interp, Py, ThreadHandle};
use crate::engine::interpreter::stop::{wait_while, StopFlag, Stopped, MAX_WAIT};
use crate::engine::multiprocessing::shm::{Arena, Offset, RLock, Sem};
use crate::engine::os::{self, Ready, Transfer};

/// `Queue.put`'s Python (closed check, semaphore call, `with self._notempty`, append,
/// `notify()`): 622 ns a put on this machine, feeder's share included (docs/processes.md).
pub const PUT_BYTECODES: u64 = 150;
/// `Queue.get`'s Python around its two reads (`with self._rlock`, `_recv_bytes`,
/// `self._sem.release()`). A consumer process keeps up with 348k messages/s here, so a get
/// with unpickling and its read system calls costs at most 2.9 µs; 4.1–5.2 µs measured in the
/// producer's own process, where the feeder competes for the GIL.
pub const GET_BYTECODES: u64 = 500;
/// `_ForkingPickler.dumps(obj)` of a small int, in the feeder: 1.37 µs here (`timeit`).
pub const PICKLE_BYTECODES: u64 = 415;
/// `_ForkingPickler.loads(res)` in `get`: 83 ns here.
pub const UNPICKLE_BYTECODES: u64 = 25;
/// One round of the feeder's loop around a send (`_feed`: the condition, popleft, the lock).
pub const FEED_BYTECODES: u64 = 100;
/// `q.qsize()`: a method call and `sem_getvalue` (67 ns here).
pub const QSIZE_BYTECODES: u64 = 15;
/// `q.empty()`: `not self._poll()` goes through `multiprocessing.connection.wait` and a
/// selector (2.3 µs here), around its `poll` system call.
pub const EMPTY_BYTECODES: u64 = 650;

/// One message on the pipe: the item's number and its value. 16 bytes, below `PIPE_BUF`, so
/// each write is atomic even with several feeders writing.
const MSG: usize = 16;

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
    pub depth_track: CounterId,
    pub qsize_track: CounterId,
    pub empty_track: CounterId,
}

/// What one process's feeder works from.
#[derive(Default)]
struct Buffer {
    items: Mutex<VecDeque<Option<(u64, i64)>>>,
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
        let (qsize, empty) = (self.qsize_now(), self.empty_now());
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
        py.call(|py| py.straight(PUT_BYTECODES))?;
        if !self.sem().try_wait() {
            let sem = self.sem();
            py.blocking(State::BlockedPut, |_, stop| {
                sem.wait(stop).map_err(Stopped::from)
            })?;
        }
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
        items.push_back(Some((item, value)));
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
        let wlock = self.desc.wlock;
        let spawned = py.interp.spawn(
            "QueueFeederThread",
            LaneKind::Feeder,
            Box::new(move |py: &mut Py| feed(py, &buffer, &writer, RLock::at(&arena, wlock))),
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
        py.call(|py| py.straight(GET_BYTECODES))?;
        let rlock = RLock::at(&self.arena, self.desc.rlock);
        if !rlock.try_acquire() {
            py.blocking(State::BlockedGet, |_, stop| {
                rlock.acquire_blocking(stop).map_err(Stopped::from)
            })?;
        }
        let mut msg = [0u8; MSG];
        let got = match read_msg(&self.reader, &mut msg, None) {
            Ok(true) => Ok(()),
            Ok(false) => {
                let reader = &self.reader;
                py.blocking(State::BlockedGet, |_, stop| {
                    match read_msg(reader, &mut msg, Some(stop)) {
                        Ok(true) => Ok(()),
                        _ => Err(Stopped),
                    }
                })
            }
            Err(e) => {
                py.interp.fail(format!("queue pipe: {e}"));
                Err(Stopped)
            }
        };
        rlock.release();
        got?;
        let item = u64::from_le_bytes(msg[..8].try_into().expect("8 bytes"));
        let value = i64::from_le_bytes(msg[8..].try_into().expect("8 bytes"));
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
        py.straight(UNPICKLE_BYTECODES)?;
        Ok((item, value))
    }
}

/// Reads one whole message. Without `stop`: only if one is there now (`Ok(false)` if not).
/// With it: waits in bounded polls until one arrives or the run stops.
fn read_msg(reader: &File, msg: &mut [u8; MSG], stop: Option<&StopFlag>) -> io::Result<bool> {
    let mut filled = 0;
    loop {
        match os::read(reader, &mut msg[filled..])? {
            Transfer::Done(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "queue pipe closed",
                ))
            }
            Transfer::Done(n) => {
                filled += n;
                if filled == MSG {
                    return Ok(true);
                }
                continue;
            }
            Transfer::WouldBlock => {}
        }
        match stop {
            // Nothing there and no waiting wanted (a partial message is finished below).
            None if filled == 0 => return Ok(false),
            Some(stop) if stop.is_set() => {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"))
            }
            _ => {
                os::wait_ready(reader, Ready::Read, MAX_WAIT);
            }
        }
    }
}

/// The feeder thread (`Queue._feed`): waits for buffered items (idle, GIL released),
/// pickles each (with the GIL) and writes it to the pipe under the write lock.
fn feed(py: &mut Py, buffer: &Buffer, writer: &File, wlock: &RLock) -> Result<(), Stopped> {
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
        let Some((item, value)) = entry else {
            return Ok(()); // the sentinel: the process is exiting
        };
        py.straight(FEED_BYTECODES)?;
        py.straight(PICKLE_BYTECODES)?;
        let mut msg = [0u8; MSG];
        msg[..8].copy_from_slice(&item.to_le_bytes());
        msg[8..].copy_from_slice(&value.to_le_bytes());
        let sent = py.blocking(State::Io, |_, stop| {
            wlock.acquire_blocking(stop).map_err(Stopped::from)?;
            let sent = write_msg(writer, &msg, stop);
            wlock.release();
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

/// Writes one message (atomically: it is smaller than `PIPE_BUF`), waiting in bounded polls
/// while the pipe is full.
fn write_msg(writer: &File, msg: &[u8; MSG], stop: &StopFlag) -> Result<(), Stopped> {
    loop {
        match os::write(writer, msg) {
            Ok(Transfer::Done(MSG)) => return Ok(()),
            Ok(Transfer::WouldBlock) => {}
            // A short write cannot happen below PIPE_BUF; an error means the pipe broke.
            Ok(Transfer::Done(_)) | Err(_) => return Err(Stopped),
        }
        stop.check()?;
        os::wait_ready(writer, Ready::Write, MAX_WAIT);
    }
}
