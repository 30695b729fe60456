//! Recording: each thread writes its spans, marks and samples into its own buffer — no lock
//! and no shared cache line on the hot path — and hands the buffer to the run's collector in
//! batches (every [`FLUSH_EVENTS`] events or [`FLUSH_NS`], before a wait, and when the thread ends), so a run
//! can be watched while it runs.
//!
//! What a lane is doing right now is also published in a [`LaneStatus`] cell (one relaxed
//! store per state change), so a live view can draw a span that has not ended yet.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gilscope_shared::trace::{
    CounterId, Lane, LaneId, Mark, MarkKind, Nanos, Sample, Span, State, Trace,
};

use crate::engine::interpreter::clock::Epoch;

/// A batch is sent once this many events are buffered...
pub const FLUSH_EVENTS: usize = 512;
/// ...or once this long has passed since the last batch (checked when an event is recorded)...
pub const FLUSH_NS: u64 = 10_000_000;
/// ...or when the lane starts to wait (it may then record nothing for a long time, and viewers
/// should not wait for what came before): at once for a join (rare, and often long: a main
/// thread's start-up would otherwise be held back for the whole run); for any other wait but
/// one for the GIL (which ends within a switch interval or so, and where a batch would sit on
/// the hand-over between two threads) once this long has passed since the last batch.
///
/// Not at every wait: a batch wakes the run's collector (or, in a worker process, its pipe
/// writer and the server's reader). A queue's feeder or a process handing a semaphore over
/// waits tens of thousands of times a second; flushing at each wait cost more CPU than the
/// Python being emulated and halved `queue-vs-shared-memory`'s Queue rate (issue #10). So a
/// lane that blocks shows what it did up to at most this long before, plus its current state
/// (published in its [`LaneStatus`]), until it runs again.
pub const FLUSH_BEFORE_WAIT_NS: u64 = 1_000_000;

/// Where batches go: the in-process collector, or (for a worker process) a pipe.
pub trait EventSink: Send + Sync {
    /// Announces a lane before any of its events; returns the cell its current state is
    /// published in.
    fn open_lane(&self, lane: Lane) -> Arc<LaneStatus>;
    /// Delivers a batch: a piece of the trace (its `end`, when it was cut). Must not block for long.
    fn deliver(&self, batch: Trace);
    /// Whether the run has recorded as many events as it may keep (then it must stop).
    fn over_cap(&self) -> bool {
        false
    }
}

/// A lane's current state and since when, packed in one atomic word.
#[derive(Debug)]
pub struct LaneStatus(AtomicU64);

const NO_STATE: u64 = u64::MAX;

impl Default for LaneStatus {
    fn default() -> Self {
        LaneStatus(AtomicU64::new(NO_STATE))
    }
}

impl LaneStatus {
    pub fn set(&self, state: State, since: Nanos) {
        self.0.store((since << 4) | state as u64, Ordering::Relaxed);
    }

    /// The state and since when, if the lane has started recording.
    pub fn get(&self) -> Option<(State, Nanos)> {
        let word = self.0.load(Ordering::Relaxed);
        (word != NO_STATE).then(|| (State::ALL[(word & 0xf) as usize], word >> 4))
    }
}

/// Every lane of a run (or of a worker process) and the cell it publishes its state in: what
/// a live view draws as spans that have not ended yet.
#[derive(Default)]
pub struct LaneBoard(std::sync::Mutex<Vec<(LaneId, Arc<LaneStatus>)>>);

impl LaneBoard {
    /// Adds `lane`; returns its cell.
    pub fn open(&self, lane: LaneId) -> Arc<LaneStatus> {
        let status = Arc::new(LaneStatus::default());
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((lane, status.clone()));
        status
    }

