//! The trace model: what every thread of a run did, and when.
//!
//! A [`Trace`] is lanes (one per thread), spans (a lane in one [`State`] from `t0` to `t1`),
//! marks (instants: GIL hand-offs, puts and gets, ...) and counter tracks (queue depth, core
//! usage, ...). Times are nanoseconds since the run started, on the machine's monotonic clock,
//! so lanes of worker processes sit on the same axis as the server's own threads.
//! [`TraceDelta`] is the same vocabulary for "what is new since the last frame".

use serde::{Deserialize, Serialize};

pub use crate::state::State;

/// Nanoseconds since the run started.
pub type Nanos = u64;

/// Index of a lane in [`Trace::lanes`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LaneId(pub u32);

/// Index of an interpreter (one per process; each has its own GIL) in [`Trace::interpreters`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterpId(pub u32);

/// Index of a queue in [`Trace::queues`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub u32);

/// Index of a counter track in [`Trace::counters`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterId(pub u32);

/// Which GIL an interpreter runs under.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum GilFlavour {
    /// CPython 3.2+: timed waits, drop requests, forced switching.
    #[default]
    Current,
    /// Python 2: release and re-acquire every N ticks, nothing handed to a waiter.
    Ticks,
    /// Free-threaded (3.13t): no GIL at all.
    None,
}

impl GilFlavour {
    pub fn name(self) -> &'static str {
        match self {
            GilFlavour::Current => "current",
            GilFlavour::Ticks => "ticks",
            GilFlavour::None => "none",
        }
    }
}

/// One interpreter: the server's own emulated process, or a worker process.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Interpreter {
    pub id: InterpId,
    /// `MainProcess`, `ForkPoolWorker-1`, `Process-2`, ...
    pub name: String,
    pub gil: GilFlavour,
    /// The OS process id, when known.
    pub pid: Option<u32>,
}

/// What role a lane's thread plays, so views can group and label it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    /// The interpreter's main thread.
    Main,
    /// A thread started by the experiment (`Thread-1`).
    Worker,
    /// A worker of a thread or process pool.
    PoolWorker,
    /// A pool's task handler or result handler thread.
    Handler,
    /// A `multiprocessing.Queue`'s feeder thread.
    Feeder,
    /// Not Python at all: the other end of a socket, the kernel, ...
    Peer,
}

/// One thread of one process.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Lane {
    pub id: LaneId,
    pub interp: InterpId,
    /// What a Python programmer would call it: `MainThread`, `Thread-1`, `QueueFeederThread`.
    pub name: String,
    pub kind: LaneKind,
    /// The OS thread id, when known (for /proc sampling).
    pub tid: Option<u32>,
}

/// A lane in one state from `t0` to `t1` (`t0 <= t1`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub lane: LaneId,
    pub state: State,
    pub t0: Nanos,
    pub t1: Nanos,
    /// The task (pool task index, item number) this span works for, if any.
    pub task: Option<u32>,
}

impl Span {
    pub fn duration(&self) -> Nanos {
        self.t1.saturating_sub(self.t0)
    }
}

/// What happened at an instant.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MarkKind {
    /// A waiter timed out and asked `holder` to drop the GIL.
    DropRequest {
        holder: LaneId,
    },
    /// The GIL of `interp` changed hands (`from` is None when it was free and unowned).
    Handoff {
        interp: InterpId,
        from: Option<LaneId>,
        to: LaneId,
    },
    /// `item` entered the queue (became counted by the true depth).
    Put {
        queue: QueueId,
        item: u64,
    },
    /// `item` left the queue.
    Get {
        queue: QueueId,
        item: u64,
    },
    TaskStart {
        task: u32,
    },
    TaskEnd {
        task: u32,
    },
    /// A thread wrote back a value computed from a stale read.
    LostUpdate {
        read: i64,
        written: i64,
    },
}

/// An instant on a lane.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Mark {
    pub lane: LaneId,
    pub t: Nanos,
    pub kind: MarkKind,
}

/// A queue of the experiment (`queue.Queue` or `multiprocessing.Queue`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct QueueInfo {
    pub id: QueueId,
    pub name: String,
    /// `maxsize`; None for an unbounded queue.
    pub capacity: Option<u64>,
}

