//! The wire format on messages holding every type and variant: each comes back equal, and
//! damaged frames (cut short, bytes changed, another version) are refused without a panic.

use std::collections::BTreeMap;

use super::*;
use crate::spec::{Engine, Group, KnobDef, KnobKind, KnobValue};
use crate::summary::{Cap, EndReason, Figures, ProgramOutput};
use crate::trace::{
    CounterId, CounterKind, CounterTrack, GilFlavour, InterpId, Interpreter, Lane, LaneId,
    LaneKind, Mark, MarkKind, QueueId, QueueInfo, Sample, Span, State, Trace,
};

fn knob(name: &str, kind: KnobKind) -> KnobDef {
    KnobDef {
        name: name.into(),
        description: format!("the {name} — “quoted”"),
        kind,
    }
}

fn hello() -> ServerMsg {
    ServerMsg::Hello(Hello {
        version: "0.1.0".into(),
        cores: 2,
        presets: vec![PresetInfo {
            name: "cpu-threads".into(),
            group: Group::Caveats,
            claim: "claim".into(),
            description: "description".into(),
            python: "print('hi')\n".into(),
            python_template: "n = {{threads}}".into(),
            knobs: vec![
                knob(
                    "threads",
                    KnobKind::Int {
                        min: -3,
                        max: 64,
                        default: 4,
                    },
                ),
                knob(
                    "ms",
                    KnobKind::Float {
                        min: 0.1,
                        max: 1e9,
                        default: 5.0,
                    },
                ),
                knob("lock", KnobKind::Bool { default: true }),
                knob(
                    "gil",
                    KnobKind::Choice {
                        options: vec!["current".into(), "none".into()],
                        default: "none".into(),
                    },
                ),
            ],
        }],
        cpython: CpythonStatus {
            available: true,
            detail: "Python 3.11.7".into(),
        },
        role: Role::Teacher,
        students: vec![
            "http://192.168.1.20:7878/".into(),
            "http://[2001:db8::7]:7878/".into(),
        ],
    })
}

fn class() -> ClassState {
    ClassState {
        preset: "cpu-threads".into(),
        knobs: spec().knobs,
        code: Some("print('edited')\n".into()),
        run: Some(7),
        pinned: None,
        window: Some(Window {
            t0: 1_000,
            t1: u64::MAX,
        }),
        projector: true,
    }
}

fn spec() -> ExperimentSpec {
    ExperimentSpec {
        preset: "cpu-threads".into(),
        knobs: BTreeMap::from([
            ("threads".to_string(), KnobValue::Int(-4)),
            ("gil".to_string(), KnobValue::Text("none".into())),
            ("ms".to_string(), KnobValue::Float(0.5)),
            ("lock".to_string(), KnobValue::Bool(true)),
        ]),
        engine: Some(Engine::Cpython),
        script: Some("import time\n".into()),
    }
}

fn summary(end: EndReason) -> Summary {
    Summary {
        preset: "cpu-threads".into(),
        knobs: spec().knobs,
        wall_s: 1.25,
        baseline_wall_s: Some(0.5),
        speedup: None,
        cores_busy_mean: 0.97,
        gil_handoffs: Some(u64::MAX),
        gil_hold_ms_median: Some(5.0),
        gil_wait_ms_total: None,
        gil_drop_requests: Some(0),
        baseline_ops_per_s: Some(f64::INFINITY),
        ns_per_bytecode: 3.3,
        bytecodes: 10,
        time_per_state_s: BTreeMap::from([(State::WaitGil, 0.5), (State::Starting, 0.25)]),
        end,
        violations: vec!["lane 3 overlaps".into()],
        invariants_ok: false,
        figures: Figures {
            expected_count: Some(i64::MIN),
            lost_updates: Some(-7),
            baseline_unlocked: Some(true),
            full_wrong: Some(u64::MAX),
            full_said: Some(3),
            results_in_order: Some(false),
            messages_per_s_by_way: Some(BTreeMap::from([("queue".to_string(), 1e6)])),
            processes_started: Some(u32::MAX),
            python_exception: Some("TypeError: no".into()),
            ..Figures::default()
        },
        engine: Engine::Cpython,
        sampling_hz: Some(903.0),
        output: Some(ProgramOutput {
            stdout: "out\n".into(),
            stderr: String::new(),
            dropped_bytes: 12,
            exit_code: Some(-1),
            signal: None,
        }),
    }
}

