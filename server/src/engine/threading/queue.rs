//! `queue.Queue(maxsize)` between threads: FIFO, `put` blocks while it is full, `get` while
//! it is empty — in both cases with the GIL released, as `threading.Condition.wait` does.
//!
//! Every put and get records a mark with the item's number and a sample of the true depth,
//! stamped under the queue's mutex, so marks and depth are in the order things happened.
//! `put` and `get` are Python code in CPython: on this machine one `q.put(i); q.get()` pair
//! costs about 970 ns, so each is charged [`PUT_BYTECODES`] / [`GET_BYTECODES`].

use std::collections::VecDeque;
use std::sync::Mutex;

use gilscope_shared::trace::{CounterId, CounterKind, MarkKind, QueueId, State};

use crate::engine::interpreter::cond::Cond;
use crate::engine::interpreter::interp::{Interp, Py};
use crate::engine::interpreter::stop::{wait_while, Stopped};

pub const PUT_BYTECODES: u64 = 145;
pub const GET_BYTECODES: u64 = 145;

pub struct Queue<T> {
    pub id: QueueId,
    capacity: Option<usize>,
    items: Mutex<VecDeque<(u64, T)>>,
    not_full: Cond,
    not_empty: Cond,
    depth: CounterId,
}

impl<T> Queue<T> {
    /// Declares the queue (and its depth track) in `interp`'s run.
    pub fn new(interp: &Interp, name: &str, capacity: Option<usize>) -> Queue<T> {
        let id = interp.new_queue(name, capacity.map(|c| c as u64));
        let depth = interp.new_counter(
            &format!("{name} depth"),
            CounterKind::QueueDepth { queue: id },
        );
        Queue {
            id,
            capacity,
            items: Mutex::new(VecDeque::new()),
            not_full: Cond::new(),
            not_empty: Cond::new(),
            depth,
        }
    }

    fn full(&self, len: usize) -> bool {
        self.capacity.is_some_and(|c| len >= c)
    }

    /// `q.put(value)`; `item` numbers it in the trace.
    pub fn put(&self, py: &mut Py, item: u64, value: T) -> Result<(), Stopped> {
        py.call(|py| py.straight(PUT_BYTECODES))?;
        let mut value = Some(value);
        loop {
            {
                let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
                if !self.full(items.len()) {
                    items.push_back((item, value.take().expect("put once")));
                    let put = MarkKind::Put {
                        queue: self.id,
                        item,
                    };
                    self.record(py, put, items.len());
                    drop(items);
                    self.not_empty.notify_one();
                    return Ok(());
                }
            }
            py.blocking(State::BlockedPut, |_, stop| {
                let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
                wait_while(stop, &self.not_full, items, |items| self.full(items.len())).map(drop)
            })?;
        }
    }

    /// Records a put or get and the depth it left, at one instant.
    fn record(&self, py: &mut Py, mark: MarkKind, depth: usize) {
        let t = py.rec.now();
        py.rec.mark_at(t, mark);
        py.rec.sample_at(self.depth, t, depth as f64);
    }

    /// `q.get()`, showing `waiting` (`BlockedGet`, or `Idle` for a pool worker between
    /// tasks) while the queue is empty. Returns the item's number and value.
    pub fn get(&self, py: &mut Py, waiting: State) -> Result<(u64, T), Stopped> {
        py.call(|py| py.straight(GET_BYTECODES))?;
        loop {
            {
                let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((item, value)) = items.pop_front() {
                    let got = MarkKind::Get {
                        queue: self.id,
                        item,
                    };
                    self.record(py, got, items.len());
                    drop(items);
                    self.not_full.notify_one();
                    return Ok((item, value));
                }
            }
            py.blocking(waiting, |_, stop| {
                let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
                wait_while(stop, &self.not_empty, items, |items| items.is_empty()).map(drop)
            })?;
        }
    }
}
