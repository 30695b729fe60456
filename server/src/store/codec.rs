//! A trace as stored on disk: compact, versioned, lossless.
//!
//! `[CODEC_VERSION][zstd(payload)]`. The payload holds the trace's small parts (interpreters,
//! lanes, queues, counters, end) as named MessagePack, then its events in columns of LEB128
//! varints, each column preceded by its length: a span's lane, state, gap since the lane's
//! previous span ended (zigzag, 0 for back-to-back spans), duration and task; a mark's lane,
//! time since the previous mark (zigzag), kind and fields; a sample's counter, time since the
//! counter's previous sample (zigzag) and value (its bits XOR the counter's previous value's).
//! Time arithmetic wraps, so any trace, even a broken one, comes back bit for bit. Columns of
//! like numbers are what zstd compresses best: a run's spans take 2 to 4 bytes each.

use std::collections::HashMap;
use std::io::Read;

use gilscope_shared::trace::{
    CounterId, CounterTrack, InterpId, Interpreter, Lane, LaneId, Mark, MarkKind, Nanos, QueueId,
    QueueInfo, Sample, Span, State, Trace,
};
use serde::{Deserialize, Serialize};

/// The version of this encoding, the first byte of every stored trace.
pub const CODEC_VERSION: u8 = 1;
/// zstd's level: 3 is its default, fast both ways and within a few percent of level 9 here.
const ZSTD_LEVEL: i32 = 3;
/// Largest decompressed payload read back, in bytes: a forged file cannot make the server
/// allocate more (a real 10M-event trace takes about 100 MB).
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 30;

/// Why stored bytes are not a trace.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("the trace is encoded with version {0}; this gilscope reads up to version {CODEC_VERSION}: update gilscope")]
    Newer(u8),
    #[error("the trace is empty (no version byte)")]
    Empty,
    #[error("the trace's compressed data is damaged or cut short: {0}")]
    Compressed(std::io::Error),
    #[error("the trace is over {MAX_PAYLOAD_BYTES} bytes once decompressed")]
    TooBig,
    #[error("the trace is damaged: {0}")]
    Corrupt(&'static str),
    #[error("the trace's lanes and names are damaged: {0}")]
    Meta(String),
}

/// The small parts of a trace, by name.
#[derive(Serialize, Deserialize)]
struct Meta {
    interpreters: Vec<Interpreter>,
    lanes: Vec<Lane>,
    queues: Vec<QueueInfo>,
    counters: Vec<CounterTrack>,
    end: Nanos,
}

/// Event columns, in the order they are written.
#[derive(Default)]
struct Columns {
    span_lane: Vec<u8>,
    span_state: Vec<u8>,
    span_gap: Vec<u8>,
    span_duration: Vec<u8>,
    span_task: Vec<u8>,
    mark_lane: Vec<u8>,
    mark_dt: Vec<u8>,
    mark_kind: Vec<u8>,
    mark_fields: Vec<u8>,
    sample_counter: Vec<u8>,
    sample_dt: Vec<u8>,
    sample_value: Vec<u8>,
}

impl Columns {
    fn all(&self) -> [&Vec<u8>; 12] {
        [
            &self.span_lane,
            &self.span_state,
            &self.span_gap,
            &self.span_duration,
            &self.span_task,
            &self.mark_lane,
            &self.mark_dt,
            &self.mark_kind,
            &self.mark_fields,
            &self.sample_counter,
            &self.sample_dt,
            &self.sample_value,
        ]
    }
}

fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: u64) -> u64 {
    let signed = value as i64;
    ((signed << 1) ^ (signed >> 63)) as u64
}

fn unzigzag(value: u64) -> u64 {
    ((value >> 1) as i64 ^ -((value & 1) as i64)) as u64
}

/// `None` as 0, `Some(n)` as n + 1.
fn put_option(out: &mut Vec<u8>, value: Option<u32>) {
    put(out, value.map_or(0, |v| u64::from(v) + 1));
}

