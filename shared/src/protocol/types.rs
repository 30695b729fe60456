//! [`Wire`] for every type a message carries: the trace, the spec and the presets, the
//! summary, and the messages themselves. Structs list their fields (all of them, or this
//! fails to compile); enums with fields are written out, their variants numbered in order.

use super::codec::{
    wire_newtype, wire_struct, wire_unit_enum, MapKey, Reader, Wire, WireError, Writer,
};
use super::{
    ClassState, ClientMsg, CpythonStatus, ErrorMsg, FrameMsg, Hello, Role, RunInfo, RunState,
    ServerMsg, Window,
};
use crate::history::Kept;
use crate::spec::{Engine, ExperimentSpec, Group, KnobDef, KnobKind, KnobValue, PresetInfo};
use crate::summary::{Cap, EndReason, Figures, ProgramOutput, Summary};
use crate::trace::{
    CounterId, CounterKind, CounterTrack, GilFlavour, InterpId, Interpreter, Lane, LaneId,
    LaneKind, Mark, MarkKind, QueueId, QueueInfo, Sample, Span, State, Trace, TraceDelta,
};

wire_newtype!(LaneId, InterpId, QueueId, CounterId);

wire_unit_enum!(State {
    Running,
    WaitGil,
    Io,
    WaitLock,
    BlockedPut,
    BlockedGet,
    Join,
    Idle,
    Done,
    Starting,
});
wire_unit_enum!(GilFlavour {
    Current,
    Ticks,
    None
});
wire_unit_enum!(LaneKind {
    Main,
    Worker,
    PoolWorker,
    Handler,
    Feeder,
    Peer
});
wire_unit_enum!(Engine { Emulated, Cpython });
wire_unit_enum!(Group {
    Threads,
    Processes,
    Caveats,
    Beyond
});
wire_unit_enum!(Cap { Work, Wall, Events });
wire_unit_enum!(RunState {
    Queued,
    Running,
    Finished,
    Failed,
    Stopped
});

impl MapKey for State {
    fn label(&self) -> &str {
        self.name()
    }
}

wire_struct!(Interpreter { id, name, gil, pid });
wire_struct!(Lane {
    id,
    interp,
    name,
    kind,
    tid
});
wire_struct!(Span {
    lane,
    state,
    t0,
    t1,
    task
});
wire_struct!(Mark { lane, t, kind });
wire_struct!(QueueInfo { id, name, capacity });
wire_struct!(CounterTrack { id, name, kind });
wire_struct!(Sample { counter, t, value });
wire_struct!(Trace {
    interpreters,
    lanes,
    queues,
    counters,
    spans,
    marks,
    samples,
    end
});
wire_struct!(TraceDelta { added, open_spans });

