//! The GIL, all three flavours, modelled on CPython's `Python/ceval_gil.c` (see
//! `docs/cpython.md`, whose steps of `take_gil` / `drop_gil` the code follows one by one).
//!
//! - [`GilFlavour::Current`] (3.2+): a free GIL is taken at once; a waiter waits one switch
//!   interval on a condition variable and, if no hand-off happened meanwhile, sets the
//!   holder's drop-request bit; the holder drops at its next check point and, with forced
//!   switching, waits on a second condition until someone else has taken it.
//! - [`GilFlavour::Ticks`] (Python 2): a plain mutex+condition lock; every `check_ticks`
//!   bytecodes the holder releases it (signalling one waiter) and immediately re-acquires it.
//!   The woken waiter usually finds it taken again: a "failed wake-up".
//! - [`GilFlavour::None`] (free-threaded): no lock at all.
//!
//! Waiters always block on a condition variable; nobody spins. Signalling one nobody waits on
//! costs nothing, as with glibc's condition variables under CPython's GIL ([`Cond`]). Threads are known to the GIL by
//! a slot number (their index in the interpreter), each with an eval-breaker word.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gilscope_shared::trace::{GilFlavour, InterpId, LaneId, MarkKind, State};

use crate::engine::interpreter::cond::Cond;
use crate::engine::interpreter::recorder::Recorder;
use crate::engine::interpreter::stop::{StopFlag, Stopped, MAX_WAIT};

/// Most threads one interpreter can have.
pub const MAX_THREADS: usize = 128;

/// Eval-breaker bit: a waiter asked this thread to drop the GIL.
pub const DROP_REQUEST: u32 = 1;
/// Eval-breaker bit: the run is stopping.
pub const STOP: u32 = 2;

const NOBODY: usize = usize::MAX;

/// One thread's eval-breaker word and lane, on its own cache line.
#[repr(align(64))]
#[derive(Default)]
struct Slot {
    breaker: AtomicU32,
    lane: AtomicU32,
}

/// The part of the GIL's state guarded by its mutex.
struct Locked {
    locked: bool,
    /// Counts changes of holder, as CPython's `switch_number`.
    switch_number: u64,
}

/// What the GIL counted, for the summary and the docs.
#[derive(Default, Debug)]
pub struct GilStats {
    pub handoffs: AtomicU64,
    pub drop_requests: AtomicU64,
    /// Ticks flavour: a woken waiter found the GIL taken again.
    pub failed_wakeups: AtomicU64,
    /// Ticks flavour: periodic releases, and how many the releasing thread won back.
    pub tick_releases: AtomicU64,
    pub tick_reacquired: AtomicU64,
}

pub struct Gil {
    flavour: GilFlavour,
    interp: InterpId,
    interval: Duration,
    check_ticks: u32,
    mutex: Mutex<Locked>,
    cond: Cond,
    switch_mutex: Mutex<()>,
    switch_cond: Cond,
    last_holder: AtomicUsize,
    slots: Box<[Slot]>,
    stop: Arc<StopFlag>,
    pub stats: GilStats,
}

impl Gil {
    pub fn new(
        flavour: GilFlavour,
        interp: InterpId,
        interval: Duration,
        check_ticks: u32,
        stop: Arc<StopFlag>,
    ) -> Gil {
        Gil {
            flavour,
            interp,
            interval,
            check_ticks: check_ticks.max(1),
            mutex: Mutex::new(Locked {
                locked: false,
                switch_number: 0,
            }),
            cond: Cond::new(),
            switch_mutex: Mutex::new(()),
            switch_cond: Cond::new(),
            last_holder: AtomicUsize::new(NOBODY),
            slots: (0..MAX_THREADS).map(|_| Slot::default()).collect(),
            stop,
            stats: GilStats::default(),
        }
    }

    pub fn flavour(&self) -> GilFlavour {
        self.flavour
    }

    pub fn check_ticks(&self) -> u32 {
        self.check_ticks
    }

    /// Tells the GIL which lane thread `slot` records into.
    pub fn register(&self, slot: usize, lane: LaneId) {
        self.slots[slot].lane.store(lane.0, Ordering::Relaxed);
    }

    fn lane_of(&self, slot: usize) -> LaneId {
        LaneId(self.slots[slot].lane.load(Ordering::Relaxed))
    }

