//! The run being shown, rebuilt from the server's frames: per-lane span lists sorted by `t0`,
//! the state each lane is in right now (open spans), GIL hand-offs, counter samples and the
//! run's info. Plain data, no web-sys: the host tests cover it.
//!
//! Which run is shown: the newest one any viewer started (highest id). A frame or run message
//! of an older run is ignored; one of a newer run replaces what is shown.

use crate::pyramid::Pyramid;
use gilscope_shared::protocol::{FrameMsg, RunId, RunInfo, RunState};
use gilscope_shared::trace::{
    CounterKind, CounterTrack, GilFlavour, InterpId, Interpreter, Lane, LaneId, LaneKind, Mark,
    MarkKind, Nanos, QueueInfo, Sample, Span, Trace, TraceDelta,
};

/// One thread's row: its lane, its finished spans (sorted by `t0`, never overlapping) and the
/// state it is in right now.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneData {
    pub lane: Lane,
    pub spans: Vec<Span>,
    /// Provisional: replaced by every frame, dropped when the run is over.
    pub open: Option<Span>,
    /// The finished spans at every zoom, for drawing (kept up to date by the store).
    pub summary: Pyramid,
}

impl LaneData {
    fn new(lane: Lane) -> LaneData {
        LaneData {
            lane,
            spans: Vec::new(),
            open: None,
            summary: Pyramid::default(),
        }
    }

    /// The finished spans that overlap `[t0, t1]`.
    pub fn visible(&self, t0: Nanos, t1: Nanos) -> &[Span] {
        let start = self.spans.partition_point(|s| s.t1 < t0);
        let end = self.spans.partition_point(|s| s.t0 <= t1).max(start);
        &self.spans[start..end]
    }

    /// The span (finished or open) covering instant `t`, if any.
    pub fn span_at(&self, t: Nanos) -> Option<Span> {
        let i = self.spans.partition_point(|s| s.t1 <= t);
        match self.spans.get(i) {
            Some(s) if s.t0 <= t => Some(*s),
            _ => self.open.filter(|s| s.t0 <= t && t <= s.t1),
        }
    }
}

/// One counter track and its samples, sorted by time.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterData {
    pub track: CounterTrack,
    pub samples: Vec<Sample>,
}

/// Everything the views draw.
#[derive(Debug, Default, Clone)]
pub struct Store {
    /// The run shown, as last announced.
    pub info: Option<RunInfo>,
    /// The run the data below belongs to (frames may arrive before its info).
    pub run: Option<RunId>,
    /// Sorted by id.
    pub interpreters: Vec<Interpreter>,
    /// Grouped by interpreter, then by lane id (lanes may arrive in any order).
    pub lanes: Vec<LaneData>,
    pub queues: Vec<QueueInfo>,
    /// Sorted by id.
    pub counters: Vec<CounterData>,
    /// GIL hand-offs, sorted by time.
    pub handoffs: Vec<Mark>,
    /// The other marks (puts, gets, stale writes, tasks), in arrival order: what the findings
    /// read.
    pub marks: Vec<Mark>,
    /// The latest instant the frames cover, ns since the run started.
    pub now: Nanos,
    /// The coarsest resolution among the frames received: detail finer than this is merged.
    pub resolution: Nanos,
    /// Bumped by every change, so views know when to redraw.
    pub version: u64,
    /// Each lane's row, sorted by lane id (a `HashMap` would cost the wasm ~4 KB).
    index: Vec<(LaneId, usize)>,
}

impl Store {
    /// Takes a run announcement; true if it concerns the run shown (or a newer one).
    pub fn apply_run(&mut self, info: RunInfo) -> bool {
        match self.run {
            Some(current) if info.id < current => return false,
            Some(current) if info.id > current => self.clear(Some(info.id)),
            None => self.clear(Some(info.id)),
            _ => {}
        }
        if info.state.is_over() {
            for lane in &mut self.lanes {
                lane.open = None;
            }
        }
        self.info = Some(info);
        self.version += 1;
        true
    }

    /// Takes a frame; true if it changed what is shown.
    pub fn apply_frame(&mut self, frame: FrameMsg) -> bool {
        match self.run {
            Some(current) if frame.run < current => return false,
            Some(current) if frame.run == current => {
                if frame.reset {
                    let info = self.info.take();
                    self.clear(Some(current));
                    self.info = info;
                }
            }
            _ => self.clear(Some(frame.run)),
        }
        self.resolution = self.resolution.max(frame.resolution);
        self.apply_delta(frame.delta);
        self.version += 1;
        true
    }

