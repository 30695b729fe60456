//! What the rules read off a trace lane by lane: its spans in order, its time per state.

use std::collections::BTreeMap;

use crate::state::State;
use crate::trace::{LaneId, Nanos, Span, Trace};

use super::{Evidence, MAX_EVIDENCE};

/// Each lane's spans, in time order.
pub type ByLane<'a> = BTreeMap<LaneId, Vec<&'a Span>>;

/// Groups a trace's spans by lane: once per run, every rule reads the result.
pub fn spans_by_lane(trace: &Trace) -> ByLane<'_> {
    let mut lanes: BTreeMap<LaneId, Vec<&Span>> = BTreeMap::new();
    for span in &trace.spans {
        lanes.entry(span.lane).or_default().push(span);
    }
    for spans in lanes.values_mut() {
        insertion_sort_by_key(spans, |s| s.t0);
    }
    lanes
}

/// Time one lane spent in each state, in ns, indexed by `State as usize`.
pub type StateTimes = [Nanos; State::ALL.len()];

pub fn time_per_state(spans: &[&Span]) -> StateTimes {
    let mut times = [0; State::ALL.len()];
    for span in spans {
        times[span.state as usize] += span.duration();
    }
    times
}

/// Time a lane was alive and had something to do: all its spans but `Idle`, `Done` and
/// `Starting`.
pub fn busy_life(times: &StateTimes) -> Nanos {
    State::ALL
        .iter()
        .filter(|s| !matches!(s, State::Idle | State::Done | State::Starting))
        .map(|s| times[*s as usize])
        .sum()
}

/// The longest spans of `state` among `spans`, longest first, as evidence.
pub fn longest(spans: impl IntoIterator<Item = Span>, state: State) -> Vec<Evidence> {
    let hits: Vec<Span> = spans.into_iter().filter(|s| s.state == state).collect();
    top(&hits)
}

/// The [`MAX_EVIDENCE`] longest of `spans`, longest first (the earlier of two as long).
fn top(spans: &[Span]) -> Vec<Evidence> {
    let mut best: Vec<&Span> = Vec::with_capacity(MAX_EVIDENCE + 1);
    for span in spans {
        let at = best.partition_point(|b| b.duration() >= span.duration());
        if at < MAX_EVIDENCE {
            best.insert(at, span);
            best.truncate(MAX_EVIDENCE);
        }
    }
    best.into_iter().map(evidence).collect()
}

/// The distinct lanes among `lanes`, in id order (few: a run has tens of threads).
pub fn distinct(lanes: impl Iterator<Item = LaneId>) -> Vec<LaneId> {
    let mut out: Vec<LaneId> = Vec::new();
    for lane in lanes {
        if !out.contains(&lane) {
            out.push(lane);
        }
    }
    insertion_sort_by_key(&mut out, |l| *l);
    out
}

/// Sorts by a key, stable, in place: linear on the (nearly) sorted lists a trace holds, and
/// far less code in the wasm dashboard than the standard library's sorts (each of which is
/// copied for every type and key it sorts by).
pub fn insertion_sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && key(&v[j - 1]) > key(&v[j]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

pub fn evidence(span: &Span) -> Evidence {
    Evidence {
        lane: Some(span.lane),
        t0: span.t0,
        t1: span.t1,
    }
}

/// The median of some values (the mean of the middle two for an even count).
pub fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mid = xs.len() / 2;
    let upper = select(&mut xs, mid);
    Some(if xs.len().is_multiple_of(2) {
        // The largest of those below the middle one.
        let lower = xs[..mid].iter().copied().fold(f64::MIN, f64::max);
        (lower + upper) / 2.0
    } else {
        upper
    })
}

/// The `k`-th smallest of `xs` (quickselect, three-way so equal values cost nothing):
/// afterwards `xs[..k]` holds values no larger than it.
fn select(xs: &mut [f64], k: usize) -> f64 {
    let (mut lo, mut hi) = (0, xs.len());
    loop {
        let pivot = xs[lo + (hi - lo) / 2];
        // [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot.
        let (mut lt, mut i, mut gt) = (lo, lo, hi);
        while i < gt {
            if xs[i] < pivot {
                xs.swap(i, lt);
                lt += 1;
                i += 1;
            } else if xs[i] > pivot {
                gt -= 1;
                xs.swap(i, gt);
            } else {
                i += 1;
            }
        }
        if k < lt {
            hi = lt;
        } else if k >= gt {
            lo = gt;
        } else {
            return pivot;
        }
    }
}

/// The length of the union of some time ranges: parallel stretches counted once.
pub fn union_ns(mut ranges: Vec<(Nanos, Nanos)>) -> Nanos {
    insertion_sort_by_key(&mut ranges, |r| *r);
    let mut total = 0;
    let mut current: Option<(Nanos, Nanos)> = None;
    for (t0, t1) in ranges {
        match current {
            Some((a, b)) if t0 <= b => current = Some((a, b.max(t1))),
            _ => {
                total += current.map_or(0, |(a, b)| b - a);
                current = Some((t0, t1));
            }
        }
    }
    total + current.map_or(0, |(a, b)| b - a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_union() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![5.0; 100_000]), Some(5.0));
        assert_eq!(
            median((0..1001).rev().map(f64::from).collect()),
            Some(500.0)
        );
        assert_eq!(median(vec![1.0, 9.0, 9.0, 2.0, 9.0, 1.0]), Some(5.5));
        assert_eq!(union_ns(vec![(0, 10), (5, 15), (20, 30)]), 25);
        assert_eq!(union_ns(vec![]), 0);
    }
}
