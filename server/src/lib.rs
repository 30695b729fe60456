//! gilscope-server: runs Python-concurrency experiments for real.

pub mod cli;
pub mod engine;
pub mod presets;
