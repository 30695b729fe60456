//! The wire protocol between the server and the dashboard: every message either side can
//! send over the `/ws` websocket, and the one place that turns them into frames and back.
//!
//! Both sides send binary frames of gilscope's own wire format ([`WIRE_VERSION`], grammar in
//! `codec.rs`, per type in `types.rs`): compact, and decoded in the dashboard's wasm without
//! serde's generic machinery, which made up a third of its code. A frame starts with the byte
//! [`MAGIC`] (never used by MessagePack) and the version. For people and scripts driving the
//! socket by hand the server also takes MessagePack in binary frames and JSON in text frames
//! ([`decode`]); the HTTP API speaks JSON with the same types.

mod codec;
mod types;
#[cfg(test)]
mod wire_tests;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

pub use codec::{Wire, WireError};

use crate::input::{self, InputError};
use crate::spec::{ExperimentSpec, PresetInfo};
use crate::summary::Summary;
use crate::trace::{Nanos, TraceDelta};

/// The wire format's version, the second byte of every frame. 1 was MessagePack (serde);
/// 2 is this format; 3 added `Figures::baseline_unlocked` (the lock-overhead finding); 4 the
/// classroom (the hello's role and students' URLs, `class`, `viewers`, `share`) and a page of
/// kept runs (`kept`); 5 `Figures::full_wrong` and `full_said` (`q.full()`).
pub const WIRE_VERSION: u8 = 5;

/// The first byte of every frame of this format: a byte MessagePack never uses, so a binary
/// frame of either is told apart by it.
pub const MAGIC: u8 = 0xc1;

/// A run's number, unique for the life of the server process.
pub type RunId = u64;

/// Largest frame the server sends while a run is live, in bytes of encoded message.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// What the server tells a viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message on every connection.
    Hello(Hello),
    /// Answer to [`ClientMsg::Ping`], carrying the same nonce.
    Pong { nonce: u32 },
    /// A run was queued, started, or is over (its summary then included).
    Run(RunInfo),
    /// What is new in a run's trace.
    Frame(FrameMsg),
    /// Something the viewer sent could not be used; the connection stays open.
    Error(ErrorMsg),
    /// What the store keeps of a run (only in a page of the history, [`encode_listed`]).
    Kept {
        id: RunId,
        kept: crate::history::Kept,
    },
    /// What the teacher shows now (sent on joining and on every change): followers show it.
    Class(ClassState),
    /// Viewers connected now (the teacher included); sent to a class's teacher when it changes.
    Viewers { count: u32 },
}

/// Who the viewer is talking to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The server crate's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// Logical cores of the machine the experiments run on.
    pub cores: u32,
    /// Every preset the server can run, with its knobs and Python code.
    pub presets: Vec<PresetInfo>,
    /// Whether runs on the machine's own CPython can be asked for, and why not.
    #[serde(default)]
    pub cpython: CpythonStatus,
    /// What this viewer may do.
    #[serde(default)]
    pub role: Role,
    /// The URLs students open, one per address of the server's machine; empty unless the
    /// server runs a class.
    #[serde(default)]
    pub students: Vec<String>,
}

/// Who a viewer is, decided by the server for each request and websocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// On the server's machine, no class: may do everything.
    #[default]
    Local,
    /// In a class, with the teacher's token: may do everything; students follow.
    Teacher,
    /// Watches (a student, or another machine without a class): may not act.
    Student,
}

impl Role {
    /// May start and stop runs, run code, pin, and change the shared lesson.
    pub fn may_act(self) -> bool {
        !matches!(self, Role::Student)
    }
}

/// What the teacher's page shows, shared with every student's page that follows it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassState {
    /// The lesson: a preset's name.
    pub preset: String,
    /// Its knobs as the teacher set them (those left out are the lesson's defaults).
    #[serde(default, deserialize_with = "crate::spec::unique_knobs")]
    pub knobs: std::collections::BTreeMap<String, crate::spec::KnobValue>,
    /// The lesson's code as the teacher edited it; None when unedited.
    #[serde(default)]
    pub code: Option<String>,
    /// The run shown (live or replayed).
    #[serde(default)]
    pub run: Option<RunId>,
    /// The run pinned beside it.
    #[serde(default)]
    pub pinned: Option<RunId>,
    /// The time window shown, when zoomed or panned; None shows the whole run.
    #[serde(default)]
    pub window: Option<Window>,
    /// Projector mode.
    #[serde(default)]
    pub projector: bool,
}

