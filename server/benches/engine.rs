//! Criterion benchmarks: the cost of one clock read, of one recorded event, and of one GIL
//! hand-off between two threads (drop, the other thread takes it, and back).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use gilscope_server::engine::interpreter::clock::{self, Epoch};
use gilscope_server::engine::interpreter::gil::Gil;
use gilscope_server::engine::interpreter::recorder::{EventSink, LaneStatus, Recorder};
use gilscope_server::engine::interpreter::stop::StopFlag;
use gilscope_shared::trace::{GilFlavour, InterpId, Lane, LaneId, LaneKind, State, Trace};

/// Drops batches on the floor (their delivery is measured as part of the event cost).
struct Discard;

impl EventSink for Discard {
    fn open_lane(&self, _lane: Lane) -> Arc<LaneStatus> {
        Arc::default()
    }
    fn deliver(&self, batch: Trace) {
        std::hint::black_box(batch);
    }
}

fn lane(id: u32) -> Lane {
    Lane {
        id: LaneId(id),
        interp: InterpId(0),
        name: format!("Thread-{id}"),
        kind: LaneKind::Worker,
        tid: None,
    }
}

/// The run's clock (the time-stamp counter where the kernel trusts it) against
/// `CLOCK_MONOTONIC`, which it replaced on every recorded event.
fn clock_read(c: &mut Criterion) {
    let cal = clock::calibration();
    let name = if cal.uses_counter() {
        "one clock read (time-stamp counter)"
    } else {
        "one clock read (CLOCK_MONOTONIC: no trusted counter here)"
    };
    c.bench_function(name, |b| b.iter(clock::now_ns));
    c.bench_function("one clock read (CLOCK_MONOTONIC)", |b| {
        b.iter(clock::monotonic_ns)
    });
}

fn recorded_event(c: &mut Criterion) {
    let mut rec = Recorder::new(lane(0), Epoch::now(), Arc::new(Discard), State::Idle);
    let mut flip = false;
    c.bench_function("one recorded event (state change)", |b| {
        b.iter(|| {
            flip = !flip;
            rec.enter(if flip { State::Running } else { State::WaitGil })
        })
    });
}

/// Two threads pass the GIL back and forth as CPython does under forced switching: the
/// holder is asked to drop, drops, and waits until the other (blocked in `take`) has it.
fn gil_handoff(c: &mut Criterion) {
    c.bench_function(
        "one GIL hand-off (current GIL, forced switch, 2 threads)",
        |b| {
            b.iter_custom(|iters| {
                let stop = Arc::new(StopFlag::default());
                let gil = Arc::new(Gil::new(
                    GilFlavour::Current,
                    InterpId(0),
                    Duration::from_secs(10),
                    100,
                    stop.clone(),
                ));
                gil.register(0, LaneId(0));
                gil.register(1, LaneId(1));
                let takes = Arc::new(AtomicU64::new(0));
                let barrier = Arc::new(Barrier::new(3));
                let threads: Vec<_> = (0..2)
                    .map(|slot| {
                        let (gil, takes, barrier) = (gil.clone(), takes.clone(), barrier.clone());
                        std::thread::spawn(move || {
                            let mut rec = Recorder::new(
                                lane(slot as u32),
                                Epoch::now(),
                                Arc::new(Discard),
                                State::Idle,
                            );
                            barrier.wait();
                            for _ in 0..iters {
                                if gil.take(slot, &mut rec).is_err() {
                                    return;
                                }
                                takes.fetch_add(1, Ordering::SeqCst);
                                gil.request_drop(slot);
                                gil.drop_gil(slot, &mut rec, State::WaitGil);
                            }
                        })
                    })
                    .collect();
                barrier.wait();
                let start = Instant::now();
                while takes.load(Ordering::SeqCst) < 2 * iters {
                    std::thread::yield_now();
                }
                let elapsed = start.elapsed();
                // The last dropper waits for a taker that will never come: release it.
                stop.set();
                gil.wake_for_stop();
                threads.into_iter().for_each(|t| t.join().unwrap());
                elapsed / 2
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = clock_read, recorded_event, gil_handoff
}
criterion_main!(benches);
