//! Memory shared between the server and its worker processes, and the process-shared
//! primitives that live in it.
//!
//! A run's shared objects (values, queue semaphores, counters) are carved out of one
//! [`Arena`]: a `memfd` mapped `MAP_SHARED`, created by the parent and inherited by each child
//! through its file descriptor (the child maps the same pages). [`Sem`] is a POSIX semaphore
//! initialised with `pshared = 1` in that memory — what CPython's `SemLock` is on Linux — so a
//! `sem_post` in one process wakes a `sem_wait` in another. Every wait is bounded (a timed
//! wait of at most [`MAX_WAIT`], then a look at the stop flag).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::engine::interpreter::stop::{StopFlag, Stopped, MAX_WAIT};

/// A run's shared memory. Objects are allocated once, by the parent, before any child starts.
pub struct Arena {
    fd: OwnedFd,
    base: *mut u8,
    len: usize,
    used: AtomicUsize,
}

// SAFETY: the mapping is plain shared memory; every object placed in it is itself `Sync`
// (atomics, POSIX semaphores) and is only reached through `&` references.
unsafe impl Send for Arena {}
// SAFETY: as for `Send`: shared access only ever goes through `Sync` objects.
unsafe impl Sync for Arena {}

/// Every object's place in the arena is a multiple of this: its alignment, and a cache line
/// of its own.
const SLOT: usize = 64;

/// Where an object lives in an arena, as passed to a child. Made only by [`Arena::alloc`] or
/// by decoding a job, which refuses a value that is not a multiple of [`SLOT`]: so an offset is
/// always aligned for every object the arena holds, and [`Arena::at`] checks its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Offset(usize);

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: serde::Deserializer<'de>>(input: D) -> Result<Offset, D::Error> {
        let at = usize::deserialize(input)?;
        if at % SLOT != 0 {
            return Err(serde::de::Error::custom(format!(
                "shared-memory offset {at} is not a multiple of {SLOT}"
            )));
        }
        Ok(Offset(at))
    }
}

