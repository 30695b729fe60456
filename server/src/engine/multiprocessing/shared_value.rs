//! `multiprocessing.Value('i', 0)`: an integer in real shared memory with a process-shared
//! `RLock`, read and written the way CPython's synchronized wrapper does it.
//!
//! In CPython each access of `v.value` takes the lock on its own
//! (`with self._lock: return self._obj.value`, and the same around the store), so
//! `v.value += 1` is: lock, load, unlock, add, lock, store, unlock. Two processes on two cores
//! interleave between the load and the store for real here — a relaxed load and a separate
//! relaxed store of the shared word, never an atomic add — and every store that overwrites a
//! value it did not read is a lost update (marked, up to [`MAX_LOST_MARKS`] per process).
//! `with v.get_lock():` around it holds the same (recursive) lock across both.
//!
//! Costs around each access, in bytecodes (see docs/processes.md): CPython 3.11 here runs
//! `v.value += 1` at about 150–190 ns an iteration against 23 ns for a plain loop iteration,
//! and `with v.get_lock(): v.value += 1` at about 390 ns.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use gilscope_shared::trace::{MarkKind, State};

use crate::engine::interpreter::imports::Import;
use crate::engine::interpreter::interp::Py;
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::shm::{Arena, Offset, RLock};

/// The property call, ctypes' getter and the C work of one lock acquire + release around a
/// read of `v.value` (half before the load, half after).
pub const GET_BYTECODES: u64 = 24;
/// The same around a store.
pub const SET_BYTECODES: u64 = 24;
// `with v.get_lock():` — the method call, `__enter__` and `__exit__` — costs 190 ns an
// iteration here, less the real semaphore operations the emulation does (~50 ns): 44
// bytecodes, charged where CPython spends them, before and after the acquire and the release.

/// `get_lock()`, `BEFORE_WITH` and `multiprocessing.synchronize.SemLock.__enter__`, a Python
/// function, up to its C `acquire` (about 75 of the `with`'s 195 ns of Python here).
const WITH_BEFORE_ACQUIRE: u64 = 17;
/// `__enter__`'s return.
const WITH_AFTER_ACQUIRE: u64 = 2;
/// The `with`'s exit calls `SemLock.__exit__(None, None, None)`, a Python function that
/// passes its `*args` on with `CALL_FUNCTION_EX` to the C `release`: about 95 ns here, all
/// of it with the lock still held (`lock.__exit__(None, None, None)` costs 100 ns more than
/// the C `release` called directly).
const WITH_BEFORE_RELEASE: u64 = 21;
/// `__exit__`'s return and the `with`'s end.
const WITH_AFTER_RELEASE: u64 = 4;
/// `v.value` or `v.value = x` of a `Value(.., lock=False)`: ctypes' property, no lock (18–19
/// ns here; also `a.raw` of a small `Array`).
pub const RAW_ACCESS_BYTECODES: u64 = 5;
/// `Value('i', 0)` once its module is imported: 0.05–0.07 ms on CPython 3.11 here.
pub const NEW_BYTECODES: u64 = 18_000;
/// At most this many lost-update marks per process (the count itself is exact).
const MAX_LOST_MARKS: u32 = 2_000;

pub struct SharedValue {
    arena: Arc<Arena>,
    value: Offset,
    lock: Offset,
    lost_marks: AtomicU32,
}

impl SharedValue {
    /// `Value('i', 0)` as the program calls it: the first in an interpreter imports
    /// `multiprocessing.sharedctypes` (and `ctypes`) and maps the shared heap's first arena;
    /// each makes its integer and `RLock` ([`NEW_BYTECODES`]; the real ones were made before
    /// the run, [`SharedValue::create`]).
    pub fn construct(&self, py: &mut Py) -> Result<(), Stopped> {
        py.multiprocessing_call(Import::SharedCtypes, NEW_BYTECODES)
    }

    /// `Value('i', 0)`: allocates the integer and its lock (parent, before children start).
    pub fn create(arena: &Arc<Arena>) -> io::Result<SharedValue> {
        let value = arena.alloc::<i64>()?;
        let lock = arena.alloc::<RLock>()?;
        RLock::init(arena, lock)?;
        Ok(Self::attach(arena, value, lock))
    }

