//! `threading`, `queue` and `concurrent` models that run on one interpreter: `Lock`, `Queue`,
//! `ThreadPool`, a shared `int`, and socket I/O.

pub mod counter;
pub mod io;
pub mod lock;
pub mod pool;
pub mod queue;
