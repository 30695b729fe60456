//! A one-shot event between engine threads (a thread's start signal, its end): waiting on it
//! blocks on a condition variable, bounded so a stopping run is noticed.

use std::sync::Mutex;

use crate::engine::interpreter::cond::Cond;
use crate::engine::interpreter::stop::{wait_while, StopFlag, Stopped, MAX_WAIT};

#[derive(Default)]
pub struct Gate {
    open: Mutex<bool>,
    cond: Cond,
}

impl Gate {
    pub fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }

    pub fn is_open(&self) -> bool {
        *self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits at most `limit` (and at most [`MAX_WAIT`]) for the gate to open; true if open.
    pub fn wait_bounded(&self, stop: &StopFlag, limit: std::time::Duration) -> bool {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if *open || stop.is_set() {
            return *open;
        }
        *self.cond.wait_timeout(open, limit.min(MAX_WAIT)).0
    }

    /// Blocks until the gate opens, or `Err` once `stop` is set.
    pub fn wait(&self, stop: &StopFlag) -> Result<(), Stopped> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        wait_while(stop, &self.cond, open, |open| !*open).map(drop)
    }
}
