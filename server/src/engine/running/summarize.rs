//! From a finished trace and the run's timings to its [`Summary`]. A trace can hold millions
//! of spans, so the independent passes (validation, per-lane GIL holds, time per state) run
//! in parallel on rayon.

use std::collections::{BTreeMap, HashSet};

use gilscope_shared::spec::{Engine, Knobs};
use gilscope_shared::summary::{EndReason, Figures, Summary};
use gilscope_shared::trace::{
    CounterKind, GilFlavour, InterpId, LaneKind, MarkKind, Nanos, QueueId, State, Trace,
};
use gilscope_shared::validate::validate;
use rayon::prelude::*;

use crate::engine::interpreter::bytecode::calibration;

/// Timings of the run measured outside the trace.
#[derive(Default, Debug, Clone)]
pub struct Timings {
    pub wall_s: f64,
    /// CPU time of all the run's threads.
    pub cpu_s: f64,
    pub bytecodes: u64,
    pub baseline_wall_s: Option<f64>,
    pub baseline_ops_per_s: Option<f64>,
}

/// The interpreters that have a GIL.
fn gil_interps(trace: &Trace) -> HashSet<InterpId> {
    trace
        .interpreters
        .iter()
        .filter(|i| i.gil != GilFlavour::None)
        .map(|i| i.id)
        .collect()
}

