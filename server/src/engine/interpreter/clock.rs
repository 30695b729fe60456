//! Clocks: the machine's monotonic clock (shared by every thread and, later, every worker
//! process, so their events sit on one axis) and each thread's own CPU time.

pub use crate::engine::os::{monotonic_ns, thread_cpu_ns, thread_id as os_tid};

/// The instant a run started: its events are stamped in ns since then.
#[derive(Clone, Copy, Debug)]
pub struct Epoch(pub u64);

impl Epoch {
    pub fn now() -> Epoch {
        Epoch(monotonic_ns())
    }

    /// Nanoseconds since the epoch (0 for instants before it).
    #[inline]
    pub fn elapsed(self) -> u64 {
        monotonic_ns().saturating_sub(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_goes_forwards_and_cpu_time_counts_work() {
        let a = monotonic_ns();
        let cpu0 = thread_cpu_ns();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        std::hint::black_box(x);
        assert!(monotonic_ns() > a);
        assert!(thread_cpu_ns() > cpu0);
        assert!(os_tid() > 0);
    }
}