/// What a counter track measures.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CounterKind {
    /// Items put and not yet got: the truth.
    QueueDepth { queue: QueueId },
    /// What `q.qsize()` reported.
    QueueQsize { queue: QueueId },
    /// What `q.empty()` reported (1 = True, 0 = False).
    QueueEmpty { queue: QueueId },
    /// Busy fraction of one logical core, 0..=1.
    CoreUsage { core: u32 },
    /// Mean number of busy cores of the whole machine.
    CoresBusy,
    /// The core a lane's thread last ran on (its number), as the kernel reports it.
    LaneCore { lane: LaneId },
    /// The value of a shared variable.
    SharedValue,
}

/// A series of samples over time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CounterTrack {
    pub id: CounterId,
    pub name: String,
    pub kind: CounterKind,
}

/// One sample of a counter track.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub counter: CounterId,
    pub t: Nanos,
    pub value: f64,
}

/// Everything that happened in one run — or, inside a [`TraceDelta`], what a run added in
/// a stretch of time. One struct for both, so whatever moves traces around (the collector,
/// the worker pipe, the frame splitter, a viewer) lists its parts in one place.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub interpreters: Vec<Interpreter>,
    pub lanes: Vec<Lane>,
    pub queues: Vec<QueueInfo>,
    pub counters: Vec<CounterTrack>,
    /// Sorted by `t0` within each lane; lanes interleaved.
    pub spans: Vec<Span>,
    pub marks: Vec<Mark>,
    pub samples: Vec<Sample>,
    /// The run's end, ns since its start (in a delta: the latest instant it covers).
    pub end: Nanos,
}

/// How many of each part a trace holds: where the next [`Trace::since`] starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartCounts {
    interpreters: usize,
    lanes: usize,
    queues: usize,
    counters: usize,
    spans: usize,
    marks: usize,
    samples: usize,
}

/// What is new in a trace since the previous delta: the unit of live streaming.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TraceDelta {
    /// The parts the trace gained; its `end` is the latest instant this delta covers.
    pub added: Trace,
    /// The state each lane is in right now, as a span from when it entered it to `now`.
    /// Not part of the trace: each delta's `open_spans` replace the previous delta's, and the
    /// finished span arrives in `added.spans` once the lane leaves that state.
    #[serde(default)]
    pub open_spans: Vec<Span>,
}

impl From<Trace> for TraceDelta {
    fn from(added: Trace) -> TraceDelta {
        TraceDelta {
            added,
            open_spans: Vec::new(),
        }
    }
}

impl TraceDelta {
    /// Nothing was added (open spans aside).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
    }

    /// The latest instant this delta covers.
    pub fn now(&self) -> Nanos {
        self.added.end
    }
}

impl Trace {
    /// Appends the parts of `more` (a delta's, as a viewer rebuilding the trace from frames
    /// does); `end` becomes the later of the two.
    pub fn append(&mut self, more: Trace) {
        self.interpreters.extend(more.interpreters);
        self.lanes.extend(more.lanes);
        self.queues.extend(more.queues);
        self.counters.extend(more.counters);
        self.spans.extend(more.spans);
        self.marks.extend(more.marks);
        self.samples.extend(more.samples);
        self.end = self.end.max(more.end);
    }

    /// Appends what a delta added (its open spans are left out: they are provisional).
    pub fn apply(&mut self, delta: TraceDelta) {
        self.append(delta.added);
    }

    /// No part holds anything (`end` aside).
    pub fn is_empty(&self) -> bool {
        self.interpreters.is_empty()
            && self.lanes.is_empty()
            && self.queues.is_empty()
            && self.counters.is_empty()
            && self.events() == 0
    }

    /// Spans, marks and samples: the events, which are what a trace has many of.
    pub fn events(&self) -> usize {
        self.spans.len() + self.marks.len() + self.samples.len()
    }

    pub fn counts(&self) -> PartCounts {
        PartCounts {
            interpreters: self.interpreters.len(),
            lanes: self.lanes.len(),
            queues: self.queues.len(),
            counters: self.counters.len(),
            spans: self.spans.len(),
            marks: self.marks.len(),
            samples: self.samples.len(),
        }
    }

    /// A copy of what was appended after the trace held `earlier`, ending at `self.end`.
    pub fn since(&self, earlier: PartCounts) -> Trace {
        Trace {
            interpreters: self.interpreters[earlier.interpreters..].to_vec(),
            lanes: self.lanes[earlier.lanes..].to_vec(),
            queues: self.queues[earlier.queues..].to_vec(),
            counters: self.counters[earlier.counters..].to_vec(),
            spans: self.spans[earlier.spans..].to_vec(),
            marks: self.marks[earlier.marks..].to_vec(),
            samples: self.samples[earlier.samples..].to_vec(),
            end: self.end,
        }
    }