/// Encodes `trace` for storage.
pub fn encode(trace: &Trace) -> Vec<u8> {
    let mut payload = Vec::with_capacity(trace.events() * 6 + 1024);
    let meta = Meta {
        interpreters: trace.interpreters.clone(),
        lanes: trace.lanes.clone(),
        queues: trace.queues.clone(),
        counters: trace.counters.clone(),
        end: trace.end,
    };
    let meta = rmp_serde::to_vec_named(&meta).expect("the trace's small parts always encode");
    put(&mut payload, meta.len() as u64);
    payload.extend_from_slice(&meta);
    put(&mut payload, trace.spans.len() as u64);
    put(&mut payload, trace.marks.len() as u64);
    put(&mut payload, trace.samples.len() as u64);

    let mut c = Columns::default();
    let mut lane_end: HashMap<u32, Nanos> = HashMap::new();
    for span in &trace.spans {
        let end = lane_end.entry(span.lane.0).or_insert(0);
        put(&mut c.span_lane, u64::from(span.lane.0));
        c.span_state.push(span.state as u8);
        put(&mut c.span_gap, zigzag(span.t0.wrapping_sub(*end)));
        put(&mut c.span_duration, span.t1.wrapping_sub(span.t0));
        put_option(&mut c.span_task, span.task);
        *end = span.t1;
    }
    let mut previous: Nanos = 0;
    for mark in &trace.marks {
        put(&mut c.mark_lane, u64::from(mark.lane.0));
        put(&mut c.mark_dt, zigzag(mark.t.wrapping_sub(previous)));
        previous = mark.t;
        let f = &mut c.mark_fields;
        let kind = match mark.kind {
            MarkKind::DropRequest { holder } => {
                put(f, u64::from(holder.0));
                0
            }
            MarkKind::Handoff { interp, from, to } => {
                put(f, u64::from(interp.0));
                put_option(f, from.map(|l| l.0));
                put(f, u64::from(to.0));
                1
            }
            MarkKind::Put { queue, item } => {
                put(f, u64::from(queue.0));
                put(f, item);
                2
            }
            MarkKind::Get { queue, item } => {
                put(f, u64::from(queue.0));
                put(f, item);
                3
            }
            MarkKind::TaskStart { task } => {
                put(f, u64::from(task));
                4
            }
            MarkKind::TaskEnd { task } => {
                put(f, u64::from(task));
                5
            }
            MarkKind::LostUpdate { read, written } => {
                put(f, zigzag(read as u64));
                put(f, zigzag(written as u64));
                6
            }
        };
        c.mark_kind.push(kind);
    }
    let mut counter_last: HashMap<u32, (Nanos, u64)> = HashMap::new();
    for sample in &trace.samples {
        let (t, bits) = counter_last.entry(sample.counter.0).or_insert((0, 0));
        put(&mut c.sample_counter, u64::from(sample.counter.0));
        put(&mut c.sample_dt, zigzag(sample.t.wrapping_sub(*t)));
        let value = sample.value.to_bits();
        c.sample_value
            .extend_from_slice(&(value ^ *bits).to_le_bytes());
        *t = sample.t;
        *bits = value;
    }
    for column in c.all() {
        put(&mut payload, column.len() as u64);
        payload.extend_from_slice(column);
    }
    let mut out = vec![CODEC_VERSION];
    zstd::stream::copy_encode(&payload[..], &mut out, ZSTD_LEVEL)
        .expect("compressing into memory cannot fail");
    out
}

/// Reads varints from a slice, refusing to read past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Cursor { bytes, what }
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .bytes
                .split_first()
                .ok_or(CodecError::Corrupt(self.what))?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::Corrupt(self.what))
    }

    fn u32(&mut self) -> Result<u32, CodecError> {
        u32::try_from(self.varint()?).map_err(|_| CodecError::Corrupt(self.what))
    }

    fn option(&mut self) -> Result<Option<u32>, CodecError> {
        match self.varint()? {
            0 => Ok(None),
            n => u32::try_from(n - 1)
                .map(Some)
                .map_err(|_| CodecError::Corrupt(self.what)),
        }
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        let (&byte, rest) = self
            .bytes
            .split_first()
            .ok_or(CodecError::Corrupt(self.what))?;
        self.bytes = rest;
        Ok(byte)
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], CodecError> {
        let len = usize::try_from(len).map_err(|_| CodecError::Corrupt(self.what))?;
        if len > self.bytes.len() {
            return Err(CodecError::Corrupt(self.what));
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn u64_le(&mut self) -> Result<u64, CodecError> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(
            bytes
                .try_into()
                .map_err(|_| CodecError::Corrupt(self.what))?,
        ))
    }
}

/// A count read from the payload, checked against what the payload could hold (each event
/// takes at least one byte), so a forged count cannot make a huge allocation.
fn count(cursor: &mut Cursor<'_>, payload: usize) -> Result<usize, CodecError> {
    let n = cursor.varint()?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= payload)
        .ok_or(CodecError::Corrupt(
            "an event count is larger than the data",
        ))
}

