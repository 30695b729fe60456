//! `multiprocessing.Array("c", n, lock=False)`: `n` bytes in the run's shared memory, written
//! with `a.raw = data` and read with `x = a.raw`. Both copy for real (a `memmove` into the
//! mapping; a new bytes object out of it), so a big message costs what it costs in CPython:
//! `a.raw = bytes(1 << 20)` 15 µs and `a.raw` 30 µs here, against 21–23 ns for 8 bytes.
//!
//! Without a lock, as in the lesson: the processes hand the array over with semaphores or a
//! lock of their own, which order every write before the reads that follow it.

use std::io;
use std::sync::Arc;

use crate::engine::interpreter::interp::Py;
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_queue::ZEROS;
use crate::engine::multiprocessing::shared_value::RAW_ACCESS_BYTECODES;
use crate::engine::multiprocessing::shm::{Arena, Offset};

pub struct SharedArray {
    arena: Arc<Arena>,
    at: Offset,
    len: usize,
}

impl SharedArray {
    /// `Array("c", len, lock=False)` in the parent (at most [`ZEROS`]' length).
    pub fn create(arena: &Arc<Arena>, len: usize) -> io::Result<SharedArray> {
        let len = len.min(ZEROS.len());
        let at = arena.alloc_bytes(len)?;
        Ok(SharedArray {
            arena: arena.clone(),
            at,
            len,
        })
    }

    /// The array a parent created, in a child.
    pub fn attach(arena: &Arc<Arena>, at: Offset, len: usize) -> SharedArray {
        SharedArray {
            arena: arena.clone(),
            at,
            len: len.min(ZEROS.len()),
        }
    }

    pub fn offset(&self) -> Offset {
        self.at
    }

    /// `a.raw = bytes(len)`.
    pub fn write_raw(&self, py: &mut Py) -> Result<(), Stopped> {
        let dst = self.arena.bytes_at(self.at, self.len);
        // SAFETY: `dst` is `len` in-bounds bytes of the mapping (checked by `bytes_at`), which
        // no Rust reference covers; the lesson's hand-over (a semaphore or a lock) orders this
        // write against the other process's reads, as it does in CPython.
        unsafe { std::ptr::copy_nonoverlapping(ZEROS.as_ptr(), dst, self.len) };
        py.straight(RAW_ACCESS_BYTECODES)
    }

    /// `x = a.raw`: a new bytes object with the array's contents.
    pub fn read_raw(&self, py: &mut Py) -> Result<(), Stopped> {
        let src = self.arena.bytes_at(self.at, self.len);
        let mut copy = Vec::<u8>::with_capacity(self.len);
        // SAFETY: as in `write_raw`; `copy` has room for `len` bytes, all written here before
        // `set_len` exposes them.
        unsafe {
            std::ptr::copy_nonoverlapping(src, copy.as_mut_ptr(), self.len);
            copy.set_len(self.len);
        }
        std::hint::black_box(copy);
        py.straight(RAW_ACCESS_BYTECODES)
    }
}
