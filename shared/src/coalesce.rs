//! Level of detail: shrinks a list of spans for a view that cannot show anything shorter than
//! `resolution` ns, the way a renderer buckets spans into pixels.
//!
//! Spans at least `resolution` long pass unchanged. A run of shorter spans on a lane is cut into
//! windows about `resolution` long; each window becomes one span per state met in it, laid side
//! by side in order of first appearance, each as long as that state's total in the window.
//! So the time each lane spends in each state is kept exactly, no span moves by more than
//! `resolution`, spans of a lane still never overlap, and a window yields at most one span per
//! state however many thousands of hand-offs it held.

use std::collections::{HashMap, HashSet};

use crate::trace::{
    CounterId, LaneId, Mark, MarkKind, Nanos, QueueId, Sample, Span, State, Trace, TraceDelta,
};

/// Coalesces `spans` (any lanes, any order) to `resolution` ns. Output is grouped by lane in
/// order of first appearance, sorted by `t0` within each lane.
pub fn coalesce(spans: &[Span], resolution: Nanos) -> Vec<Span> {
    if resolution <= 1 {
        return spans.to_vec();
    }
    let mut lanes: Vec<LaneId> = Vec::new();
    for span in spans {
        if !lanes.contains(&span.lane) {
            lanes.push(span.lane);
        }
    }
    let mut out = Vec::with_capacity(spans.len().min(4096));
    for lane in lanes {
        let mut own: Vec<Span> = spans.iter().filter(|s| s.lane == lane).copied().collect();
        own.sort_by_key(|s| s.t0);
        coalesce_lane(&own, resolution, &mut out);
    }
    out
}

/// Short spans collected for one window of a lane.
struct Window {
    lane: LaneId,
    start: Nanos,
    /// Per state met: total ns and the task, kept only while every span agrees on it.
    totals: Vec<(State, Nanos, Option<u32>)>,
}

impl Window {
    fn add(&mut self, span: &Span) {
        match self
            .totals
            .iter_mut()
            .find(|(state, ..)| *state == span.state)
        {
            Some((_, total, task)) => {
                *total += span.duration();
                if *task != span.task {
                    *task = None;
                }
            }
            None => self.totals.push((span.state, span.duration(), span.task)),
        }
    }

    fn flush(self, out: &mut Vec<Span>) {
        let mut cursor = self.start;
        for (state, total, task) in self.totals {
            out.push(Span {
                lane: self.lane,
                state,
                t0: cursor,
                t1: cursor + total,
                task,
            });
            cursor += total;
        }
    }
}

fn coalesce_lane(spans: &[Span], resolution: Nanos, out: &mut Vec<Span>) {
    let mut window: Option<Window> = None;
    for span in spans {
        if span.duration() >= resolution {
            if let Some(w) = window.take() {
                w.flush(out);
            }
            out.push(*span);
            continue;
        }
        if window
            .as_ref()
            .is_some_and(|w| span.t1 > w.start + resolution)
        {
            window.take().expect("checked above").flush(out);
        }
        window
            .get_or_insert_with(|| Window {
                lane: span.lane,
                start: span.t0,
                totals: Vec::new(),
            })
            .add(span);
    }
    if let Some(w) = window {
        w.flush(out);
    }
}

/// Shrinks a stream of deltas (a live run, frame after frame) to one resolution: spans as
/// [`coalesce`] does; of the marks of one kind on one lane, and of the samples of one counter,
/// at most one per `resolution` ns. A `get` mark is kept exactly when its `put` was, so a
/// trace rebuilt from the frames still passes the validator.
pub struct DeltaCoalescer {
    resolution: Nanos,
    last_mark: HashMap<(LaneId, u8), Nanos>,
    last_sample: HashMap<CounterId, Nanos>,
    /// Items whose `put` was kept and whose `get` has not been seen yet.
    kept_puts: HashSet<(QueueId, u64)>,
}

impl DeltaCoalescer {
    pub fn new(resolution: Nanos) -> Self {
        DeltaCoalescer {
            resolution,
            last_mark: HashMap::new(),
            last_sample: HashMap::new(),
            kept_puts: HashSet::new(),
        }
    }

