//! The stop flag of a run: set by `RunHandle::stop`, by a cap, or by a failing thread. Every
//! blocking wait in the engine is bounded by [`MAX_WAIT`] and checks it, and running threads
//! see it at their next check point, so a stopped run ends promptly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::MutexGuard;
use std::time::Duration;

use crate::engine::interpreter::cond::Cond;

/// The longest any engine wait blocks before looking at the stop flag again.
pub const MAX_WAIT: Duration = Duration::from_millis(50);

/// Returned by every engine operation once the run is stopping.
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
#[error("the run was stopped")]
pub struct Stopped;

#[derive(Debug, Default)]
pub struct StopFlag(AtomicBool);

impl StopFlag {
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    #[inline]
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Stopped)` once set.
    #[inline]
    pub fn check(&self) -> Result<(), Stopped> {
        if self.is_set() {
            Err(Stopped)
        } else {
            Ok(())
        }
    }
}

/// The one bounded wait of the engine: waits on `cond` while `blocked` says so, waking at
/// least every [`MAX_WAIT`] to look at `stop`. Returns the guard once no longer blocked, or
/// `Err(Stopped)` once the run is stopping. A poisoned lock is still used: every change
/// made under the engine's locks is one statement, so a panic cannot leave them half-done.
pub fn wait_while<'a, T>(
    stop: &StopFlag,
    cond: &Cond,
    mut guard: MutexGuard<'a, T>,
    mut blocked: impl FnMut(&T) -> bool,
) -> Result<MutexGuard<'a, T>, Stopped> {
    while blocked(&guard) {
        stop.check()?;
        guard = cond.wait_timeout(guard, MAX_WAIT).0;
    }
    Ok(guard)
}
