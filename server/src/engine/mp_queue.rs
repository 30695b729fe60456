//! `multiprocessing.Queue(maxsize)` across processes.

use serde::{Deserialize, Serialize};

use gilscope_shared::trace::{CounterId, QueueId};

use super::shm::Offset;

/// A queue as a child finds it: its semaphores in the arena, its pipe, its counter tracks.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct QueueDesc {
    pub name: String,
    pub id: QueueId,
    pub capacity: u64,
    pub read_fd: i32,
    pub write_fd: i32,
    /// The capacity semaphore (`BoundedSemaphore(maxsize)`).
    pub sem: Offset,
    /// The read lock and the write lock.
    pub rlock: Offset,
    pub wlock: Offset,
    /// Items put and not yet got (the truth the trace shows).
    pub depth: Offset,
    pub depth_track: CounterId,
    pub qsize_track: CounterId,
    pub empty_track: CounterId,
}
