//! What the rules read off a trace lane by lane: its spans in order, its time per state.

use std::collections::BTreeMap;

use crate::state::State;
use crate::trace::{LaneId, Nanos, Span, Trace};

use super::Evidence;

/// Each lane's spans, in time order.
pub type ByLane<'a> = BTreeMap<LaneId, Vec<&'a Span>>;

/// Groups a trace's spans by lane: once per run, every rule reads the result.
pub fn spans_by_lane(trace: &Trace) -> ByLane<'_> {
    let mut lanes: BTreeMap<LaneId, Vec<&Span>> = BTreeMap::new();
    for span in &trace.spans {
        lanes.entry(span.lane).or_default().push(span);
    }
    for spans in lanes.values_mut() {
        spans.sort_by_key(|s| s.t0);
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
    let mut hits: Vec<Span> = spans.into_iter().filter(|s| s.state == state).collect();
    hits.sort_by_key(|s| std::cmp::Reverse(s.duration()));
    hits.iter().map(evidence).collect()
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
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    Some(if xs.len().is_multiple_of(2) {
        (xs[mid - 1] + xs[mid]) / 2.0
    } else {
        xs[mid]
    })
}

/// The length of the union of some time ranges: parallel stretches counted once.
pub fn union_ns(mut ranges: Vec<(Nanos, Nanos)>) -> Nanos {
    ranges.sort();
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
        assert_eq!(union_ns(vec![(0, 10), (5, 15), (20, 30)]), 25);
        assert_eq!(union_ns(vec![]), 0);
    }
}