/// A stretch of a run's time, nanoseconds from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub t0: Nanos,
    pub t1: Nanos,
}

/// Whether this server can run programs on real CPython.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CpythonStatus {
    pub available: bool,
    /// `Python 3.11.7 (/usr/bin/python3)` when available, else why not, naming the fix.
    pub detail: String,
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Queued,
    Running,
    Finished,
    Failed,
    Stopped,
}

impl RunState {
    /// The run will change no more.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            RunState::Finished | RunState::Failed | RunState::Stopped
        )
    }
}

/// A run as the server knows it (the same JSON over HTTP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: RunId,
    /// The spec as run: every knob present, defaults filled in.
    pub spec: ExperimentSpec,
    pub state: RunState,
    /// Once over (stopped and failed runs too, covering what ran).
    pub summary: Option<Box<Summary>>,
    /// Why a run failed.
    pub error: Option<String>,
}

/// Part of a run's trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameMsg {
    pub run: RunId,
    /// Forget what you have of this run: this frame starts it again (a late viewer, a
    /// viewer that fell behind, a replay).
    pub reset: bool,
    /// Spans shorter than this were coalesced (see `coalesce`); 0 when nothing was.
    pub resolution: Nanos,
    pub delta: TraceDelta,
}

/// A problem with a message the viewer sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMsg {
    /// Human-readable, names the problem.
    pub message: String,
    /// The offending field, when there is one.
    #[serde(default)]
    pub field: Option<String>,
}

/// What a viewer asks of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Liveness check; the server answers [`ServerMsg::Pong`].
    Ping { nonce: u32 },
    /// Queue a run; every viewer hears [`ServerMsg::Run`] when it is queued.
    Start { spec: ExperimentSpec },
    /// Stop a queued or running run.
    Stop { id: RunId },
    /// Send me that run from its start (a replay, once it is over).
    Subscribe { id: RunId },
    /// The teacher's page shows this now: every follower is sent it.
    Share { class: ClassState },
}

/// What one websocket message carries (text or binary), independent of any websocket library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

/// Why a frame could not be turned into a message: the encoding, what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {format} message: {error}")]
pub struct DecodeError {
    /// `JSON` or `MessagePack`.
    pub format: &'static str,
    pub error: InputError,
}

impl DecodeError {
    /// The field at fault, when there is one (a knob of a `start` message's spec).
    pub fn field(&self) -> Option<&str> {
        self.error.field.as_deref()
    }
}

/// Turns a message into the binary frame that carries it.
pub fn encode<T: Wire>(msg: &T) -> Payload {
    let mut w = codec::Writer::default();
    w.byte(MAGIC);
    w.byte(WIRE_VERSION);
    msg.put(&mut w);
    Payload::Binary(w.bytes)
}

/// Reads a frame of this format ([`MAGIC`], [`WIRE_VERSION`], one message, nothing after).
pub fn decode_wire<T: Wire>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = codec::Reader::new(bytes);
    let (magic, version) = (r.byte(), r.byte());
    let read = if bytes.len() < 2 {
        Err(WireError::Truncated(bytes.len()))
    } else if magic != MAGIC {
        Err(WireError::NotWire(magic))
    } else if version != WIRE_VERSION {
        Err(WireError::Version {
            found: version,
            speaks: WIRE_VERSION,
        })
    } else {
        let msg = T::get(&mut r);
        r.finish().map(|()| msg)
    };
    read.map_err(|e| DecodeError {
        format: "gilscope wire",
        error: InputError {
            field: match &e {
                WireError::Duplicate(key) => Some(key.clone()),
                _ => None,
            },
            message: e.to_string(),
            path: Vec::new(),
        },
    })
}

/// Turns a received frame back into a message: this wire format or MessagePack in binary
/// frames (told apart by [`MAGIC`]), JSON in text frames.
pub fn decode<T: Wire + DeserializeOwned>(frame: &Payload) -> Result<T, DecodeError> {
    match frame {
        Payload::Binary(bytes) if bytes.first() == Some(&MAGIC) => decode_wire(bytes),
        _ => decode_by_hand(frame),
    }
}

/// The encodings people write by hand: MessagePack in binary frames, JSON in text frames.
fn decode_by_hand<T: DeserializeOwned>(frame: &Payload) -> Result<T, DecodeError> {
    match frame {
        Payload::Binary(bytes) => input::from_msgpack(bytes).map_err(|error| DecodeError {
            format: "MessagePack",
            error,
        }),
        Payload::Text(text) => input::from_json(text.as_bytes()).map_err(|error| DecodeError {
            format: "JSON",
            error,
        }),
    }
}

