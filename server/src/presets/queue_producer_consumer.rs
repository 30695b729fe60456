//! `queue-producer-consumer`: a `multiprocessing.Queue` is lock-safe and FIFO; `put` blocks
//! when it is full, `get` blocks when it is empty.

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{attach_queue, queue_in_arena, spin, with_main};
use super::harness::{Child, Program, Setup, Spawned};
use super::knobs;
use super::role::roles;
use crate::engine::interpreter::interp::Py;
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::running::program::Lesson;

pub struct QueueProducerConsumer;

#[derive(Deserialize)]
pub struct Knobs {
    producers: usize,
    consumers: usize,
    items: u64,
    capacity: u64,
    produce_work: u64,
    consume_work: u64,
}

roles! {
    pub enum Role {
        /// Puts its `items` into the queue.
        Producer = "producer",
        /// Gets items until the sentinel.
        Consumer = "consumer",
    }
}

/// The value a consumer takes as "no more items" (`None` in the Python).
const SENTINEL: i64 = -1;

const PYTHON: &str = r#"import multiprocessing as mp

PRODUCERS = {{producers}}
CONSUMERS = {{consumers}}
ITEMS = {{items}}  # per producer
CAPACITY = {{capacity}}
PRODUCE_WORK = {{produce_work}}  # bytecodes to make one item
CONSUME_WORK = {{consume_work}}  # bytecodes to use one item

def spin(n):
    for _ in range(n // 3):
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

/// A producer: `items` items numbered from `first`, each after `work` bytecodes; then the
/// process's exit flushes its feeder.
fn produce(py: &mut Py, q: &MpQueue, first: u64, items: u64, work: u64) -> Result<(), Stopped> {
    py.call(|py| {
        for i in 0..items {
            if work > 0 {
                spin(py, work)?;
            }
            q.put(py, first + i, i as i64)?;
            py.check()?;
        }
        Ok(())
    })?;
    q.join_thread(py)
}

/// A consumer: gets until the sentinel; returns how many items it got.
fn consume(py: &mut Py, q: &MpQueue, work: u64) -> Result<i64, Stopped> {
    py.call(|py| {
        let mut n = 0;
        loop {
            let (_, value) = q.get(py)?;
            if value == SENTINEL {
                return Ok(n);
            }
            if work > 0 {
                spin(py, work)?;
            }
            n += 1;
            py.check()?;
        }
    })
}

impl Program for QueueProducerConsumer {
    type Knobs = Knobs;
    type Role = Role;

    const LESSON: &'static Lesson = &Lesson {
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
                    knobs::per_item_work(
                        "produce_work",
                        "bytecodes a producer computes per item",
                        20_000,
                    ),
                    knobs::per_item_work(
                        "consume_work",
                        "bytecodes a consumer computes per item",
                        60_000,
                    ),
            ]
        },
        small: &[("items", "200"), ("produce_work", "2000"), ("consume_work", "6000")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let (np, nc, items) = (knobs.producers, knobs.consumers, knobs.items);
        let (arena, q, shared) = queue_in_arena(setup, knobs.capacity)?;
        let mut procs = setup.processes(Role::Producer, 1, np, &shared);
        procs.extend(setup.processes(Role::Consumer, np + 1, nc, &shared));
        let total = np as u64 * items;
        let m = setup.figures();
        m.lock().unwrap_or_else(|e| e.into_inner()).expected_count = Some(total as i64);
        with_main(
            setup.interp(),
            move |_| Ok((procs, q, arena)),
            move |py, (procs, q, _arena)| {
                q.construct(py)?;
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
                m.messages_per_s = Some(total as f64 / s);
                Ok(())
            },
        )
    }

    fn process(&self, knobs: &Knobs, child: Child<Role>) -> Spawned {
        let (ctx, role) = (child.ctx, child.role);
        let q = attach_queue(ctx, "q")?;
        let items = knobs.items;
        let first = u64::from(ctx.job.index) * items;
        let (pw, cw) = (knobs.produce_work, knobs.consume_work);
        let results = ctx.results.clone();
        child.main(move |py| match role {
            Role::Producer => produce(py, &q, first, items, pw),
            Role::Consumer => {
                let n = consume(py, &q, cw)?;
                results.lock().unwrap_or_else(|e| e.into_inner()).push(n);
                Ok(())
            }
        })
    }
}