    /// The value a parent created, from its offsets.
    pub fn attach(arena: &Arc<Arena>, value: Offset, lock: Offset) -> SharedValue {
        SharedValue {
            arena: arena.clone(),
            value,
            lock,
            lost_marks: AtomicU32::new(0),
        }
    }

    /// Where it lives, to pass to children as `(value, lock)` offsets.
    pub fn offsets(&self) -> (Offset, Offset) {
        (self.value, self.lock)
    }

    /// The value as it is in memory now (not Python: for probes and the final count).
    pub fn peek(&self) -> i64 {
        self.arena.int(self.value).load(Ordering::Relaxed)
    }

    pub fn set_raw(&self, v: i64) {
        self.arena.int(self.value).store(v, Ordering::Relaxed);
    }

    fn rlock(&self) -> &RLock {
        RLock::at(&self.arena, self.lock)
    }

    /// The lock's acquire: a try with the GIL held, then a blocking wait without it
    /// (`SemLock.acquire` does the same).
    fn lock(&self, py: &mut Py) -> Result<(), Stopped> {
        if self.rlock().try_acquire() {
            return Ok(());
        }
        let rlock = self.rlock();
        py.blocking(State::WaitLock, |_, stop| {
            rlock.acquire_blocking(stop).map_err(Stopped::from)
        })
    }

    /// `v.get_lock().acquire()` (the first half of `with v.get_lock():`).
    pub fn enter(&self, py: &mut Py) -> Result<(), Stopped> {
        py.straight(WITH_BEFORE_ACQUIRE)?;
        self.lock(py)?;
        py.straight(WITH_AFTER_ACQUIRE)
    }

    /// The end of `with v.get_lock():`.
    pub fn exit(&self, py: &mut Py) -> Result<(), Stopped> {
        py.straight(WITH_BEFORE_RELEASE)?;
        self.rlock().release();
        py.straight(WITH_AFTER_RELEASE)?;
        py.check()
    }

    /// `v.value` (a read under the lock).
    pub fn read(&self, py: &mut Py) -> Result<i64, Stopped> {
        py.straight(GET_BYTECODES / 2)?;
        self.lock(py)?;
        let v = self.peek();
        self.rlock().release();
        py.straight(GET_BYTECODES / 2)?;
        Ok(v)
    }

    /// `v.value = x` where `x` was computed from `read`; marks a lost update when the value
    /// changed in between.
    pub fn write(&self, py: &mut Py, read: i64, x: i64) -> Result<(), Stopped> {
        py.straight(SET_BYTECODES / 2)?;
        self.lock(py)?;
        let before = self.peek();
        self.set_raw(x);
        self.rlock().release();
        if before != read && self.lost_marks.fetch_add(1, Ordering::Relaxed) < MAX_LOST_MARKS {
            py.rec.mark(MarkKind::LostUpdate { read, written: x });
        }
        py.straight(SET_BYTECODES / 2)
    }

    /// `v.value` of a `Value(.., lock=False)`.
    pub fn read_unlocked(&self, py: &mut Py) -> Result<i64, Stopped> {
        py.straight(RAW_ACCESS_BYTECODES)?;
        Ok(self.peek())
    }

    /// `v.value = x` of a `Value(.., lock=False)`.
    pub fn write_unlocked(&self, py: &mut Py, x: i64) -> Result<(), Stopped> {
        self.set_raw(x);
        py.straight(RAW_ACCESS_BYTECODES)
    }

    /// One iteration of `for _ in range(n): v.value += 1`, optionally inside
    /// `with v.get_lock():`. Bytecodes as `dis` shows them on 3.11.
    pub fn increment(&self, py: &mut Py, with_lock: bool) -> Result<(), Stopped> {
        py.straight(2)?; // FOR_ITER, STORE_FAST
        if with_lock {
            self.enter(py)?;
        }
        py.straight(2)?; // LOAD_FAST v, COPY
        let v = self.read(py)?; // LOAD_ATTR value
        py.straight(2)?; // LOAD_CONST 1, BINARY_OP +=
        py.straight(1)?; // SWAP
        self.write(py, v, v + 1)?; // STORE_ATTR value
        if with_lock {
            self.exit(py)?;
        }
        py.bytecode()?; // JUMP_BACKWARD
        py.check()
    }
}
