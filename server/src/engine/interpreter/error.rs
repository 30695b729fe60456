//! Why the engine could not set a run up (as opposed to a program being stopped): every
//! failure a type, so callers can tell a bug in a lesson from the machine refusing.

use std::fmt;

use crate::engine::interpreter::gil::MAX_THREADS;

#[derive(thiserror::Error, Debug)]
pub enum EngineError {
    #[error("too many threads in one interpreter (at most {MAX_THREADS})")]
    TooManyThreads,
    #[error("could not start an OS thread: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("a new thread did not report in")]
    NoReport,
    #[error("lesson {lesson} has no program for a worker process of role `{role}`")]
    NoProcessProgram { lesson: &'static str, role: String },
    /// The operating system refused shared memory, a semaphore or a pipe.
    #[error("could not set up shared memory: {0}")]
    SharedMemory(#[source] std::io::Error),
    /// A worker's job lacks an object its program attaches to: the lesson's parent and child
    /// programs disagree.
    #[error("the worker's job carries no {0}")]
    NotInherited(Inherited),
    /// The lesson's own setup failed (for instance its knobs do not fit its program).
    #[error(transparent)]
    Program(Box<dyn std::error::Error + Send + Sync>),
}

/// A shared object a worker process inherits from its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inherited {
    /// The run's shared-memory arena.
    Arena,
    Queue(String),
    Value(String),
    Pipe(String),
    /// The pipes of a `Pool`'s task and result queues.
    PoolPipes,
}

impl fmt::Display for Inherited {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Inherited::Arena => f.write_str("shared memory"),
            Inherited::Queue(name) => write!(f, "queue `{name}`"),
            Inherited::Value(name) => write!(f, "shared value `{name}`"),
            Inherited::Pipe(name) => write!(f, "pipe `{name}`"),
            Inherited::PoolPipes => f.write_str("pool pipes"),
        }
    }
}
