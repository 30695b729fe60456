//! The summary of one run: the figures a lesson is read from.
//!
//! Field names are part of the API (`gilscope run --json`, `GET /api/runs/{id}`); fields that
//! do not apply to a preset are `None` (JSON `null`), never a made-up zero.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::{Engine, KnobValue};
use crate::trace::State;

/// Which limit ended a run early.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    /// The total number of bytecodes a run may execute, across its threads.
    Work,
    /// The wall-clock time a run may take, baseline included.
    Wall,
    /// The events (spans, marks, samples) a run may record: what bounds its memory.
    Events,
}

/// Why a run ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndReason {
    /// Every thread ran its program to the end.
    Finished,
    /// A cap was hit: the run was stopped there and its figures cover what ran.
    HitCap { cap: Cap, limit: String },
    /// Someone asked it to stop.
    Stopped,
    /// Something went wrong (a thread could not start, a socket failed, ...).
    Failed { reason: String },
}

impl EndReason {
    pub fn is_finished(&self) -> bool {
        matches!(self, EndReason::Finished)
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            EndReason::Finished => "finished".to_string(),
            EndReason::HitCap {
                cap: Cap::Work,
                limit,
            } => format!("hit the work cap ({limit})"),
            EndReason::HitCap {
                cap: Cap::Wall,
                limit,
            } => {
                format!("hit the wall-time cap ({limit})")
            }
            EndReason::HitCap {
                cap: Cap::Events,
                limit,
            } => format!("hit the event cap ({limit})"),
            EndReason::Stopped => "stopped".to_string(),
            EndReason::Failed { reason } => format!("failed: {reason}"),
        }
    }
}

/// The figures of one run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Summary {
    pub preset: String,
    /// Every knob, defaults filled in.
    pub knobs: BTreeMap<String, KnobValue>,
    /// Wall time of the experiment, in seconds.
    pub wall_s: f64,
    /// Wall time of the same total work done by one thread.
    pub baseline_wall_s: Option<f64>,
    /// `baseline_wall_s / wall_s`.
    pub speedup: Option<f64>,
    /// Mean number of cores busy with the run's threads: their CPU time over the wall time.
    pub cores_busy_mean: f64,
    /// Changes of GIL holder (CPython's `switch_number`); `None` without a GIL.
    pub gil_handoffs: Option<u64>,
    /// Median time one thread held the GIL before dropping it, in ms.
    pub gil_hold_ms_median: Option<f64>,
    /// Time all threads together spent waiting for the GIL, in ms.
    pub gil_wait_ms_total: Option<f64>,
    /// Drop requests made by waiters that timed out (current GIL only).
    pub gil_drop_requests: Option<u64>,
    /// The same I/O thread alone.
    pub baseline_ops_per_s: Option<f64>,
    /// Calibrated cost of one emulated bytecode on this machine, in ns.
    pub ns_per_bytecode: f64,
    /// Bytecodes executed by all threads (baseline excluded).
    pub bytecodes: u64,
    /// Seconds spent in each state, summed over lanes.
    pub time_per_state_s: BTreeMap<State, f64>,
    pub end: EndReason,
    /// Broken invariants of the trace (see `validate`), as text.
    pub violations: Vec<String>,
    /// No violation, the run finished, and the preset's own check (results in order, ...) held.
    pub invariants_ok: bool,
    /// What the lesson's programs measured beyond the trace; its fields appear at the top
    /// level of the JSON.
    #[serde(flatten, default)]
    pub figures: Figures,
    /// What ran it.
    #[serde(default)]
    pub engine: Engine,
    /// For a run observed from outside (CPython): how often its threads were sampled. Spans
    /// shorter than one period cannot be seen.
    #[serde(default)]
    pub sampling_hz: Option<f64>,
    /// What the program printed and how it ended (CPython runs).
    #[serde(default)]
    pub output: Option<ProgramOutput>,
}

impl Summary {
    /// A finished run of `preset` on `engine` that measured nothing: one second of wall time,
    /// no figure (what tests start from).
    pub fn empty(preset: &str, engine: Engine) -> Summary {
        Summary {
            preset: preset.into(),
            knobs: BTreeMap::new(),
            wall_s: 1.0,
            baseline_wall_s: None,
            speedup: None,
            cores_busy_mean: 1.0,
            gil_handoffs: None,
            gil_hold_ms_median: None,
            gil_wait_ms_total: None,
            gil_drop_requests: None,
            baseline_ops_per_s: None,
            ns_per_bytecode: 0.0,
            bytecodes: 0,
            time_per_state_s: BTreeMap::new(),
            end: EndReason::Finished,
            violations: vec![],
            invariants_ok: true,
            figures: Figures::default(),
            engine,
            sampling_hz: None,
            output: None,
        }
    }
}

/// What a real program printed (each stream kept up to a bound) and how it ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ProgramOutput {
    pub stdout: String,
    pub stderr: String,
    /// Bytes printed beyond the bound, dropped (stdout and stderr together).
    pub dropped_bytes: u64,
    /// The exit status, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
}