    pub fn resolution(&self) -> Nanos {
        self.resolution
    }

    /// The delta as a viewer at this resolution needs it.
    pub fn coalesce(&mut self, delta: &TraceDelta) -> TraceDelta {
        self.coalesce_parts(&delta.added, &delta.open_spans)
    }

    /// [`Self::coalesce`] of a trace's parts and open spans, borrowed (a whole trace need not
    /// be copied into a delta first).
    pub fn coalesce_parts(&mut self, added: &Trace, open_spans: &[Span]) -> TraceDelta {
        TraceDelta {
            added: Trace {
                interpreters: added.interpreters.clone(),
                lanes: added.lanes.clone(),
                queues: added.queues.clone(),
                counters: added.counters.clone(),
                spans: coalesce(&added.spans, self.resolution),
                marks: added
                    .marks
                    .iter()
                    .filter(|m| self.keep_mark(m))
                    .copied()
                    .collect(),
                samples: added
                    .samples
                    .iter()
                    .filter(|s| self.keep_sample(s))
                    .copied()
                    .collect(),
                end: added.end,
            },
            open_spans: open_spans.to_vec(),
        }
    }

    /// True when nothing of `key` was kept in the last `resolution` ns; then `t` is kept.
    fn window_free<K: std::hash::Hash + Eq>(
        last: &mut HashMap<K, Nanos>,
        key: K,
        t: Nanos,
        resolution: Nanos,
    ) -> bool {
        match last.get(&key) {
            Some(&kept) if t < kept.saturating_add(resolution) => false,
            _ => {
                last.insert(key, t);
                true
            }
        }
    }

    fn keep_mark(&mut self, mark: &Mark) -> bool {
        let kind = mark_kind_index(&mark.kind);
        match mark.kind {
            MarkKind::Get { queue, item } => self.kept_puts.remove(&(queue, item)),
            MarkKind::Put { queue, item } => {
                let keep = Self::window_free(
                    &mut self.last_mark,
                    (mark.lane, kind),
                    mark.t,
                    self.resolution,
                );
                if keep {
                    self.kept_puts.insert((queue, item));
                }
                keep
            }
            _ => Self::window_free(
                &mut self.last_mark,
                (mark.lane, kind),
                mark.t,
                self.resolution,
            ),
        }
    }

    fn keep_sample(&mut self, sample: &Sample) -> bool {
        Self::window_free(
            &mut self.last_sample,
            sample.counter,
            sample.t,
            self.resolution,
        )
    }
}

