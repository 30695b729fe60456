//! Chrome Trace Event JSON (what Perfetto and chrome://tracing open): one process per
//! interpreter, one thread per lane with `X` slices named by state, a "GIL" track per
//! interpreter showing who holds it, `C` counter events, `M` names, flow arrows for GIL
//! hand-offs and instant events for drop requests and lost updates.

use serde_json::{json, Value};

use gilscope_shared::trace::{GilFlavour, MarkKind, Nanos, State, Trace};

/// The thread id of an interpreter's GIL track (lanes use their id + 1).
const GIL_TID: u32 = 0;

fn us(t: Nanos) -> f64 {
    t as f64 / 1000.0
}

fn short(state: State) -> &'static str {
    match state {
        State::Running => "running",
        State::WaitGil => "wait GIL",
        State::Io => "I/O",
        State::WaitLock => "wait lock",
        State::BlockedPut => "blocked put",
        State::BlockedGet => "blocked get",
        State::Join => "join",
        State::Idle => "idle",
        State::Done => "done",
        State::Starting => "starting",
    }
}

/// The whole trace as one Chrome Trace Event JSON document.
pub fn to_chrome(trace: &Trace) -> Value {
    let mut events = Vec::new();
    let pid_of = |lane: u32| trace.lanes.get(lane as usize).map_or(0, |l| l.interp.0);
    for interp in &trace.interpreters {
        events.push(
            json!({"ph": "M", "name": "process_name", "pid": interp.id.0,
            "args": {"name": format!("{} (GIL: {})", interp.name, interp.gil.name())}}),
        );
        if interp.gil != GilFlavour::None {
            events.push(json!({"ph": "M", "name": "thread_name", "pid": interp.id.0,
                "tid": GIL_TID, "args": {"name": "GIL"}}));
            events.push(
                json!({"ph": "M", "name": "thread_sort_index", "pid": interp.id.0,
                "tid": GIL_TID, "args": {"sort_index": -1}}),
            );
        }
    }
    for lane in &trace.lanes {
        events.push(
            json!({"ph": "M", "name": "thread_name", "pid": lane.interp.0,
            "tid": lane.id.0 + 1, "args": {"name": lane.name}}),
        );
        events.push(
            json!({"ph": "M", "name": "thread_sort_index", "pid": lane.interp.0,
            "tid": lane.id.0 + 1, "args": {"sort_index": lane.id.0}}),
        );
    }
    for span in trace.spans.iter().filter(|s| s.t1 > s.t0) {
        let pid = pid_of(span.lane.0);
        let mut args = json!({"state": span.state.label()});
        if let Some(task) = span.task {
            args["task"] = json!(task);
        }
        events.push(json!({"ph": "X", "name": short(span.state), "cat": "state",
            "pid": pid, "tid": span.lane.0 + 1, "ts": us(span.t0), "dur": us(span.t1 - span.t0),
            "args": args}));
        let gil = trace
            .interpreter(trace.lanes[span.lane.0 as usize].interp)
            .is_some_and(|i| i.gil != GilFlavour::None);
        if span.state == State::Running && gil {
            let name = &trace.lanes[span.lane.0 as usize].name;
            events.push(
                json!({"ph": "X", "name": format!("held by {name}"), "cat": "gil",
                "pid": pid, "tid": GIL_TID, "ts": us(span.t0), "dur": us(span.t1 - span.t0)}),
            );
        }
    }
    for (n, mark) in trace.marks.iter().enumerate() {
        let pid = pid_of(mark.lane.0);
        let tid = mark.lane.0 + 1;
        match mark.kind {
            MarkKind::Handoff {
                from: Some(from),
                to,
                ..
            } if from != to => {
                events.push(
                    json!({"ph": "s", "name": "GIL hand-off", "cat": "handoff", "id": n,
                    "pid": pid_of(from.0), "tid": from.0 + 1, "ts": us(mark.t)}),
                );
                events.push(
                    json!({"ph": "f", "bp": "e", "name": "GIL hand-off", "cat": "handoff",
                    "id": n, "pid": pid_of(to.0), "tid": to.0 + 1, "ts": us(mark.t)}),
                );
            }
            MarkKind::DropRequest { holder } => {
                events.push(
                    json!({"ph": "i", "s": "t", "name": "drop request", "pid": pid,
                    "tid": tid, "ts": us(mark.t), "args": {"holder": holder.0}}),
                );
            }
            MarkKind::LostUpdate { read, written } => {
                events.push(
                    json!({"ph": "i", "s": "t", "name": "lost update", "pid": pid,
                    "tid": tid, "ts": us(mark.t), "args": {"read": read, "written": written}}),
                );
            }
            _ => {}
        }
    }
    for sample in &trace.samples {
        let name = trace
            .counters
            .get(sample.counter.0 as usize)
            .map_or("counter", |c| c.name.as_str());
        events.push(
            json!({"ph": "C", "name": name, "pid": 0, "ts": us(sample.t),
            "args": {"value": sample.value}}),
        );
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}
