//! Chrome Trace Event JSON (what Perfetto and chrome://tracing open), written as it is made:
//! one process per interpreter, one thread per lane with `X` slices named by state, a "GIL"
//! track per interpreter showing who holds it, `C` counter events, `M` names, flow arrows for
//! GIL hand-offs and instant events for drop requests and lost updates.
//!
//! [`write_chrome`] serialises one event at a time into any [`std::io::Write`]: no value tree,
//! no whole document in memory, so exporting costs a few kilobytes beyond the trace itself
//! whatever its size (the HTTP API streams it as a chunked body).

use std::io::{self, Write};

use serde::Serialize;

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

/// One Trace Event. Fields left `None` are not written.
#[derive(Serialize)]
struct Event<'a, A: Serialize> {
    ph: &'static str,
    name: Name<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cat: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    /// Binding point of a flow end: `e`, the enclosing slice.
    #[serde(skip_serializing_if = "Option::is_none")]
    bp: Option<&'static str>,
    /// Scope of an instant event: `t`, its thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'static str>,
    pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    tid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ts: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<A>,
}

/// An event's name: fixed, borrowed from the trace, or made up for it.
enum Name<'a> {
    Str(&'a str),
    /// `held by {lane}`, written without allocating.
    HeldBy(&'a str),
    /// `{interpreter} (GIL: {flavour})`.
    Process(&'a str, &'static str),
}

impl Serialize for Name<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Name::Str(name) => s.serialize_str(name),
            Name::HeldBy(lane) => s.collect_str(&format_args!("held by {lane}")),
            Name::Process(name, gil) => s.collect_str(&format_args!("{name} (GIL: {gil})")),
        }
    }
}

impl<'a, A: Serialize> Event<'a, A> {
    fn new(ph: &'static str, name: Name<'a>, pid: u32) -> Self {
        Event {
            ph,
            name,
            cat: None,
            id: None,
            bp: None,
            s: None,
            pid,
            tid: None,
            ts: None,
            dur: None,
            args: None,
        }
    }
}

/// `args` of a metadata event naming a process or thread.
#[derive(Serialize)]
struct NameArgs<'a> {
    name: Name<'a>,
}

#[derive(Serialize)]
struct SortArgs {
    sort_index: i64,
}

#[derive(Serialize)]
struct StateArgs {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<u32>,
}

#[derive(Serialize)]
struct HolderArgs {
    holder: u32,
}

#[derive(Serialize)]
struct LostUpdateArgs {
    read: i64,
    written: i64,
}

#[derive(Serialize)]
struct ValueArgs {
    value: f64,
}

/// Writes the events of a JSON array, a comma before each but the first.
struct Events<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> Events<W> {
    fn push<A: Serialize>(&mut self, event: &Event<'_, A>) -> io::Result<()> {
        if !std::mem::take(&mut self.first) {
            self.out.write_all(b",")?;
        }
        serde_json::to_writer(&mut self.out, event).map_err(io::Error::from)
    }
}

