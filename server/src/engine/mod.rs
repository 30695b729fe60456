//! The engine: Python-style concurrency run for real — OS threads under an emulated,
//! CPython-faithful GIL, and real worker processes — recorded into a trace. A library: it
//! knows nothing of the presets, the run manager or the HTTP edge, which depend on it.
//!
//! In layers, each using only those before it:
//!
//! - [`interpreter`]: the clock, the calibrated bytecode, the GIL, an interpreter and its
//!   threads, recording and collecting events;
//! - [`threading`]: models that run on one interpreter (`Lock`, `Queue`, `ThreadPool`, ...);
//! - [`multiprocessing`]: worker processes, shared memory, and the models built on them;
//! - [`running`]: the program API a preset implements, the conductor, the summary.
//!
//! Entry point: [`start`] a [`Preset`] with resolved knobs, [`RunHandle::drain`] what is new
//! while it runs, [`RunHandle::stop`] it, [`RunHandle::wait`] for its trace and summary.

pub mod interpreter;
pub mod multiprocessing;
pub mod os;
pub mod running;
pub mod threading;

pub use running::program::{Experiment, Figures, Lesson, Preset, Registry};
pub use running::run::{
    panic_message, start, start_with_caps, Caps, RunHandle, RunOutcome, StartError, StopHandle,
    CAPS,
};
