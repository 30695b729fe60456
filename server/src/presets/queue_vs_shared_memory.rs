//! `queue-vs-shared-memory`: shared memory is fast but needs locking; a Queue is safe but slow
//! when processes talk often. The same messages (`bytes(message_bytes)`) go from producer
//! processes to consumer processes three ways, one after the other in one run: a `Queue`, an
//! `Array` slot in shared memory handed over with two semaphores, and the slot polled under a
//! flag's lock. `pairs` producer–consumer pairs run at once: they share the one Queue, while
//! each pair has a slot (and its semaphores, or its flag) of its own. The summary gives
//! messages per second for each way, all pairs together. Small messages: the Queue wins (a
//! hand-over between processes costs more than pickling a few bytes); big ones: shared memory
//! wins (the Queue pickles, copies through a 64 KB pipe and unpickles each one).

use std::collections::BTreeMap;

use gilscope_shared::spec::Group;
use serde::Deserialize;

use super::common::{attach_queue, queue_in_arena_with_room, with_main};
use super::harness::{Child, Program, Setup, Spawned};
use super::knobs;
use super::role::roles;
use crate::engine::interpreter::error::Inherited;
use crate::engine::interpreter::interp::{EngineError, Py};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::multiprocessing::mp_semaphore::Semaphore;
use crate::engine::multiprocessing::process::Process;
use crate::engine::multiprocessing::shared_array::SharedArray;
use crate::engine::multiprocessing::shared_value::SharedValue;
use crate::engine::running::program::Lesson;
use crate::engine::running::worker::WorkerCtx;

pub struct QueueVsSharedMemory;

#[derive(Deserialize)]
pub struct Knobs {
    items: i64,
    message_bytes: usize,
    pairs: u32,
}

roles! {
    /// Each way's two processes.
    pub enum Role {
        QueueProducer = "q_producer",
        QueueConsumer = "q_consumer",
        SemaphoreProducer = "sem_producer",
        SemaphoreConsumer = "sem_consumer",
        PollProducer = "poll_producer",
        PollConsumer = "poll_consumer",
    }
}

const PYTHON: &str = r#"import multiprocessing as mp
import time

ITEMS = {{items}}  # messages from each producer process to its consumer
MESSAGE_BYTES = {{message_bytes}}  # the size of each message
PAIRS = {{pairs}}  # producer -> consumer pairs, all running at once

def q_producer(q, *_):
    msg = bytes(MESSAGE_BYTES)
    for i in range(ITEMS):
        q.put(msg)  # pickled, then written to a pipe by the feeder thread

def q_consumer(q, *_):
    for _ in range(ITEMS):
        q.get()

def sem_producer(buf, full, empty):
    msg = bytes(MESSAGE_BYTES)
    for i in range(ITEMS):
        empty.acquire()
        buf.raw = msg  # copied into shared memory
        full.release()

def sem_consumer(buf, full, empty):
    for _ in range(ITEMS):
        full.acquire()
        x = buf.raw  # copied out of shared memory
        empty.release()

def poll_producer(buf, flag):
    msg = bytes(MESSAGE_BYTES)
    sent = 0
    while sent < ITEMS:
        with flag.get_lock():
            if flag.value == 0:  # the last message was taken
                buf.raw = msg
                flag.value = 1
                sent += 1

def poll_consumer(buf, flag):
    got = 0
    while got < ITEMS:
        with flag.get_lock():
            if flag.value == 1:  # a message waits
                x = buf.raw
                flag.value = 0
                got += 1

def timed(producer, consumer, pairs):
    ps = [mp.Process(target=producer, args=args) for args in pairs]
    cs = [mp.Process(target=consumer, args=args) for args in pairs]
    start = time.perf_counter()
    for c in cs:
        c.start()
    for p in ps:
        p.start()
    for p in ps + cs:
        p.join()
    return PAIRS * ITEMS / (time.perf_counter() - start)

