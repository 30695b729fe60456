//! The engine: Python-style concurrency run for real — OS threads under an emulated,
//! CPython-faithful GIL — recorded into a trace.
//!
//! Entry point: [`start`] a spec, [`RunHandle::drain`] what is new while it runs,
//! [`RunHandle::stop`] it, [`RunHandle::wait`] for its trace and summary.

pub mod bytecode;
pub mod clock;
pub mod collector;
pub mod counter;
pub mod gate;
pub mod gil;
pub mod interp;
pub mod io;
pub mod lock;
pub mod mp_manager;
pub mod mp_pool;
pub mod mp_queue;
pub mod mp_semaphore;
pub mod pool;
pub mod process;
pub mod queue;
pub mod recorder;
pub mod run;
pub mod shared_objects;
pub mod shared_value;
pub mod shm;
pub mod simple_queue;
pub mod stop;
pub mod summarize;
pub mod wire;
pub mod worker;

pub use run::{start, Caps, RunHandle, RunOutcome, StartError, StopHandle, CAPS};