    /// Hands over the run held, data and info, and holds nothing (its version still grows):
    /// what pinning keeps of a run when the next one arrives.
    pub fn take(&mut self) -> Store {
        let version = self.version;
        std::mem::replace(
            self,
            Store {
                version,
                ..Store::default()
            },
        )
    }

    /// Forgets the run held and takes `run` from now on, even an older one (a past run the
    /// page asked the server to replay); a newer run announced later still replaces it.
    pub fn open(&mut self, run: RunId) {
        self.clear(Some(run));
        self.version += 1;
    }

    /// Forgets the data (not the version, which only grows).
    fn clear(&mut self, run: Option<RunId>) {
        let version = self.version;
        *self = Store {
            run,
            version,
            ..Store::default()
        };
    }

    fn apply_delta(&mut self, delta: TraceDelta) {
        for interp in delta.added.interpreters {
            match self.interpreters.binary_search_by_key(&interp.id, |i| i.id) {
                Ok(i) => self.interpreters[i] = interp,
                Err(i) => self.interpreters.insert(i, interp),
            }
        }
        if !delta.added.lanes.is_empty() {
            for lane in delta.added.lanes {
                match self.lane_index(lane.id) {
                    Some(i) => self.lanes[i].lane = lane,
                    None => self.lanes.push(LaneData::new(lane)),
                }
            }
            gilscope_shared::sort::sort_by_key(&mut self.lanes, |l| (l.lane.interp, l.lane.id));
            self.reindex();
        }
        self.queues.extend(delta.added.queues);
        for track in delta.added.counters {
            match self
                .counters
                .binary_search_by_key(&track.id, |c| c.track.id)
            {
                Ok(i) => self.counters[i].track = track,
                Err(i) => self.counters.insert(
                    i,
                    CounterData {
                        track,
                        samples: Vec::new(),
                    },
                ),
            }
        }
        // Per lane touched: whether a span arrived out of order (its summary is rebuilt).
        let mut touched: Vec<Option<bool>> = Vec::new();
        for span in delta.added.spans {
            self.now = self.now.max(span.t1);
            let i = self.lane_slot(span.lane);
            let appended = insert_sorted(&mut self.lanes[i].spans, span, |s| s.t0);
            if touched.len() <= i {
                touched.resize(i + 1, None);
            }
            *touched[i].get_or_insert(false) |= !appended;
        }
        let touched = touched.into_iter().enumerate();
        for (i, rebuild) in touched.filter_map(|(i, t)| Some((i, t?))) {
            let lane = &mut self.lanes[i];
            lane.summary.update(&lane.spans, rebuild);
        }
        for lane in &mut self.lanes {
            lane.open = None;
        }
        let over = self.info.as_ref().is_some_and(|i| i.state.is_over());
        for span in delta.open_spans {
            if !over {
                self.now = self.now.max(span.t1);
                let i = self.lane_slot(span.lane);
                self.lanes[i].open = Some(span);
            }
        }
        for mark in delta.added.marks {
            match mark.kind {
                MarkKind::Handoff { .. } => {
                    insert_sorted(&mut self.handoffs, mark, |m| m.t);
                }
                MarkKind::DropRequest { .. } => {}
                _ => self.marks.push(mark),
            }
        }
        for sample in delta.added.samples {
            if let Ok(i) = self
                .counters
                .binary_search_by_key(&sample.counter, |c| c.track.id)
            {
                insert_sorted(&mut self.counters[i].samples, sample, |s| s.t);
            }
        }
        self.now = self.now.max(delta.added.end);
    }

    /// The row of `id`, creating a placeholder lane if its description has not arrived.
    fn lane_slot(&mut self, id: LaneId) -> usize {
        if let Some(i) = self.lane_index(id) {
            return i;
        }
        self.lanes.push(LaneData::new(Lane {
            id,
            interp: InterpId(u32::MAX),
            name: format!("lane {}", id.0),
            kind: LaneKind::Worker,
            tid: None,
        }));
        let row = self.lanes.len() - 1;
        if let Err(at) = self.index.binary_search_by_key(&id, |e| e.0) {
            self.index.insert(at, (id, row));
        }
        row
    }

    fn reindex(&mut self) {
        self.index = self
            .lanes
            .iter()
            .enumerate()
            .map(|(i, l)| (l.lane.id, i))
            .collect();
        gilscope_shared::sort::sort_by_key(&mut self.index, |e| e.0);
    }

    pub fn lane(&self, id: LaneId) -> Option<&LaneData> {
        self.lane_index(id).map(|i| &self.lanes[i])
    }