/// What the server sends, decoded by a viewer: this wire format only (the server sends
/// nothing else), so the dashboard's wasm holds no serde decoder at all.
pub fn decode_server(frame: &Payload) -> Result<ServerMsg, DecodeError> {
    match frame {
        Payload::Binary(bytes) => decode_wire(bytes),
        Payload::Text(_) => Err(DecodeError {
            format: "JSON",
            error: InputError {
                field: None,
                message: "the server sends binary frames only".to_owned(),
                path: Vec::new(),
            },
        }),
    }
}

/// A page of the history as the server sends it (`GET /api/runs?format=wire`): the runs as
/// the websocket says them, a [`ServerMsg::Run`] each followed by its [`ServerMsg::Kept`]
/// once kept, in one frame of this wire format, so the page decodes it with the code it has
/// for the websocket.
pub fn decode_listed(bytes: &[u8]) -> Result<Vec<crate::history::Listed>, DecodeError> {
    let msgs: Vec<ServerMsg> = decode_wire(bytes)?;
    let mut listed: Vec<crate::history::Listed> = Vec::with_capacity(msgs.len());
    for msg in msgs {
        match msg {
            ServerMsg::Run(info) => listed.push(crate::history::Listed { info, kept: None }),
            ServerMsg::Kept { id, kept } => {
                if let Some(last) = listed.last_mut().filter(|l| l.info.id == id) {
                    last.kept = Some(kept);
                }
            }
            _ => {}
        }
    }
    Ok(listed)
}

pub fn encode_listed(entries: Vec<crate::history::RunEntry>) -> Vec<u8> {
    let mut msgs = Vec::with_capacity(entries.len() * 2);
    for entry in entries {
        let id = entry.info.id;
        msgs.push(ServerMsg::Run(entry.info));
        if let Some(kept) = entry.kept {
            msgs.push(ServerMsg::Kept { id, kept });
        }
    }
    match encode(&msgs) {
        Payload::Binary(bytes) => bytes,
        Payload::Text(text) => text.into_bytes(),
    }
}

/// [`decode`] for what viewers send, naming the field at fault in a `start` message's spec.
///
/// [`ClientMsg`]'s tag may come after its fields, so serde decodes the fields from a buffered
/// copy, which loses the path to an error in them. When a message fails without a field, it
/// is decoded once more as a `start` message alone, whose spec then names the field.
pub fn decode_client(frame: &Payload) -> Result<ClientMsg, DecodeError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum StartTag {
        Start,
    }
    #[derive(Deserialize)]
    struct StartMsg {
        #[serde(rename = "type")]
        _type: StartTag,
        #[serde(rename = "spec")]
        _spec: ExperimentSpec,
    }
    let err = match decode::<ClientMsg>(frame) {
        Ok(msg) => return Ok(msg),
        Err(err) if err.field().is_some() => return Err(err),
        Err(err) => err,
    };
    if matches!(frame, Payload::Binary(b) if b.first() == Some(&MAGIC)) {
        return Err(err);
    }
    match decode_by_hand::<StartMsg>(frame) {
        Err(start) if start.error.path.first().is_some_and(|f| f == "spec") => Err(start),
        _ => Err(err),
    }
}

