//! `queue-qsize-unreliable`: `empty()`, `full()` and `qsize()` of a `multiprocessing.Queue`
//! are unreliable. `qsize()` counts the capacity semaphore (the item is counted as soon as
//! `put` returns); `empty()` looks at the pipe, where the item arrives only once the feeder
//! thread has woken, taken the GIL, pickled it and written it. `full()` reads the same
//! semaphore as `qsize()`: before each put the lesson asks it, then tries `put(block=False)`
//! and counts the tries where `full()` was wrong about that put. With one producer it can only
//! be wrong if the consumer frees a slot in between, so it rarely is (CPython 3.11 here: 0 of
//! 1,999 answers at capacity 1, 0 of 1,588 at capacity 2).

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{attach_queue, queue_in_arena, spin, with_main};
use super::harness::{Child, Program, Setup, Spawned};
use super::knobs;
use super::role::roles;

use crate::engine::running::program::Lesson;

pub struct QueueQsizeUnreliable;

#[derive(Deserialize)]
pub struct Knobs {
    items: u64,
    capacity: u64,
    produce_work: u64,
}

roles! {
    pub enum Role {
        /// Gets the main thread's items.
        Consumer = "consumer",
    }
}

const PYTHON: &str = r#"import multiprocessing as mp
import queue

ITEMS = {{items}}  # tries
CAPACITY = {{capacity}}
PRODUCE_WORK = {{produce_work}}  # bytecodes between tries

def consumer(q, n):
    for _ in range(n):
        q.get()

if __name__ == "__main__":
    q = mp.Queue(CAPACITY)
    c = mp.Process(target=consumer, args=(q, ITEMS))
    c.start()
    wrong = said_full = full_wrong = 0
    for i in range(ITEMS):
        for _ in range(PRODUCE_WORK // 3):
            pass
        full = q.full()  # the capacity semaphore at zero, as qsize() reads it
        said_full += full
        try:
            q.put(i, block=False)
            full_wrong += full  # it said full, yet the put found room
        except queue.Full:
            full_wrong += not full  # it said not full, yet there was no room
            q.put(i)
        # The item is in flight (the feeder's buffer, the pipe): qsize() counts it,
        # empty() does not see it yet.
        if q.empty() and q.qsize() >= 1:
            wrong += 1
    c.join()
    print(f"empty() was True while qsize() >= 1 in {wrong} of {ITEMS} tries")
    print(f"full() said full {said_full} times, wrong {full_wrong} times, of {ITEMS} tries")
"#;

impl Program for QueueQsizeUnreliable {
    type Knobs = Knobs;
    type Role = Role;

    const LESSON: &'static Lesson = &Lesson {
        name: "queue-qsize-unreliable",
        group: Group::Processes,
        claim: "empty(), full() and qsize() are unreliable.",
        description: "The true number of items in flight against what qsize() and empty() report at the same instants; empty() answering True just after a put, while the feeder thread has not yet written the item to the pipe. full() asked before each put reads the same count as qsize(): with one producer it is rarely wrong about that put (lower capacity to make the queue fill).",
        python: PYTHON,
        knobs: || {
            vec![
                    knobs::items("puts, each after q.full() and followed by q.empty() and q.qsize()", 1_000),
                    knobs::capacity(1_000_000),
                    knobs::per_item_work(
                        "produce_work",
                        "bytecodes the producer computes before each put",
                        0,
                    ),
            ]
        },
        small: &[("items", "300")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let (items, work) = (knobs.items, knobs.produce_work);
        let (arena, q, shared) = queue_in_arena(setup, knobs.capacity)?;
        let consumer = setup.process("Process-1", Role::Consumer, 0, shared);
        let m = setup.figures();
        with_main(
            setup.interp(),
            move |_| Ok((consumer, q, arena)),
            move |py, (consumer, q, _arena)| {
                q.construct(py)?;
                consumer.start(py)?;
                let (mut wrong, mut said_full, mut full_wrong) = (0, 0, 0);
                let t0 = py.rec.now();
                for i in 0..items {
                    if work > 0 {
                        spin(py, work)?;
                    }
                    let full = q.full(py)?;
                    said_full += u64::from(full);
                    let put = q.put_nowait(py, i, i as i64)?;
                    if !put {
                        q.put(py, i, i as i64)?;
                    }
                    full_wrong += u64::from(full == put);
                    py.straight(12)?; // the counts, the `try`
                    if q.empty(py)? && q.qsize(py)? >= 1 {
                        wrong += 1;
                    }
                    py.check()?;
                }
                q.join_thread(py)?;
                consumer.join(py)?;
                let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.empty_while_qsize_positive = Some(wrong);
                m.full_said = Some(said_full);
                m.full_wrong = Some(full_wrong);
                m.messages_per_s = Some(items as f64 / ((py.rec.now() - t0) as f64 / 1e9));
                Ok(())
            },
        )
    }

    fn process(&self, knobs: &Knobs, child: Child<Role>) -> Spawned {
        let q = attach_queue(child.ctx, "q")?;
        let items = knobs.items;
        child.main(move |py| {
            py.call(|py| {
                for _ in 0..items {
                    q.get(py)?;
                    py.check()?;
                }
                Ok(())
            })
        })
    }
}