fn run(state: RunState, end: Option<EndReason>) -> ServerMsg {
    ServerMsg::Run(RunInfo {
        id: 3,
        spec: spec(),
        state,
        summary: end.map(|end| Box::new(summary(end))),
        error: Some("boom".into()),
    })
}

fn frame() -> ServerMsg {
    let lane = LaneId(1);
    let marks = [
        MarkKind::DropRequest { holder: LaneId(0) },
        MarkKind::Handoff {
            interp: InterpId(0),
            from: None,
            to: lane,
        },
        MarkKind::Handoff {
            interp: InterpId(2),
            from: Some(lane),
            to: LaneId(0),
        },
        MarkKind::Put {
            queue: QueueId(0),
            item: 1 << 40,
        },
        MarkKind::Get {
            queue: QueueId(1),
            item: 0,
        },
        MarkKind::TaskStart { task: 7 },
        MarkKind::TaskEnd { task: 7 },
        MarkKind::LostUpdate {
            read: -1,
            written: 1,
        },
    ];
    let counters = [
        CounterKind::QueueDepth { queue: QueueId(0) },
        CounterKind::QueueQsize { queue: QueueId(0) },
        CounterKind::QueueEmpty { queue: QueueId(0) },
        CounterKind::CoreUsage { core: 1 },
        CounterKind::CoresBusy,
        CounterKind::LaneCore { lane },
        CounterKind::SharedValue,
    ];
    let added = Trace {
        interpreters: vec![Interpreter {
            id: InterpId(0),
            name: "MainProcess".into(),
            gil: GilFlavour::Ticks,
            pid: Some(42),
        }],
        lanes: [LaneKind::Main, LaneKind::PoolWorker, LaneKind::Peer]
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Lane {
                id: LaneId(i as u32),
                interp: InterpId(0),
                name: format!("Thread-{i}"),
                kind,
                tid: (i > 0).then_some(i as u32),
            })
            .collect(),
        queues: vec![QueueInfo {
            id: QueueId(0),
            name: "q".into(),
            capacity: None,
        }],
        counters: counters
            .into_iter()
            .enumerate()
            .map(|(i, kind)| CounterTrack {
                id: CounterId(i as u32),
                name: format!("c{i}"),
                kind,
            })
            .collect(),
        spans: State::ALL
            .into_iter()
            .enumerate()
            .map(|(i, state)| Span {
                lane,
                state,
                t0: i as u64 * 1_000_000_007,
                t1: (i as u64 + 1) * 1_000_000_007,
                task: (i % 2 == 0).then_some(i as u32),
            })
            .collect(),
        marks: marks
            .into_iter()
            .map(|kind| Mark { lane, t: 9, kind })
            .collect(),
        samples: vec![Sample {
            counter: CounterId(4),
            t: 10,
            value: -0.25,
        }],
        end: 10_000_000_070,
    };
    ServerMsg::Frame(FrameMsg {
        run: 3,
        reset: true,
        resolution: 1000,
        delta: TraceDelta {
            open_spans: added.spans[..2].to_vec(),
            added,
        },
    })
}

fn every_server_msg() -> Vec<ServerMsg> {
    let ends = [
        EndReason::Finished,
        EndReason::HitCap {
            cap: Cap::Events,
            limit: "1e6".into(),
        },
        EndReason::Stopped,
        EndReason::Failed {
            reason: "why".into(),
        },
    ];
    let mut msgs = vec![hello(), frame(), ServerMsg::Pong { nonce: u32::MAX }];
    msgs.push(ServerMsg::Error(ErrorMsg {
        message: "nope".into(),
        field: Some("threads".into()),
    }));
    msgs.push(ServerMsg::Class(class()));
    msgs.push(ServerMsg::Class(ClassState::default()));
    msgs.push(ServerMsg::Viewers { count: 501 });
    msgs.push(run(RunState::Queued, None));
    msgs.push(run(RunState::Running, None));
    let over = [RunState::Finished, RunState::Stopped, RunState::Failed];
    for (end, state) in ends.into_iter().zip(over.into_iter().cycle()) {
        msgs.push(run(state, Some(end)));
    }
    msgs.push(ServerMsg::Kept {
        id: u64::MAX,
        kept: crate::history::Kept {
            name: Some("Tuesday · 周二".into()),
            note: None,
            starred: true,
            saved_at_ms: 1_764_800_000_000,
            events: 1_000_000,
            bytes: 4_700_000,
        },
    });
    msgs
}