if __name__ == "__main__":
    q = mp.Queue()  # one queue: every producer puts, every consumer gets
    bufs = [mp.Array("c", MESSAGE_BYTES, lock=False) for _ in range(PAIRS)]  # a slot per pair, in shared memory
    rates = {
        "queue": timed(q_producer, q_consumer, [(q,)] * PAIRS),
        "value_semaphores": timed(sem_producer, sem_consumer, [(buf, mp.Semaphore(0), mp.Semaphore(1)) for buf in bufs]),
        "value_polled": timed(poll_producer, poll_consumer, [(buf, mp.Value("i", 0)) for buf in bufs]),
    }
    for way, rate in rates.items():
        print(f"{way}: {rate:,.0f} messages/s")
"#;

/// The three ways, in the order they run: name, producer role, consumer role.
const WAYS: [(&str, Role, Role); 3] = [
    ("queue", Role::QueueProducer, Role::QueueConsumer),
    (
        "value_semaphores",
        Role::SemaphoreProducer,
        Role::SemaphoreConsumer,
    ),
    ("value_polled", Role::PollProducer, Role::PollConsumer),
];

/// What a child of pair `k` reaches: the queue, and its pair's message slot, flag and two
/// semaphores.
struct Objects {
    q: MpQueue,
    buf: SharedArray,
    flag: SharedValue,
    full: Semaphore,
    empty: Semaphore,
}

/// The names pair `k`'s objects are inherited under.
fn slot_names(k: u32) -> [String; 5] {
    ["buf", "flag", "flag_lock", "full", "empty"].map(|name| format!("{name}{k}"))
}

fn attach(ctx: &WorkerCtx, message_bytes: usize) -> Result<Objects, EngineError> {
    let shared = &ctx.job.shared;
    let [buf, flag, flag_lock, full, empty] = slot_names(ctx.job.index);
    let arena = ctx
        .arena
        .as_ref()
        .ok_or_else(|| EngineError::NotInherited(Inherited::Arena))?;
    let at = |name: &str| {
        shared
            .value(name)
            .ok_or_else(|| EngineError::NotInherited(Inherited::Value(name.into())))
    };
    Ok(Objects {
        q: attach_queue(ctx, "q")?,
        buf: SharedArray::attach(arena, at(&buf)?, message_bytes),
        flag: SharedValue::attach(arena, at(&flag)?, at(&flag_lock)?),
        full: Semaphore::attach(arena, at(&full)?),
        empty: Semaphore::attach(arena, at(&empty)?),
    })
}

/// One process's side of one way: `items` messages of `bytes` bytes sent or received; `first`
/// numbers its first message in the trace.
fn run_role(
    py: &mut Py,
    role: Role,
    o: &Objects,
    (items, bytes, first): (i64, usize, i64),
) -> Result<(), Stopped> {
    py.call(|py| {
        match role {
            Role::QueueProducer => {
                for i in first..first + items {
                    py.straight(2)?;
                    o.q.put_bytes(py, i as u64, i, bytes)?;
                    py.check()?;
                }
                o.q.join_thread(py)?;
            }
            Role::QueueConsumer => {
                for _ in 0..items {
                    py.straight(2)?;
                    o.q.get(py)?;
                    py.check()?;
                }
            }
            Role::SemaphoreProducer => {
                for _ in 0..items {
                    py.straight(2)?;
                    o.empty.acquire(py)?;
                    o.buf.write_raw(py)?;
                    o.full.release(py)?;
                    py.check()?;
                }
            }
            Role::SemaphoreConsumer => {
                for _ in 0..items {
                    py.straight(2)?;
                    o.full.acquire(py)?;
                    o.buf.read_raw(py)?;
                    o.empty.release(py)?;
                    py.check()?;
                }
            }
            Role::PollProducer | Role::PollConsumer => {
                let producer = role == Role::PollProducer;
                let (want, set) = if producer { (0, 1) } else { (1, 0) };
                let mut done = 0;
                while done < items {
                    py.straight(3)?; // while done < ITEMS
                    o.flag.enter(py)?;
                    let seen = o.flag.read(py)?;
                    py.straight(2)?; // == , POP_JUMP_IF
                    if seen == want {
                        if producer {
                            o.buf.write_raw(py)?;
                        } else {
                            o.buf.read_raw(py)?;
                        }
                        o.flag.write(py, seen, set)?;
                        py.straight(4)?; // done += 1
                        done += 1;
                    }
                    o.flag.exit(py)?;
                    py.check()?;
                }
            }
        }
        Ok(())
    })
}

