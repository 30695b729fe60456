//! Findings: what a run's summary and trace say, as a short list of sentences — each with its
//! rule, a severity, its numbers as named values, and the evidence on the timeline (lanes and
//! time ranges) that proves it. tokio-console's lints are the model: one rule, one function,
//! one sentence with the number in it. Pure functions of [`Summary`] and [`Trace`], so the
//! server, the CLI and the dashboard all compute the same list.
//!
//! The words live apart from the rules: [`english`] writes a finding's sentence from its
//! [`Facts`] alone, so another language is one more function beside it. See docs/findings.md
//! for each rule's reading, thresholds and reasons.

mod english;
mod gil;
mod lanes;
mod lock;
mod processes;
mod queue;
mod race;

use serde::{Deserialize, Serialize, Serializer};

use crate::summary::Summary;
use crate::trace::{LaneId, Nanos, Trace};

pub use english::{english, extreme_facts, ms, percent, MAX_SENTENCE};

/// How much a finding matters; the list is sorted by it, most important first.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The program computed a wrong result.
    Wrong,
    /// The run lost time it need not have lost.
    Slow,
    /// Worth knowing about the run; nothing to fix.
    Note,
}

/// Each rule with the numbers it found. In JSON: `"rule": "<id>"` and `"numbers": {...}`
/// beside the finding's other fields. Shares are fractions (0..=1), times in ms.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "rule", content = "numbers", rename_all = "snake_case")]
pub enum Facts {
    /// `lost` of `expected` increments never reached the counter.
    LostUpdates { lost: i64, expected: i64 },
    /// The lock lost nothing and made the loop `slowdown` times slower than one thread
    /// without it; threads waited for it `waits` times.
    LockOverhead { slowdown: f64, waits: u64 },
    /// `threads` CPU-bound threads of one interpreter took turns on its GIL.
    GilBound {
        threads: u32,
        cores_busy: f64,
        handoffs: u64,
    },
    /// I/O threads came back from I/O and waited for the GIL.
    Convoy { waits: u32, median_wait_ms: f64 },
    /// Producers were blocked in `put` this share of their time.
    QueueFull { share: f64, producers: u32 },
    /// Consumers were blocked in `get` this share of their time.
    QueueEmpty { share: f64, consumers: u32 },
    /// `qsize()` / `empty()` answered other than the true depth.
    QueueProbeWrong {
        qsize_wrong: u64,
        empty_wrong: u64,
        samples: u64,
    },
    /// Starting `processes` processes took `ms` of wall time, `share` of the run.
    StartUp { processes: u32, ms: f64, share: f64 },
    /// More workers than cores: the speed-up stops at the core count.
    CoresLimit {
        speedup: f64,
        cores: u32,
        workers: u32,
    },
    /// `map` cut `items` items into `tasks` tasks of `chunksize`.
    Chunking {
        tasks: u64,
        chunksize: u64,
        items: u64,
    },
}

impl Facts {
    /// The rule's id, as JSON writes it (`"gil_bound"`): the key for a sentence catalogue.
    pub fn rule(&self) -> &'static str {
        match self {
            Facts::LostUpdates { .. } => "lost_updates",
            Facts::LockOverhead { .. } => "lock_overhead",
            Facts::GilBound { .. } => "gil_bound",
            Facts::Convoy { .. } => "convoy",
            Facts::QueueFull { .. } => "queue_full",
            Facts::QueueEmpty { .. } => "queue_empty",
            Facts::QueueProbeWrong { .. } => "queue_probe_wrong",
            Facts::StartUp { .. } => "start_up",
            Facts::CoresLimit { .. } => "cores_limit",
            Facts::Chunking { .. } => "chunking",
        }
    }
}

/// A place on the timeline that shows a finding: one lane (or the whole run when `None`)
/// from `t0` to `t1` (an instant when equal).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub lane: Option<LaneId>,
    pub t0: Nanos,
    pub t1: Nanos,
}

/// The most evidence one finding points at: enough to click through, not a second trace.
pub const MAX_EVIDENCE: usize = 5;

/// One finding about a run. In JSON with its English [`sentence`](Finding::sentence) too
/// (ignored when read back).
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct Finding {
    #[serde(flatten)]
    pub facts: Facts,
    pub severity: Severity,
    /// Longest or first first; at most [`MAX_EVIDENCE`].
    pub evidence: Vec<Evidence>,
}

impl Finding {
    pub fn new(facts: Facts, severity: Severity, mut evidence: Vec<Evidence>) -> Finding {
        evidence.truncate(MAX_EVIDENCE);
        Finding {
            facts,
            severity,
            evidence,
        }
    }

    /// [`english`] of the facts: the CLI's sentence. Written when asked for, not with the
    /// finding: the dashboard writes its own, in the language it shows
    /// (`frontend/src/lang/findings.rs`), and keeps English words out of its wasm.
    pub fn sentence(&self) -> String {
        english(&self.facts)
    }
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            facts: &'a Facts,
            severity: Severity,
            sentence: String,
            evidence: &'a [Evidence],
        }
        Json {
            facts: &self.facts,
            severity: self.severity,
            sentence: self.sentence(),
            evidence: &self.evidence,
        }
        .serialize(serializer)
    }
}

/// Every finding about a run, most important first. `cores`: the machine's logical cores,
/// for the speed-up rule (skipped when unknown).
pub fn findings(summary: &Summary, trace: &Trace, cores: Option<u32>) -> Vec<Finding> {
    let by_lane = lanes::spans_by_lane(trace);
    let gil_bound = gil::gil_bound(summary, trace, &by_lane);
    let cores_limit = match (cores, &gil_bound) {
        (Some(cores), None) => gil::cores_limit(summary, trace, cores),
        _ => None,
    };
    let found: Vec<Finding> = [
        race::lost_updates(summary, trace, &by_lane),
        gil_bound,
        gil::convoy(&by_lane),
        lock::lock_overhead(summary, trace),
        queue::full(trace, &by_lane),
        queue::empty(trace, &by_lane),
        queue::probe_wrong(summary, trace),
        processes::start_up(trace),
        cores_limit,
        processes::chunking(summary, trace),
    ]
    .into_iter()
    .flatten()
    .collect();
    // By severity; within one, the order above (most telling first).
    let mut out = Vec::with_capacity(found.len());
    for severity in [Severity::Wrong, Severity::Slow, Severity::Note] {
        out.extend(found.iter().filter(|f| f.severity == severity).cloned());
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