impl Arena {
    /// Creates `len` bytes of zeroed shared memory.
    pub fn create(len: usize) -> io::Result<Arena> {
        // SAFETY: a valid NUL-terminated name; flags are memfd's.
        let raw = unsafe { libc::memfd_create(c"gilscope-shm".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: ftruncate on our own memfd.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Self::map(fd, len)
    }

    /// Maps the arena a parent created, from the fd this process inherited.
    ///
    /// # Safety
    /// `fd` must be an open memfd of at least `len` bytes that nothing else in this process
    /// owns (the child takes ownership of it).
    pub unsafe fn attach(fd: RawFd, len: usize) -> io::Result<Arena> {
        // SAFETY: the caller gives us ownership of this open memfd.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Self::map(fd, len)
    }

    fn map(fd: OwnedFd, len: usize) -> io::Result<Arena> {
        // SAFETY: a fresh shared mapping of `len` bytes of `fd`.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Arena {
            fd,
            base: base.cast(),
            len,
            used: AtomicUsize::new(0),
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reserves room for a `T` (64-byte aligned: objects of different processes never share
    /// a cache line by accident).
    pub fn alloc<T>(&self) -> io::Result<Offset> {
        const { assert!(std::mem::align_of::<T>() <= SLOT) };
        let size = std::mem::size_of::<T>().next_multiple_of(SLOT);
        let offset = self.used.fetch_add(size, Ordering::Relaxed);
        if offset + size > self.len {
            return Err(io::Error::other("the run's shared memory is full"));
        }
        Ok(Offset(offset))
    }

    /// Reserves `len` bytes (an array's contents), 64-byte aligned.
    pub fn alloc_bytes(&self, len: usize) -> io::Result<Offset> {
        let size = len.max(1).next_multiple_of(SLOT);
        let offset = self.used.fetch_add(size, Ordering::Relaxed);
        if offset.checked_add(size).is_none_or(|end| end > self.len) {
            return Err(io::Error::other("the run's shared memory is full"));
        }
        Ok(Offset(offset))
    }

    /// The `len` bytes at `offset`, as a raw pointer (bounds checked).
    pub fn bytes_at(&self, offset: Offset, len: usize) -> *mut u8 {
        let at = offset.0;
        assert!(
            at.checked_add(len).is_some_and(|end| end <= self.len),
            "shared-memory bytes {at}+{len} are outside the arena of {} bytes",
            self.len
        );
        // SAFETY: in bounds of the live mapping (checked above).
        unsafe { self.base.add(at) }
    }

    /// The object at `offset`.
    ///
    /// # Safety
    /// A `T` must have been placed at `offset` (zeroed memory is a valid atomic; a [`Sem`]
    /// must have been initialised with [`Sem::init`]).
    pub unsafe fn at<T>(&self, offset: Offset) -> &T {
        const { assert!(std::mem::align_of::<T>() <= SLOT) };
        let at = offset.0;
        assert!(
            at.checked_add(std::mem::size_of::<T>())
                .is_some_and(|end| end <= self.len),
            "shared-memory offset {at} is outside the arena of {} bytes",
            self.len
        );
        // SAFETY: in bounds (checked above) of a live, page-aligned mapping, at a multiple of
        // SLOT (every Offset is), so aligned for T; the caller promises a `T` was placed there.
        unsafe { &*self.base.add(at).cast::<T>() }
    }

    /// A shared 64-bit integer at `offset` (zeroed memory is 0).
    pub fn int(&self, offset: Offset) -> &AtomicI64 {
        // SAFETY: any 8 aligned bytes of the mapping are a valid AtomicI64.
        unsafe { self.at(offset) }
    }

    pub fn word(&self, offset: Offset) -> &AtomicU64 {
        // SAFETY: as for `int`.
        unsafe { self.at(offset) }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; no reference outlives the arena.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// A POSIX semaphore shared between processes (`sem_init(.., pshared = 1, ..)`).
#[repr(transparent)]
pub struct Sem(std::cell::UnsafeCell<libc::sem_t>);

// SAFETY: POSIX semaphores are made to be used from many threads and processes at once.
unsafe impl Sync for Sem {}

/// Why a semaphore operation failed.
#[derive(thiserror::Error, Debug)]
pub enum SemError {
    #[error("the run was stopped")]
    Stopped,
    #[error("semaphore: {0}")]
    Os(io::Error),
}

impl From<SemError> for Stopped {
    fn from(_: SemError) -> Stopped {
        Stopped
    }
}

fn realtime_deadline(after: std::time::Duration) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    let ns = ts.tv_nsec as u64 + after.as_nanos() as u64;
    ts.tv_sec += (ns / 1_000_000_000) as libc::time_t;
    ts.tv_nsec = (ns % 1_000_000_000) as _;
    ts
}

impl Sem {
    /// Places a semaphore with `value` at `offset` of `arena` (parent only, before any child
    /// starts).
    pub fn init(arena: &Arena, offset: Offset, value: u32) -> io::Result<&Sem> {
        // SAFETY: `offset` was allocated for a Sem; sem_init on memory of the right size.
        let sem: &Sem = unsafe { arena.at(offset) };
        // SAFETY: a process-shared semaphore initialised in place, once, before any child runs.
        if unsafe { libc::sem_init(sem.0.get(), 1, value) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sem)
    }

    /// The semaphore at `offset` (already initialised by the parent).
    pub fn at(arena: &Arena, offset: Offset) -> &Sem {
        // SAFETY: the parent initialised a Sem there before starting this child.
        unsafe { arena.at(offset) }
    }

    /// `sem_trywait`: takes one unit if there is one.
    pub fn try_wait(&self) -> bool {
        // SAFETY: an initialised semaphore.
        unsafe { libc::sem_trywait(self.0.get()) == 0 }
    }

    /// `sem_wait`, bounded: waits in slices of [`MAX_WAIT`] until a unit is taken or `stop`.
    pub fn wait(&self, stop: &StopFlag) -> Result<(), SemError> {
        loop {
            if stop.is_set() {
                return Err(SemError::Stopped);
            }
            let deadline = realtime_deadline(MAX_WAIT);
            // SAFETY: an initialised semaphore and a valid timespec.
            if unsafe { libc::sem_timedwait(self.0.get(), &deadline) } == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::ETIMEDOUT) | Some(libc::EINTR) => continue,
                _ => return Err(SemError::Os(err)),
            }
        }
    }

    /// `sem_post`.
    pub fn post(&self) {
        // SAFETY: an initialised semaphore.
        unsafe { libc::sem_post(self.0.get()) };
    }

    /// `sem_getvalue` (what `Queue.qsize()` reads).
    pub fn value(&self) -> i64 {
        let mut v = 0;
        // SAFETY: an initialised semaphore and a valid out-pointer.
        unsafe { libc::sem_getvalue(self.0.get(), &mut v) };
        v as i64
    }
}

/// `multiprocessing.RLock`: a semaphore of 1 plus an owner (pid:tid) and a recursion count,
/// all in shared memory, as CPython's `SemLock(RECURSIVE_MUTEX)` keeps them.
#[repr(C)]
pub struct RLock {
    sem: Sem,
    owner: AtomicU64,
    count: AtomicU64,
}

/// This thread as a lock owner: pid and tid, looked up once per thread (two system calls
/// on every acquire would cost more than CPython's whole `acquire`).
fn me() -> u64 {
    thread_local! {
        static ME: u64 =
            (u64::from(std::process::id()) << 32) | u64::from(crate::engine::interpreter::clock::os_tid());
    }
    ME.with(|me| *me)
}

impl RLock {
    pub fn init(arena: &Arena, offset: Offset) -> io::Result<&RLock> {
        Sem::init(arena, offset, 1)?;
        Ok(Self::at(arena, offset))
    }

    pub fn at(arena: &Arena, offset: Offset) -> &RLock {
        // SAFETY: `init` placed an RLock at `offset` (its first field is the semaphore, the
        // others start zeroed).
        unsafe { arena.at(offset) }
    }

    /// Takes the lock without blocking if this thread holds it or it is free.
    pub fn try_acquire(&self) -> bool {
        if self.owner.load(Ordering::Acquire) == me() {
            self.count.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if self.sem.try_wait() {
            self.owner.store(me(), Ordering::Release);
            self.count.store(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Blocks (bounded slices) until the lock is ours.
    pub fn acquire_blocking(&self, stop: &StopFlag) -> Result<(), SemError> {
        if self.try_acquire() {
            return Ok(());
        }
        self.sem.wait(stop)?;
        self.owner.store(me(), Ordering::Release);
        self.count.store(1, Ordering::Relaxed);
        Ok(())
    }

    pub fn release(&self) {
        if self.count.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.owner.store(0, Ordering::Release);
            self.sem.post();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_is_aligned_by_construction_and_checked_for_range_on_use() {
        let arena = Arena::create(4096).unwrap();
        let first = arena.alloc::<AtomicU64>().unwrap();
        let second = arena.alloc::<Sem>().unwrap();
        assert_eq!(second.0 - first.0, SLOT);
        // A job's offsets come back as they went, and a misaligned one does not decode.
        let packed = rmp_serde::to_vec(&second).unwrap();
        assert_eq!(rmp_serde::from_slice::<Offset>(&packed).unwrap(), second);
        let odd = rmp_serde::to_vec(&(SLOT + 4)).unwrap();
        let err = rmp_serde::from_slice::<Offset>(&odd).unwrap_err();
        assert!(err.to_string().contains("not a multiple of 64"), "{err}");
        // Out of range: a panic, never a read past the mapping.
        let far: Offset = rmp_serde::from_slice(&rmp_serde::to_vec(&8192usize).unwrap()).unwrap();
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            arena.word(far).load(Ordering::Relaxed)
        }));
        assert!(read.is_err());
    }

    #[test]
    fn semaphores_and_ints_live_in_the_arena() {
        let arena = Arena::create(4096).unwrap();
        let (a, b) = (arena.alloc::<Sem>().unwrap(), arena.alloc::<i64>().unwrap());
        let sem = Sem::init(&arena, a, 2).unwrap();
        assert!(sem.try_wait() && sem.try_wait() && !sem.try_wait());
        sem.post();
        assert_eq!(sem.value(), 1);
        arena.int(b).store(7, Ordering::Relaxed);
        assert_eq!(arena.int(b).load(Ordering::Relaxed), 7);
        let stop = StopFlag::default();
        stop.set();
        let empty = Sem::init(&arena, arena.alloc::<Sem>().unwrap(), 0).unwrap();
        assert!(matches!(empty.wait(&stop), Err(SemError::Stopped)));
        let l = RLock::init(&arena, arena.alloc::<RLock>().unwrap()).unwrap();
        assert!(l.try_acquire() && l.try_acquire());
        l.release();
        l.release();
        assert!(l.try_acquire());
        assert!(arena.alloc::<[u8; 8192]>().is_err());
    }
}
