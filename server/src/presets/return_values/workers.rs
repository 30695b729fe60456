//! The worker processes' side: a file writer, a queue writer, the `Manager`'s server, and a
//! pool worker that counts into the shared `Value` the way the knobs ask.

use std::sync::Arc;

use super::files::{file_of, to_file};
use super::{part, Knobs, Role, Shared};
use crate::engine::interpreter::error::Inherited;
use crate::engine::interpreter::interp::EngineError;
use crate::engine::multiprocessing::mp_manager::{serve, Proxy};
use crate::engine::multiprocessing::mp_pool::{attach_pipes, worker, PoolFn};
use crate::engine::multiprocessing::shared_value::SharedValue;
use crate::engine::multiprocessing::shm::Arena;
use crate::engine::multiprocessing::simple_queue::SimpleQueue;
use crate::engine::running::worker::WorkerCtx;
use crate::presets::common::attach_queue;
use crate::presets::harness::{Child, Spawned};

/// The main thread of a worker process playing `role`.
pub fn main(knobs: &Knobs, child: Child<Role>) -> Spawned {
    let (knobs, ctx, index) = (*knobs, child.ctx, child.ctx.job.index);
    match child.role {
        Role::FileWriter => {
            let dir = ctx.job.shared.paths.first().cloned().unwrap_or_default();
            child.main(move |py| to_file(py, file_of(&dir, index), part(index, &knobs)))
        }
        Role::QueueWriter => {
            let q = attach_queue(ctx, "results")?;
            child.main(move |py| {
                py.call(|py| {
                    for x in part(index, &knobs) {
                        let y = py.call(|py| py.straight(4).map(|_| x * x))?;
                        q.put(py, x as u64, y)?;
                        py.check()?;
                    }
                    q.join_thread(py)
                })
            })
        }
        Role::Manager => {
            let arena = arena(ctx)?;
            let requests = pipe(ctx, &arena, "manager requests")?;
            let replies = (0..knobs.processes)
                .map(|k| pipe(ctx, &arena, &format!("manager reply {k}")))
                .collect::<Result<Vec<_>, _>>()?;
            child.main(move |py| serve(py, &requests, &replies))
        }
        Role::PoolWorker => {
            let arena = arena(ctx)?;
            let (inq, outq) = attach_pipes(&arena, &ctx.job.shared)?;
            let f = square(knobs.shared, ctx, &arena)?;
            child.main(move |py| worker(py, &inq, &outq, &f))
        }
    }
}

/// The pool's function: `square`, or `square_counted` / `square_managed` when the workers
/// count into a shared `Value` they reached by inheritance or through a `Manager`.
fn square(shared: Shared, ctx: &WorkerCtx, arena: &Arc<Arena>) -> Result<PoolFn, EngineError> {
    let job = &ctx.job;
    Ok(match shared {
        Shared::Initializer => {
            let (v, l) = (job.shared.value("value"), job.shared.value("value_lock"));
            let (Some(v), Some(l)) = (v, l) else {
                return Err(EngineError::NotInherited(Inherited::Value("value".into())));
            };
            let value = SharedValue::attach(arena, v, l);
            Arc::new(move |py, x| {
                value.enter(py)?;
                let v = value.read(py)?;
                value.write(py, v, v + 1)?;
                value.exit(py)?;
                Ok(x * x)
            })
        }
        Shared::Manager => {
            let index = job.index;
            let requests = Arc::new(pipe(ctx, arena, "manager requests")?);
            let reply = Arc::new(pipe(ctx, arena, &format!("manager reply {index}"))?);
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
        Shared::None | Shared::Argument => Arc::new(|py, x| {
            py.straight(4)?;
            Ok(x * x)
        }),
    })
}

fn arena(ctx: &WorkerCtx) -> Result<Arc<Arena>, EngineError> {
    ctx.arena
        .clone()
        .ok_or_else(|| EngineError::NotInherited(Inherited::Arena))
}

/// The inherited pipe called `name`.
fn pipe(ctx: &WorkerCtx, arena: &Arc<Arena>, name: &str) -> Result<SimpleQueue, EngineError> {
    let desc = ctx
        .job
        .shared
        .pipe(name)
        .ok_or_else(|| EngineError::NotInherited(Inherited::Pipe(name.into())))?;
    // SAFETY: each inherited pipe is attached once in this child.
    Ok(unsafe { SimpleQueue::attach(arena, desc) })
}