/// Every hold of a GIL: a maximal stretch of one lane running (adjacent spans merged), in ns.
pub fn gil_holds(trace: &Trace) -> Vec<Nanos> {
    let with_gil = gil_interps(trace);
    trace
        .lanes
        .par_iter()
        .filter(|lane| with_gil.contains(&lane.interp) && lane.kind != LaneKind::Peer)
        .flat_map_iter(|lane| {
            let mut spans: Vec<_> = trace
                .spans
                .iter()
                .filter(|s| s.lane == lane.id && s.t1 > s.t0)
                .collect();
            spans.sort_by_key(|s| s.t0);
            let mut holds = Vec::new();
            let mut current: Option<(Nanos, Nanos)> = None;
            for span in spans {
                match (span.state, current) {
                    (State::Running, Some((t0, t1))) if span.t0 == t1 => {
                        current = Some((t0, span.t1))
                    }
                    (State::Running, _) => {
                        holds.extend(current.map(|(a, b)| b - a));
                        current = Some((span.t0, span.t1));
                    }
                    _ => {
                        holds.extend(current.take().map(|(a, b)| b - a));
                    }
                }
            }
            holds.extend(current.map(|(a, b)| b - a));
            holds
        })
        .collect()
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// What the lesson measured itself, completed: the lost updates from its counts, and the
/// figures read off the trace (start-up spans, queue counter tracks).
pub fn trace_figures(trace: &Trace, measured: &Figures) -> Figures {
    let mut out = measured.clone();
    out.lost_updates = out.expected_count.zip(out.final_count).map(|(e, f)| e - f);
    let mut starts: Vec<f64> = trace
        .spans
        .iter()
        .filter(|s| s.state == State::Starting)
        .map(|s| s.duration() as f64 / 1e6)
        .collect();
    if !starts.is_empty() {
        out.processes_started = Some(starts.len() as u32);
        out.process_start_ms_median = median(&mut starts);
    }
    // The first bounded queue with a depth track is "the" queue of the preset.
    let depth_track = trace.counters.iter().find_map(|c| match c.kind {
        CounterKind::QueueDepth { queue } => Some((c.id, queue)),
        _ => None,
    });
    let Some((depth_id, queue)) = depth_track else {
        return out;
    };
    out.queue_capacity = out
        .queue_capacity
        .or_else(|| trace.queues.get(queue.0 as usize).and_then(|q| q.capacity));
    let max = trace
        .samples
        .iter()
        .filter(|s| s.counter == depth_id)
        .map(|s| s.value)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    out.queue_depth_max = out.queue_depth_max.or(max);
    let track = |want: fn(&CounterKind, QueueId) -> bool| {
        trace
            .counters
            .iter()
            .find(|c| want(&c.kind, queue))
            .map(|c| c.id)
    };
    let qsize = track(|k, q| matches!(k, CounterKind::QueueQsize { queue } if *queue == q));
    let empty = track(|k, q| matches!(k, CounterKind::QueueEmpty { queue } if *queue == q));
    if let (Some(qsize), Some(empty)) = (qsize, empty) {
        // Samples of the three tracks taken at the same instant belong together.
        let mut at: BTreeMap<Nanos, [Option<f64>; 3]> = BTreeMap::new();
        for s in &trace.samples {
            let slot = if s.counter == depth_id {
                0
            } else if s.counter == qsize {
                1
            } else if s.counter == empty {
                2
            } else {
                continue;
            };
            at.entry(s.t).or_default()[slot] = Some(s.value);
        }
        let (mut n, mut qsize_wrong, mut empty_wrong) = (0u64, 0u64, 0u64);
        for [d, q, e] in at.into_values() {
            if let (Some(d), Some(q), Some(e)) = (d, q, e) {
                n += 1;
                qsize_wrong += u64::from(q != d);
                empty_wrong += u64::from(e == 1.0 && d > 0.0);
            }
        }
        if n > 0 {
            out.queue_samples = Some(n);
            out.qsize_mismatch_samples = Some(qsize_wrong);
            out.empty_mismatch_samples = Some(empty_wrong);
        }
    }
    out
}

pub fn summarize(
    preset: &str,
    knobs: &Knobs,
    trace: &Trace,
    timings: &Timings,
    figures: &Figures,
    end: EndReason,
) -> Summary {
    let has_gil = !gil_interps(trace).is_empty();
    let ((violations, holds), per_state) = rayon::join(
        || rayon::join(|| validate(trace), || gil_holds(trace)),
        || trace.time_per_state(),
    );
    let handoffs = trace
        .marks
        .par_iter()
        .filter(|m| matches!(m.kind, MarkKind::Handoff { from: Some(from), to, .. } if from != to))
        .count() as u64;
    let drop_requests = trace
        .marks
        .par_iter()
        .filter(|m| matches!(m.kind, MarkKind::DropRequest { .. }))
        .count() as u64;
    let mut hold_ms: Vec<f64> = holds.iter().map(|&h| h as f64 / 1e6).collect();
    let wait_ns: Nanos = per_state
        .iter()
        .filter(|(s, _)| *s == State::WaitGil)
        .map(|(_, ns)| ns)
        .sum();
    let violations: Vec<String> = violations.iter().map(ToString::to_string).collect();
    let speedup = timings
        .baseline_wall_s
        .filter(|_| timings.wall_s > 0.0)
        .map(|b| b / timings.wall_s);
    let invariants_ok =
        violations.is_empty() && end.is_finished() && figures.results_in_order != Some(false);
    Summary {
        preset: preset.to_string(),
        knobs: knobs.0.clone(),
        wall_s: timings.wall_s,
        baseline_wall_s: timings.baseline_wall_s,
        speedup,
        cores_busy_mean: if timings.wall_s > 0.0 {
            timings.cpu_s / timings.wall_s
        } else {
            0.0
        },
        gil_handoffs: has_gil.then_some(handoffs),
        gil_hold_ms_median: if has_gil { median(&mut hold_ms) } else { None },
        gil_wait_ms_total: has_gil.then_some(wait_ns as f64 / 1e6),
        gil_drop_requests: has_gil.then_some(drop_requests),
        baseline_ops_per_s: timings.baseline_ops_per_s,
        ns_per_bytecode: calibration().ns_per_bytecode,
        bytecodes: timings.bytecodes,
        time_per_state_s: per_state
            .into_iter()
            .filter(|(_, ns)| *ns > 0)
            .map(|(s, ns)| (s, ns as f64 / 1e9))
            .collect::<BTreeMap<_, _>>(),
        end,
        violations,
        invariants_ok,
        figures: trace_figures(trace, figures),
        engine: Engine::Emulated,
        sampling_hz: None,
        output: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
