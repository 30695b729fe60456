//! `queue-producer-consumer`: a `multiprocessing.Queue` is lock-safe and FIFO; `put` blocks
//! when it is full, `get` blocks when it is empty.

use std::sync::{Arc, Mutex};

use gilscope_shared::spec::{Group, KnobDef, KnobKind, Knobs};

use super::common::{arena, attach_queue, child_program, count, processes, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, Py, RunEnv, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::multiprocessing::process::Process;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::running::worker::WorkerCtx;

pub struct QueueProducerConsumer;

/// The value a consumer takes as "no more items" (`None` in the Python).
pub const SENTINEL: i64 = -1;

const PYTHON: &str = r#"import multiprocessing as mp

PRODUCERS = {{producers}}
CONSUMERS = {{consumers}}
ITEMS = {{items}}  # per producer
CAPACITY = {{capacity}}
PRODUCE_WORK = {{produce_work}}  # bytecodes to make one item
CONSUME_WORK = {{consume_work}}  # bytecodes to use one item

def spin(n):
    for _ in range(n // 7):
        pass

def producer(q, first):
    for i in range(first, first + ITEMS):
        spin(PRODUCE_WORK)
        q.put(i)  # blocks while the queue holds CAPACITY items

def consumer(q):
    n = 0
    while True:
        item = q.get()  # blocks while the queue is empty
        if item is None:
            return
        spin(CONSUME_WORK)
        n += 1

if __name__ == "__main__":
    q = mp.Queue(CAPACITY)
    producers = [mp.Process(target=producer, args=(q, k * ITEMS)) for k in range(PRODUCERS)]
    consumers = [mp.Process(target=consumer, args=(q,)) for _ in range(CONSUMERS)]
    for p in producers + consumers:
        p.start()
    for p in producers:
        p.join()
    for _ in consumers:
        q.put(None)
    for c in consumers:
        c.join()
    print(f"{PRODUCERS * ITEMS} items through a queue of {CAPACITY}")
"#;

pub fn work_knob(name: &str, description: &str, default: i64) -> KnobDef {
    KnobDef {
        name: name.into(),
        description: description.into(),
        kind: KnobKind::Int {
            min: 0,
            max: 100_000_000,
            default,
        },
    }
}

/// A producer: `items` items numbered from `first`, each after `work` bytecodes; then the
/// process's exit flushes its feeder.
pub fn produce(py: &mut Py, q: &MpQueue, first: u64, items: u64, work: u64) -> Result<(), Stopped> {
    py.call(|py| {
        for i in 0..items {
            if work > 0 {
                count(py, work)?;
            }
            q.put(py, first + i, i as i64)?;
            py.check()?;
        }
        Ok(())
    })?;
    q.join_thread(py)
}

/// A consumer: gets until the sentinel; returns how many items it got.
pub fn consume(py: &mut Py, q: &MpQueue, work: u64) -> Result<i64, Stopped> {
    py.call(|py| {
        let mut n = 0;
        loop {
            let (_, value) = q.get(py)?;
            if value == SENTINEL {
                return Ok(n);
            }
            if work > 0 {
                count(py, work)?;
            }
            n += 1;
            py.check()?;
        }
    })
}

static LESSON: Lesson = Lesson {
    name: "queue-producer-consumer",
    group: Group::Processes,
    claim: "A Queue is lock-safe and FIFO; put blocks when it is full, get blocks when it is empty.",
    description: "The queue's true depth against its capacity; producers blocked in put when the consumers are slower, consumers blocked in get when they are faster (swap produce_work and consume_work).",
    python: PYTHON,
    knobs: || {
        vec![
                knobs::producers(2),
                knobs::consumers(1),
                knobs::items("items each producer puts", 2_000),
                knobs::capacity(10),
                work_knob(
                    "produce_work",
                    "bytecodes a producer computes per item",
                    20_000,
                ),
                work_knob(
                    "consume_work",
                    "bytecodes a consumer computes per item",
                    60_000,
                ),
        ]
    },
    small: &[("items", "200"), ("produce_work", "2000"), ("consume_work", "6000")],
};

impl Preset for QueueProducerConsumer {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let (np, nc) = (
            knobs.int("producers") as usize,
            knobs.int("consumers") as usize,
        );
        let items = knobs.int("items") as u64;
        let arena = arena()?;
        let q = MpQueue::create(&interp, &arena, "q", knobs.int("capacity") as u64)?;
        let shared = SharedObjects {
            arena: Some((arena.raw_fd(), arena.len())),
            queues: vec![q.desc.clone()],
            ..SharedObjects::default()
        };
        let mut procs = processes(&child_program(self.name(), knobs), "producer", np, &shared);
        procs.extend((0..nc).map(|i| {
            Process::new(
                &format!("Process-{}", np + i + 1),
                &child_program(self.name(), knobs),
                "consumer",
                i as u32,
                shared.clone(),
            )
        }));
        let measures = Arc::new(Mutex::new(Measures {
            expected_count: Some((np as u64 * items) as i64),
            ..Measures::default()
        }));
        let m = measures.clone();
        let total = np as u64 * items;
        let main = with_main(
            &interp,
            move |_| Ok((procs, q, arena)),
            move |py, (procs, q, _arena)| {
                let t0 = py.rec.now();
                for p in procs {
                    p.start(py)?;
                }
                for p in &procs[..np] {
                    p.join(py)?;
                }
                for c in 0..nc as u64 {
                    q.put(py, total + c, SENTINEL)?;
                }
                q.join_thread(py)?;
                let mut got = 0;
                for p in &procs[np..] {
                    p.join(py)?;
                    got += p.result().map_or(0, |r| r.results.iter().sum::<i64>());
                }
                let s = (py.rec.now() - t0) as f64 / 1e9;
                let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.final_count = Some(got);
                m.processes.messages_per_s = Some(total as f64 / s);
                Ok(())
            },
        )?;
        Ok(Experiment::single(interp, main, measures))
    }

    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        let q = attach_queue(ctx, "q")?;
        let k = &ctx.knobs();
        let items = k.int("items") as u64;
        let first = u64::from(ctx.job.index) * items;
        let (pw, cw) = (k.int("produce_work") as u64, k.int("consume_work") as u64);
        let results = ctx.results.clone();
        let producer = ctx.job.role == "producer";
        with_main(
            interp,
            |_| Ok(()),
            move |py, _| {
                if producer {
                    produce(py, &q, first, items, pw)
                } else {
                    let n = consume(py, &q, cw)?;
                    results.lock().unwrap_or_else(|e| e.into_inner()).push(n);
                    Ok(())
                }
            },
        )
    }
}