/// The size of a message once encoded, in bytes.
pub fn encoded_len<T: Wire>(msg: &T) -> usize {
    match encode(msg) {
        Payload::Binary(bytes) => bytes.len(),
        Payload::Text(text) => text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::KnobValue;
    use crate::trace::{LaneId, Mark, MarkKind, Span, State};

    fn hello() -> ServerMsg {
        ServerMsg::Hello(Hello {
            version: "0.1.0".into(),
            cores: 8,
            presets: vec![],
            cpython: CpythonStatus::default(),
            role: Role::Student,
            students: vec!["http://192.168.1.20:7878/".into()],
        })
    }

    fn spec() -> ExperimentSpec {
        ExperimentSpec {
            preset: "cpu-threads".into(),
            knobs: [
                ("threads".to_string(), KnobValue::Int(4)),
                ("gil".to_string(), KnobValue::Text("none".into())),
                ("switch_interval_ms".to_string(), KnobValue::Float(0.5)),
                ("lock".to_string(), KnobValue::Bool(true)),
            ]
            .into(),
            ..Default::default()
        }
    }

    fn class() -> ClassState {
        ClassState {
            preset: "cpu-threads".into(),
            knobs: spec().knobs,
            code: Some("print(1)".into()),
            run: Some(4),
            pinned: Some(2),
            window: Some(Window { t0: 1, t1: 2 }),
            projector: true,
        }
    }

    #[test]
    fn server_messages_round_trip() {
        let mut delta = TraceDelta::default();
        delta.added.spans.push(Span {
            lane: LaneId(1),
            state: State::WaitGil,
            t0: 5,
            t1: 9,
            task: Some(2),
        });
        delta.added.marks.push(Mark {
            lane: LaneId(1),
            t: 9,
            kind: MarkKind::DropRequest { holder: LaneId(0) },
        });
        let msgs = [
            hello(),
            ServerMsg::Pong { nonce: 7 },
            ServerMsg::Run(RunInfo {
                id: 3,
                spec: spec(),
                state: RunState::Queued,
                summary: None,
                error: None,
            }),
            ServerMsg::Frame(FrameMsg {
                run: 3,
                reset: true,
                resolution: 1000,
                delta,
            }),
            ServerMsg::Error(ErrorMsg {
                message: "nope".into(),
                field: Some("type".into()),
            }),
            ServerMsg::Class(class()),
            ServerMsg::Viewers { count: 201 },
        ];
        for msg in msgs {
            assert_eq!(decode::<ServerMsg>(&encode(&msg)).unwrap(), msg);
        }
    }

    #[test]
    fn client_messages_round_trip_in_both_encodings() {
        let msgs = [
            ClientMsg::Ping { nonce: 42 },
            ClientMsg::Start { spec: spec() },
            ClientMsg::Stop { id: 1 },
            ClientMsg::Subscribe { id: 2 },
            ClientMsg::Share { class: class() },
        ];
        for msg in msgs {
            assert_eq!(decode::<ClientMsg>(&encode(&msg)).unwrap(), msg);
            let json = Payload::Text(serde_json::to_string(&msg).unwrap());
            assert_eq!(decode::<ClientMsg>(&json).unwrap(), msg);
        }
        let typed = r#"{"type":"start","spec":{"preset":"cpu-threads","knobs":{"threads":2}}}"#;
        assert!(matches!(
            decode::<ClientMsg>(&Payload::Text(typed.into())).unwrap(),
            ClientMsg::Start { .. }
        ));
    }

    #[test]
    fn messages_are_binary_and_compact() {
        let Payload::Binary(bytes) = encode(&hello()) else {
            panic!("the server speaks MessagePack in binary frames");
        };
        let json = serde_json::to_vec(&hello()).unwrap();
        assert!(
            bytes.len() < json.len(),
            "{} >= {}",
            bytes.len(),
            json.len()
        );
    }

    #[test]
    fn garbage_names_the_problem() {
        let err = decode::<ClientMsg>(&Payload::Text("not json".into())).unwrap_err();
        assert!(err.to_string().contains("expected"), "{err}");

        let err = decode::<ClientMsg>(&Payload::Text(r#"{"type":"launch"}"#.into())).unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `launch`"),
            "{err}"
        );

        let err = decode::<ClientMsg>(&Payload::Binary(vec![1, 2, 3])).unwrap_err();
        assert!(err.to_string().contains("MessagePack"), "{err}");
    }

    #[test]
    fn a_bad_start_names_the_field_in_both_encodings() {
        let cases = [
            (
                r#"{"type":"start","spec":{"preset":"x","knobs":{"threads":null}}}"#,
                "threads",
            ),
            (
                r#"{"spec":{"preset":"x","knobs":{"threads":[]}},"type":"start"}"#,
                "threads",
            ),
            (
                r#"{"type":"start","spec":{"preset":"x","knob":{}}}"#,
                "knob",
            ),
            (
                r#"{"type":"start","spec":{"preset":"x","knobs":{"a":1,"a":2}}}"#,
                "a",
            ),
        ];
        for (json, field) in cases {
            let err = decode_client(&Payload::Text(json.into())).unwrap_err();
            assert_eq!(err.field(), Some(field), "{json}: {err}");
        }
        // The same in MessagePack, as a map with field names.
        let value: serde_json::Value = serde_json::from_str(cases[0].0).unwrap();
        let bytes = rmp_serde::to_vec_named(&value).unwrap();
        let err = decode_client(&Payload::Binary(bytes)).unwrap_err();
        assert_eq!(err.field(), Some("threads"), "{err}");
        // Not a start: no field.
        let err = decode_client(&Payload::Text(r#"{"type":"ping"}"#.into())).unwrap_err();
        assert_eq!(err.field(), None, "{err}");
    }
}