/// Decodes a stored trace; never panics, whatever the bytes.
pub fn decode(stored: &[u8]) -> Result<Trace, CodecError> {
    let (&version, compressed) = stored.split_first().ok_or(CodecError::Empty)?;
    if version > CODEC_VERSION {
        return Err(CodecError::Newer(version));
    }
    if version == 0 {
        return Err(CodecError::Corrupt("version 0 does not exist"));
    }
    let decoder = zstd::stream::Decoder::new(compressed).map_err(CodecError::Compressed)?;
    let mut payload = Vec::new();
    decoder
        .take(MAX_PAYLOAD_BYTES + 1)
        .read_to_end(&mut payload)
        .map_err(CodecError::Compressed)?;
    if payload.len() as u64 > MAX_PAYLOAD_BYTES {
        return Err(CodecError::TooBig);
    }
    let size = payload.len();
    let mut head = Cursor::new(&payload, "the header is cut short");
    let meta_len = head.varint()?;
    let meta: Meta = rmp_serde::from_slice(head.take(meta_len)?)
        .map_err(|err| CodecError::Meta(err.to_string()))?;
    let spans = count(&mut head, size)?;
    let marks = count(&mut head, size)?;
    let samples = count(&mut head, size)?;
    let mut column = |what| -> Result<Cursor<'_>, CodecError> {
        let len = head.varint()?;
        Ok(Cursor::new(head.take(len)?, what))
    };
    let mut span_lane = column("a span's lane is missing")?;
    let mut span_state = column("a span's state is missing")?;
    let mut span_gap = column("a span's start is missing")?;
    let mut span_duration = column("a span's duration is missing")?;
    let mut span_task = column("a span's task is missing")?;
    let mut mark_lane = column("a mark's lane is missing")?;
    let mut mark_dt = column("a mark's time is missing")?;
    let mut mark_kind = column("a mark's kind is missing")?;
    let mut mark_fields = column("a mark's fields are missing")?;
    let mut sample_counter = column("a sample's counter is missing")?;
    let mut sample_dt = column("a sample's time is missing")?;
    let mut sample_value = column("a sample's value is missing")?;

    let mut trace = Trace {
        interpreters: meta.interpreters,
        lanes: meta.lanes,
        queues: meta.queues,
        counters: meta.counters,
        spans: Vec::with_capacity(spans),
        marks: Vec::with_capacity(marks),
        samples: Vec::with_capacity(samples),
        end: meta.end,
    };
    let mut lane_end: HashMap<u32, Nanos> = HashMap::new();
    for _ in 0..spans {
        let lane = span_lane.u32()?;
        let state = *State::ALL
            .get(usize::from(span_state.byte()?))
            .ok_or(CodecError::Corrupt("a span's state is unknown"))?;
        let end = lane_end.entry(lane).or_insert(0);
        let t0 = end.wrapping_add(unzigzag(span_gap.varint()?));
        let t1 = t0.wrapping_add(span_duration.varint()?);
        *end = t1;
        trace.spans.push(Span {
            lane: LaneId(lane),
            state,
            t0,
            t1,
            task: span_task.option()?,
        });
    }
    let mut previous: Nanos = 0;
    for _ in 0..marks {
        let lane = LaneId(mark_lane.u32()?);
        let t = previous.wrapping_add(unzigzag(mark_dt.varint()?));
        previous = t;
        let f = &mut mark_fields;
        let kind = match mark_kind.byte()? {
            0 => MarkKind::DropRequest {
                holder: LaneId(f.u32()?),
            },
            1 => MarkKind::Handoff {
                interp: InterpId(f.u32()?),
                from: f.option()?.map(LaneId),
                to: LaneId(f.u32()?),
            },
            2 => MarkKind::Put {
                queue: QueueId(f.u32()?),
                item: f.varint()?,
            },
            3 => MarkKind::Get {
                queue: QueueId(f.u32()?),
                item: f.varint()?,
            },
            4 => MarkKind::TaskStart { task: f.u32()? },
            5 => MarkKind::TaskEnd { task: f.u32()? },
            6 => MarkKind::LostUpdate {
                read: unzigzag(f.varint()?) as i64,
                written: unzigzag(f.varint()?) as i64,
            },
            _ => return Err(CodecError::Corrupt("a mark's kind is unknown")),
        };
        trace.marks.push(Mark { lane, t, kind });
    }
    let mut counter_last: HashMap<u32, (Nanos, u64)> = HashMap::new();
    for _ in 0..samples {
        let counter = sample_counter.u32()?;
        let (t, bits) = counter_last.entry(counter).or_insert((0, 0));
        *t = t.wrapping_add(unzigzag(sample_dt.varint()?));
        *bits ^= sample_value.u64_le()?;
        trace.samples.push(Sample {
            counter: CounterId(counter),
            t: *t,
            value: f64::from_bits(*bits),
        });
    }
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::trace::{CounterKind, GilFlavour};

    /// A trace with every kind of event, odd values included.
    pub(crate) fn sample_trace() -> Trace {
        let mut trace = Trace::threads(GilFlavour::Current, 3);
        trace.counters.push(CounterTrack {
            id: CounterId(0),
            name: "cores".into(),
            kind: CounterKind::CoresBusy,
        });
        for i in 0..1000u64 {
            let lane = (i % 3) as u32;
            trace.spans.push(Span {
                lane: LaneId(lane),
                state: State::ALL[(i % 10) as usize],
                t0: i * 1000,
                t1: i * 1000 + 5_000_000 + i,
                task: (i % 4 == 0).then_some(i as u32),
            });
        }
        // Backwards and huge times survive too.
        trace.spans.push(Span {
            lane: LaneId(7),
            state: State::Done,
            t0: u64::MAX,
            t1: 3,
            task: Some(u32::MAX),
        });
        let kinds = [
            MarkKind::DropRequest { holder: LaneId(1) },
            MarkKind::Handoff {
                interp: InterpId(0),
                from: None,
                to: LaneId(2),
            },
            MarkKind::Handoff {
                interp: InterpId(0),
                from: Some(LaneId(2)),
                to: LaneId(0),
            },
            MarkKind::Put {
                queue: QueueId(0),
                item: u64::MAX,
            },
            MarkKind::Get {
                queue: QueueId(0),
                item: 9,
            },
            MarkKind::TaskStart { task: 4 },
            MarkKind::TaskEnd { task: 4 },
            MarkKind::LostUpdate {
                read: i64::MIN,
                written: -1,
            },
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            trace.marks.push(Mark {
                lane: LaneId(i as u32 % 3),
                t: 10_000 - i as u64 * 7,
                kind,
            });
        }
        for (i, value) in [0.0, 0.5, 1.0, f64::NAN, -0.0, 1e300]
            .into_iter()
            .enumerate()
        {
            trace.samples.push(Sample {
                counter: CounterId(0),
                t: i as u64 * 1_000_000,
                value,
            });
        }
        trace.end = 99_999_999;
        trace
    }

    #[test]
    fn every_part_comes_back_bit_for_bit() {
        let trace = sample_trace();
        let back = decode(&encode(&trace)).unwrap();
        assert_eq!(back.spans, trace.spans);
        assert_eq!(back.marks, trace.marks);
        assert_eq!(back.lanes, trace.lanes);
        assert_eq!(back.counters, trace.counters);
        assert_eq!(back.end, trace.end);
        let bits = |t: &Trace| -> Vec<(u32, u64, u64)> {
            t.samples
                .iter()
                .map(|s| (s.counter.0, s.t, s.value.to_bits()))
                .collect()
        };
        assert_eq!(bits(&back), bits(&trace));
    }

    /// Spans of jittered nanosecond durations (GIL turns of ~5 ms, ±0.5 ms), hand-offs between
    /// them and a core-usage sample every ms: well under 10 bytes per event (issue #13).
    #[test]
    fn a_realistic_trace_takes_under_10_bytes_per_event() {
        let mut trace = Trace::threads(GilFlavour::Current, 4);
        let mut seed: u64 = 42;
        let mut next = |range: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % range
        };
        let mut t = 0;
        for i in 0..50_000u32 {
            let lane = LaneId(i % 4);
            let duration = 4_500_000 + next(1_000_000);
            trace.spans.push(Span {
                lane,
                state: State::Running,
                t0: t,
                t1: t + duration,
                task: None,
            });
            trace.marks.push(Mark {
                lane,
                t: t + duration,
                kind: MarkKind::Handoff {
                    interp: InterpId(0),
                    from: Some(lane),
                    to: LaneId((i + 1) % 4),
                },
            });
            trace.samples.push(Sample {
                counter: CounterId(0),
                t: t + next(1000),
                value: next(1000) as f64 / 1000.0,
            });
            t += duration;
        }
        trace.end = t;
        let stored = encode(&trace);
        let per_event = stored.len() as f64 / trace.events() as f64;
        assert!(per_event < 10.0, "{per_event:.2} bytes per event");
        assert_eq!(decode(&stored).unwrap().spans, trace.spans);
    }

    #[test]
    fn damaged_bytes_are_errors_not_panics() {
        let stored = encode(&sample_trace());
        assert!(matches!(decode(&[]), Err(CodecError::Empty)));
        assert!(matches!(decode(&[9, 1, 2]), Err(CodecError::Newer(9))));
        for cut in [1, 2, 10, stored.len() / 2, stored.len() - 1] {
            assert!(decode(&stored[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = stored.clone();
        for i in (1..flipped.len()).step_by(7) {
            flipped[i] ^= 0x5a;
            let _ = decode(&flipped); // any answer but a panic
            flipped[i] ^= 0x5a;
        }
        // A payload that is valid zstd but garbage inside.
        let mut garbage = vec![CODEC_VERSION];
        zstd::stream::copy_encode(&[0xff_u8; 64][..], &mut garbage, 1).unwrap();
        assert!(decode(&garbage).is_err());
    }
}
