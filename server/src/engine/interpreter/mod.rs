//! The interpreter core: the clock, the calibrated bytecode, the GIL, an interpreter and its
//! threads, and how what they do is recorded and collected.

pub mod bytecode;
pub mod clock;
pub mod collector;
pub mod cond;
pub mod error;
pub mod gate;
pub mod gil;
pub mod imports;
pub mod interp;
pub mod py;
pub mod recorder;
pub mod stop;