/// Writes the whole trace as one Chrome Trace Event JSON document:
/// `{"traceEvents":[...],"displayTimeUnit":"ms"}`. Pass a buffered writer: every event is
/// a few small writes. An error of `out` stops the export and is returned as is.
pub fn write_chrome<W: Write>(trace: &Trace, out: W) -> io::Result<()> {
    let mut events = Events { out, first: true };
    events.out.write_all(b"{\"traceEvents\":[")?;
    let pid_of = |lane: u32| trace.lanes.get(lane as usize).map_or(0, |l| l.interp.0);
    for interp in &trace.interpreters {
        let mut e = Event::new("M", Name::Str("process_name"), interp.id.0);
        e.args = Some(NameArgs {
            name: Name::Process(&interp.name, interp.gil.name()),
        });
        events.push(&e)?;
        if interp.gil != GilFlavour::None {
            let mut e = Event::new("M", Name::Str("thread_name"), interp.id.0);
            e.tid = Some(GIL_TID);
            e.args = Some(NameArgs {
                name: Name::Str("GIL"),
            });
            events.push(&e)?;
            let mut e = Event::new("M", Name::Str("thread_sort_index"), interp.id.0);
            e.tid = Some(GIL_TID);
            e.args = Some(SortArgs { sort_index: -1 });
            events.push(&e)?;
        }
    }
    for lane in &trace.lanes {
        let mut e = Event::new("M", Name::Str("thread_name"), lane.interp.0);
        e.tid = Some(lane.id.0 + 1);
        e.args = Some(NameArgs {
            name: Name::Str(&lane.name),
        });
        events.push(&e)?;
        let mut e = Event::new("M", Name::Str("thread_sort_index"), lane.interp.0);
        e.tid = Some(lane.id.0 + 1);
        e.args = Some(SortArgs {
            sort_index: i64::from(lane.id.0),
        });
        events.push(&e)?;
    }
    for span in trace.spans.iter().filter(|s| s.t1 > s.t0) {
        let pid = pid_of(span.lane.0);
        let mut e = Event::new("X", Name::Str(short(span.state)), pid);
        e.cat = Some("state");
        e.tid = Some(span.lane.0 + 1);
        e.ts = Some(us(span.t0));
        e.dur = Some(us(span.t1 - span.t0));
        e.args = Some(StateArgs {
            state: span.state.label(),
            task: span.task,
        });
        events.push(&e)?;
        let lane = trace.lane(span.lane);
        let gil = lane
            .and_then(|lane| trace.interpreter(lane.interp))
            .is_some_and(|i| i.gil != GilFlavour::None);
        if let (true, State::Running, Some(lane)) = (gil, span.state, lane) {
            let mut e = Event::<()>::new("X", Name::HeldBy(&lane.name), pid);
            e.cat = Some("gil");
            e.tid = Some(GIL_TID);
            e.ts = Some(us(span.t0));
            e.dur = Some(us(span.t1 - span.t0));
            events.push(&e)?;
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
                let mut e = Event::<()>::new("s", Name::Str("GIL hand-off"), pid_of(from.0));
                e.cat = Some("handoff");
                e.id = Some(n);
                e.tid = Some(from.0 + 1);
                e.ts = Some(us(mark.t));
                events.push(&e)?;
                let mut e = Event::<()>::new("f", Name::Str("GIL hand-off"), pid_of(to.0));
                e.bp = Some("e");
                e.cat = Some("handoff");
                e.id = Some(n);
                e.tid = Some(to.0 + 1);
                e.ts = Some(us(mark.t));
                events.push(&e)?;
            }
            MarkKind::DropRequest { holder } => {
                let mut e = Event::new("i", Name::Str("drop request"), pid);
                e.s = Some("t");
                e.tid = Some(tid);
                e.ts = Some(us(mark.t));
                e.args = Some(HolderArgs { holder: holder.0 });
                events.push(&e)?;
            }
            MarkKind::LostUpdate { read, written } => {
                let mut e = Event::new("i", Name::Str("lost update"), pid);
                e.s = Some("t");
                e.tid = Some(tid);
                e.ts = Some(us(mark.t));
                e.args = Some(LostUpdateArgs { read, written });
                events.push(&e)?;
            }
            _ => {}
        }
    }
    for sample in &trace.samples {
        let name = trace
            .counters
            .get(sample.counter.0 as usize)
            .map_or("counter", |c| c.name.as_str());
        let mut e = Event::new("C", Name::Str(name), 0);
        e.ts = Some(us(sample.t));
        e.args = Some(ValueArgs {
            value: sample.value,
        });
        events.push(&e)?;
    }
    events.out.write_all(b"],\"displayTimeUnit\":\"ms\"}")?;
    events.out.flush()
}

/// Writes the trace model itself (`?format=gilscope`) as JSON, as it is made.
pub fn write_gilscope<W: Write>(trace: &Trace, mut out: W) -> io::Result<()> {
    serde_json::to_writer(&mut out, trace).map_err(io::Error::from)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::trace::{InterpId, Interpreter, Lane, LaneId, LaneKind, Mark, Span};

    fn trace() -> Trace {
        Trace {
            interpreters: vec![Interpreter {
                id: InterpId(0),
                name: "MainProcess \"quoted\"".into(),
                gil: GilFlavour::Current,
                pid: None,
            }],
            lanes: vec![Lane {
                id: LaneId(0),
                interp: InterpId(0),
                name: "MainThread".into(),
                kind: LaneKind::Main,
                tid: None,
            }],
            spans: vec![Span {
                lane: LaneId(0),
                state: State::Running,
                t0: 1_000,
                t1: 2_500,
                task: Some(3),
            }],
            marks: vec![Mark {
                lane: LaneId(0),
                t: 2_000,
                kind: MarkKind::LostUpdate {
                    read: 1,
                    written: 2,
                },
            }],
            end: 2_500,
            ..Trace::default()
        }
    }

    #[test]
    fn writes_one_valid_document() {
        let mut out = Vec::new();
        write_chrome(&trace(), &mut out).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["displayTimeUnit"], "ms");
        let events = json["traceEvents"].as_array().unwrap();
        assert_eq!(
            events[0]["args"]["name"],
            "MainProcess \"quoted\" (GIL: current)"
        );
        let held = events.iter().find(|e| e["cat"] == "gil").unwrap();
        assert_eq!(held["name"], "held by MainThread");
        assert_eq!(held["dur"], 1.5);
        assert!(held.get("args").is_none(), "{held}");
        let slice = events.iter().find(|e| e["cat"] == "state").unwrap();
        assert_eq!(slice["args"]["task"], 3);
    }

    #[test]
    fn a_failing_writer_stops_the_export() {
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_chrome(&trace(), Full(40)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
