//! `multiprocessing.Manager()`: a server process that owns objects (here one `Value` and one
//! `Lock`) and serves proxies' method calls over pipes — every `v.value` of a proxy is a round
//! trip to another process. The server is a worker process of its own (`SyncManager-1`); a
//! client sends `[client, op, arg]` on the shared request pipe (a `SimpleQueue`) and reads
//! its answer from its own reply pipe.
//!
//! One server thread serves every request in turn; a `lock.acquire()` of a held lock is
//! answered when the holder releases it (CPython blocks that client's server thread; the
//! client sees the same thing).
//!
//! Costs (docs/processes.md): a proxy's `v.value` costs 18.6 µs on this machine, a
//! `with lock: v.value += 1` through proxies 74 µs; [`PROXY_CALL_BYTECODES`] on the client
//! and [`SERVE_BYTECODES`] on the server around the real pipe round trip.

use std::collections::VecDeque;

use gilscope_shared::trace::State;

use crate::engine::interpreter::interp::Py;
use crate::engine::interpreter::stop::Stopped;
use crate::engine::multiprocessing::simple_queue::SimpleQueue;

/// `BaseProxy._callmethod`: pickling the call, the connection, unpickling the answer.
pub const PROXY_CALL_BYTECODES: u64 = 1_500;
/// `Server.serve_client`: one request received, dispatched, answered.
pub const SERVE_BYTECODES: u64 = 1_500;

pub const OP_GET: i64 = 0;
pub const OP_SET: i64 = 1;
pub const OP_ACQUIRE: i64 = 2;
pub const OP_RELEASE: i64 = 3;
pub const OP_SHUTDOWN: i64 = 4;

/// The manager's server loop: serves until `OP_SHUTDOWN`.
pub fn serve(py: &mut Py, requests: &SimpleQueue, replies: &[SimpleQueue]) -> Result<(), Stopped> {
    let mut value = 0i64;
    let mut holder: Option<usize> = None;
    let mut waiting: VecDeque<usize> = VecDeque::new();
    loop {
        let msg = requests.get(py, State::Idle)?;
        py.straight(SERVE_BYTECODES)?;
        let [client, op, arg] = msg[..] else {
            continue;
        };
        let client = client as usize;
        let Some(reply) = replies.get(client) else {
            continue;
        };
        match op {
            OP_GET => reply.put(py, &[value])?,
            OP_SET => {
                value = arg;
                reply.put(py, &[0])?;
            }
            OP_ACQUIRE if holder.is_none() => {
                holder = Some(client);
                reply.put(py, &[0])?;
            }
            OP_ACQUIRE => waiting.push_back(client),
            OP_RELEASE => {
                reply.put(py, &[0])?;
                holder = waiting.pop_front();
                if let Some(next) = holder {
                    if let Some(r) = replies.get(next) {
                        r.put(py, &[0])?;
                    }
                }
            }
            OP_SHUTDOWN => {
                reply.put(py, &[value])?;
                return Ok(());
            }
            _ => {}
        }
        py.check()?;
    }
}

/// A client's proxies: `manager.Value` and `manager.Lock` as seen from one process.
pub struct Proxy<'a> {
    pub client: i64,
    pub requests: &'a SimpleQueue,
    pub reply: &'a SimpleQueue,
}

impl Proxy<'_> {
    /// One method call on the server: the request, then waiting (GIL released) for the answer.
    pub fn call(&self, py: &mut Py, op: i64, arg: i64) -> Result<i64, Stopped> {
        py.call(|py| {
            py.straight(PROXY_CALL_BYTECODES / 2)?;
            self.requests.put(py, &[self.client, op, arg])?;
            let answer = self.reply.get(py, State::Io)?;
            py.straight(PROXY_CALL_BYTECODES / 2)?;
            Ok(answer.first().copied().unwrap_or_default())
        })
    }

    /// `with lock: v.value += 1` through the proxies: four round trips.
    pub fn locked_increment(&self, py: &mut Py) -> Result<(), Stopped> {
        self.call(py, OP_ACQUIRE, 0)?;
        let v = self.call(py, OP_GET, 0)?;
        py.straight(2)?;
        self.call(py, OP_SET, v + 1)?;
        self.call(py, OP_RELEASE, 0)?;
        Ok(())
    }
}
