//! The process lessons' rules: what starting processes cost, and how `map` cut the work.

use crate::spec::KnobValue;
use crate::state::State;
use crate::summary::Summary;
use crate::trace::Trace;

use super::lanes::{self, union_ns};
use super::{Evidence, Facts, Finding, Severity, MAX_EVIDENCE};

/// Start-up worth a sentence: this share of the run.
const START_UP_NOTE: f64 = 0.02;
/// Start-up that costs the run: this share and more.
const START_UP_SLOW: f64 = 0.2;

/// Start-up: the `Starting` spans (from `p.start()` to the child's interpreter running),
/// parallel ones counted once, as a share of the run.
pub fn start_up(trace: &Trace) -> Option<Finding> {
    let starting: Vec<_> = trace
        .spans
        .iter()
        .filter(|s| s.state == State::Starting)
        .copied()
        .collect();
    if starting.is_empty() || trace.end == 0 {
        return None;
    }
    let processes = lanes::distinct(starting.iter().map(|s| s.lane)).len() as u32;
    let ns = union_ns(starting.iter().map(|s| (s.t0, s.t1)).collect());
    let share = ns as f64 / trace.end as f64;
    if share < START_UP_NOTE {
        return None;
    }
    Some(Finding::new(
        Facts::StartUp {
            processes,
            ms: ns as f64 / 1e6,
            share,
        },
        if share >= START_UP_SLOW {
            Severity::Slow
        } else {
            Severity::Note
        },
        lanes::longest(starting, State::Starting),
    ))
}

/// Pool chunking: `map` sent its items in chunks of more than one (CPython's default
/// chunksize, or the one given). Evidence: the first tasks, from their first span to their
/// last.
pub fn chunking(summary: &Summary, trace: &Trace) -> Option<Finding> {
    let chunksize = summary.figures.chunksize?;
    let items = ["items", "tasks"]
        .iter()
        .find_map(|k| match summary.knobs.get(*k) {
            Some(KnobValue::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        })?;
    if chunksize <= 1 {
        return None;
    }
    // The first tasks (lowest numbers), then each one's first span to its last.
    let mut first: Vec<u32> = Vec::with_capacity(MAX_EVIDENCE + 1);
    for task in trace.spans.iter().filter_map(|s| s.task) {
        if !first.contains(&task) {
            let at = first.partition_point(|t| *t < task);
            first.insert(at, task);
            first.truncate(MAX_EVIDENCE);
        }
    }
    let mut tasks: Vec<Option<Evidence>> = vec![None; first.len()];
    for span in &trace.spans {
        let Some(at) = span.task.and_then(|t| first.iter().position(|f| *f == t)) else {
            continue;
        };
        let e = tasks[at].get_or_insert_with(|| lanes::evidence(span));
        e.t0 = e.t0.min(span.t0);
        e.t1 = e.t1.max(span.t1);
    }
    Some(Finding::new(
        Facts::Chunking {
            tasks: items.div_ceil(chunksize),
            chunksize,
            items,
        },
        Severity::Note,
        tasks.into_iter().flatten().collect(),
    ))
}
