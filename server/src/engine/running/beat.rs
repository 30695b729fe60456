//! The run's beat: the instants at which a run's own bookkeeping wakes — the conductor looking
//! at its caps and probes, the core sampler, each worker process writing its events to the
//! server — all on one grid of the run's epoch, so they wake the machine together, 50 times a
//! second, instead of each on its own clock.
//!
//! Why it matters: the Python being emulated has none of these threads, and on a virtual
//! machine whose idle cores halt, how often anything wakes a core changes how fast one process
//! wakes another. CPython's `value_semaphores` hand-over (queue-vs-shared-memory, 20,000
//! messages of 8 bytes) measured here 18,000–36,000 messages/s alone, 33,000–53,000 beside a
//! thread sleeping 10 ms at a time, 36,000–168,000 beside one sleeping 1 ms (issue #10).

use std::time::Duration;

/// The period of the beat.
pub const BEAT: Duration = Duration::from_millis(20);

/// A wait shorter than this goes on to the beat after: the run's clock (the calibrated
/// time-stamp counter) and the waits' (`CLOCK_MONOTONIC`) may differ by a little, and a thread
/// woken a hair before its beat must not wake again at once.
const SHORTEST_WAIT: u64 = 1_000_000;

/// How long from `elapsed` (ns since the run's epoch) to the next beat at least
/// [`SHORTEST_WAIT`] away.
pub fn until_next(elapsed: u64) -> Duration {
    let period = BEAT.as_nanos() as u64;
    let wait = period - elapsed % period;
    Duration::from_nanos(if wait < SHORTEST_WAIT {
        wait + period
    } else {
        wait
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wait_ends_on_the_grid() {
        let period = BEAT.as_nanos() as u64;
        assert_eq!(until_next(0), BEAT);
        assert_eq!(until_next(5 * period + 3), BEAT - Duration::from_nanos(3));
        // Woken just before a beat: the next one, not a second wake-up at once.
        assert_eq!(until_next(period - 1), BEAT + Duration::from_nanos(1));
        for elapsed in [1, 7_654_321, 123_456_789_012] {
            let end = elapsed + until_next(elapsed).as_nanos() as u64;
            assert_eq!(end % period, 0, "from {elapsed}");
        }
    }
}
