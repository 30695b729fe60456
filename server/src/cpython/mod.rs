//! Real CPython beside the emulation: the machine's own `python3` runs a lesson's Python (or
//! any script), gilscope observes it from outside while it runs and records the same trace
//! the emulation records, so both are drawn, summarised and compared the same way.
//!
//! - [`python`]: which interpreter, and whether it can be observed;
//! - [`tree`]: the program's process tree, under a reaper that ends all of it;
//! - [`output`]: what the program prints, kept within a bound;
//! - [`printed`]: the lesson's figures read back from what it printed;
//! - [`classify`]: what a thread that does not hold the GIL is doing;
//! - [`observer`]: sampling every process of the tree at 1 kHz into the trace;
//! - [`run`]: a run on CPython, with the same lifecycle as an emulated one.
//!
//! An application module: it uses the engine's collector, recorder and summary, and the
//! engine knows nothing of it.

pub mod classify;
pub mod observer;
pub mod output;
pub mod printed;
pub mod python;
pub mod run;
pub mod tree;

pub use python::{Python, PythonError};
pub use run::{start, Program};
