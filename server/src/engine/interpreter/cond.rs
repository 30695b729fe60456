//! A condition variable that makes no system call when nobody waits on it.
//!
//! CPython's GIL, its locks and its queues signal through glibc's `pthread_cond_signal` and
//! `sem_post`, which only enter the kernel when a thread is actually waiting. Rust's
//! `Condvar::notify_one` always makes a `futex` wake call (about 100 ns here, plus a trip of
//! the futex word's cache line between cores). On the emulation's fast paths — the GIL
//! dropped around a system call nobody waits behind, a lock released that nobody wants, a
//! queue's feeder told about an item while it is busy — that call is a cost CPython does not
//! pay, and it shifted the race between a releasing thread and a waking one (issue #10:
//! `queue-vs-shared-memory`, `convoy-effect`). [`Cond`] counts its waiters and signals only
//! when there is one.
//!
//! Correct as long as the waited-for state changes under the mutex the waiters hold (as
//! everywhere in the engine): a waiter registers before the mutex is released by its wait,
//! so a notifier that changed the state under that mutex and then reads the count sees it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, MutexGuard, WaitTimeoutResult};
use std::time::Duration;

#[derive(Default, Debug)]
pub struct Cond {
    cond: Condvar,
    waiters: AtomicU32,
}

impl Cond {
    pub fn new() -> Cond {
        Cond::default()
    }

    /// `Condvar::wait_timeout`, counted; a poisoned lock is still used (see `stop::wait_while`).
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let result = self
            .cond
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Wakes one waiter, if there is one.
    #[inline]
    pub fn notify_one(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.cond.notify_one();
        }
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.cond.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A flag set under the mutex and signalled wakes its waiter at once (not after the
    /// timeout): no lost wake-up, thousands of times over.
    #[test]
    fn a_signal_after_a_change_under_the_mutex_is_never_lost() {
        let shared = Arc::new((Mutex::new(0u32), Cond::new()));
        let waiter = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let (m, c) = &*shared;
                let mut slow = 0;
                for round in 1..=2_000u32 {
                    let mut g = m.lock().unwrap();
                    while *g < round {
                        let (guard, r) = c.wait_timeout(g, Duration::from_secs(2));
                        g = guard;
                        slow += u32::from(r.timed_out());
                    }
                }
                slow
            })
        };
        for _ in 0..2_000 {
            let (m, c) = &*shared;
            *m.lock().unwrap() += 1;
            c.notify_one();
            std::thread::yield_now();
        }
        assert_eq!(waiter.join().unwrap(), 0, "a wait ran into its timeout");
    }
}