impl Wire for MarkKind {
    fn put(&self, w: &mut Writer) {
        match self {
            MarkKind::DropRequest { holder } => {
                w.byte(0);
                holder.put(w);
            }
            MarkKind::Handoff { interp, from, to } => {
                w.byte(1);
                interp.put(w);
                from.put(w);
                to.put(w);
            }
            MarkKind::Put { queue, item } => {
                w.byte(2);
                queue.put(w);
                item.put(w);
            }
            MarkKind::Get { queue, item } => {
                w.byte(3);
                queue.put(w);
                item.put(w);
            }
            MarkKind::TaskStart { task } => {
                w.byte(4);
                task.put(w);
            }
            MarkKind::TaskEnd { task } => {
                w.byte(5);
                task.put(w);
            }
            MarkKind::LostUpdate { read, written } => {
                w.byte(6);
                read.put(w);
                written.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> MarkKind {
        match r.variant("MarkKind", 7) {
            0 => MarkKind::DropRequest {
                holder: Wire::get(r),
            },
            1 => MarkKind::Handoff {
                interp: Wire::get(r),
                from: Wire::get(r),
                to: Wire::get(r),
            },
            2 => MarkKind::Put {
                queue: Wire::get(r),
                item: Wire::get(r),
            },
            3 => MarkKind::Get {
                queue: Wire::get(r),
                item: Wire::get(r),
            },
            4 => MarkKind::TaskStart { task: Wire::get(r) },
            5 => MarkKind::TaskEnd { task: Wire::get(r) },
            _ => MarkKind::LostUpdate {
                read: Wire::get(r),
                written: Wire::get(r),
            },
        }
    }
}

impl Wire for CounterKind {
    fn put(&self, w: &mut Writer) {
        match self {
            CounterKind::QueueDepth { queue } => {
                w.byte(0);
                queue.put(w);
            }
            CounterKind::QueueQsize { queue } => {
                w.byte(1);
                queue.put(w);
            }
            CounterKind::QueueEmpty { queue } => {
                w.byte(2);
                queue.put(w);
            }
            CounterKind::CoreUsage { core } => {
                w.byte(3);
                core.put(w);
            }
            CounterKind::CoresBusy => w.byte(4),
            CounterKind::LaneCore { lane } => {
                w.byte(5);
                lane.put(w);
            }
            CounterKind::SharedValue => w.byte(6),
        }
    }
    fn get(r: &mut Reader<'_>) -> CounterKind {
        match r.variant("CounterKind", 7) {
            0 => CounterKind::QueueDepth {
                queue: Wire::get(r),
            },
            1 => CounterKind::QueueQsize {
                queue: Wire::get(r),
            },
            2 => CounterKind::QueueEmpty {
                queue: Wire::get(r),
            },
            3 => CounterKind::CoreUsage { core: Wire::get(r) },
            4 => CounterKind::CoresBusy,
            5 => CounterKind::LaneCore { lane: Wire::get(r) },
            _ => CounterKind::SharedValue,
        }
    }
}

wire_struct!(ExperimentSpec {
    preset,
    knobs,
    engine,
    script
});
wire_struct!(KnobDef {
    name,
    description,
    kind
});
wire_struct!(PresetInfo {
    name,
    group,
    claim,
    description,
    python,
    python_template,
    knobs
});

impl Wire for KnobValue {
    fn put(&self, w: &mut Writer) {
        match self {
            KnobValue::Bool(b) => {
                w.byte(0);
                b.put(w);
            }
            KnobValue::Int(i) => {
                w.byte(1);
                i.put(w);
            }
            KnobValue::Float(x) => {
                w.byte(2);
                x.put(w);
            }
            KnobValue::Text(s) => {
                w.byte(3);
                s.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> KnobValue {
        match r.variant("KnobValue", 4) {
            0 => KnobValue::Bool(Wire::get(r)),
            1 => KnobValue::Int(Wire::get(r)),
            2 => KnobValue::Float(Wire::get(r)),
            _ => KnobValue::Text(Wire::get(r)),
        }
    }
}

impl Wire for KnobKind {
    fn put(&self, w: &mut Writer) {
        match self {
            KnobKind::Int { min, max, default } => {
                w.byte(0);
                min.put(w);
                max.put(w);
                default.put(w);
            }
            KnobKind::Float { min, max, default } => {
                w.byte(1);
                min.put(w);
                max.put(w);
                default.put(w);
            }
            KnobKind::Bool { default } => {
                w.byte(2);
                default.put(w);
            }
            KnobKind::Choice { options, default } => {
                w.byte(3);
                options.put(w);
                default.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> KnobKind {
        match r.variant("KnobKind", 4) {
            0 => KnobKind::Int {
                min: Wire::get(r),
                max: Wire::get(r),
                default: Wire::get(r),
            },
            1 => KnobKind::Float {
                min: Wire::get(r),
                max: Wire::get(r),
                default: Wire::get(r),
            },
            2 => KnobKind::Bool {
                default: Wire::get(r),
            },
            _ => KnobKind::Choice {
                options: Wire::get(r),
                default: Wire::get(r),
            },
        }
    }
}

wire_struct!(Summary {
    preset,
    knobs,
    wall_s,
    baseline_wall_s,
    speedup,
    cores_busy_mean,
    gil_handoffs,
    gil_hold_ms_median,
    gil_wait_ms_total,
    gil_drop_requests,
    baseline_ops_per_s,
    ns_per_bytecode,
    bytecodes,
    time_per_state_s,
    end,
    violations,
    invariants_ok,
    figures,
    engine,
    sampling_hz,
    output,
});
wire_struct!(ProgramOutput {
    stdout,
    stderr,
    dropped_bytes,
    exit_code,
    signal
});
wire_struct!(Figures {
    expected_count,
    final_count,
    lost_updates,
    baseline_unlocked,
    ops_per_s,
    results_in_order,
    messages_per_s,
    messages_per_s_by_way,
    queue_depth_max,
    queue_capacity,
    queue_samples,
    qsize_mismatch_samples,
    empty_mismatch_samples,
    empty_while_qsize_positive,
    full_wrong,
    full_said,
    process_start_ms_median,
    processes_started,
    chunksize,
    return_ms_by_way,
    python_exception,
});

impl Wire for EndReason {
    fn put(&self, w: &mut Writer) {
        match self {
            EndReason::Finished => w.byte(0),
            EndReason::HitCap { cap, limit } => {
                w.byte(1);
                cap.put(w);
                limit.put(w);
            }
            EndReason::Stopped => w.byte(2),
            EndReason::Failed { reason } => {
                w.byte(3);
                reason.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> EndReason {
        match r.variant("EndReason", 4) {
            0 => EndReason::Finished,
            1 => EndReason::HitCap {
                cap: Wire::get(r),
                limit: Wire::get(r),
            },
            2 => EndReason::Stopped,
            _ => EndReason::Failed {
                reason: Wire::get(r),
            },
        }
    }
}

wire_struct!(Hello {
    version,
    cores,
    presets,
    cpython,
    role,
    students
});
wire_unit_enum!(Role {
    Local,
    Teacher,
    Student
});
wire_struct!(Window { t0, t1 });
wire_struct!(ClassState {
    preset,
    knobs,
    code,
    run,
    pinned,
    window,
    projector
});
wire_struct!(CpythonStatus { available, detail });
wire_struct!(RunInfo {
    id,
    spec,
    state,
    summary,
    error
});
wire_struct!(FrameMsg {
    run,
    reset,
    resolution,
    delta
});
wire_struct!(ErrorMsg { message, field });

impl Wire for ServerMsg {
    fn put(&self, w: &mut Writer) {
        match self {
            ServerMsg::Hello(hello) => {
                w.byte(0);
                hello.put(w);
            }
            ServerMsg::Pong { nonce } => {
                w.byte(1);
                nonce.put(w);
            }
            ServerMsg::Run(info) => {
                w.byte(2);
                info.put(w);
            }
            ServerMsg::Frame(frame) => {
                w.byte(3);
                frame.put(w);
            }
            ServerMsg::Error(err) => {
                w.byte(4);
                err.put(w);
            }
            ServerMsg::Kept { id, kept } => {
                w.byte(5);
                id.put(w);
                kept.put(w);
            }
            ServerMsg::Class(class) => {
                w.byte(6);
                class.put(w);
            }
            ServerMsg::Viewers { count } => {
                w.byte(7);
                count.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> ServerMsg {
        match r.variant("ServerMsg", 8) {
            0 => ServerMsg::Hello(Wire::get(r)),
            1 => ServerMsg::Pong {
                nonce: Wire::get(r),
            },
            2 => ServerMsg::Run(Wire::get(r)),
            3 => ServerMsg::Frame(Wire::get(r)),
            4 => ServerMsg::Error(Wire::get(r)),
            5 => ServerMsg::Kept {
                id: Wire::get(r),
                kept: Wire::get(r),
            },
            6 => ServerMsg::Class(Wire::get(r)),
            _ => ServerMsg::Viewers {
                count: Wire::get(r),
            },
        }
    }
}

impl Wire for Kept {
    fn put(&self, w: &mut Writer) {
        self.name.put(w);
        self.note.put(w);
        self.starred.put(w);
        self.saved_at_ms.put(w);
        self.events.put(w);
        self.bytes.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Kept {
        Kept {
            name: Wire::get(r),
            note: Wire::get(r),
            starred: Wire::get(r),
            saved_at_ms: Wire::get(r),
            events: Wire::get(r),
            bytes: Wire::get(r),
        }
    }
}

impl Wire for ClientMsg {
    fn put(&self, w: &mut Writer) {
        match self {
            ClientMsg::Ping { nonce } => {
                w.byte(0);
                nonce.put(w);
            }
            ClientMsg::Start { spec } => {
                w.byte(1);
                spec.put(w);
            }
            ClientMsg::Stop { id } => {
                w.byte(2);
                id.put(w);
            }
            ClientMsg::Subscribe { id } => {
                w.byte(3);
                id.put(w);
            }
            ClientMsg::Share { class } => {
                w.byte(4);
                class.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> ClientMsg {
        match r.variant("ClientMsg", 5) {
            0 => ClientMsg::Ping {
                nonce: Wire::get(r),
            },
            1 => ClientMsg::Start { spec: Wire::get(r) },
            2 => ClientMsg::Stop { id: Wire::get(r) },
            3 => ClientMsg::Subscribe { id: Wire::get(r) },
            _ => ClientMsg::Share {
                class: Wire::get(r),
            },
        }
    }
}
