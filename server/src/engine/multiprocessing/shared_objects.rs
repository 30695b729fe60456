//! What a worker process inherits from its parent, as sent in its job: the run's shared memory
//! (by file descriptor) and where each shared object lives in it, and the queues' pipes.
//!
//! The parent creates everything before it starts a child (as `fork` would hand it over); the
//! child maps the same memory and opens the same pipe ends by their descriptor numbers, which
//! the parent leaves open across `exec` for it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::multiprocessing::mp_queue::QueueDesc;
use crate::engine::multiprocessing::shm::{Arena, Offset};
use crate::engine::multiprocessing::simple_queue::PipeDesc;

/// The shared objects of a run, as a child finds them.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct SharedObjects {
    /// The arena's descriptor number and length.
    pub arena: Option<(i32, usize)>,
    /// Offsets of shared values (`multiprocessing.Value`) in the arena, by the preset's names.
    pub values: Vec<(String, Offset)>,
    /// The run's `multiprocessing.Queue`s (and a pool's task and result pipes).
    pub queues: Vec<QueueDesc>,
    /// `SimpleQueue`s (a pool's task and result pipes).
    #[serde(default)]
    pub pipes: Vec<PipeDesc>,
    /// Files and directories the children write to (return-values' files).
    #[serde(default)]
    pub paths: Vec<String>,
}

impl SharedObjects {
    /// Descriptors the child must inherit.
    pub fn inherit_fds(&self) -> Vec<i32> {
        let mut fds: Vec<i32> = self.arena.iter().map(|(fd, _)| *fd).collect();
        for q in &self.queues {
            fds.extend([q.read_fd, q.write_fd]);
        }
        for p in &self.pipes {
            fds.extend([p.read_fd, p.write_fd]);
        }
        fds
    }

    /// Rewrites every descriptor number with `f` (to the copies a child inherits).
    pub fn renumber_fds(&mut self, f: &dyn Fn(i32) -> i32) {
        if let Some((fd, _)) = &mut self.arena {
            *fd = f(*fd);
        }
        for q in &mut self.queues {
            q.read_fd = f(q.read_fd);
            q.write_fd = f(q.write_fd);
        }
        for p in &mut self.pipes {
            p.read_fd = f(p.read_fd);
            p.write_fd = f(p.write_fd);
        }
    }

    pub fn value(&self, name: &str) -> Option<Offset> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, o)| *o)
    }

    pub fn pipe(&self, name: &str) -> Option<&PipeDesc> {
        self.pipes.iter().find(|p| p.name == name)
    }

    pub fn queue(&self, name: &str) -> Option<&QueueDesc> {
        self.queues.iter().find(|q| q.name == name)
    }

    /// Maps the arena in a child.
    pub fn attach(&self) -> std::io::Result<Option<Arc<Arena>>> {
        match self.arena {
            // SAFETY: the parent passed this memfd for this child to own.
            Some((fd, len)) => Ok(Some(Arc::new(unsafe { Arena::attach(fd, len)? }))),
            None => Ok(None),
        }
    }
}