    /// Each lane's state right now, as a span from when it began until `now`.
    pub fn open_spans(&self, now: Nanos) -> Vec<Span> {
        let board = self.0.lock().unwrap_or_else(|e| e.into_inner());
        board
            .iter()
            .filter_map(|(lane, status)| {
                let (state, since) = status.get()?;
                Some(Span {
                    lane: *lane,
                    state,
                    t0: since.min(now),
                    t1: now,
                    task: None,
                })
            })
            .collect()
    }
}

/// One thread's recorder. Not `Sync`: only its own thread writes to it.
pub struct Recorder {
    lane: LaneId,
    epoch: Epoch,
    sink: Arc<dyn EventSink>,
    status: Arc<LaneStatus>,
    buf: Trace,
    buffered: usize,
    last_flush: Nanos,
    state: State,
    task: Option<u32>,
    /// The task spans entered by [`Recorder::enter`] belong to.
    context: Option<u32>,
    since: Nanos,
    /// How many [`Recorder::hold_batches`] are not yet released, and whether a batch is owed.
    holds: u8,
    owed: bool,
}

impl Recorder {
    /// Announces `lane` to the sink and starts it in `initial` state now.
    pub fn new(lane: Lane, epoch: Epoch, sink: Arc<dyn EventSink>, initial: State) -> Recorder {
        let id = lane.id;
        let status = sink.open_lane(lane);
        let now = epoch.elapsed();
        status.set(initial, now);
        let mut buf = Trace::default();
        buf.spans.reserve(FLUSH_EVENTS);
        Recorder {
            lane: id,
            epoch,
            sink,
            status,
            buf,
            buffered: 0,
            last_flush: now,
            state: initial,
            task: None,
            context: None,
            since: now,
            holds: 0,
            owed: false,
        }
    }

