//! The store's figures (issue #13), on this machine, printed:
//!
//! - saving a run of 1M events (encode + compress + one SQLite transaction) and its bytes per
//!   event on disk;
//! - opening a stored 1M-event run to its first frame, server side (read + decode + the
//!   snapshot's frames);
//! - listing a history of 10,000 runs (a page of 100, and all of them in pages of 1,000).
//!
//! The 1M-event trace is a real `cpu-threads` run's trace repeated end to end (its times
//! shifted), so its numbers have a real run's jitter.
//!
//! `GILSCOPE_SKIP_FRONTEND=1 cargo bench -p gilscope-server --bench store`

use std::sync::Arc;
use std::time::{Duration, Instant};

use gilscope_server::frames;
use gilscope_server::store::{codec, Page, Store, StoreConfig};
use gilscope_shared::protocol::{RunInfo, RunState};
use gilscope_shared::spec::{ExperimentSpec, KnobValue};
use gilscope_shared::trace::{Trace, TraceDelta};

const EVENTS: usize = 1_000_000;
const HISTORY: usize = 10_000;
const TRIES: usize = 3;

fn best(mut f: impl FnMut() -> Duration) -> Duration {
    (0..TRIES).map(|_| f()).min().unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A real run's trace, repeated until it holds `events` events.
fn big_trace(events: usize) -> (RunInfo, Trace) {
    let spec = ExperimentSpec {
        preset: "cpu-threads".into(),
        knobs: [("threads", 4), ("work", 20_000_000)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), KnobValue::Int(v)))
            .collect(),
        ..Default::default()
    };
    let outcome = gilscope_server::program::start(&spec)
        .expect("a valid spec")
        .wait();
    let one = outcome.trace;
    assert!(one.events() > 0);
    let mut trace = Trace {
        interpreters: one.interpreters.clone(),
        lanes: one.lanes.clone(),
        queues: one.queues.clone(),
        counters: one.counters.clone(),
        ..Trace::default()
    };
    // Each copy gets fresh jitter in every time and value, as another run of the same
    // program would: identical copies would let zstd store the trace almost for free.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut jitter = |range: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % range.max(1)
    };
    let mut shift = 0;
    let mut lane_end = std::collections::HashMap::new();
    while trace.events() < events {
        let mut previous_t0 = 0;
        for s in &one.spans {
            let mut s = *s;
            let gap = s.t0.saturating_sub(previous_t0);
            previous_t0 = s.t0;
            let end: &mut u64 = lane_end.entry(s.lane).or_insert(shift);
            let duration = s.duration() + jitter(s.duration() / 8 + 1000);
            s.t0 = (*end).max(shift + s.t0) + jitter(gap.min(1000));
            s.t1 = s.t0 + duration;
            *end = s.t1;
            trace.spans.push(s);
        }
        trace.marks.extend(one.marks.iter().map(|m| {
            let mut m = *m;
            m.t += shift + jitter(20_000);
            m
        }));
        trace.samples.extend(one.samples.iter().map(|s| {
            let mut s = *s;
            s.t += shift + jitter(200_000);
            s.value = (s.value + jitter(1000) as f64 / 10_000.0).min(1.0);
            s
        }));
        shift = lane_end
            .values()
            .copied()
            .max()
            .unwrap_or(shift)
            .max(shift + one.end);
    }
    trace.end = shift;
    let info = RunInfo {
        id: 1,
        spec,
        state: RunState::Finished,
        summary: Some(Box::new(outcome.summary)),
        error: None,
    };
    (info, trace)
}

fn main() {
    let (info, trace) = big_trace(EVENTS);
    let events = trace.events();
    println!(
        "trace: {events} events ({} spans, {} marks, {} samples), {} lanes",
        trace.spans.len(),
        trace.marks.len(),
        trace.samples.len(),
        trace.lanes.len()
    );

    let encode = best(|| {
        let t = Instant::now();
        std::hint::black_box(codec::encode(&trace));
        t.elapsed()
    });
    let stored = codec::encode(&trace);
    let decode = best(|| {
        let t = Instant::now();
        std::hint::black_box(codec::decode(&stored).unwrap());
        t.elapsed()
    });
    println!(
        "codec: encode {:.0} ms, decode {:.0} ms, {} bytes = {:.2} bytes/event",
        ms(encode),
        ms(decode),
        stored.len(),
        stored.len() as f64 / events as f64
    );

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let trace = Arc::new(trace);
    let mut id = 0;
    let save = best(|| {
        id += 1;
        let info = RunInfo { id, ..info.clone() };
        let t = Instant::now();
        store.save(info, trace.clone());
        store.flush().unwrap();
        t.elapsed()
    });
    let disk: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "save 1M events: {:.0} ms (target <= 1000); on disk {:.2} bytes/event after {id} saves (target <= 10)",
        ms(save),
        disk as f64 / (events as f64 * id as f64)
    );

    let open = best(|| {
        let t = Instant::now();
        let (_, trace) = store.load(1).unwrap();
        let frames = frames::snapshot(1, &trace, &TraceDelta::default());
        std::hint::black_box(frames.first().cloned());
        t.elapsed()
    });
    println!(
        "open a stored 1M-event run to its first frame: {:.0} ms (target <= 1000)",
        ms(open)
    );
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let small = Arc::new(Trace::threads(Default::default(), 4));
    let t = Instant::now();
    for id in 1..=HISTORY as u64 {
        store.save(RunInfo { id, ..info.clone() }, small.clone());
    }
    store.flush().unwrap();
    println!(
        "fill a history of {HISTORY} runs: {:.0} ms",
        ms(t.elapsed())
    );
    let page = best(|| {
        let t = Instant::now();
        assert_eq!(store.list(&Page::default()).unwrap().len(), 100);
        t.elapsed()
    });
    let all = best(|| {
        let t = Instant::now();
        let mut before = None;
        let mut seen = 0;
        loop {
            let page = store
                .list(&Page {
                    before,
                    limit: 1000,
                    lesson: None,
                })
                .unwrap();
            let Some(oldest) = page.first() else { break };
            before = Some(oldest.info.id);
            seen += page.len();
        }
        assert_eq!(seen, HISTORY);
        t.elapsed()
    });
    let lesson = best(|| {
        let t = Instant::now();
        std::hint::black_box(
            store
                .list(&Page {
                    lesson: Some("cpu-threads".into()),
                    ..Page::default()
                })
                .unwrap(),
        );
        t.elapsed()
    });
    println!(
        "list {HISTORY} runs: a page of 100 {:.1} ms, filtered by lesson {:.1} ms, all in pages of 1000 {:.0} ms (target <= 50)",
        ms(page),
        ms(lesson),
        ms(all)
    );
}