    /// Row position of a lane in [`Store::lanes`].
    pub fn lane_index(&self, id: LaneId) -> Option<usize> {
        self.index
            .binary_search_by_key(&id, |e| e.0)
            .ok()
            .map(|at| self.index[at].1)
    }

    pub fn interpreter(&self, id: InterpId) -> Option<&Interpreter> {
        self.interpreters
            .binary_search_by_key(&id, |i| i.id)
            .ok()
            .map(|i| &self.interpreters[i])
    }

    /// Whether this interpreter has a GIL to draw a track for.
    pub fn has_gil(&self, id: InterpId) -> bool {
        self.interpreter(id)
            .is_some_and(|i| i.gil != GilFlavour::None)
    }

    pub fn state(&self) -> Option<RunState> {
        self.info.as_ref().map(|i| i.state)
    }

    /// Still growing: queued or running.
    pub fn is_live(&self) -> bool {
        self.state().is_some_and(|s| !s.is_over())
    }

    /// The counter tracks of one kind of measure.
    pub fn counters_where(&self, f: impl Fn(&CounterKind) -> bool) -> Vec<&CounterData> {
        self.counters.iter().filter(|c| f(&c.track.kind)).collect()
    }

    /// The end of the last span of any lane (or `now` when there are none): what "fit the
    /// whole run" shows.
    pub fn data_end(&self) -> Nanos {
        self.lanes
            .iter()
            .filter_map(|l| l.spans.last().map(|s| s.t1).max(l.open.map(|s| s.t1)))
            .max()
            .unwrap_or(self.now)
    }

    /// The run held as a [`Trace`] (finished spans only), for the findings.
    pub fn trace(&self) -> Trace {
        Trace {
            interpreters: self.interpreters.clone(),
            lanes: self.lanes.iter().map(|l| l.lane.clone()).collect(),
            queues: self.queues.clone(),
            counters: self.counters.iter().map(|c| c.track.clone()).collect(),
            spans: self
                .lanes
                .iter()
                .flat_map(|l| l.spans.iter().copied())
                .collect(),
            marks: self.handoffs.iter().chain(&self.marks).copied().collect(),
            samples: self
                .counters
                .iter()
                .flat_map(|c| c.samples.iter().copied())
                .collect(),
            end: self.now,
        }
    }

    /// Number of spans held, for the page's diagnostics and the tests.
    pub fn span_count(&self) -> usize {
        self.lanes.iter().map(|l| l.spans.len()).sum()
    }
}

