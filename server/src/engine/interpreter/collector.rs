//! The collector: receives the threads' batches, keeps the whole trace, and hands out what is
//! new since the last look ([`Collector::drain`]) for live streaming.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use gilscope_shared::trace::{Lane, Nanos, PartCounts, Span, Trace, TraceDelta};

use crate::engine::interpreter::clock::Epoch;
use crate::engine::interpreter::recorder::{EventSink, LaneBoard, LaneStatus};

/// The in-process sink: batches travel over a channel (`Sender` is `Sync` and lock-free on the
/// sending side), only when a recorder flushes a batch.
///
/// It counts the events it passes on. Past `max_events` it reports [`EventSink::over_cap`]
/// (the conductor then stops the run) but keeps what arrives while the run winds down, so
/// the trace stays whole up to the stop; past twice that it drops batches, whatever happens.
pub struct ChannelSink {
    tx: Sender<Trace>,
    board: LaneBoard,
    events: AtomicU64,
    max_events: u64,
}

impl EventSink for ChannelSink {
    fn open_lane(&self, lane: Lane) -> Arc<LaneStatus> {
        let status = self.board.open(lane.id);
        self.deliver(Trace {
            lanes: vec![lane],
            ..Trace::default()
        });
        status
    }

    fn deliver(&self, batch: Trace) {
        let n = batch.events() as u64;
        let before = self.events.fetch_add(n, Ordering::Relaxed);
        if before + n > self.max_events.saturating_mul(2) && n > 0 {
            return; // the run did not stop in time: what bounds memory wins over completeness
        }
        // A send only fails once the collector is gone: the run is over, nobody is listening.
        let _ = self.tx.send(batch);
    }

    fn over_cap(&self) -> bool {
        self.events.load(Ordering::Relaxed) > self.max_events
    }
}

/// Everything received so far, and how much of it has been drained.
pub struct Collector {
    epoch: Epoch,
    rx: Receiver<Trace>,
    sink: Arc<ChannelSink>,
    trace: Trace,
    /// How much of the trace the previous drain handed out.
    drained: PartCounts,
}

impl Collector {
    /// A collector for a run that may record up to `max_events` events.
    pub fn new(epoch: Epoch, max_events: u64) -> Collector {
        let (tx, rx) = channel();
        Collector {
            epoch,
            rx,
            sink: Arc::new(ChannelSink {
                tx,
                board: LaneBoard::default(),
                events: AtomicU64::new(0),
                max_events,
            }),
            trace: Trace::default(),
            drained: PartCounts::default(),
        }
    }

    /// The sink the run's threads record into.
    pub fn sink(&self) -> Arc<dyn EventSink> {
        self.sink.clone()
    }

    /// Moves every batch received so far into the trace.
    fn pull(&mut self) {
        while let Ok(batch) = self.rx.try_recv() {
            self.trace.append(batch);
        }
    }

    /// What is new since the previous drain, plus each lane's span in progress.
    pub fn drain(&mut self) -> TraceDelta {
        self.pull();
        let now = self.epoch.elapsed();
        let mut added = self.trace.since(self.drained);
        added.end = now;
        self.drained = self.trace.counts();
        TraceDelta {
            added,
            open_spans: self.open_spans(now),
        }
    }

    fn open_spans(&self, now: Nanos) -> Vec<Span> {
        self.sink.board.open_spans(now)
    }

    /// The trace so far (everything received, drained or not).
    pub fn trace(&mut self) -> &Trace {
        self.pull();
        &self.trace
    }

    /// The finished trace: lanes in id order, spans in time order, `end` set to `end`. The
    /// collector hands its trace over (no copy) and is empty afterwards.
    pub fn finish(&mut self, end: Nanos) -> Trace {
        self.pull();
        let mut trace = std::mem::take(&mut self.trace);
        self.drained = PartCounts::default();
        trace.lanes.sort_by_key(|l| l.id);
        trace.interpreters.sort_by_key(|i| i.id);
        trace.queues.sort_by_key(|q| q.id);
        trace.counters.sort_by_key(|c| c.id);
        trace.spans.sort_by_key(|s| (s.t0, s.lane));
        trace.marks.sort_by_key(|m| m.t);
        trace.samples.sort_by_key(|s| s.t);
        trace.end = end.max(trace.end);
        trace
    }
}
