//! `Py`: a thread's view of its interpreter — what an emulated Python thread's program runs
//! through: bytecodes burnt as real CPU work, check points where the GIL may be dropped,
//! calls, blocking calls that release the GIL, and `start`/`join` of other threads.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use gilscope_shared::trace::{GilFlavour, LaneId, State};

/// Bytecodes between check points while importing: the import system's loops and calls.
pub const IMPORT_STRIDE: u64 = 100;

use crate::engine::interpreter::bytecode::spin;
use crate::engine::interpreter::imports::Import;
use crate::engine::interpreter::recorder::Recorder;
use crate::engine::interpreter::stop::{StopFlag, Stopped, MAX_WAIT};

use crate::engine::interpreter::interp::{
    Interp, ThreadHandle, BUDGET_STEP, CALL_BYTECODES, JOIN_BYTECODES, START_BYTECODES,
};

/// A thread's view of its interpreter: what its program runs through.
pub struct Py {
    pub interp: Arc<Interp>,
    slot: usize,
    pub rec: Recorder,
    pub(super) holds: bool,
    ticks: bool,
    every: bool,
    work: u64,
    unit_debt: f64,
    ticker: u64,
    unbudgeted: u64,
    executed: u64,
}

impl Py {
    pub(super) fn new(interp: Arc<Interp>, slot: usize, rec: Recorder) -> Py {
        let ticks = interp.config.gil == GilFlavour::Ticks;
        Py {
            ticks,
            every: interp.config.check_every_bytecode || ticks,
            ticker: interp.gil.check_ticks() as u64,
            interp,
            slot,
            rec,
            holds: false,
            work: 0x9E37_79B9_7F4A_7C15,
            unit_debt: 0.0,
            unbudgeted: 0,
            executed: 0,
        }
    }

    /// The lane this thread records into.
    pub fn lane(&self) -> LaneId {
        self.rec.lane()
    }

    pub fn stop_flag(&self) -> &StopFlag {
        &self.interp.env.stop
    }

    /// Bytecodes this thread has executed.
    pub fn executed(&self) -> u64 {
        self.executed
    }

    /// A check point: handles a pending drop request (or stop).
    #[inline]
    pub fn check(&mut self) -> Result<(), Stopped> {
        if self.interp.gil.breaker(self.slot) != 0 {
            self.interp.gil.on_breaker(self.slot, &mut self.rec)?;
        }
        Ok(())
    }

    /// Burns the CPU time of `n` bytecodes and counts them.
    #[inline]
    fn burn(&mut self, n: u64) -> Result<(), Stopped> {
        self.unit_debt += n as f64 * self.interp.cal.units_per_bytecode;
        let units = self.unit_debt as u64;
        self.unit_debt -= units as f64;
        spin(&mut self.work, units);
        self.executed += n;
        self.unbudgeted += n;
        if self.unbudgeted >= BUDGET_STEP {
            self.settle_budget()?;
        }
        if self.ticks {
            self.ticker -= n;
            if self.ticker == 0 {
                self.ticker = self.interp.gil.check_ticks() as u64;
                self.interp.gil.tick_switch(self.slot, &mut self.rec)?;
            }
        }
        Ok(())
    }

    fn settle_budget(&mut self) -> Result<(), Stopped> {
        let n = std::mem::take(&mut self.unbudgeted);
        if self.interp.env.budget.spend(n) {
            self.interp.stop();
            return Err(Stopped);
        }
        Ok(())
    }

    /// Executes `n` bytecodes with a check point after every `stride` of them (a loop body of
    /// `stride` bytecodes ending in its back-edge); `u64::MAX` for straight-line code.
    /// Under `check_every_bytecode` every bytecode is followed by a check point.
    pub fn execute(&mut self, n: u64, stride: u64) -> Result<(), Stopped> {
        let stride = if self.every { 1 } else { stride.max(1) };
        let mut left = n;
        let mut in_stride = 0;
        while left > 0 {
            let mut chunk = left.min(stride - in_stride);
            if self.ticks {
                chunk = chunk.min(self.ticker);
            }
            self.burn(chunk)?;
            left -= chunk;
            in_stride += chunk;
            if in_stride == stride {
                in_stride = 0;
                self.check()?;
            }
        }
        Ok(())
    }

