//! The GIL's rules: threads that took turns on it, I/O threads stuck behind it, and — once
//! nothing serialises the work — the cores as the limit.

use crate::spec::KnobValue;
use crate::state::State;
use crate::summary::Summary;
use crate::trace::{GilFlavour, LaneId, LaneKind, Span, Trace};

use super::lanes::{self, time_per_state, ByLane};
use super::{Evidence, Facts, Finding, Severity};

/// The threads took turns when together they waited for the GIL at least this share of the
/// time they ran.
const TOOK_TURNS: f64 = 0.2;
/// "About one core": below this mean of busy cores, the threads did not run side by side.
const ONE_CORE: f64 = 1.5;

/// GIL-bound: two or more CPU-bound threads of one interpreter with a GIL (the main thread,
/// which only starts and joins them, aside), about one core busy, and no speed-up to show
/// for them — or, where the lesson measures none, the threads together waiting for the GIL
/// a good share of the time they ran. (A short run can see its threads start one after
/// another and barely wait; the speed-up still says they ran in turn.) Quiet without a GIL
/// and for processes (one thread per interpreter has no one to take turns with).
pub fn gil_bound(summary: &Summary, trace: &Trace, by_lane: &ByLane) -> Option<Finding> {
    if summary.cores_busy_mean >= ONE_CORE {
        return None;
    }
    let handoffs = summary.gil_handoffs?;
    let took_turns = |lanes: &Vec<(&LaneId, &Vec<&Span>)>| {
        let (mut running, mut waiting) = (0, 0);
        for (_, spans) in lanes {
            let t = time_per_state(spans);
            running += t[State::Running as usize];
            waiting += t[State::WaitGil as usize];
        }
        lanes.len() >= 2
            && summary
                .speedup
                .map_or(waiting as f64 >= TOOK_TURNS * running as f64, |s| {
                    s < ONE_CORE
                })
    };
    let best = trace
        .interpreters
        .iter()
        .filter(|interp| interp.gil != GilFlavour::None)
        .map(|interp| {
            by_lane
                .iter()
                .filter(|(lane, _)| {
                    trace
                        .lane(**lane)
                        .is_some_and(|l| l.interp == interp.id && l.kind != LaneKind::Main)
                })
                .filter(|(_, spans)| {
                    let t = time_per_state(spans);
                    let running = t[State::Running as usize];
                    running > 0 && running >= t[State::Io as usize]
                })
                .collect::<Vec<_>>()
        })
        .filter(took_turns)
        .max_by_key(|lanes| lanes.len())?;
    if handoffs < best.len() as u64 {
        return None;
    }
    // Each thread's longest wait: where it sat runnable while another held the GIL.
    let evidence = best
        .iter()
        .filter_map(|(_, spans)| {
            lanes::longest(spans.iter().map(|s| **s), State::WaitGil)
                .into_iter()
                .next()
        })
        .collect();
    Some(Finding::new(
        Facts::GilBound {
            threads: best.len() as u32,
            cores_busy: summary.cores_busy_mean,
            handoffs,
        },
        Severity::Slow,
        evidence,
    ))
}

/// Fewest GIL waits after I/O that make a pattern rather than an accident.
const CONVOY_WAITS: usize = 3;
/// Median wait after I/O that counts as stuck behind a CPU-bound thread (the default switch
/// interval is 5 ms; an uncontended GIL is taken in microseconds).
const CONVOY_MEDIAN_MS: f64 = 0.5;

/// Convoy: a lane's I/O span directly followed by a wait for the GIL, many times, with a
/// median wait long enough to be another thread's switch interval.
pub fn convoy(by_lane: &ByLane) -> Option<Finding> {
    let mut waits = Vec::new();
    for spans in by_lane.values() {
        for pair in spans.windows(2) {
            if pair[0].state == State::Io && pair[1].state == State::WaitGil {
                waits.push(*pair[1]);
            }
        }
    }
    if waits.len() < CONVOY_WAITS {
        return None;
    }
    let median_wait_ms = lanes::median(waits.iter().map(|s| s.duration() as f64 / 1e6).collect())?;
    if median_wait_ms < CONVOY_MEDIAN_MS {
        return None;
    }
    Some(Finding::new(
        Facts::Convoy {
            waits: waits.len() as u32,
            median_wait_ms,
        },
        Severity::Slow,
        lanes::longest(waits, State::WaitGil),
    ))
}

/// The number of workers a run asked for: its `processes` or `threads` knob.
fn workers(summary: &Summary) -> Option<u32> {
    ["processes", "threads"]
        .iter()
        .find_map(|k| match summary.knobs.get(*k) {
            Some(KnobValue::Int(n)) => u32::try_from(*n).ok(),
            _ => None,
        })
}

/// The cores count as the limit when the run kept this share of them busy...
const CORES_BUSY: f64 = 0.7;
/// ...and its speed-up stayed below this multiple of their number (I/O-bound workers wait
/// side by side and beat the core count).
const CORES_SPEEDUP: f64 = 1.2;

/// Speed-up limited by cores: more workers than cores, the cores busy, and the speed-up no
/// more than the core count (the caller skips this rule when the run was GIL-bound). A note:
/// more workers cannot help.
pub fn cores_limit(summary: &Summary, trace: &Trace, cores: u32) -> Option<Finding> {
    let speedup = summary.speedup?;
    let workers = workers(summary)?;
    let c = f64::from(cores);
    if workers <= cores || summary.cores_busy_mean < CORES_BUSY * c || speedup > CORES_SPEEDUP * c {
        return None;
    }
    Some(Finding::new(
        Facts::CoresLimit {
            speedup,
            cores,
            workers,
        },
        Severity::Note,
        vec![Evidence {
            lane: None,
            t0: 0,
            t1: trace.end,
        }],
    ))
}
