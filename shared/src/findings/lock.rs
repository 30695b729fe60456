//! Lock overhead: the lock made the loop exact, and slower.

use crate::state::State;
use crate::summary::Summary;
use crate::trace::Trace;

use super::lanes::longest;
use super::{Evidence, Facts, Finding, Severity};

/// The least slow-down worth a sentence: below it a shared machine's noise could be the cause.
pub const MIN_SLOWDOWN: f64 = 1.2;

/// Fires when the run took a lock, lost nothing, and took at least [`MIN_SLOWDOWN`] times as
/// long as one thread doing the same increments without it (the lesson's baseline, marked by
/// `baseline_unlocked`). Evidence: the longest waits for the lock, or the whole run.
pub fn lock_overhead(summary: &Summary, trace: &Trace) -> Option<Finding> {
    if summary.figures.baseline_unlocked != Some(true) || summary.figures.lost_updates != Some(0) {
        return None;
    }
    let slowdown = 1.0 / summary.speedup.filter(|s| *s > 0.0)?;
    if slowdown < MIN_SLOWDOWN {
        return None;
    }
    let waits = trace
        .spans
        .iter()
        .filter(|s| s.state == State::WaitLock)
        .count() as u64;
    let mut evidence = longest(trace.spans.iter().copied(), State::WaitLock);
    if evidence.is_empty() {
        evidence.push(Evidence {
            lane: None,
            t0: 0,
            t1: trace.end,
        });
    }
    Some(Finding::new(
        Facts::LockOverhead { slowdown, waits },
        Severity::Note,
        evidence,
    ))
}
