//! Checks the invariants of the trace model on any trace (docs/design.md, "Invariants").

use std::collections::{HashMap, HashSet};

use crate::trace::{CounterKind, GilFlavour, LaneId, MarkKind, Nanos, QueueId, State, Trace};

/// One broken invariant, with enough context to find it in the trace.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum Violation {
    #[error("span of lane {lane} ends before it starts ({t0} > {t1})")]
    BackwardsSpan { lane: u32, t0: Nanos, t1: Nanos },
    #[error("a span names lane {lane}, which the trace does not have")]
    UnknownLane { lane: u32 },
    #[error("spans of lane {lane} overlap at {at} ns")]
    LaneOverlap { lane: u32, at: Nanos },
    #[error("lanes {first} and {second} both run with the GIL of interpreter {interp} at {at} ns")]
    TwoGilHolders {
        interp: u32,
        first: u32,
        second: u32,
        at: Nanos,
    },
    #[error("item {item} was got from queue {queue} at {at} ns with no earlier put")]
    GetWithoutPut { queue: u32, item: u64, at: Nanos },
    #[error("queue {queue} held {depth} items at {at} ns, above its capacity {capacity}")]
    DepthOverCapacity {
        queue: u32,
        depth: f64,
        capacity: u64,
        at: Nanos,
    },
}

/// Every violation found; an empty list means the trace is sound.
pub fn validate(trace: &Trace) -> Vec<Violation> {
    let mut found = Vec::new();
    check_lanes(trace, &mut found);
    check_gil(trace, &mut found);
    check_puts_before_gets(trace, &mut found);
    check_depth(trace, &mut found);
    found
}

/// Spans go forwards, name a known lane, and never overlap within a lane.
fn check_lanes(trace: &Trace, found: &mut Vec<Violation>) {
    let mut by_lane: HashMap<LaneId, Vec<(Nanos, Nanos)>> = HashMap::new();
    for span in &trace.spans {
        if span.t0 > span.t1 {
            found.push(Violation::BackwardsSpan {
                lane: span.lane.0,
                t0: span.t0,
                t1: span.t1,
            });
        }
        if trace.lane(span.lane).is_none() {
            found.push(Violation::UnknownLane { lane: span.lane.0 });
            continue;
        }
        by_lane
            .entry(span.lane)
            .or_default()
            .push((span.t0, span.t1));
    }
    for (lane, mut spans) in by_lane {
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if pair[1].0 < pair[0].1 {
                found.push(Violation::LaneOverlap {
                    lane: lane.0,
                    at: pair[1].0,
                });
                break;
            }
        }
    }
}

/// Under a GIL, at most one lane of an interpreter is `Running` at any instant.
fn check_gil(trace: &Trace, found: &mut Vec<Violation>) {
    let mut running: HashMap<u32, Vec<(Nanos, Nanos, LaneId)>> = HashMap::new();
    for span in trace.spans.iter().filter(|s| s.state == State::Running) {
        let Some(lane) = trace.lane(span.lane) else {
            continue;
        };
        let has_gil = trace
            .interpreter(lane.interp)
            .is_none_or(|i| i.gil != GilFlavour::None);
        if has_gil && span.t1 > span.t0 {
            running
                .entry(lane.interp.0)
                .or_default()
                .push((span.t0, span.t1, span.lane));
        }
    }
    for (interp, mut spans) in running {
        spans.sort_unstable();
        let mut holder: Option<(Nanos, LaneId)> = None;
        for (t0, t1, lane) in spans {
            if let Some((until, other)) = holder {
                if t0 < until && other != lane {
                    found.push(Violation::TwoGilHolders {
                        interp,
                        first: other.0,
                        second: lane.0,
                        at: t0,
                    });
                    break;
                }
            }
            if holder.is_none_or(|(until, _)| t1 > until) {
                holder = Some((t1, lane));
            }
        }
    }
}