    /// Cuts the events in halves: the first piece keeps every interpreter, lane, queue and
    /// counter (so a reader always knows a lane before its spans) and the first half of each
    /// kind of event; the second the rest. Both end where `self` does.
    pub fn split_events(self) -> (Trace, Trace) {
        fn halves<T>(mut all: Vec<T>) -> (Vec<T>, Vec<T>) {
            let back = all.split_off(all.len() / 2);
            (all, back)
        }
        let (spans_a, spans_b) = halves(self.spans);
        let (marks_a, marks_b) = halves(self.marks);
        let (samples_a, samples_b) = halves(self.samples);
        let first = Trace {
            interpreters: self.interpreters,
            lanes: self.lanes,
            queues: self.queues,
            counters: self.counters,
            spans: spans_a,
            marks: marks_a,
            samples: samples_a,
            end: self.end,
        };
        let second = Trace {
            spans: spans_b,
            marks: marks_b,
            samples: samples_b,
            end: self.end,
            ..Trace::default()
        };
        (first, second)
    }

    /// One process (`MainProcess`, under `gil`) with `lanes` worker threads (`Thread-0`, ...)
    /// and no events yet: where a hand-built trace starts (tests, benchmarks).
    pub fn threads(gil: GilFlavour, lanes: u32) -> Trace {
        Trace {
            interpreters: vec![Interpreter {
                id: InterpId(0),
                name: "MainProcess".into(),
                gil,
                pid: None,
            }],
            lanes: (0..lanes)
                .map(|i| Lane {
                    id: LaneId(i),
                    interp: InterpId(0),
                    name: format!("Thread-{i}"),
                    kind: LaneKind::Worker,
                    tid: None,
                })
                .collect(),
            ..Trace::default()
        }
    }

    /// The lane with this id. Lanes are usually stored in id order; a trace rebuilt from
    /// frames may hold them in arrival order, so fall back to a search.
    pub fn lane(&self, id: LaneId) -> Option<&Lane> {
        self.lanes
            .get(id.0 as usize)
            .filter(|lane| lane.id == id)
            .or_else(|| self.lanes.iter().find(|lane| lane.id == id))
    }

    pub fn interpreter(&self, id: InterpId) -> Option<&Interpreter> {
        self.interpreters
            .get(id.0 as usize)
            .filter(|interp| interp.id == id)
            .or_else(|| self.interpreters.iter().find(|interp| interp.id == id))
    }

    /// An estimate of the heap this trace holds, in bytes: its vectors' capacity and the
    /// names' text. What the run manager counts to keep finished runs under a budget.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        fn vec<T>(v: &Vec<T>) -> usize {
            v.capacity() * size_of::<T>()
        }
        vec(&self.interpreters)
            + self
                .interpreters
                .iter()
                .map(|i| i.name.capacity())
                .sum::<usize>()
            + vec(&self.lanes)
            + self.lanes.iter().map(|l| l.name.capacity()).sum::<usize>()
            + vec(&self.queues)
            + self.queues.iter().map(|q| q.name.capacity()).sum::<usize>()
            + vec(&self.counters)
            + self
                .counters
                .iter()
                .map(|c| c.name.capacity())
                .sum::<usize>()
            + vec(&self.spans)
            + vec(&self.marks)
            + vec(&self.samples)
    }

    /// Total time each lane spent in each state, in ns.
    pub fn time_per_state(&self) -> Vec<(State, Nanos)> {
        let mut totals = [0u64; State::ALL.len()];
        for span in &self.spans {
            totals[span.state as usize] += span.duration();
        }
        State::ALL.iter().copied().zip(totals).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_bytes_grow_with_spans_and_names() {
        let mut trace = Trace::default();
        let empty = trace.heap_bytes();
        trace.spans = vec![
            Span {
                lane: LaneId(0),
                state: State::Running,
                t0: 0,
                t1: 1,
                task: None,
            };
            1000
        ];
        let spans = trace.heap_bytes();
        assert!(spans - empty >= 1000 * std::mem::size_of::<Span>());
        trace.lanes.push(Lane {
            id: LaneId(0),
            interp: InterpId(0),
            name: "x".repeat(10_000),
            kind: LaneKind::Main,
            tid: None,
        });
        assert!(trace.heap_bytes() - spans >= 10_000);
    }
}