/// Appends `item`, or inserts it at its place when it arrives out of order (rare); true if
/// appended.
fn insert_sorted<T>(list: &mut Vec<T>, item: T, key: impl Fn(&T) -> Nanos) -> bool {
    let k = key(&item);
    if list.last().is_none_or(|last| key(last) <= k) {
        list.push(item);
        true
    } else {
        let at = list.partition_point(|x| key(x) <= k);
        list.insert(at, item);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::spec::ExperimentSpec;
    use gilscope_shared::trace::{State, Trace};

    fn lane(id: u32, interp: u32, name: &str) -> Lane {
        Lane {
            id: LaneId(id),
            interp: InterpId(interp),
            name: name.into(),
            kind: LaneKind::Worker,
            tid: None,
        }
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

    fn info(id: RunId, state: RunState) -> RunInfo {
        RunInfo {
            id,
            spec: ExperimentSpec::default(),
            state,
            summary: None,
            error: None,
        }
    }

    fn frame(run: RunId, reset: bool, delta: TraceDelta) -> FrameMsg {
        FrameMsg {
            run,
            reset,
            resolution: 0,
            delta,
        }
    }

    #[test]
    fn lanes_in_any_order_are_grouped_and_spans_sorted() {
        let mut store = Store::default();
        store.apply_run(info(1, RunState::Running));
        let delta = TraceDelta {
            added: Trace {
                lanes: vec![
                    lane(2, 0, "Thread-2"),
                    lane(0, 0, "MainThread"),
                    lane(1, 0, "Thread-1"),
                ],
                spans: vec![
                    span(2, State::Running, 10, 20),
                    span(2, State::WaitGil, 0, 10),
                    span(1, State::Running, 0, 10),
                ],
                end: 25,
                ..Trace::default()
            },
            open_spans: vec![span(1, State::WaitGil, 10, 25)],
        };
        assert!(store.apply_frame(frame(1, false, delta)));
        let names: Vec<_> = store.lanes.iter().map(|l| l.lane.name.as_str()).collect();
        assert_eq!(names, ["MainThread", "Thread-1", "Thread-2"]);
        let t2 = store.lane(LaneId(2)).unwrap();
        assert_eq!(t2.spans.iter().map(|s| s.t0).collect::<Vec<_>>(), [0, 10]);
        assert_eq!(store.now, 25);
        let t1 = store.lane(LaneId(1)).unwrap();
        assert_eq!(t1.span_at(5).unwrap().state, State::Running);
        assert_eq!(t1.span_at(20).unwrap().state, State::WaitGil);
        assert_eq!(t1.span_at(30), None);
        assert_eq!(t2.visible(12, 100).len(), 1);
        assert_eq!(t2.visible(0, 100).len(), 2);
        assert_eq!(t2.visible(30, 100).len(), 0);

        // The next frame's open spans replace these.
        let next = Trace {
            spans: vec![span(1, State::WaitGil, 10, 30)],
            end: 30,
            ..Trace::default()
        }
        .into();
        store.apply_frame(frame(1, false, next));
        assert_eq!(store.lane(LaneId(1)).unwrap().open, None);
        assert_eq!(store.span_count(), 4);
    }

    #[test]
    fn reset_starts_the_run_again_and_newer_runs_win() {
        let mut store = Store::default();
        let delta = || {
            Trace {
                lanes: vec![lane(0, 0, "MainThread")],
                spans: vec![span(0, State::Running, 0, 5)],
                end: 5,
                ..Trace::default()
            }
            .into()
        };
        store.apply_frame(frame(3, false, delta()));
        store.apply_frame(frame(3, false, TraceDelta::default()));
        assert_eq!(store.span_count(), 1);
        store.apply_run(info(3, RunState::Running));
        store.apply_frame(frame(3, true, delta()));
        assert_eq!(store.span_count(), 1, "a reset replaces, not appends");
        assert_eq!(store.info.as_ref().unwrap().id, 3, "a reset keeps the info");

        assert!(
            !store.apply_frame(frame(2, false, delta())),
            "older run ignored"
        );
        assert!(!store.apply_run(info(2, RunState::Finished)));

        assert!(store.apply_run(info(4, RunState::Queued)));
        assert_eq!(store.span_count(), 0);
        store.apply_frame(frame(4, false, delta()));
        let version = store.version;
        let kept = store.take();
        assert_eq!((kept.run, kept.span_count()), (Some(4), 1), "taken whole");
        assert_eq!((store.run, store.span_count()), (None, 0), "nothing left");
        assert_eq!(store.version, version, "the version never goes back");
        assert!(store.apply_run(info(4, RunState::Queued)));
        assert!(store.is_live());
        let version = store.version;
        store.apply_run(info(4, RunState::Finished));
        assert!(!store.is_live());
        assert!(store.version > version);
    }

    #[test]
    fn spans_of_unknown_lanes_get_a_placeholder_and_samples_their_track() {
        let mut store = Store::default();
        let delta = Trace {
            counters: vec![CounterTrack {
                id: gilscope_shared::trace::CounterId(0),
                name: "cpu0".into(),
                kind: CounterKind::CoreUsage { core: 0 },
            }],
            samples: vec![
                Sample {
                    counter: gilscope_shared::trace::CounterId(0),
                    t: 20,
                    value: 1.0,
                },
                Sample {
                    counter: gilscope_shared::trace::CounterId(0),
                    t: 10,
                    value: 0.5,
                },
            ],
            spans: vec![span(7, State::Io, 0, 3)],
            marks: vec![Mark {
                lane: LaneId(7),
                t: 2,
                kind: MarkKind::Handoff {
                    interp: InterpId(0),
                    from: None,
                    to: LaneId(7),
                },
            }],
            ..Trace::default()
        }
        .into();
        store.apply_frame(frame(1, true, delta));
        assert_eq!(store.lane(LaneId(7)).unwrap().lane.name, "lane 7");
        let cores = store.counters_where(|k| matches!(k, CounterKind::CoreUsage { .. }));
        assert_eq!(
            cores[0].samples.iter().map(|s| s.t).collect::<Vec<_>>(),
            [10, 20]
        );
        assert_eq!(store.handoffs.len(), 1);
        // The lane's description arrives later: the placeholder takes its name.
        store.apply_frame(frame(
            1,
            false,
            Trace {
                lanes: vec![lane(7, 0, "Thread-7")],
                ..Trace::default()
            }
            .into(),
        ));
        assert_eq!(store.lane(LaneId(7)).unwrap().lane.name, "Thread-7");
        assert_eq!(store.lanes.len(), 1);
    }
}
