//! `multiprocessing.Semaphore`: a POSIX semaphore in the run's shared memory, acquired the way
//! CPython's `SemLock.acquire` does it — a try with the GIL held, then a blocking wait with the
//! GIL released ("waiting for a lock").

use std::io;
use std::sync::Arc;

use gilscope_shared::trace::State;

use crate::engine::interpreter::interp::Py;
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::shm::{Arena, Offset, Sem};

/// The method call and the C work of `acquire()` or `release()` (the same as a lock's).
pub const SEM_CALL_BYTECODES: u64 = 12;

pub struct Semaphore {
    arena: Arc<Arena>,
    at: Offset,
}

impl Semaphore {
    /// `Semaphore(value)` in the parent, before the children start.
    pub fn create(arena: &Arc<Arena>, value: u32) -> io::Result<Semaphore> {
        let at = arena.alloc::<Sem>()?;
        Sem::init(arena, at, value)?;
        Ok(Semaphore {
            arena: arena.clone(),
            at,
        })
    }

    /// The semaphore a parent created, in a child.
    pub fn attach(arena: &Arc<Arena>, at: Offset) -> Semaphore {
        Semaphore {
            arena: arena.clone(),
            at,
        }
    }

    pub fn offset(&self) -> Offset {
        self.at
    }

    fn sem(&self) -> &Sem {
        Sem::at(&self.arena, self.at)
    }

    /// `s.acquire()`.
    pub fn acquire(&self, py: &mut Py) -> Result<(), Stopped> {
        py.straight(SEM_CALL_BYTECODES)?;
        if self.sem().try_wait() {
            return Ok(());
        }
        let sem = self.sem();
        py.blocking(State::WaitLock, |_, stop| {
            sem.wait(stop).map_err(Stopped::from)
        })
    }

    /// `s.release()`.
    pub fn release(&self, py: &mut Py) -> Result<(), Stopped> {
        self.sem().post();
        py.straight(SEM_CALL_BYTECODES)
    }
}