    pub fn lane(&self) -> LaneId {
        self.lane
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Nanoseconds since the run started.
    #[inline]
    pub fn now(&self) -> Nanos {
        self.epoch.elapsed()
    }

    /// Enters `state` now, for the current task (see [`Recorder::set_task`]). Returns the
    /// instant.
    #[inline]
    pub fn enter(&mut self, state: State) -> Nanos {
        self.enter_task(state, self.context)
    }

    /// From now on this lane's spans belong to `task` (a pool task), or to none.
    pub fn set_task(&mut self, task: Option<u32>) {
        self.context = task;
        self.enter_task(self.state, task);
    }

    /// Enters `state` for `task` now; ends the previous span here. Returns the instant.
    #[inline]
    pub fn enter_task(&mut self, state: State, task: Option<u32>) -> Nanos {
        let now = self.now();
        self.enter_at(state, task, now);
        now
    }

    /// Enters `state` at `t` (an instant taken by the caller, e.g. under a queue's mutex).
    pub fn enter_at(&mut self, state: State, task: Option<u32>, t: Nanos) {
        if state == self.state && task == self.task {
            return;
        }
        let t = t.max(self.since);
        if t > self.since {
            self.buf.spans.push(Span {
                lane: self.lane,
                state: self.state,
                t0: self.since,
                t1: t,
                task: self.task,
            });
            self.buffered += 1;
        }
        self.state = state;
        self.task = task;
        self.since = t;
        self.status.set(state, t);
        if self.buffered > 0 && self.may_wait_long(state, t) {
            self.flush_or_owe(t);
        } else {
            self.maybe_flush(t);
        }
    }

    /// From now until [`Recorder::release_batches`], events are recorded but no batch goes to
    /// the sink: for a thread holding a lock others wait on (the GIL's mutex). A batch is a
    /// call into the collector or a worker's outbox, microseconds to tens of them; CPython
    /// holds the GIL's mutex for a few dozen instructions, and a holder that took 20–130 µs to
    /// drop the GIL for a waiter changed who got it (issue #10, `gil-flavours`).
    ///
    /// Holds nest: a drop on request holds across the take, which holds for its mutex.
    pub fn hold_batches(&mut self) {
        self.holds += 1;
    }

    /// Ends one [`Recorder::hold_batches`]; the last hands over the batch that came due
    /// meanwhile, if any.
    pub fn release_batches(&mut self) {
        self.holds = self.holds.saturating_sub(1);
        if self.holds == 0 && std::mem::take(&mut self.owed) {
            self.flush(self.now());
        }
    }

    fn flush_or_owe(&mut self, now: Nanos) {
        if self.holds > 0 {
            self.owed = true;
        } else {
            self.flush(now);
        }
    }

    /// Records an instant on this lane now.
    #[inline]
    pub fn mark(&mut self, kind: MarkKind) {
        let t = self.now();
        self.mark_at(t, kind);
    }

    pub fn mark_at(&mut self, t: Nanos, kind: MarkKind) {
        self.buf.marks.push(Mark {
            lane: self.lane,
            t,
            kind,
        });
        self.buffered += 1;
        self.maybe_flush(t);
    }

    /// Records a counter sample taken at `t`.
    pub fn sample_at(&mut self, counter: CounterId, t: Nanos, value: f64) {
        self.buf.samples.push(Sample { counter, t, value });
        self.buffered += 1;
        self.maybe_flush(t);
    }

    /// Entering `state` at `t` may leave the lane silent for long.
    #[inline]
    fn may_wait_long(&self, state: State, t: Nanos) -> bool {
        match state {
            // A wait for the GIL ends within a switch interval or so, and a batch there would
            // sit on the hand-over between two threads.
            State::Running | State::Done | State::WaitGil => false,
            State::Join => true,
            _ => t.saturating_sub(self.last_flush) >= FLUSH_BEFORE_WAIT_NS,
        }
    }

    #[inline]
    fn maybe_flush(&mut self, now: Nanos) {
        if self.buffered >= FLUSH_EVENTS || now.saturating_sub(self.last_flush) >= FLUSH_NS {
            self.flush_or_owe(now);
        }
    }

    /// Hands everything buffered to the sink.
    pub fn flush(&mut self, now: Nanos) {
        self.last_flush = now;
        if self.buffered == 0 {
            return;
        }
        let mut batch = std::mem::take(&mut self.buf);
        batch.end = now;
        self.buf.spans.reserve(FLUSH_EVENTS);
        self.buffered = 0;
        self.sink.deliver(batch);
    }

    /// Ends the lane: closes its last span, records `Done` and flushes.
    pub fn finish(&mut self) {
        self.finish_at(self.now());
    }

    /// Ends the lane at `t` (an instant taken by the caller, e.g. when a sampler saw it end).
    pub fn finish_at(&mut self, t: Nanos) {
        self.enter_at(State::Done, None, t);
        let now = self.since;
        self.buf.spans.push(Span {
            lane: self.lane,
            state: State::Done,
            t0: now,
            t1: now,
            task: None,
        });
        self.buffered += 1;
        self.flush(now);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.state != State::Done {
            self.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::trace::{InterpId, LaneKind};
    use std::sync::Mutex;

    #[derive(Default)]
    struct VecSink(Mutex<Vec<Trace>>);

    impl EventSink for VecSink {
        fn open_lane(&self, lane: Lane) -> Arc<LaneStatus> {
            self.0.lock().unwrap().push(Trace {
                lanes: vec![lane],
                ..Trace::default()
            });
            Arc::default()
        }
        fn deliver(&self, batch: Trace) {
            self.0.lock().unwrap().push(batch);
        }
    }

    fn lane(id: u32, name: &str, kind: LaneKind) -> Lane {
        Lane {
            id: LaneId(id),
            interp: InterpId(0),
            name: name.into(),
            kind,
            tid: None,
        }
    }

    #[test]
    fn spans_are_contiguous_and_flushed_in_batches() {
        let sink = Arc::new(VecSink::default());
        let lane = lane(3, "Thread-3", LaneKind::Worker);
        let mut rec = Recorder::new(lane, Epoch::now(), sink.clone(), State::Idle);
        let n = FLUSH_EVENTS * 2 + 10;
        for i in 0..n {
            let state = if i % 2 == 0 {
                State::Running
            } else {
                State::WaitGil
            };
            std::thread::sleep(std::time::Duration::from_micros(1));
            rec.enter(state);
        }
        rec.finish();
        let batches = sink.0.lock().unwrap();
        assert!(batches.len() >= 3, "{} batches", batches.len());
        let spans: Vec<Span> = batches.iter().flat_map(|b| b.spans.clone()).collect();
        // The initial idle span, one per state entered, and the final `Done`.
        assert_eq!(spans.len(), n + 2);
        for pair in spans.windows(2) {
            assert_eq!(pair[0].t1, pair[1].t0);
            assert_ne!(pair[0].state, pair[1].state);
        }
        assert_eq!(spans.last().unwrap().state, State::Done);
    }

    /// While batches are held, a batch that comes due (a wait a millisecond after the last
    /// one) is not sent; it goes when the last hold is released. A wait for the GIL sends none.
    #[test]
    fn held_batches_go_on_release_and_a_gil_wait_sends_none() {
        let sink = Arc::new(VecSink::default());
        let lane = lane(2, "Thread-2", LaneKind::Worker);
        let mut rec = Recorder::new(lane, Epoch::now(), sink.clone(), State::Running);
        let batches = || sink.0.lock().unwrap().len();
        let opened = batches();
        let start = rec.last_flush;
        rec.enter_at(State::WaitGil, None, start + 2 * FLUSH_BEFORE_WAIT_NS);
        assert_eq!(batches(), opened, "a GIL wait sent a batch");
        rec.enter_at(
            State::Running,
            None,
            start + 2 * FLUSH_BEFORE_WAIT_NS + 1_000,
        );
        rec.hold_batches();
        rec.hold_batches();
        rec.enter_at(State::Io, None, start + 2 * FLUSH_BEFORE_WAIT_NS + 2_000);
        assert_eq!(batches(), opened, "a held batch was sent");
        rec.release_batches();
        assert_eq!(
            batches(),
            opened,
            "an inner release sent the outer hold's batch"
        );
        rec.release_batches();
        assert_eq!(
            batches(),
            opened + 1,
            "the held batch did not go on release"
        );
        let spans: usize = sink.0.lock().unwrap().iter().map(|b| b.spans.len()).sum();
        assert_eq!(spans, 3, "running, waiting for the GIL, running");
        rec.release_batches();
        assert_eq!(batches(), opened + 1, "a second release sent another batch");
    }

    /// Waits a few microseconds apart do not each cost a batch (a queue's feeder waits for
    /// every write); a join, and a wait a millisecond after the last batch, do flush.
    #[test]
    fn frequent_short_waits_share_a_batch_but_a_join_flushes() {
        let sink = Arc::new(VecSink::default());
        let lane = lane(1, "QueueFeederThread", LaneKind::Feeder);
        let mut rec = Recorder::new(lane, Epoch::now(), sink.clone(), State::Running);
        let batches = || sink.0.lock().unwrap().len();
        let opened = batches();
        let start = rec.last_flush;
        for i in 0..100u64 {
            rec.enter_at(State::Io, None, start + 2 * i * 1_000 + 1_000);
            rec.enter_at(State::Running, None, start + 2 * i * 1_000 + 2_000);
        }
        assert_eq!(batches(), opened, "200 µs of waits flushed");
        rec.enter_at(State::Io, None, start + FLUSH_BEFORE_WAIT_NS + 1_000);
        assert_eq!(batches(), opened + 1, "a wait 1 ms after the last batch");
        rec.enter_at(State::Running, None, start + FLUSH_BEFORE_WAIT_NS + 2_000);
        rec.enter_at(State::Join, None, start + FLUSH_BEFORE_WAIT_NS + 3_000);
        assert_eq!(batches(), opened + 2, "a join");
    }
}
