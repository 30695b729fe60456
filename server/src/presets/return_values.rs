//! `return-values`: results can come back from worker processes through a file per worker, a
//! `Queue`, or a `Pool` return — timed side by side in one run. And the "conflict with shared
//! memory": a `Value` passed as an argument to `Pool.map` raises CPython's `RuntimeError`
//! (recorded in the summary as `python_exception`; the pool then runs without it), while a
//! pool `initializer` (inheritance) or a `Manager` (a server process) work.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gilscope_shared::spec::{Group, KnobDef, KnobKind, Knobs};
use gilscope_shared::trace::State;

use super::common::{arena, attach_queue, child_program, with_main};
use super::knobs::{self, interp_config};
use crate::engine::interpreter::interp::{EngineError, Interp, Py, RunEnv, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::mp_manager::{serve, Proxy, OP_SHUTDOWN};
use crate::engine::multiprocessing::mp_pool::{attach_pipes, worker, Pool, PoolFn};
use crate::engine::multiprocessing::mp_queue::MpQueue;
use crate::engine::multiprocessing::process::Process;
use crate::engine::multiprocessing::shared_objects::SharedObjects;
use crate::engine::multiprocessing::shared_value::SharedValue;
use crate::engine::multiprocessing::simple_queue::SimpleQueue;
use crate::engine::running::program::{Experiment, Lesson, Measures, Preset};
use crate::engine::running::worker::WorkerCtx;

pub struct ReturnValues;

/// What CPython raises when a `Value` travels as a `Pool.map` argument (3.11, verified).
pub const VALUE_ARGUMENT_ERROR: &str =
    "RuntimeError: Synchronized objects should only be shared between processes through inheritance";

/// `f.write(f"{x}\n")` in a worker: the f-string and the buffered write call.
const FILE_WRITE_BYTECODES: u64 = 40;
/// `int(line)` for each line read back, and the list append.
const FILE_READ_BYTECODES: u64 = 25;

const PYTHON: &str = r#"import multiprocessing as mp
import os
import tempfile
import time

PROCESSES = {{processes}}
ITEMS = {{items}}  # results, computed by PROCESSES workers
SHARED = {{shared}}  # also count the results in a shared Value: none, argument, initializer, manager


def square(x):
    return x * x


def to_file(i, d):
    with open(os.path.join(d, f"{i}.txt"), "w") as f:
        for x in range(i, ITEMS, PROCESSES):
            f.write(f"{square(x)}\n")


def to_queue(i, q):
    for x in range(i, ITEMS, PROCESSES):
        q.put(square(x))


counter = None


def init(c):  # pool initializer: the Value reaches each worker by inheritance
    global counter
    counter = c


def square_counted(x):
    with counter.get_lock():
        counter.value += 1
    return x * x


def square_managed(args):
    x, value, lock = args  # proxies of a Manager's objects can be pickled
    with lock:
        value.value += 1
    return x * x


def files():
    with tempfile.TemporaryDirectory() as d:
        ps = [mp.Process(target=to_file, args=(i, d)) for i in range(PROCESSES)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        out = []
        for i in range(PROCESSES):
            with open(os.path.join(d, f"{i}.txt")) as f:
                out += [int(line) for line in f]
        return out


def queue():
    q = mp.Queue()
    ps = [mp.Process(target=to_queue, args=(i, q)) for i in range(PROCESSES)]
    for p in ps:
        p.start()
    out = [q.get() for _ in range(ITEMS)]
    for p in ps:
        p.join()
    return out


def pool():
    if SHARED == "initializer":
        v = mp.Value("i", 0)
        with mp.Pool(PROCESSES, initializer=init, initargs=(v,)) as p:
            out = p.map(square_counted, range(ITEMS))
        assert v.value == ITEMS
        return out
    if SHARED == "manager":
        with mp.Manager() as m:
            v, lock = m.Value("i", 0), m.Lock()
            with mp.Pool(PROCESSES) as p:
                out = p.map(square_managed, [(x, v, lock) for x in range(ITEMS)])
            assert v.value == ITEMS
            return out
    if SHARED == "argument":
        v = mp.Value("i", 0)
        try:
            with mp.Pool(PROCESSES) as p:
                p.map(square_managed, [(x, v, v.get_lock()) for x in range(ITEMS)])
        except RuntimeError as e:
            print(f"RuntimeError: {e}")
    with mp.Pool(PROCESSES) as p:
        return p.map(square, range(ITEMS))


if __name__ == "__main__":
    for way in (files, queue, pool):
        start = time.perf_counter()
        out = way()
        ms = (time.perf_counter() - start) * 1e3
        assert sorted(out) == [x * x for x in range(ITEMS)]
        print(f"{way.__name__}: {ms:.1f} ms")
"#;

fn shared_knob() -> KnobDef {
    KnobDef {
        name: "shared".into(),
        description: "also count the results in a shared Value: none; argument (passed to Pool.map: CPython's RuntimeError); initializer (inherited through the pool's initializer); manager (a Manager's Value and Lock, through proxies)".into(),
        kind: KnobKind::Choice {
            options: ["none", "argument", "initializer", "manager"]
                .map(String::from)
                .to_vec(),
            default: "initializer".into(),
        },
    }
}

/// The workers' items: `range(i, items, n)`.
fn part(i: u32, items: i64, n: i64) -> impl Iterator<Item = i64> {
    (i64::from(i)..items).step_by(n.max(1) as usize)
}

fn file_of(dir: &str, i: u32) -> PathBuf {
    PathBuf::from(dir).join(format!("{i}.txt"))
}

/// A file writer (`to_file`): formats and writes each result, then closes the file (the one
/// real write of the buffered file, with the GIL released).
fn to_file(py: &mut Py, path: PathBuf, xs: impl Iterator<Item = i64>) -> Result<(), Stopped> {
    py.call(|py| {
        let mut buf = Vec::new();
        for x in xs {
            py.call(|py| py.straight(4))?; // square(x)
            py.straight(FILE_WRITE_BYTECODES)?;
            writeln!(buf, "{}", x * x).expect("writing to memory");
            py.check()?;
        }
        let written = py.blocking(State::Io, |_, _| Ok(std::fs::write(&path, &buf)))?;
        if let Err(e) = written {
            py.interp.fail(format!("writing {}: {e}", path.display()));
            return Err(Stopped);
        }
        Ok(())
    })
}

/// The parent reads the workers' files back.
fn read_files(py: &mut Py, dir: &str, n: u32) -> Result<Vec<i64>, Stopped> {
    let mut out = Vec::new();
    for i in 0..n {
        let path = file_of(dir, i);
        let read = py.blocking(State::Io, |_, _| Ok(std::fs::read(&path)))?;
        let bytes = match read {
            Ok(b) => b,
            Err(e) => {
                py.interp.fail(format!("reading {}: {e}", path.display()));
                return Err(Stopped);
            }
        };
        for line in bytes.lines() {
            py.straight(FILE_READ_BYTECODES)?;
            out.push(line.ok().and_then(|l| l.parse().ok()).unwrap_or(-1));
        }
        py.check()?;
    }
    Ok(out)
}

/// The parts of the run the children share.
struct Parent {
    dir: String,
    q: MpQueue,
    value: SharedValue,
    manager: Option<(Process, SimpleQueue, Vec<SimpleQueue>)>,
    pool: Pool,
    files: Vec<Process>,
    queues: Vec<Process>,
}

impl Drop for Parent {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static LESSON: Lesson = Lesson {
    name: "return-values",
    group: Group::Caveats,
    claim: "Results come back through a file (slow), a queue (slow with many writers) or a Pool return, which seems to conflict with shared memory.",
    description: "The three ways timed side by side (return_ms_by_way). shared=argument shows the RuntimeError CPython raises for a Value passed to Pool.map; initializer and manager are the ways that work.",
    python: PYTHON,
    knobs: || vec![
            knobs::processes(4),
            knobs::items("results computed by the workers", 10_000),
            shared_knob(),
        ],
    small: &[("processes", "2"), ("items", "400")],
};

impl Preset for ReturnValues {
    fn lesson(&self) -> &'static Lesson {
        &LESSON
    }

    fn build(&self, knobs: &Knobs, env: &RunEnv) -> Result<Experiment, EngineError> {
        let interp = Interp::new(interp_config(knobs), env.clone());
        let n = knobs.int("processes") as u32;
        let items = knobs.int("items");
        let mode = knobs.choice("shared").to_string();
        let arena = arena()?;
        let shm = |e: std::io::Error| EngineError::Shm(e.to_string());
        let dir = std::env::temp_dir().join(format!(
            "gilscope-results-{}-{}",
            std::process::id(),
            env.epoch.0
        ));
        std::fs::create_dir_all(&dir).map_err(shm)?;
        let dir = dir.display().to_string();
        let q = MpQueue::create(&interp, &arena, "results", 1_000_000)?;
        let value = SharedValue::create(&arena).map_err(shm)?;
        let base = SharedObjects {
            arena: Some((arena.raw_fd(), arena.len())),
            ..SharedObjects::default()
        };
        let mut inherited = SharedObjects::default();
        if mode == "initializer" {
            let (v, l) = value.offsets();
            inherited.values = vec![("value".into(), v), ("value_lock".into(), l)];
        }
        let manager = if mode == "manager" {
            let requests = SimpleQueue::create(&arena, "manager requests")?;
            let replies = (0..n)
                .map(|k| SimpleQueue::create(&arena, &format!("manager reply {k}")))
                .collect::<Result<Vec<_>, _>>()?;
            inherited.pipes.push(requests.desc.clone());
            inherited
                .pipes
                .extend(replies.iter().map(|r| r.desc.clone()));
            let mut shared = base.clone();
            shared.pipes = inherited.pipes.clone();
            let p = Process::new(
                "SyncManager-1",
                &child_program(self.name(), knobs),
                "manager",
                0,
                shared,
            );
            Some((p, requests, replies))
        } else {
            None
        };
        let pool = Pool::new(
            &interp,
            &arena,
            &child_program(self.name(), knobs),
            n as usize,
            inherited,
        )?;
        let mut files_shared = base.clone();
        files_shared.paths = vec![dir.clone()];
        let files = (0..n)
            .map(|i| {
                Process::new(
                    &format!("Process-{}", i + 1),
                    &child_program(self.name(), knobs),
                    "file_writer",
                    i,
                    files_shared.clone(),
                )
            })
            .collect();
        let mut q_shared = base;
        q_shared.queues = vec![q.desc.clone()];
        let queues = (0..n)
            .map(|i| {
                Process::new(
                    &format!("Process-{}", n + i + 1),
                    &child_program(self.name(), knobs),
                    "queue_writer",
                    i,
                    q_shared.clone(),
                )
            })
            .collect();
        let parent = Parent {
            dir,
            q,
            value,
            manager,
            pool,
            files,
            queues,
        };
        let measures = Arc::new(Mutex::new(Measures::default()));
        let m = measures.clone();
        let main = with_main(
            &interp,
            move |_| Ok((parent, arena)),
            move |py, (p, _arena)| {
                let expect: Vec<i64> = (0..items).map(|x| x * x).collect();
                let mut ms = BTreeMap::new();
                let mut all_ok = true;
                let mut check = |mut got: Vec<i64>| {
                    got.sort_unstable();
                    all_ok &= got == expect;
                };
                // A file per worker.
                let t0 = py.rec.now();
                for w in &p.files {
                    w.start(py)?;
                }
                for w in &p.files {
                    w.join(py)?;
                }
                check(read_files(py, &p.dir, n)?);
                ms.insert("file".to_string(), (py.rec.now() - t0) as f64 / 1e6);
                // A queue.
                let t0 = py.rec.now();
                for w in &p.queues {
                    w.start(py)?;
                }
                let mut got = Vec::with_capacity(items as usize);
                for _ in 0..items {
                    got.push(p.q.get(py)?.1);
                }
                for w in &p.queues {
                    w.join(py)?;
                }
                check(got);
                ms.insert("queue".to_string(), (py.rec.now() - t0) as f64 / 1e6);
                // A pool's return (with the shared Value the knob asks for).
                if let Some((server, ..)) = &p.manager {
                    server.start(py)?;
                }
                let t0 = py.rec.now();
                p.pool.open(py)?;
                let xs: Vec<i64> = (0..items).collect();
                let (results, _) = p.pool.map(py, &xs, 0)?;
                p.pool.close_join(py)?;
                ms.insert("pool".to_string(), (py.rec.now() - t0) as f64 / 1e6);
                let in_order = results == expect;
                let mut counted = None;
                if let Some((server, requests, replies)) = &p.manager {
                    let proxy = Proxy {
                        client: 0,
                        requests,
                        reply: &replies[0],
                    };
                    counted = Some(proxy.call(py, OP_SHUTDOWN, 0)?);
                    server.join(py)?;
                } else if mode == "initializer" {
                    counted = Some(p.value.peek());
                }
                let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.results_in_order = Some(in_order && all_ok);
                m.processes.return_ms_by_way = Some(ms);
                if mode == "argument" {
                    m.processes.python_exception = Some(VALUE_ARGUMENT_ERROR.to_string());
                }
                if let Some(c) = counted {
                    m.expected_count = Some(items);
                    m.final_count = Some(c);
                }
                Ok(())
            },
        )?;
        Ok(Experiment::single(interp, main, measures))
    }

    fn process(&self, ctx: &WorkerCtx, interp: &Arc<Interp>) -> Result<ThreadHandle, EngineError> {
        let job = &ctx.job;
        let (items, n) = (ctx.knobs().int("items"), ctx.knobs().int("processes"));
        let index = job.index;
        let arena = ctx
            .arena
            .clone()
            .ok_or_else(|| EngineError::Shm("no shared memory".into()))?;
        let pipe = |name: &str| -> Result<SimpleQueue, EngineError> {
            let desc = job
                .shared
                .pipe(name)
                .ok_or_else(|| EngineError::Shm(format!("no pipe {name}")))?;
            // SAFETY: each inherited pipe is attached once in this child.
            Ok(unsafe { SimpleQueue::attach(&arena, desc) })
        };
        match job.role.as_str() {
            "file_writer" => {
                let dir = job.shared.paths.first().cloned().unwrap_or_default();
                with_main(
                    interp,
                    |_| Ok(()),
                    move |py, _| to_file(py, file_of(&dir, index), part(index, items, n)),
                )
            }
            "queue_writer" => {
                let q = attach_queue(ctx, "results")?;
                with_main(
                    interp,
                    |_| Ok(()),
                    move |py, _| {
                        py.call(|py| {
                            for x in part(index, items, n) {
                                let y = py.call(|py| py.straight(4).map(|_| x * x))?;
                                q.put(py, x as u64, y)?;
                                py.check()?;
                            }
                            q.join_thread(py)
                        })
                    },
                )
            }
            "manager" => {
                let requests = pipe("manager requests")?;
                let replies = (0..n)
                    .map(|k| pipe(&format!("manager reply {k}")))
                    .collect::<Result<Vec<_>, _>>()?;
                with_main(
                    interp,
                    |_| Ok(()),
                    move |py, _| serve(py, &requests, &replies),
                )
            }
            _ => {
                let (inq, outq) = attach_pipes(&arena, &job.shared)?;
                let f: PoolFn = match knobs_mode(ctx) {
                    "initializer" => {
                        let (v, l) = (job.shared.value("value"), job.shared.value("value_lock"));
                        let (Some(v), Some(l)) = (v, l) else {
                            return Err(EngineError::Shm("no inherited value".into()));
                        };
                        let value = SharedValue::attach(&arena, v, l);
                        Arc::new(move |py, x| {
                            value.enter(py)?;
                            let v = value.read(py)?;
                            value.write(py, v, v + 1)?;
                            value.exit(py)?;
                            Ok(x * x)
                        })
                    }
                    "manager" => {
                        let requests = Arc::new(pipe("manager requests")?);
                        let reply = Arc::new(pipe(&format!("manager reply {index}"))?);
                        Arc::new(move |py, x| {
                            py.straight(6)?; // x, value, lock = args
                            Proxy {
                                client: i64::from(index),
                                requests: &requests,
                                reply: &reply,
                            }
                            .locked_increment(py)?;
                            Ok(x * x)
                        })
                    }
                    _ => Arc::new(|py, x| {
                        py.straight(4)?;
                        Ok(x * x)
                    }),
                };
                with_main(interp, |_| Ok(()), move |py, _| worker(py, &inq, &outq, &f))
            }
        }
    }
}

fn knobs_mode(ctx: &WorkerCtx) -> &str {
    ctx.knobs().choice("shared")
}
