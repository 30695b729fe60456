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
        // The lane is on its way before it is on the board, so a drain (which reads the board
        // first) never hands out an open span of a lane it has not described.
        let id = lane.id;
        self.deliver(Trace {
            lanes: vec![lane],
            ..Trace::default()
        });
        self.board.open(id)
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

    /// What is new since the previous drain, plus each lane's span in progress. The board is
    /// read before the batches are pulled (a lane is sent before it is on the board, so every
    /// open span's lane is in this delta or an earlier one); the delta ends after the pull, so
    /// no span it carries ends after it.
    pub fn drain(&mut self) -> TraceDelta {
        let open_spans = self.open_spans(self.epoch.elapsed());
        self.pull();
        let mut added = self.trace.since(self.drained);
        added.end = self.epoch.elapsed();
        self.drained = self.trace.counts();
        TraceDelta { added, open_spans }
    }

    fn open_spans(&self, now: Nanos) -> Vec<Span> {
        self.sink.board.open_spans(now)
    }

    /// The finished trace: lanes in id order, spans in time order, `end` set to `end`. The
    /// collector hands its trace over (no copy) and keeps only what no drain has handed out
    /// yet, for the last drain: a live viewer gets the run's tail too.
    pub fn finish(&mut self, end: Nanos) -> Trace {
        self.pull();
        let tail = self.trace.since(self.drained);
        let mut trace = std::mem::replace(&mut self.trace, tail);
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

#[cfg(test)]
mod tests {
    use gilscope_shared::trace::{InterpId, LaneId, LaneKind, State};

    use super::*;

    fn lane(id: u32) -> Lane {
        Lane {
            id: LaneId(id),
            interp: InterpId(0),
            name: format!("Thread-{id}"),
            kind: LaneKind::Worker,
            tid: None,
        }
    }

    fn span(lane: u32, t0: Nanos, t1: Nanos) -> Span {
        Span {
            lane: LaneId(lane),
            state: State::Running,
            t0,
            t1,
            task: None,
        }
    }

    #[test]
    fn the_last_drain_after_finish_hands_out_the_tail() {
        let mut collector = Collector::new(Epoch::now(), 1_000);
        let sink = collector.sink();
        let _first = sink.open_lane(lane(0));
        sink.deliver(Trace {
            spans: vec![span(0, 0, 10)],
            ..Trace::default()
        });
        let early = collector.drain();
        assert_eq!(early.added.lanes.len(), 1);
        assert_eq!(early.added.spans.len(), 1);
        // A lane that opens and works after the last live drain, just before the run ends.
        let _late = sink.open_lane(lane(1));
        sink.deliver(Trace {
            spans: vec![span(1, 10, 20), span(0, 10, 20)],
            ..Trace::default()
        });
        let whole = collector.finish(20);
        assert_eq!((whole.lanes.len(), whole.spans.len()), (2, 3));
        let tail = collector.drain();
        assert_eq!(tail.added.lanes, vec![lane(1)]);
        assert_eq!(tail.added.spans.len(), 2);
        assert!(collector.drain().is_empty(), "the tail is handed out once");
    }

    #[test]
    fn an_open_span_never_comes_before_its_lane() {
        let mut collector = Collector::new(Epoch::now(), 1_000);
        let sink = collector.sink();
        let mut described = std::collections::HashSet::new();
        for id in 0..200 {
            let _status = sink.open_lane(lane(id));
            let delta = collector.drain();
            described.extend(delta.added.lanes.iter().map(|l| l.id));
            for open in &delta.open_spans {
                assert!(described.contains(&open.lane), "lane {:?}", open.lane);
            }
        }
    }
}
