//! Clocks: the run's clock, which stamps every event of every thread and every worker process
//! on one axis, and each thread's own CPU time.
//!
//! The run's clock reads the CPU's time-stamp counter when the kernel itself keeps time with it
//! (its clocksource is `tsc`: the counter is invariant and the same on every core) and turns
//! ticks into nanoseconds with one multiplication, calibrated once against `CLOCK_MONOTONIC`.
//! A worker process adopts its parent's calibration ([`set_calibration`]), so the same instant
//! reads the same in every process of a run. Elsewhere (another architecture, a kernel that
//! does not trust the counter) it is `CLOCK_MONOTONIC` itself. Why: an event is recorded on
//! every state change, Queue put/get and lock operation, and `clock_gettime` was most of its
//! cost (docs/engine.md).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use crate::engine::os::{monotonic_ns, thread_cpu_ns, thread_id as os_tid};

/// How long the calibration watches both clocks: the counter's rate is then known to a few
/// parts per million (tens of microseconds over a minute's run).
const CALIBRATION_NS: u64 = 20_000_000;

/// Ticks to nanoseconds: `ns0 + (ticks - tsc0) * mult >> 32`; `mult == 0`: no counter, read
/// `CLOCK_MONOTONIC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockCalibration {
    tsc0: u64,
    ns0: u64,
    mult: u64,
}

impl ClockCalibration {
    /// The clock without the counter: `CLOCK_MONOTONIC`.
    pub const MONOTONIC: ClockCalibration = ClockCalibration {
        tsc0: 0,
        ns0: 0,
        mult: 0,
    };

    /// Whether this calibration reads the time-stamp counter.
    pub fn uses_counter(&self) -> bool {
        self.mult != 0
    }

    /// Nanoseconds on `CLOCK_MONOTONIC`'s axis.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        match counter() {
            Some(tsc) if self.mult != 0 => {
                // A counter read just before `tsc0` on another core (never by more than the
                // cores' skew) counts as `tsc0`.
                let ticks = tsc.saturating_sub(self.tsc0);
                self.ns0 + ((u128::from(ticks) * u128::from(self.mult)) >> 32) as u64
            }
            _ => monotonic_ns(),
        }
    }

    /// Watches the counter and `CLOCK_MONOTONIC` for [`CALIBRATION_NS`]; the monotonic clock
    /// when the counter is not to be trusted.
    pub fn measure() -> ClockCalibration {
        if !counter_is_trusted() {
            return ClockCalibration::MONOTONIC;
        }
        let (tsc_a, ns_a) = paired_reading();
        while monotonic_ns() < ns_a + CALIBRATION_NS {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let (tsc_b, ns_b) = paired_reading();
        if tsc_b <= tsc_a || ns_b <= ns_a {
            return ClockCalibration::MONOTONIC;
        }
        let mult = (u128::from(ns_b - ns_a) << 32) / u128::from(tsc_b - tsc_a);
        match u64::try_from(mult) {
            Ok(mult) if mult > 0 => ClockCalibration {
                tsc0: tsc_b,
                ns0: ns_b,
                mult,
            },
            _ => ClockCalibration::MONOTONIC,
        }
    }
}

/// The time-stamp counter, where there is one.
#[inline]
fn counter() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions on x86_64.
        Some(unsafe { core::arch::x86_64::_rdtsc() })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// The kernel keeps time with the counter only once it has found it invariant and in step
/// across cores; then so can we.
fn counter_is_trusted() -> bool {
    counter().is_some()
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc")
}

/// The counter and `CLOCK_MONOTONIC` at (nearly) the same instant: of a few tries, the one
/// whose two counter reads around the clock read are closest, taking their midpoint.
fn paired_reading() -> (u64, u64) {
    let mut best = (u64::MAX, 0, 0);
    for _ in 0..16 {
        let (Some(before), ns, Some(after)) = (counter(), monotonic_ns(), counter()) else {
            return (0, monotonic_ns());
        };
        let gap = after.saturating_sub(before);
        if gap < best.0 {
            best = (gap, before + gap / 2, ns);
        }
    }
    (best.1, best.2)
}

static CLOCK: OnceLock<ClockCalibration> = OnceLock::new();

/// Adopts a calibration measured elsewhere (a worker process takes its parent's). No effect if
/// this process has already calibrated.
pub fn set_calibration(cal: ClockCalibration) {
    let _ = CLOCK.set(cal);
}

/// The process-wide calibration, measured once (about 20 ms) on first use.
pub fn calibration() -> ClockCalibration {
    *CLOCK.get_or_init(ClockCalibration::measure)
}

/// The run's clock: nanoseconds on `CLOCK_MONOTONIC`'s axis, the same in every process.
#[inline]
pub fn now_ns() -> u64 {
    CLOCK.get_or_init(ClockCalibration::measure).now_ns()
}

/// The instant a run started: its events are stamped in ns since then.
#[derive(Clone, Copy, Debug)]
pub struct Epoch(pub u64);

impl Epoch {
    pub fn now() -> Epoch {
        Epoch(now_ns())
    }

    /// Nanoseconds since the epoch (0 for instants before it).
    #[inline]
    pub fn elapsed(self) -> u64 {
        now_ns().saturating_sub(self.0)
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

    /// The run's clock keeps in step with `CLOCK_MONOTONIC`: never backwards, and within
    /// 50 µs of it over 100 ms (a rate off by 500 ppm; the calibration's error is a few ppm).
    #[test]
    fn the_runs_clock_keeps_in_step_with_the_monotonic_clock() {
        let cal = calibration();
        let start = (now_ns(), monotonic_ns());
        let mut last = start.0;
        while monotonic_ns() < start.1 + 100_000_000 {
            let t = now_ns();
            assert!(t >= last, "the run's clock went back: {t} < {last}");
            last = t;
        }
        // Both clocks read as close together as they can be, a few times: the closest pair.
        let drift = (0..20)
            .map(|_| {
                let (a, m, b) = (now_ns(), monotonic_ns(), now_ns());
                (m as i64 - (a / 2 + b / 2) as i64).abs()
            })
            .min()
            .unwrap();
        assert!(
            drift < 50_000,
            "{drift} ns apart after 100 ms (counter: {})",
            cal.uses_counter()
        );
    }

    /// A worker adopting its parent's calibration reads the same instant the same: the same
    /// calibration, the same counter reading, the same nanoseconds.
    #[test]
    fn a_calibration_survives_the_trip_to_a_worker() {
        let cal = calibration();
        let bytes = rmp_serde::to_vec(&cal).unwrap();
        let back: ClockCalibration = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, cal);
        let (a, b) = (cal.now_ns(), back.now_ns());
        assert!(b >= a && b - a < 1_000_000, "{a} then {b}");
    }
}