fn mark_kind_index(kind: &MarkKind) -> u8 {
    match kind {
        MarkKind::DropRequest { .. } => 0,
        MarkKind::Handoff { .. } => 1,
        MarkKind::Put { .. } => 2,
        MarkKind::Get { .. } => 3,
        MarkKind::TaskStart { .. } => 4,
        MarkKind::TaskEnd { .. } => 5,
        MarkKind::LostUpdate { .. } => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::InterpId;
    use std::collections::BTreeMap;

    fn span(lane: u32, state: State, t0: Nanos, t1: Nanos) -> Span {
        Span {
            lane: LaneId(lane),
            state,
            t0,
            t1,
            task: None,
        }
    }

    fn time_per_state(spans: &[Span]) -> BTreeMap<(u32, State), Nanos> {
        let mut totals = BTreeMap::new();
        for s in spans {
            *totals.entry((s.lane.0, s.state)).or_default() += s.duration();
        }
        totals
    }

    /// Two lanes handing the GIL over every 7 ns for 10 µs, then a long span each.
    fn busy_trace() -> Vec<Span> {
        let mut spans = Vec::new();
        let mut t = 0;
        let mut turn = 0;
        while t < 10_000 {
            for lane in 0..2 {
                let state = if (lane + turn) % 2 == 0 {
                    State::Running
                } else {
                    State::WaitGil
                };
                spans.push(span(lane, state, t, t + 7));
            }
            t += 7;
            turn += 1;
        }
        spans.push(span(0, State::Io, t, t + 5_000));
        spans.push(span(1, State::Join, t, t + 5_000));
        spans
    }

    #[test]
    fn time_per_state_is_kept_and_spans_shrink() {
        let spans = busy_trace();
        let coarse = coalesce(&spans, 1_000);
        assert_eq!(time_per_state(&coarse), time_per_state(&spans));
        // Per lane: about 10 µs / 1 µs windows of two states each, then the long span.
        assert!(coarse.len() <= 2 * (2 * 11 + 1), "{} spans", coarse.len());
    }

    #[test]
    fn lanes_never_overlap_and_nothing_moves_further_than_the_resolution() {
        let spans = busy_trace();
        let coarse = coalesce(&spans, 1_000);
        for lane in 0..2 {
            let own: Vec<_> = coarse.iter().filter(|s| s.lane.0 == lane).collect();
            assert!(own.windows(2).all(|w| w[0].t1 <= w[1].t0));
            let long = own.last().unwrap();
            assert_eq!((long.t0, long.t1), (10_003, 15_003));
        }
        for s in &coarse {
            assert!(s.t1 <= 15_003);
        }
    }

    #[test]
    fn long_spans_pass_unchanged_and_resolution_one_is_identity() {
        let spans = vec![
            span(0, State::Running, 0, 2_000),
            span(0, State::Io, 2_000, 2_010),
            span(0, State::Running, 2_010, 5_000),
        ];
        let coarse = coalesce(&spans, 1_000);
        assert_eq!(coarse, spans);
        assert_eq!(coalesce(&busy_trace(), 1), busy_trace());
    }

    #[test]
    fn a_task_survives_only_when_every_merged_span_agrees() {
        let mut a = span(0, State::Running, 0, 10);
        a.task = Some(3);
        let mut b = span(0, State::Running, 20, 30);
        b.task = Some(3);
        let mut c = span(1, State::Running, 0, 10);
        c.task = Some(1);
        let mut d = span(1, State::Running, 20, 30);
        d.task = Some(2);
        let coarse = coalesce(&[a, b, c, d], 100);
        assert_eq!(coarse.len(), 2);
        assert_eq!(coarse[0].task, Some(3));
        assert_eq!(coarse[1].task, None);
    }

    #[test]
    fn marks_and_samples_are_thinned_but_gets_follow_their_puts() {
        let queue = QueueId(0);
        let mut delta = TraceDelta::default();
        for i in 0..100u64 {
            let t = i * 10;
            delta.added.marks.push(Mark {
                lane: LaneId(0),
                t,
                kind: MarkKind::Put { queue, item: i },
            });
            delta.added.marks.push(Mark {
                lane: LaneId(1),
                t: t + 5,
                kind: MarkKind::Get { queue, item: i },
            });
            delta.added.marks.push(Mark {
                lane: LaneId(0),
                t,
                kind: MarkKind::Handoff {
                    interp: InterpId(0),
                    from: Some(LaneId(1)),
                    to: LaneId(0),
                },
            });
            delta.added.samples.push(Sample {
                counter: CounterId(0),
                t,
                value: 1.0,
            });
        }
        let mut coalescer = DeltaCoalescer::new(100);
        let thin = coalescer.coalesce(&delta);
        let count =
            |f: fn(&MarkKind) -> bool| thin.added.marks.iter().filter(|m| f(&m.kind)).count();
        assert_eq!(count(|k| matches!(k, MarkKind::Put { .. })), 10);
        assert_eq!(count(|k| matches!(k, MarkKind::Get { .. })), 10);
        assert_eq!(count(|k| matches!(k, MarkKind::Handoff { .. })), 10);
        assert_eq!(thin.added.samples.len(), 10);
        for get in thin.added.marks.iter().filter_map(|m| match m.kind {
            MarkKind::Get { item, .. } => Some(item),
            _ => None,
        }) {
            assert_eq!(get % 10, 0, "item {get} was got but its put was dropped");
        }
    }
}
