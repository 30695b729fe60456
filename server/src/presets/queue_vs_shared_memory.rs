//! `queue-vs-shared-memory`: shared memory is fast but needs locking; a Queue is safe but slow
//! when processes talk often. The same messages go from one process to another three ways,
//! one after the other in one run: a `Queue`, a `Value` handed over with two semaphores, and a
//! `Value` polled under its lock. The summary gives messages per second for each.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gilscope_shared::spec::{Group, Knobs};

use super::common::{arena, attach_queue, child_program, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, Py, RunEnv, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::multiprocessing::mp_semaphore::Semaphore;
use crate::engine::multiprocessing::process::Process;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::multiprocessing::shared_value::SharedValue;
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::running::worker::WorkerCtx;

pub struct QueueVsSharedMemory;

const PYTHON: &str = r#"import multiprocessing as mp
import time

ITEMS = {{items}}  # messages, one producer process -> one consumer process


def q_producer(q, *_):
    for i in range(ITEMS):
        q.put(i)


def q_consumer(q, *_):
    for _ in range(ITEMS):
        q.get()


def sem_producer(v, full, empty):
    for i in range(ITEMS):
        empty.acquire()
        v.value = i
        full.release()


def sem_consumer(v, full, empty):
    for _ in range(ITEMS):
        full.acquire()
        x = v.value
        empty.release()


def poll_producer(v, flag):
    sent = 0
    while sent < ITEMS:
        with flag.get_lock():
            if flag.value == 0:  # the last message was taken
                v.value = sent
                flag.value = 1
                sent += 1


def poll_consumer(v, flag):
    got = 0
    while got < ITEMS:
        with flag.get_lock():
            if flag.value == 1:  # a message waits
                x = v.value
                flag.value = 0
                got += 1


def timed(producer, consumer, args):
    p = mp.Process(target=producer, args=args)
    c = mp.Process(target=consumer, args=args)
    start = time.perf_counter()
    c.start()
    p.start()
    p.join()
    c.join()
    return ITEMS / (time.perf_counter() - start)


if __name__ == "__main__":
    v = mp.Value("q", 0, lock=False)  # the message slot, in shared memory
    rates = {
        "queue": timed(q_producer, q_consumer, (mp.Queue(),)),
        "value_semaphores": timed(sem_producer, sem_consumer, (v, mp.Semaphore(0), mp.Semaphore(1))),
        "value_polled": timed(poll_producer, poll_consumer, (v, mp.Value("i", 0))),
    }
    for way, rate in rates.items():
        print(f"{way}: {rate:,.0f} messages/s")
"#;

/// The three ways, in the order they run: name, producer role, consumer role.
const WAYS: [(&str, &str, &str); 3] = [
    ("queue", "q_producer", "q_consumer"),
    ("value_semaphores", "sem_producer", "sem_consumer"),
    ("value_polled", "poll_producer", "poll_consumer"),
];

/// What the children share: the queue, the message slot, the flag, the two semaphores.
struct Objects {
    q: MpQueue,
    v: SharedValue,
    flag: SharedValue,
    full: Semaphore,
    empty: Semaphore,
}

fn attach(ctx: &WorkerCtx) -> Result<Objects, EngineError> {
    let shared = &ctx.job.shared;
    let arena = ctx
        .arena
        .as_ref()
        .ok_or_else(|| EngineError::Shm("no shared memory".into()))?;
    let at = |name: &str| {
        shared
            .value(name)
            .ok_or_else(|| EngineError::Shm(format!("no {name} in the job")))
    };
    Ok(Objects {
        q: attach_queue(ctx, "q")?,
        v: SharedValue::attach(arena, at("v")?, at("v_lock")?),
        flag: SharedValue::attach(arena, at("flag")?, at("flag_lock")?),
        full: Semaphore::attach(arena, at("full")?),
        empty: Semaphore::attach(arena, at("empty")?),
    })
}

/// One process's side of one way: `items` messages sent or received.
fn run_role(py: &mut Py, role: &str, o: &Objects, items: i64) -> Result<(), Stopped> {
    py.call(|py| {
        match role {
            "q_producer" => {
                for i in 0..items {
                    py.straight(2)?;
                    o.q.put(py, i as u64, i)?;
                    py.check()?;
                }
                o.q.join_thread(py)?;
            }
            "q_consumer" => {
                for _ in 0..items {
                    py.straight(2)?;
                    o.q.get(py)?;
                    py.check()?;
                }
            }
            "sem_producer" => {
                for i in 0..items {
                    py.straight(2)?;
                    o.empty.acquire(py)?;
                    o.v.write_unlocked(py, i)?;
                    o.full.release(py)?;
                    py.check()?;
                }
            }
            "sem_consumer" => {
                for _ in 0..items {
                    py.straight(2)?;
                    o.full.acquire(py)?;
                    o.v.read_unlocked(py)?;
                    o.empty.release(py)?;
                    py.check()?;
                }
            }
            "poll_producer" | "poll_consumer" => {
                let producer = role == "poll_producer";
                let (want, set) = if producer { (0, 1) } else { (1, 0) };
                let mut done = 0;
                while done < items {
                    py.straight(3)?; // while done < ITEMS
                    o.flag.enter(py)?;
                    let seen = o.flag.read(py)?;
                    py.straight(2)?; // == , POP_JUMP_IF
                    if seen == want {
                        if producer {
                            o.v.write_unlocked(py, done)?;
                        } else {
                            o.v.read_unlocked(py)?;
                        }
                        o.flag.write(py, seen, set)?;
                        py.straight(4)?; // done += 1
                        done += 1;
                    }
                    o.flag.exit(py)?;
                    py.check()?;
                }
            }
            _ => {}
        }
        Ok(())
    })
}

static LESSON: Lesson = Lesson {
    name: "queue-vs-shared-memory",
    group: Group::Caveats,
    claim: "Shared memory is fast but needs locking; a Queue is safe but slow when processes talk often.",
    description: "Messages per second through a Queue, through a Value handed over with two semaphores, and through a Value polled under its lock, side by side (messages_per_s_by_way). Measured, not the slogan: which is fastest depends on how the processes wait.",
    python: PYTHON,
    knobs: || vec![knobs::items(
            "messages sent from one process to another, each way",
            20_000,
        )],
    small: &[("items", "2000")],
};

impl Preset for QueueVsSharedMemory {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let items = knobs.int("items");
        let arena = arena()?;
        let shm = |e: std::io::Error| EngineError::Shm(e.to_string());
        let q = MpQueue::create(&interp, &arena, "q", 1_000_000)?;
        let v = SharedValue::create(&arena).map_err(shm)?;
        let flag = SharedValue::create(&arena).map_err(shm)?;
        let full = Semaphore::create(&arena, 0).map_err(shm)?;
        let empty = Semaphore::create(&arena, 1).map_err(shm)?;
        let (vo, vl) = v.offsets();
        let (fo, fl) = flag.offsets();
        let shared = SharedObjects {
            arena: Some((arena.raw_fd(), arena.len())),
            values: vec![
                ("v".into(), vo),
                ("v_lock".into(), vl),
                ("flag".into(), fo),
                ("flag_lock".into(), fl),
                ("full".into(), full.offset()),
                ("empty".into(), empty.offset()),
            ],
            queues: vec![q.desc.clone()],
            ..SharedObjects::default()
        };
        let program = child_program(self.name(), knobs);
        let mut n = 0;
        let ways: Vec<(&'static str, Process, Process)> = WAYS
            .iter()
            .map(|(way, prod, cons)| {
                n += 2;
                let p = Process::new(
                    &format!("Process-{}", n - 1),
                    &program,
                    prod,
                    0,
                    shared.clone(),
                );
                let c = Process::new(&format!("Process-{n}"), &program, cons, 0, shared.clone());
                (*way, p, c)
            })
            .collect();
        let measures = Arc::new(Mutex::new(Measures::default()));
        let m = measures.clone();
        let keep = (q, v, flag, full, empty, arena);
        let main = with_main(
            &interp,
            move |_| Ok((ways, keep)),
            move |py, (ways, _keep)| {
                let mut rates = BTreeMap::new();
                for (way, p, c) in ways {
                    let t0 = py.rec.now();
                    c.start(py)?;
                    p.start(py)?;
                    p.join(py)?;
                    c.join(py)?;
                    let s = (py.rec.now() - t0) as f64 / 1e9;
                    rates.insert(way.to_string(), items as f64 / s);
                }
                let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.processes.messages_per_s = rates.get("queue").copied();
                m.processes.messages_per_s_by_way = Some(rates);
                Ok(())
            },
        )?;
        Ok(Experiment::single(interp, main, measures))
    }

    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        let objects = attach(ctx)?;
        let role = ctx.job.role.clone();
        let items = ctx.knobs().int("items");
        with_main(
            interp,
            |_| Ok(()),
            move |py, _| run_role(py, &role, &objects, items),
        )
    }
}
