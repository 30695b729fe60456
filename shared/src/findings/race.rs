//! Lost updates: increments that a thread computed from a stale read and wrote back over
//! someone else's.

use crate::state::State;
use crate::summary::Summary;
use crate::trace::{MarkKind, Trace};

use super::lanes::ByLane;
use super::{Evidence, Facts, Finding, Severity};

/// Fires when the count came out short. Evidence: for each `LostUpdate` mark (where a stale
/// value was written back), the stretch from the writer's last wait for the GIL — where it
/// was switched out holding the value it had read — to the write.
pub fn lost_updates(summary: &Summary, trace: &Trace, by_lane: &ByLane) -> Option<Finding> {
    let expected = summary.figures.expected_count?;
    let lost = summary.figures.lost_updates?;
    if lost <= 0 {
        return None;
    }
    let evidence = trace
        .marks
        .iter()
        .filter(|m| matches!(m.kind, MarkKind::LostUpdate { .. }))
        .map(|m| {
            let switched_out = by_lane.get(&m.lane).and_then(|spans| {
                spans
                    .iter()
                    .rev()
                    .find(|s| s.state == State::WaitGil && s.t1 <= m.t)
            });
            Evidence {
                lane: Some(m.lane),
                t0: switched_out.map_or(m.t, |s| s.t0),
                t1: m.t,
            }
        })
        .take(super::MAX_EVIDENCE)
        .collect();
    Some(Finding::new(
        Facts::LostUpdates { lost, expected },
        Severity::Wrong,
        evidence,
    ))
}
