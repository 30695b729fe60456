//! `queue-qsize-unreliable`: `empty()`, `full()` and `qsize()` of a `multiprocessing.Queue`
//! are unreliable. `qsize()` counts the capacity semaphore (the item is counted as soon as
//! `put` returns); `empty()` looks at the pipe, where the item arrives only once the feeder
//! thread has woken, taken the GIL, pickled it and written it.

use std::sync::{Arc, Mutex};

use gilscope_shared::spec::{Group, Knobs};

use super::common::{arena, attach_queue, child_program, count, with_main};
use super::knobs::{self, interp_config};
use super::queue_producer_consumer::work_knob;
use crate::engine::interpreter::interp::{EngineError, Interp, RunEnv, ThreadHandle};
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::multiprocessing::process::Process;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::running::worker::WorkerCtx;

pub struct QueueQsizeUnreliable;

const PYTHON: &str = r#"import multiprocessing as mp

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
    wrong = 0
    for i in range(ITEMS):
        for _ in range(PRODUCE_WORK // 7):
            pass
        q.put(i)
        # The item is in flight (the feeder's buffer, the pipe): qsize() counts it,
        # empty() does not see it yet.
        if q.empty() and q.qsize() >= 1:
            wrong += 1
    c.join()
    print(f"empty() was True while qsize() >= 1 in {wrong} of {ITEMS} tries")
"#;

static LESSON: Lesson = Lesson {
    name: "queue-qsize-unreliable",
    group: Group::Processes,
    claim: "empty(), full() and qsize() are unreliable.",
    description: "The true number of items in flight against what qsize() and empty() report at the same instants; empty() answering True just after a put, while the feeder thread has not yet written the item to the pipe.",
    python: PYTHON,
    knobs: || {
        vec![
                knobs::items("puts, each followed by q.empty() and q.qsize()", 1_000),
                knobs::capacity(1_000_000),
                work_knob(
                    "produce_work",
                    "bytecodes the producer computes before each put",
                    0,
                ),
        ]
    },
    small: &[("items", "300")],
};

impl Preset for QueueQsizeUnreliable {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let items = knobs.int("items") as u64;
        let work = knobs.int("produce_work") as u64;
        let arena = arena()?;
        let q = MpQueue::create(&interp, &arena, "q", knobs.int("capacity") as u64)?;
        let shared = SharedObjects {
            arena: Some((arena.raw_fd(), arena.len())),
            queues: vec![q.desc.clone()],
            ..SharedObjects::default()
        };
        let consumer = Process::new(
            "Process-1",
            &child_program(self.name(), knobs),
            "consumer",
            0,
            shared,
        );
        let measures = Arc::new(Mutex::new(Measures::default()));
        let m = measures.clone();
        let main = with_main(
            &interp,
            move |_| Ok((consumer, q, arena)),
            move |py, (consumer, q, _arena)| {
                consumer.start(py)?;
                let mut wrong = 0;
                let t0 = py.rec.now();
                for i in 0..items {
                    if work > 0 {
                        count(py, work)?;
                    }
                    q.put(py, i, i as i64)?;
                    if q.empty(py)? && q.qsize(py)? >= 1 {
                        wrong += 1;
                    }
                    py.check()?;
                }
                q.join_thread(py)?;
                consumer.join(py)?;
                let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.processes.empty_while_qsize_positive = Some(wrong);
                m.processes.messages_per_s =
                    Some(items as f64 / ((py.rec.now() - t0) as f64 / 1e9));
                Ok(())
            },
        )?;
        Ok(Experiment::single(interp, main, measures))
    }

    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        let q = attach_queue(ctx, "q")?;
        let items = ctx.knobs().int("items");
        with_main(
            interp,
            |_| Ok(()),
            move |py, _| {
                py.call(|py| {
                    for _ in 0..items {
                        q.get(py)?;
                        py.check()?;
                    }
                    Ok(())
                })
            },
        )
    }
}