    /// The eval-breaker word of thread `slot` (checked at every check point).
    #[inline]
    pub fn breaker(&self, slot: usize) -> u32 {
        self.slots[slot].breaker.load(Ordering::Relaxed)
    }

    /// Asks thread `slot` to drop the GIL at its next check point (what a timed-out waiter
    /// does; public for benchmarks and tests).
    pub fn request_drop(&self, slot: usize) {
        self.slots[slot]
            .breaker
            .fetch_or(DROP_REQUEST, Ordering::Relaxed);
    }

    /// Stops the run's threads: sets every breaker's stop bit and wakes every waiter.
    pub fn wake_for_stop(&self) {
        for slot in self.slots.iter() {
            slot.breaker.fetch_or(STOP, Ordering::SeqCst);
        }
        drop(self.lock());
        self.cond.notify_all();
        drop(self.switch_mutex.lock().unwrap_or_else(|e| e.into_inner()));
        self.switch_cond.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Locked> {
        self.mutex.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the GIL for thread `slot`, recording `WaitGil` if it has to wait and `Running`
    /// once it holds it.
    pub fn take(&self, slot: usize, rec: &mut Recorder) -> Result<(), Stopped> {
        match self.flavour {
            GilFlavour::Current => self.take_current(slot, rec),
            GilFlavour::Ticks => self.take_ticks(slot, rec, None),
            GilFlavour::None => {
                self.stop.check()?;
                rec.enter(State::Running);
                Ok(())
            }
        }
    }

    /// Drops the GIL held by thread `slot`, which goes on in state `next` (`Io`, `WaitLock`,
    /// `Join`, `Done`, or `WaitGil` when it drops on request).
    pub fn drop_gil(&self, slot: usize, rec: &mut Recorder, next: State) {
        match self.flavour {
            GilFlavour::Current => self.drop_current(slot, rec, next),
            GilFlavour::Ticks => {
                let mut g = self.lock();
                rec.enter(next);
                g.locked = false;
                drop(g);
                self.cond.notify_one();
            }
            GilFlavour::None => {
                rec.enter(next);
            }
        }
    }

    /// The check point's slow path: the breaker of `slot` is set. Drops and re-takes the GIL
    /// if a drop was requested; `Err` if the run is stopping.
    pub fn on_breaker(&self, slot: usize, rec: &mut Recorder) -> Result<(), Stopped> {
        let bits = self.breaker(slot);
        if bits & STOP != 0 || self.stop.is_set() {
            return Err(Stopped);
        }
        if bits & DROP_REQUEST != 0 {
            // A batch that comes due goes once this thread has the GIL back, not between its
            // signal and its return to waiting: the signal must find the thread that asked
            // still awake, and this thread must be back at its wait as quickly as CPython's
            // (docs/fidelity.md: gil-flavours, convoy-effect).
            rec.hold_batches();
            self.drop_gil(slot, rec, State::WaitGil);
            let taken = self.take(slot, rec);
            rec.release_batches();
            taken?;
        }
        Ok(())
    }

    // --- the current GIL -----------------------------------------------------------------

    /// No batch of events goes to the sink while this thread holds the GIL's mutex (see
    /// `Recorder::hold_batches`): CPython holds it for a few dozen instructions.
    fn take_current(&self, me: usize, rec: &mut Recorder) -> Result<(), Stopped> {
        rec.hold_batches();
        let taken = self.take_current_held(me, rec);
        rec.release_batches();
        taken
    }

    fn take_current_held(&self, me: usize, rec: &mut Recorder) -> Result<(), Stopped> {
        let mut g = self.lock();
        if g.locked {
            rec.enter(State::WaitGil);
        }
        while g.locked {
            if self.stop.is_set() {
                return Err(Stopped);
            }
            let seen = g.switch_number;
            let (guard, wait) = self.cond.wait_timeout(g, self.interval);
            g = guard;
            if wait.timed_out() && g.locked && g.switch_number == seen {
                let holder = self.last_holder.load(Ordering::Relaxed);
                if holder != NOBODY {
                    self.stats.drop_requests.fetch_add(1, Ordering::Relaxed);
                    rec.mark(MarkKind::DropRequest {
                        holder: self.lane_of(holder),
                    });
                    // The request last, just before waiting again, as CPython sets it: the
                    // holder drops within a few hundred nanoseconds and signals, and a signal
                    // that finds this thread still awake is this thread's. Later, it wakes
                    // the longest waiter instead (an I/O thread back from its sleep, say).
                    self.slots[holder]
                        .breaker
                        .fetch_or(DROP_REQUEST, Ordering::Relaxed);
                }
            }
        }
        // FORCE_SWITCHING: the switch mutex is held while the holder changes, so a dropper
        // checking `last_holder` under it cannot miss the signal.
        let switch = self.switch_mutex.lock().unwrap_or_else(|e| e.into_inner());
        g.locked = true;
        let previous = self.last_holder.load(Ordering::Relaxed);
        if previous != me {
            self.last_holder.store(me, Ordering::Relaxed);
            g.switch_number += 1;
            self.record_handoff(previous, me, rec);
        }
        rec.enter(State::Running);
        self.switch_cond.notify_one();
        drop(switch);
        self.slots[me]
            .breaker
            .fetch_and(!DROP_REQUEST, Ordering::Relaxed);
        drop(g);
        Ok(())
    }

    fn record_handoff(&self, previous: usize, me: usize, rec: &mut Recorder) {
        self.stats.handoffs.fetch_add(1, Ordering::Relaxed);
        rec.mark(MarkKind::Handoff {
            interp: self.interp,
            from: (previous != NOBODY).then(|| self.lane_of(previous)),
            to: self.lane_of(me),
        });
    }

    fn drop_current(&self, me: usize, rec: &mut Recorder, next: State) {
        self.last_holder.store(me, Ordering::Relaxed);
        // No batch under the mutex: `next` is entered before it. Dropped for a blocking call,
        // a batch that comes due goes before the signal (see docs/fidelity.md on
        // convoy-effect); dropped on request, `on_breaker` holds it back.
        rec.enter(next);
        let mut g = self.lock();
        g.locked = false;
        drop(g);
        self.cond.notify_one();
        if self.breaker(me) & DROP_REQUEST != 0 {
            // FORCE_SWITCHING: don't run on and grab it straight back.
            let mut switch = self.switch_mutex.lock().unwrap_or_else(|e| e.into_inner());
            if self.last_holder.load(Ordering::Relaxed) == me {
                self.slots[me]
                    .breaker
                    .fetch_and(!DROP_REQUEST, Ordering::Relaxed);
                // CPython waits once; spurious wake-ups aside that is "until someone took it".
                while self.last_holder.load(Ordering::Relaxed) == me && !self.stop.is_set() {
                    switch = self.switch_cond.wait_timeout(switch, MAX_WAIT).0;
                }
            }
        }
    }

    // --- the old GIL -----------------------------------------------------------------

    /// Takes the Python 2 lock. `released_at`: the instant this thread released it for a tick
    /// switch, if it did (its `Running` span then ends there only if someone else got in).
    fn take_ticks(
        &self,
        me: usize,
        rec: &mut Recorder,
        released_at: Option<u64>,
    ) -> Result<(), Stopped> {
        // A holder that only ever releases for a tick and takes the lock straight back must
        // still notice that the run is stopping (it never waits, so never sees the flag below).
        if self.stop.is_set() {
            return Err(Stopped);
        }
        let mut g = self.lock();
        let mut waited = false;
        if g.locked {
            match released_at {
                Some(t) => rec.enter_at(State::WaitGil, None, t),
                None => {
                    rec.enter(State::WaitGil);
                }
            }
            waited = true;
        }
        while g.locked {
            if self.stop.is_set() {
                return Err(Stopped);
            }
            let (guard, wait) = self.cond.wait_timeout(g, MAX_WAIT);
            g = guard;
            if g.locked && !wait.timed_out() {
                self.stats.failed_wakeups.fetch_add(1, Ordering::Relaxed);
            }
        }
        g.locked = true;
        let previous = self.last_holder.load(Ordering::Relaxed);
        if previous != me {
            if let (Some(t), false) = (released_at, waited) {
                // Someone took it and gave it back between our release and now.
                rec.enter_at(State::WaitGil, None, t);
            }
            self.last_holder.store(me, Ordering::Relaxed);
            g.switch_number += 1;
            self.record_handoff(previous, me, rec);
        } else if released_at.is_some() {
            self.stats.tick_reacquired.fetch_add(1, Ordering::Relaxed);
        }
        rec.enter(State::Running);
        drop(g);
        Ok(())
    }

    /// The ticks flavour's periodic switch: release (waking one waiter) and immediately
    /// re-acquire, as Python 2's `ceval.c` did every `sys.setcheckinterval` ticks.
    pub fn tick_switch(&self, me: usize, rec: &mut Recorder) -> Result<(), Stopped> {
        self.stats.tick_releases.fetch_add(1, Ordering::Relaxed);
        let mut g = self.lock();
        let released_at = rec.now();
        g.locked = false;
        drop(g);
        self.cond.notify_one();
        self.take_ticks(me, rec, Some(released_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::interpreter::clock::Epoch;
    use crate::engine::interpreter::recorder::{EventSink, LaneStatus};
    use gilscope_shared::trace::{Lane, LaneKind, Trace};
    use std::sync::OnceLock;

    /// Counts the batches it is handed, and those handed while the GIL's mutex was held;
    /// keeps the states of the last one's spans.
    #[derive(Default)]
    struct Watching {
        gil: OnceLock<Arc<Gil>>,
        batches: AtomicUsize,
        under_mutex: AtomicUsize,
        last_states: std::sync::Mutex<Vec<State>>,
    }

    impl EventSink for Watching {
        fn open_lane(&self, _lane: Lane) -> Arc<LaneStatus> {
            Arc::default()
        }
        fn deliver(&self, batch: Trace) {
            *self.last_states.lock().unwrap() = batch.spans.iter().map(|s| s.state).collect();
            self.batches.fetch_add(1, Ordering::SeqCst);
            let gil = self.gil.get().expect("the GIL is set");
            if gil.mutex.try_lock().is_err() {
                self.under_mutex.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// A batch goes to the sink when a thread drops the GIL for a blocking call, and when it
    /// drops it on request, but never while it holds the GIL's mutex: a holder must hand over
    /// in the few hundred nanoseconds CPython takes, so that the thread that asked is still
    /// awake to get it (docs/fidelity.md, gil-flavours). Dropped on request, the batch goes
    /// only once the thread has the GIL back: it holds the wait that followed.
    #[test]
    fn no_batch_goes_to_the_sink_under_the_gils_mutex() {
        let gil = Arc::new(Gil::new(
            GilFlavour::Current,
            InterpId(0),
            Duration::from_millis(5),
            100,
            Arc::new(StopFlag::default()),
        ));
        gil.register(0, LaneId(0));
        gil.register(1, LaneId(1));
        let sink = Arc::new(Watching::default());
        let _ = sink.gil.set(gil.clone());
        let lane = |id: u32| Lane {
            id: LaneId(id),
            interp: InterpId(0),
            name: format!("Thread-{id}"),
            kind: LaneKind::Worker,
            tid: None,
        };
        let mut rec = Recorder::new(lane(0), Epoch::now(), sink.clone(), State::Idle);
        gil.take(0, &mut rec).unwrap();
        let opened = sink.batches.load(Ordering::SeqCst);
        // Dropped for a blocking call a millisecond after the last batch: one is due.
        std::thread::sleep(Duration::from_micros(1_100));
        gil.drop_gil(0, &mut rec, State::Io);
        assert_eq!(sink.batches.load(Ordering::SeqCst), opened + 1);
        assert_eq!(sink.under_mutex.load(Ordering::SeqCst), 0);

        // Thread 0 holds the GIL with 10 ms of events unsent; thread 1 waits an interval,
        // asks, takes it and leaves for good on a blocking call (its batches go to a sink of
        // its own, so only thread 0's are counted).
        gil.take(0, &mut rec).unwrap();
        std::thread::sleep(Duration::from_millis(11));
        let (park, parked) = std::sync::mpsc::channel::<()>();
        let other = {
            let gil = gil.clone();
            std::thread::spawn(move || {
                let own = Arc::new(Watching::default());
                let _ = own.gil.set(gil.clone());
                let mut rec = Recorder::new(lane(1), Epoch::now(), own, State::Idle);
                gil.take(1, &mut rec).unwrap();
                gil.drop_gil(1, &mut rec, State::Io);
                let _ = parked.recv();
            })
        };
        while gil.breaker(0) & DROP_REQUEST == 0 {
            std::thread::yield_now();
        }
        gil.on_breaker(0, &mut rec).unwrap();
        assert_eq!(sink.batches.load(Ordering::SeqCst), opened + 2);
        assert_eq!(sink.under_mutex.load(Ordering::SeqCst), 0);
        assert_eq!(
            *sink.last_states.lock().unwrap(),
            vec![State::Io, State::Running, State::WaitGil],
            "the batch went before the wait for the GIL ended"
        );
        drop(park);
        other.join().unwrap();
    }
}