/// What a lesson measures beyond the GIL and the clock: counts, rates, and the process
/// lessons' figures. The engine hands a run's programs one to fill in; the queue and start-up
/// figures are read off the trace. Every field is optional: `None` (JSON `null`) where a
/// lesson does not measure it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Figures {
    /// The count a race-free program would reach.
    #[serde(default)]
    pub expected_count: Option<i64>,
    /// The count the program reached.
    #[serde(default)]
    pub final_count: Option<i64>,
    /// `expected_count - final_count`.
    #[serde(default)]
    pub lost_updates: Option<i64>,
    /// The baseline ran the loop in one thread without the lock the run took (`counter-race`
    /// with `lock=true`): `speedup` is then the lock's cost, below 1 when it slowed the loop.
    #[serde(default)]
    pub baseline_unlocked: Option<bool>,
    /// Operations (I/O round trips, tasks) per second as run.
    #[serde(default)]
    pub ops_per_s: Option<f64>,
    /// Results came back in input order (pool presets).
    #[serde(default)]
    pub results_in_order: Option<bool>,
    /// Messages (queue items, values handed over) per second of the exchange.
    #[serde(default)]
    pub messages_per_s: Option<f64>,
    /// Messages per second for each way of exchanging them (`queue`, `value_semaphores`,
    /// `value_polled`), measured side by side in one run.
    #[serde(default)]
    pub messages_per_s_by_way: Option<BTreeMap<String, f64>>,
    /// The most items a queue held at once (true depth: put and not yet got).
    #[serde(default)]
    pub queue_depth_max: Option<f64>,
    /// The queue's `maxsize`.
    #[serde(default)]
    pub queue_capacity: Option<u64>,
    /// Samples of the queue taken at the same instants: true depth, `qsize()`, `empty()`.
    #[serde(default)]
    pub queue_samples: Option<u64>,
    /// Samples where `qsize()` differed from the true depth.
    #[serde(default)]
    pub qsize_mismatch_samples: Option<u64>,
    /// Samples where `empty()` answered True while items were in flight (in a feeder's
    /// buffer or the pipe).
    #[serde(default)]
    pub empty_mismatch_samples: Option<u64>,
    /// Tries where `empty()` said True while `qsize()` said at least 1, just after a `put`.
    #[serde(default)]
    pub empty_while_qsize_positive: Option<u64>,
    /// Tries where `full()` was wrong about the `put(block=False)` right after it (said full
    /// and the put found room, or said not full and the put raised `queue.Full`).
    #[serde(default)]
    pub full_wrong: Option<u64>,
    /// Tries where `full()` said True.
    #[serde(default)]
    pub full_said: Option<u64>,
    /// Median time from `p.start()` in the parent until the child's interpreter ran, in ms.
    #[serde(default)]
    pub process_start_ms_median: Option<f64>,
    /// Worker processes the run started.
    #[serde(default)]
    pub processes_started: Option<u32>,
    /// The chunk size `Pool.map` used (CPython's default unless given).
    #[serde(default)]
    pub chunksize: Option<u64>,
    /// Wall time of each way of returning results (`file`, `queue`, `pool`), in ms.
    #[serde(default)]
    pub return_ms_by_way: Option<BTreeMap<String, f64>>,
    /// The exception CPython raises for what the run was asked to do (e.g. a `Value` passed
    /// to `Pool.map`), as `Type: message`; the run went on with the working alternative.
    #[serde(default)]
    pub python_exception: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_documented_field_names() {
        let summary = Summary {
            preset: "cpu-threads".into(),
            knobs: BTreeMap::from([("threads".to_string(), KnobValue::Int(2))]),
            wall_s: 1.0,
            baseline_wall_s: Some(1.0),
            speedup: Some(1.0),
            cores_busy_mean: 1.0,
            gil_handoffs: Some(3),
            gil_hold_ms_median: Some(5.0),
            gil_wait_ms_total: Some(7.0),
            gil_drop_requests: Some(2),
            baseline_ops_per_s: None,
            ns_per_bytecode: 3.3,
            bytecodes: 10,
            time_per_state_s: BTreeMap::from([(State::WaitGil, 0.5)]),
            end: EndReason::HitCap {
                cap: Cap::Wall,
                limit: "60 s".into(),
            },
            violations: vec![],
            invariants_ok: true,
            engine: crate::spec::Engine::Emulated,
            sampling_hz: None,
            output: None,
            figures: Figures {
                queue_capacity: Some(4),
                ..Figures::default()
            },
        };
        let json = serde_json::to_value(&summary).unwrap();
        for field in [
            "preset",
            "knobs",
            "wall_s",
            "baseline_wall_s",
            "speedup",
            "cores_busy_mean",
            "gil_handoffs",
            "gil_hold_ms_median",
            "gil_wait_ms_total",
            "expected_count",
            "final_count",
            "lost_updates",
            "ops_per_s",
            "baseline_ops_per_s",
            "invariants_ok",
            "ns_per_bytecode",
            "time_per_state_s",
            "end",
            "violations",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        assert_eq!(json["time_per_state_s"]["wait_gil"], 0.5);
        assert_eq!(json["queue_capacity"], 4);
        assert!(json["messages_per_s"].is_null());
        assert_eq!(json["end"]["kind"], "hit_cap");
        assert_eq!(json["end"]["cap"], "wall");
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(back, summary);
    }
}
