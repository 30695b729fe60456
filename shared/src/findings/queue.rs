//! The queue's rules: producers blocked on a full queue, consumers on an empty one, and
//! `qsize()` / `empty()` answering other than the truth.

use crate::state::State;
use crate::summary::Summary;
use crate::trace::{CounterKind, LaneId, MarkKind, Trace};

use super::lanes::{self, busy_life, time_per_state, ByLane};
use super::{Evidence, Facts, Finding, Severity};

/// Blocked at least this share of their busy time: the other side set the pace.
const BLOCKED_SHARE: f64 = 0.2;

/// Queue full: lanes that put items spent a good share of their time blocked in `put`.
pub fn full(trace: &Trace, by_lane: &ByLane) -> Option<Finding> {
    blocked(
        trace,
        by_lane,
        State::BlockedPut,
        |k| matches!(k, MarkKind::Put { .. }),
        |share, producers| Facts::QueueFull { share, producers },
    )
}

/// Queue empty: lanes that got items spent a good share of their time blocked in `get`.
pub fn empty(trace: &Trace, by_lane: &ByLane) -> Option<Finding> {
    blocked(
        trace,
        by_lane,
        State::BlockedGet,
        |k| matches!(k, MarkKind::Get { .. }),
        |share, consumers| Facts::QueueEmpty { share, consumers },
    )
}

/// The share of their busy time the lanes with a mark of `role` spent in `state`, and their
/// number, as `facts`, pointing at their longest such spans; `None` below
/// [`BLOCKED_SHARE`].
fn blocked(
    trace: &Trace,
    by_lane: &ByLane,
    state: State,
    role: impl Fn(&MarkKind) -> bool,
    facts: impl FnOnce(f64, u32) -> Facts,
) -> Option<Finding> {
    let sides: Vec<LaneId> =
        lanes::distinct(trace.marks.iter().filter(|m| role(&m.kind)).map(|m| m.lane));
    let (mut stuck, mut life) = (0, 0);
    let mut spans = Vec::new();
    for lane in &sides {
        let Some(lane_spans) = by_lane.get(lane) else {
            continue;
        };
        let t = time_per_state(lane_spans);
        stuck += t[state as usize];
        life += busy_life(&t);
        spans.extend(lane_spans.iter().map(|s| **s));
    }
    if life == 0 {
        return None;
    }
    let share = stuck as f64 / life as f64;
    (share >= BLOCKED_SHARE).then(|| {
        Finding::new(
            facts(share, sides.len() as u32),
            Severity::Slow,
            lanes::longest(spans, state),
        )
    })
}

/// `qsize()` / `empty()` disagreed with the true depth: the lesson's own count of the
/// samples where they did. Evidence: the instants where the sampled `qsize()` differs from
/// the depth sampled with it.
pub fn probe_wrong(summary: &Summary, trace: &Trace) -> Option<Finding> {
    let f = &summary.figures;
    let samples = f.queue_samples?;
    let qsize_wrong = f.qsize_mismatch_samples.unwrap_or(0);
    let empty_wrong =
        f.empty_mismatch_samples.unwrap_or(0) + f.empty_while_qsize_positive.unwrap_or(0);
    if qsize_wrong + empty_wrong == 0 {
        return None;
    }
    // (t, value) in time order, the last sample of an instant kept.
    let track = |want: fn(&CounterKind) -> bool| -> Vec<(u64, f64)> {
        let ids: Vec<_> = trace
            .counters
            .iter()
            .filter(|c| want(&c.kind))
            .map(|c| c.id)
            .collect();
        let mut samples: Vec<(u64, f64)> = trace
            .samples
            .iter()
            .filter(|s| ids.contains(&s.counter))
            .map(|s| (s.t, s.value))
            .collect();
        lanes::insertion_sort_by_key(&mut samples, |s| s.0);
        let mut last: Vec<(u64, f64)> = Vec::with_capacity(samples.len());
        for s in samples {
            match last.last_mut() {
                Some(l) if l.0 == s.0 => *l = s,
                _ => last.push(s),
            }
        }
        last
    };
    let at = |track: &[(u64, f64)], t: u64| {
        track
            .binary_search_by_key(&t, |s| s.0)
            .ok()
            .map(|i| track[i].1)
    };
    let depth = track(|k| matches!(k, CounterKind::QueueDepth { .. }));
    let qsize = track(|k| matches!(k, CounterKind::QueueQsize { .. }));
    let evidence = qsize
        .iter()
        .filter(|(t, v)| at(&depth, *t).is_some_and(|d| d != *v))
        .map(|(t, _)| Evidence {
            lane: None,
            t0: *t,
            t1: *t,
        })
        .collect();
    Some(Finding::new(
        Facts::QueueProbeWrong {
            qsize_wrong,
            empty_wrong,
            samples,
        },
        Severity::Slow,
        evidence,
    ))
}