    /// The first use of a part of `multiprocessing` in this interpreter: the import of its
    /// modules (and of those they need first), Python with a check point every
    /// [`IMPORT_STRIDE`] bytecodes; nothing once imported.
    pub fn import(&mut self, import: Import) -> Result<(), Stopped> {
        for &need in import.needs() {
            self.import(need)?;
        }
        if self.interp.imported.first(import) {
            self.execute(import.bytecodes(), IMPORT_STRIDE)?;
        }
        Ok(())
    }

    /// A call into `multiprocessing` that makes or starts something (`Queue()`, `Value()`,
    /// `Pool()`, `p.start()`): what it needs imported the first time ([`Py::import`]), then
    /// `n` bytecodes of its own.
    pub fn multiprocessing_call(&mut self, needs: Import, n: u64) -> Result<(), Stopped> {
        self.call(|py| {
            py.import(needs)?;
            py.straight(n)
        })
    }

    /// `n` bytecodes of straight-line code: no check point (except under every-bytecode).
    #[inline]
    pub fn straight(&mut self, n: u64) -> Result<(), Stopped> {
        self.execute(n, u64::MAX)
    }

    /// One bytecode.
    #[inline]
    pub fn bytecode(&mut self) -> Result<(), Stopped> {
        self.straight(1)
    }

    /// A `for` loop of `iterations`, each `body` bytecodes long including its back-edge.
    pub fn for_loop(&mut self, iterations: u64, body: u64) -> Result<(), Stopped> {
        self.execute(iterations.saturating_mul(body), body)
    }

    /// Calls a Python function: the call site's bytecodes, then `RESUME` (a check point),
    /// then its body `f`.
    pub fn call<T>(&mut self, f: impl FnOnce(&mut Py) -> Result<T, Stopped>) -> Result<T, Stopped> {
        self.straight(CALL_BYTECODES)?;
        self.bytecode()?;
        self.check()?;
        f(self)
    }

    /// A blocking call (`Py_BEGIN_ALLOW_THREADS`): drops the GIL, is `state` while `f`
    /// blocks, then takes the GIL back.
    pub fn blocking<T>(
        &mut self,
        state: State,
        f: impl FnOnce(&mut Recorder, &StopFlag) -> Result<T, Stopped>,
    ) -> Result<T, Stopped> {
        self.interp.gil.drop_gil(self.slot, &mut self.rec, state);
        self.holds = false;
        let result = f(&mut self.rec, &self.interp.env.stop);
        self.interp.gil.take(self.slot, &mut self.rec)?;
        self.holds = true;
        result
    }

    /// `time.sleep(d)`: blocks with the GIL released.
    pub fn sleep(&mut self, d: Duration) -> Result<(), Stopped> {
        self.call(|py| py.blocking(State::Io, |_, stop| sleep(d, stop)))
    }

    /// `t.start()`: starts the thread and waits for it to report that it runs (CPython's
    /// `Thread.start` waits on the thread's `_started` event, a lock, with the GIL released).
    pub fn start(&mut self, thread: &ThreadHandle) -> Result<(), Stopped> {
        self.call(|py| {
            py.straight(START_BYTECODES)?;
            thread.start.open();
            let started = thread.started.clone();
            py.blocking(State::WaitLock, |_, stop| started.wait(stop))
        })
    }

    /// `t.join()`: waits, with the GIL released, until `thread` has ended.
    pub fn join(&mut self, thread: &ThreadHandle) -> Result<(), Stopped> {
        self.call(|py| {
            py.straight(JOIN_BYTECODES)?;
            let done = thread.done.clone();
            let joined = thread.lane.0;
            py.rec.set_task(Some(joined));
            let result = py.blocking(State::Join, |_, stop| done.wait(stop));
            py.rec.set_task(None);
            result
        })
    }

    /// The thread ends: releases the GIL, counts its work and CPU time, records `Done`.
    pub(super) fn exit(&mut self) {
        if self.holds {
            self.interp
                .gil
                .drop_gil(self.slot, &mut self.rec, State::Done);
            self.holds = false;
        }
        let _ = self.settle_budget();
        self.interp
            .bytecodes
            .fetch_add(self.executed, Ordering::Relaxed);
        self.rec.finish();
    }
}

/// Sleeps `d`, waking early (with `Err`) if the run stops.
pub fn sleep(d: Duration, stop: &StopFlag) -> Result<(), Stopped> {
    let deadline = std::time::Instant::now() + d;
    loop {
        stop.check()?;
        let now = std::time::Instant::now();
        if now >= deadline {
            return Ok(());
        }
        std::thread::sleep((deadline - now).min(MAX_WAIT));
    }
}
