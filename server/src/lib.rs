//! gilscope's server: the engine that runs Python-concurrency experiments for real, the HTTP
//! app (dashboard files and the `/ws` websocket) and the commands of the `gilscope` binary.
//!
//! One idea per module: [`app`] (the router and serving it), [`state`] (what handlers see),
//! [`engine`] (emulated interpreters, the GIL, the trace), [`presets`]
//! (the lessons' experiments), [`assets`] (embedded dashboard), [`ws`] (websocket sessions),
//! [`guard`] (who may read and who may act), [`error`] (JSON error answers), [`export`]
//! (Chrome Trace JSON, streamed), [`stream_body`] (answers written as they are read),
//! [`limits`] (every bound under abuse), [`store`] (runs kept on disk, run files), [`listen`] (connections within bounds),
//! [`body_limit`], [`rlimit`], [`serve`] (the `gilscope serve` command), [`cli`]
//! (`gilscope presets` and `gilscope run`), [`classroom`] (the teacher drives, students
//! follow), [`role`] (who may act), [`rate`] (a viewer's messages per second),
//! [`per_address`] (connections per client address).

pub mod api;
pub mod app;
pub mod assets;
pub mod body_limit;
pub mod class_api;
pub mod classroom;
pub mod cli;
pub mod compare;
pub mod cpython;
pub mod engine;
pub mod error;
pub mod export;
pub mod frames;
pub mod guard;
pub mod limits;
pub mod listen;
pub mod per_address;
pub mod presets;
pub mod program;
pub mod rate;
pub mod rlimit;
pub mod role;
pub mod runs;
pub mod serve;
pub mod state;
pub mod store;
pub mod stream_body;
pub mod ws;

pub use app::{app, serve, serve_app, serve_keeping, serve_with};
pub use limits::Limits;
pub use state::{logical_cores, AppState, VERSION};
