//! Turning a run's news into websocket frames a viewer can take: coalesced to a resolution
//! (so a busy run does not flood the wire) and cut so no frame passes
//! [`MAX_FRAME_BYTES`]. Encoded once and shared by every viewer.

use axum::body::Bytes;
use gilscope_shared::coalesce::DeltaCoalescer;
use gilscope_shared::protocol::{self, FrameMsg, RunId, ServerMsg, MAX_FRAME_BYTES};
use gilscope_shared::trace::{Nanos, Trace, TraceDelta};

/// Finest resolution of live frames: spans under 20 µs are merged.
pub const LIVE_RESOLUTION: Nanos = 20_000;
/// A live frame larger than this coarsens the resolution of the frames after it.
const LIVE_TARGET_BYTES: usize = MAX_FRAME_BYTES / 4;
/// The resolution never grows past this: 10 ms.
const MAX_RESOLUTION: Nanos = 10_000_000;
/// How many pixels' worth of detail a snapshot keeps across the whole run.
const SNAPSHOT_COLUMNS: u64 = 4_000;

/// An encoded server message (MessagePack), ready for any number of sockets: cloning it
/// clones a reference, not the bytes.
pub type Encoded = Bytes;

/// Coalesces a live run's deltas, frame after frame, growing the resolution while frames
/// stay too large.
pub struct LiveFrames {
    run: RunId,
    coalescer: DeltaCoalescer,
}

impl LiveFrames {
    pub fn new(run: RunId) -> Self {
        LiveFrames {
            run,
            coalescer: DeltaCoalescer::new(LIVE_RESOLUTION),
        }
    }

    /// The frames that carry `delta` (usually one).
    pub fn frames(&mut self, delta: &TraceDelta) -> Vec<Encoded> {
        loop {
            let coarse = self.coalescer.coalesce(delta);
            let resolution = self.coalescer.resolution();
            let msg = frame_msg(self.run, false, resolution, coarse);
            let bytes = protocol::encoded_len(&msg);
            if bytes <= LIVE_TARGET_BYTES || resolution >= MAX_RESOLUTION {
                return split(msg).into_iter().map(encode).collect();
            }
            // Too much detail for the wire: coarser from now on. The coalescer starts afresh,
            // so this delta's marks are judged again at the new resolution.
            self.coalescer = DeltaCoalescer::new((resolution * 4).min(MAX_RESOLUTION));
        }
    }
}

/// A whole trace (so far) as frames, the first one resetting the viewer's copy of the run.
pub fn snapshot(run: RunId, trace: &Trace, open: &TraceDelta) -> Vec<Encoded> {
    let resolution = (trace.end / SNAPSHOT_COLUMNS).max(LIVE_RESOLUTION);
    let mut coarse = DeltaCoalescer::new(resolution).coalesce_parts(trace, &open.open_spans);
    coarse.added.end = trace.end.max(open.now());
    let mut frames = split(frame_msg(run, true, resolution, coarse));
    for later in frames.iter_mut().skip(1) {
        later.reset = false;
    }
    frames.into_iter().map(encode).collect()
}

fn frame_msg(run: RunId, reset: bool, resolution: Nanos, delta: TraceDelta) -> FrameMsg {
    FrameMsg {
        run,
        reset,
        resolution,
        delta,
    }
}

pub fn encode(frame: FrameMsg) -> Encoded {
    encode_msg(&ServerMsg::Frame(frame))
}

/// Encodes any server message.
pub fn encode_msg(msg: &ServerMsg) -> Encoded {
    match protocol::encode(msg) {
        protocol::Payload::Binary(bytes) => Bytes::from(bytes),
        protocol::Payload::Text(text) => Bytes::from(text),
    }
}

/// Cuts a frame in halves until every piece fits [`MAX_FRAME_BYTES`]. The first piece keeps
/// the run's new lanes, counters and open spans, so a viewer always knows a lane before its
/// spans.
pub fn split(frame: FrameMsg) -> Vec<FrameMsg> {
    let size = protocol::encoded_len(&ServerMsg::Frame(frame.clone()));
    if size <= MAX_FRAME_BYTES || frame.delta.added.events() <= 1 {
        return vec![frame];
    }
    let FrameMsg {
        run,
        reset,
        resolution,
        delta,
    } = frame;
    let (first, second) = delta.added.split_events();
    let first = TraceDelta {
        added: first,
        open_spans: delta.open_spans,
    };
    let mut out = split(frame_msg(run, reset, resolution, first));
    out.extend(split(frame_msg(run, false, resolution, second.into())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::trace::{LaneId, Span, State};

    fn busy_delta(spans: u64, step: Nanos) -> TraceDelta {
        let mut delta = TraceDelta::default();
        for i in 0..spans {
            delta.added.spans.push(Span {
                lane: LaneId((i % 8) as u32),
                state: if i % 3 == 0 {
                    State::Running
                } else {
                    State::WaitGil
                },
                t0: (i / 8) * step,
                t1: (i / 8 + 1) * step,
                task: None,
            });
        }
        delta.added.end = (spans / 8 + 1) * step;
        delta
    }

    fn len(frame: &Encoded) -> usize {
        frame.len()
    }

    #[test]
    fn big_frames_are_split_and_nothing_is_lost() {
        let delta = busy_delta(20_000, 1_000_000);
        let pieces = split(frame_msg(1, true, 0, delta.clone()));
        assert!(pieces.len() > 1);
        assert!(pieces[0].reset && pieces[1..].iter().all(|p| !p.reset));
        let spans: usize = pieces.iter().map(|p| p.delta.added.spans.len()).sum();
        assert_eq!(spans, delta.added.spans.len());
        for piece in pieces {
            assert!(protocol::encoded_len(&ServerMsg::Frame(piece)) <= MAX_FRAME_BYTES);
        }
    }

    #[test]
    fn a_flood_of_tiny_spans_coarsens_live_frames() {
        // 8 lanes switching every 100 ns for 33 ms: what the tick-based GIL produces.
        let delta = busy_delta(8 * 330_000, 100);
        let mut live = LiveFrames::new(1);
        let frames = live.frames(&delta);
        assert_eq!(frames.len(), 1);
        assert!(
            len(&frames[0]) <= LIVE_TARGET_BYTES,
            "{} bytes",
            len(&frames[0])
        );
        assert!(live.coalescer.resolution() > LIVE_RESOLUTION);
    }

    #[test]
    fn a_snapshot_resets_then_continues() {
        let delta = busy_delta(40_000, 1_000_000);
        let mut trace = Trace::default();
        trace.apply(delta);
        let frames = snapshot(7, &trace, &TraceDelta::default());
        let msgs: Vec<FrameMsg> = frames
            .iter()
            .map(|f| {
                match protocol::decode::<ServerMsg>(&protocol::Payload::Binary(f.to_vec())).unwrap()
                {
                    ServerMsg::Frame(frame) => frame,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        assert!(msgs[0].reset);
        assert!(msgs.iter().all(|m| m.run == 7));
        assert!(frames.iter().all(|f| len(f) <= MAX_FRAME_BYTES));
    }
}
