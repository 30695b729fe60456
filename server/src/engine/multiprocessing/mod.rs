//! `multiprocessing` for real: worker processes (the `gilscope worker` child, its supervisor and
//! their pipe), shared memory, and the `Queue`, `Pool`, `Value`, `Semaphore` and `Manager`
//! models built on them.

pub mod mp_manager;
pub mod mp_pool;
pub mod mp_queue;
pub mod mp_semaphore;
pub mod process;
pub mod shared_array;
pub mod shared_objects;
pub mod shared_value;
pub mod shm;
pub mod simple_queue;
pub mod supervisor;
pub mod wire;
