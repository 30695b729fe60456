//! gilscope-shared: the vocabulary both the server and the frontend speak.
//! Serde types and pure functions only; no I/O, so it compiles for wasm32 and for the host.

pub mod class;
pub mod clip;
pub mod coalesce;
pub mod decimal;
pub mod figures;
pub mod findings;
pub mod history;
pub mod input;
pub mod protocol;
pub mod sort;
pub mod spec;
pub mod state;
pub mod summary;
pub mod trace;
pub mod validate;