/// Every `get` of an item follows a `put` of the same item on the same queue.
fn check_puts_before_gets(trace: &Trace, found: &mut Vec<Violation>) {
    let mut marks: Vec<_> = trace
        .marks
        .iter()
        .filter(|m| matches!(m.kind, MarkKind::Put { .. } | MarkKind::Get { .. }))
        .collect();
    // At equal times a put sorts before a get: an item may be handed over in the same ns.
    marks.sort_by_key(|m| (m.t, matches!(m.kind, MarkKind::Get { .. })));
    let mut put: HashSet<(QueueId, u64)> = HashSet::new();
    for mark in marks {
        match mark.kind {
            MarkKind::Put { queue, item } => {
                put.insert((queue, item));
            }
            MarkKind::Get { queue, item } if !put.contains(&(queue, item)) => {
                found.push(Violation::GetWithoutPut {
                    queue: queue.0,
                    item,
                    at: mark.t,
                });
            }
            _ => {}
        }
    }
}

/// The true depth of a bounded queue never exceeds its capacity.
fn check_depth(trace: &Trace, found: &mut Vec<Violation>) {
    let capacity_of: HashMap<_, _> = trace
        .counters
        .iter()
        .filter_map(|c| match c.kind {
            CounterKind::QueueDepth { queue } => {
                let capacity = trace.queues.iter().find(|q| q.id == queue)?.capacity?;
                Some((c.id, (queue, capacity)))
            }
            _ => None,
        })
        .collect();
    for sample in &trace.samples {
        if let Some(&(queue, capacity)) = capacity_of.get(&sample.counter) {
            if sample.value > capacity as f64 {
                found.push(Violation::DepthOverCapacity {
                    queue: queue.0,
                    depth: sample.value,
                    capacity,
                    at: sample.t,
                });
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::*;

    fn two_lanes(gil: GilFlavour) -> Trace {
        Trace::threads(gil, 2)
    }

    fn span(lane: u32, state: State, t0: Nanos, t1: Nanos) -> Span {
        Span {
            lane: LaneId(lane),
            state,
            t0,
            t1,
            task: None,
        }
    }

    #[test]
    fn alternating_holders_are_sound() {
        let mut trace = two_lanes(GilFlavour::Current);
        trace.spans = vec![
            span(0, State::Running, 0, 10),
            span(1, State::WaitGil, 0, 10),
            span(1, State::Running, 10, 20),
            span(0, State::WaitGil, 10, 20),
        ];
        assert_eq!(validate(&trace), vec![]);
    }

    #[test]
    fn overlapping_spans_of_one_lane_are_caught() {
        let mut trace = two_lanes(GilFlavour::Current);
        trace.spans = vec![span(0, State::Running, 0, 10), span(0, State::Io, 5, 15)];
        assert_eq!(
            validate(&trace),
            vec![Violation::LaneOverlap { lane: 0, at: 5 }]
        );
    }

    #[test]
    fn two_holders_are_caught_unless_there_is_no_gil() {
        let mut trace = two_lanes(GilFlavour::Current);
        trace.spans = vec![
            span(0, State::Running, 0, 10),
            span(1, State::Running, 9, 20),
        ];
        assert!(matches!(
            validate(&trace)[..],
            [Violation::TwoGilHolders { at: 9, .. }]
        ));
        trace.interpreters[0].gil = GilFlavour::None;
        assert_eq!(validate(&trace), vec![]);
    }

    #[test]
    fn a_get_needs_an_earlier_put_and_depth_stays_in_capacity() {
        let mut trace = two_lanes(GilFlavour::Current);
        let queue = QueueId(0);
        trace.queues = vec![QueueInfo {
            id: queue,
            name: "q".into(),
            capacity: Some(1),
        }];
        trace.counters = vec![CounterTrack {
            id: CounterId(0),
            name: "depth".into(),
            kind: CounterKind::QueueDepth { queue },
        }];
        let mark = |t, kind| Mark {
            lane: LaneId(0),
            t,
            kind,
        };
        trace.marks = vec![
            mark(5, MarkKind::Get { queue, item: 1 }),
            mark(5, MarkKind::Put { queue, item: 1 }),
            mark(6, MarkKind::Get { queue, item: 2 }),
        ];
        trace.samples = vec![Sample {
            counter: CounterId(0),
            t: 7,
            value: 2.0,
        }];
        let found = validate(&trace);
        assert_eq!(
            found,
            vec![
                Violation::GetWithoutPut {
                    queue: 0,
                    item: 2,
                    at: 6
                },
                Violation::DepthOverCapacity {
                    queue: 0,
                    depth: 2.0,
                    capacity: 1,
                    at: 7
                }
            ]
        );
    }
}