impl Program for QueueVsSharedMemory {
    type Knobs = Knobs;
    type Role = Role;

    const LESSON: &'static Lesson = &Lesson {
        name: "queue-vs-shared-memory",
        group: Group::Caveats,
        claim: "Shared memory is fast but needs locking; a Queue is safe but slow when processes talk often.",
        description: "Messages per second through a Queue, through a slot of shared memory handed over with two semaphores, and through the slot polled under a lock, side by side (messages_per_s_by_way). Measured, not the slogan: with small messages the Queue wins; make them big (message_bytes) and shared memory does. More pairs (pairs) share the one Queue, while each pair has its own slot.",
        python: PYTHON,
        knobs: || {
            vec![
                knobs::items("messages each producer process sends to its consumer, each way", 20_000),
                knobs::message_bytes(),
                knobs::pairs(),
            ]
        },
        small: &[("items", "2000")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let (items, pairs) = (knobs.items, knobs.pairs);
        // Each pair's slot, rounded up to the arena's 64-byte alignment; the pairs' flags and
        // semaphores (64 bytes each) fit in the arena's base room.
        let room = pairs as usize * (knobs.message_bytes + 64);
        let (arena, q, mut shared) = queue_in_arena_with_room(setup, 1_000_000, room)?;
        let shm = EngineError::SharedMemory;
        let mut slots = Vec::new();
        for k in 0..pairs {
            let buf = SharedArray::create(&arena, knobs.message_bytes).map_err(shm)?;
            let flag = SharedValue::create(&arena).map_err(shm)?;
            let full = Semaphore::create(&arena, 0).map_err(shm)?;
            let empty = Semaphore::create(&arena, 1).map_err(shm)?;
            let (fo, fl) = flag.offsets();
            let offsets = [buf.offset(), fo, fl, full.offset(), empty.offset()];
            shared.values.extend(slot_names(k).into_iter().zip(offsets));
            slots.push((buf, flag, full, empty));
        }
        // Named as CPython names them: a way's producers first, then its consumers.
        let mut n = 0;
        let mut named = |role: Role, k: u32| {
            n += 1;
            setup.process(&format!("Process-{n}"), role, k, shared.clone())
        };
        let mut ways: Vec<(&'static str, Vec<Process>, Vec<Process>)> = Vec::new();
        for &(way, prod, cons) in &WAYS {
            let producers = (0..pairs).map(|k| named(prod, k)).collect();
            let consumers = (0..pairs).map(|k| named(cons, k)).collect();
            ways.push((way, producers, consumers));
        }
        let m = setup.figures();
        let keep = (q, slots, arena);
        let messages = items as f64 * f64::from(pairs);
        with_main(
            setup.interp(),
            move |_| Ok((ways, keep)),
            move |py, (ways, (q, ..))| {
                q.construct(py)?;
                let mut rates = BTreeMap::new();
                for (way, producers, consumers) in ways {
                    let t0 = py.rec.now();
                    for c in consumers.iter() {
                        c.start(py)?;
                    }
                    for p in producers.iter() {
                        p.start(py)?;
                    }
                    for p in producers.iter().chain(consumers.iter()) {
                        p.join(py)?;
                    }
                    let s = (py.rec.now() - t0) as f64 / 1e9;
                    rates.insert(way.to_string(), messages / s);
                }
                let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.messages_per_s = rates.get("queue").copied();
                m.messages_per_s_by_way = Some(rates);
                Ok(())
            },
        )
    }

    fn process(&self, knobs: &Knobs, child: Child<Role>) -> Spawned {
        let (role, objects) = (child.role, attach(child.ctx, knobs.message_bytes)?);
        let (items, bytes) = (knobs.items, knobs.message_bytes);
        let first = i64::from(child.ctx.job.index) * items;
        child.main(move |py| run_role(py, role, &objects, (items, bytes, first)))
    }
}
