//! A shared Python variable (`counter`) and the two ways `counter-race` updates it.
//!
//! The value is read and written with separate relaxed atomic loads and stores — never a
//! `fetch_add` — because `counter += 1` is separate bytecodes: `LOAD_GLOBAL` (read),
//! `LOAD_CONST`, `BINARY_OP`, `STORE_GLOBAL` (write). A thread switch between the read and the
//! write makes the write lose every update made meanwhile, for real.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use gilscope_shared::trace::MarkKind;
use serde::Deserialize;

use crate::engine::interpreter::interp::Py;
use crate::engine::interpreter::stop::Stopped;
use crate::engine::threading::lock::Lock;

/// At most this many lost-update marks per run (the count itself is exact regardless).
const MAX_LOST_MARKS: u32 = 20_000;

/// Which line of Python increments the counter (named as the `form` knob names it).
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// `counter += 1`: no check point between the read and the write (3.10+).
    Augmented,
    /// `counter = counter + one()`: the call's `RESUME` is a check point between them.
    Call,
}

/// A global `int` shared by the threads.
#[derive(Default, Debug)]
pub struct SharedInt {
    value: AtomicI64,
    lost_marks: AtomicU32,
}

impl SharedInt {
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }

    /// `LOAD_GLOBAL counter`.
    fn read(&self, py: &mut Py) -> Result<i64, Stopped> {
        let v = self.value.load(Ordering::Relaxed);
        py.bytecode()?;
        Ok(v)
    }

    /// `STORE_GLOBAL counter`; marks a lost update when the value changed since `read`.
    fn write(&self, py: &mut Py, read: i64, value: i64) -> Result<(), Stopped> {
        let before = self.value.load(Ordering::Relaxed);
        self.value.store(value, Ordering::Relaxed);
        if before != read && self.lost_marks.fetch_add(1, Ordering::Relaxed) < MAX_LOST_MARKS {
            py.rec.mark(MarkKind::LostUpdate {
                read,
                written: value,
            });
        }
        py.bytecode()
    }

    /// One iteration of `for _ in range(n): <line>` with the given form, optionally inside
    /// `with lock:`. Bytecodes as `dis` shows them on CPython 3.11.
    pub fn increment(&self, py: &mut Py, form: Form, lock: Option<&Lock>) -> Result<(), Stopped> {
        py.straight(2)?; // FOR_ITER, STORE_FAST
        if let Some(lock) = lock {
            py.straight(1)?; // LOAD_GLOBAL lock
            lock.acquire(py)?; // BEFORE_WITH -> lock.__enter__()
            py.straight(1)?; // POP_TOP
        }
        match form {
            Form::Augmented => {
                let v = self.read(py)?;
                py.straight(2)?; // LOAD_CONST 1, BINARY_OP +=
                self.write(py, v, v + 1)?;
            }
            Form::Call => {
                let v = self.read(py)?;
                let one = py.call(|py| {
                    py.straight(2)?; // LOAD_CONST 1, RETURN_VALUE
                    Ok(1)
                })?;
                py.straight(1)?; // BINARY_OP +
                self.write(py, v, v + one)?;
            }
        }
        if let Some(lock) = lock {
            py.straight(4)?; // LOAD_CONST None x3, PRECALL
            lock.release(py)?; // CALL __exit__
            py.check()?; // CALL checks the eval breaker after a call
            py.straight(2)?; // POP_TOP, JUMP_FORWARD
        }
        py.bytecode()?; // JUMP_BACKWARD
        py.check()
    }
}
