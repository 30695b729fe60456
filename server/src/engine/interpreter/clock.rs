//! Clocks: the machine's monotonic clock (shared by every thread and, later, every worker
//! process, so their events sit on one axis) and each thread's own CPU time.

/// Nanoseconds on `CLOCK_MONOTONIC`. The same clock in every process of the machine.
#[inline]
pub fn monotonic_ns() -> u64 {
    read(libc::CLOCK_MONOTONIC)
}

/// CPU time consumed so far by the calling thread, in ns (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_ns() -> u64 {
    read(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// The calling thread's OS id (what `/proc/<pid>/task/<tid>` is named by).
pub fn os_tid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

#[inline]
fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; both clocks exist on every Linux.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    debug_assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

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