fn bytes(msg: &impl Wire) -> Vec<u8> {
    match encode(msg) {
        Payload::Binary(bytes) => bytes,
        Payload::Text(_) => panic!("the wire format is binary"),
    }
}

#[test]
fn every_message_and_variant_round_trips() {
    for msg in every_server_msg() {
        let frame = encode(&msg);
        assert_eq!(decode_server(&frame).unwrap(), msg);
        assert_eq!(decode::<ServerMsg>(&frame).unwrap(), msg);
    }
    let client = [
        ClientMsg::Ping { nonce: 0 },
        ClientMsg::Start { spec: spec() },
        ClientMsg::Start {
            spec: ExperimentSpec::default(),
        },
        ClientMsg::Stop { id: u64::MAX },
        ClientMsg::Subscribe { id: 1 },
        ClientMsg::Share { class: class() },
    ];
    for msg in client {
        assert_eq!(decode_client(&encode(&msg)).unwrap(), msg);
    }
}

#[test]
fn frames_are_smaller_than_messagepack() {
    let msg = frame();
    let wire = bytes(&msg).len();
    let packed = rmp_serde::to_vec(&msg).unwrap().len();
    assert!(wire < packed, "wire {wire} bytes, MessagePack {packed}");
}

#[test]
fn a_frame_cut_short_or_extended_is_refused() {
    for msg in every_server_msg() {
        let whole = bytes(&msg);
        for cut in 0..whole.len() {
            let err = decode_server(&Payload::Binary(whole[..cut].to_vec())).unwrap_err();
            assert_eq!(err.format, "gilscope wire", "{err}");
        }
        let mut longer = whole.clone();
        longer.push(0);
        let err = decode_server(&Payload::Binary(longer)).unwrap_err();
        assert!(err.to_string().contains("1 bytes left over"), "{err}");
    }
}

#[test]
fn changed_bytes_never_panic() {
    let whole = bytes(&frame());
    // A fixed pseudo-random sequence (xorshift), so a failure reproduces.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refused = 0;
    for _ in 0..5_000 {
        let mut damaged = whole.clone();
        for _ in 0..1 + next() % 3 {
            let at = 2 + (next() as usize) % (damaged.len() - 2);
            damaged[at] = next() as u8;
        }
        refused += usize::from(decode_server(&Payload::Binary(damaged)).is_err());
    }
    assert!(refused > 0, "no damage was ever noticed");
}

#[test]
fn another_version_or_format_is_named() {
    let mut old = bytes(&ServerMsg::Pong { nonce: 1 });
    old[1] = 1;
    let err = decode_server(&Payload::Binary(old)).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "wire version 1; this side speaks version {WIRE_VERSION}"
        )),
        "{err}"
    );
    let packed = rmp_serde::to_vec(&ServerMsg::Pong { nonce: 1 }).unwrap();
    let err = decode_server(&Payload::Binary(packed)).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a frame of gilscope's wire format"),
        "{err}"
    );
    let err = decode_server(&Payload::Text("{}".into())).unwrap_err();
    assert!(err.to_string().contains("binary frames only"), "{err}");
}

#[test]
fn a_knob_given_twice_names_it() {
    let mut w = bytes(&ClientMsg::Start {
        spec: ExperimentSpec {
            preset: "p".into(),
            knobs: BTreeMap::from([("threads".to_string(), KnobValue::Int(1))]),
            ..Default::default()
        },
    });
    // MAGIC, version, tag, preset "p", 1 knob: say 2, and repeat the knob.
    let knob_at = 2 + 1 + 2;
    assert_eq!(w[knob_at], 1);
    w[knob_at] = 2;
    let knob = w[knob_at + 1..w.len() - 2].to_vec();
    w.splice(w.len() - 2..w.len() - 2, knob);
    let err = decode_client(&Payload::Binary(w)).unwrap_err();
    assert_eq!(err.field(), Some("threads"), "{err}");
}
