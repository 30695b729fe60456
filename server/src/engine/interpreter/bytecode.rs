//! Calibrated work: one emulated "bytecode" is real CPU work costing about what a simple
//! CPython 3.11 bytecode costs on this machine.
//!
//! How the cost was found: on this machine `python3` (3.11.7) runs
//! `for i in range(n): x += i` at 23.1 ns per iteration; `dis` shows 7 bytecodes per iteration
//! (FOR_ITER, STORE_FAST, LOAD_FAST, LOAD_FAST, BINARY_OP, STORE_FAST, JUMP_BACKWARD), so
//! 3.3 ns per bytecode ([`PYTHON_NS_PER_BYTECODE`]; `GILSCOPE_NS_PER_BYTECODE` overrides it).
//! At start-up the engine times its work unit (a dependent multiply-add through
//! `black_box`, which the optimiser cannot remove or vectorise) and derives how many units
//! make one bytecode; the summary reports the resulting measured ns per bytecode.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;

/// The cost of one simple bytecode of CPython 3.11 on this machine, in ns (see module docs).
pub const PYTHON_NS_PER_BYTECODE: f64 = 3.3;

/// How emulated bytecodes map onto the work unit.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// Work units per bytecode (fractional; whole loops round it).
    pub units_per_bytecode: f64,
    /// Measured cost of one emulated bytecode, in ns.
    pub ns_per_bytecode: f64,
    /// Measured cost of one work unit, in ns.
    pub ns_per_unit: f64,
}

/// Runs `units` work units on `state`. The chain is dependent, so it cannot be parallelised.
#[inline(always)]
pub fn spin(state: &mut u64, units: u64) {
    let mut x = *state;
    for _ in 0..units {
        x = black_box(
            x.wrapping_mul(0x5851_F42D_4C95_7F2D)
                .wrapping_add(0x1405_7B7E_F767_814F),
        );
    }
    *state = x;
}

static CAL: OnceLock<Calibration> = OnceLock::new();

/// Adopts a calibration measured elsewhere (a worker process takes its parent's, so every
/// process of a run counts the same bytecodes and none spends 60 ms measuring). No effect if
/// this process has already calibrated.
pub fn set_calibration(cal: Calibration) {
    let _ = CAL.set(cal);
}

/// The process-wide calibration, measured once (about 60 ms) on first use.
pub fn calibration() -> Calibration {
    *CAL.get_or_init(|| {
        let target = std::env::var("GILSCOPE_NS_PER_BYTECODE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.1 && *v < 1000.0)
            .unwrap_or(PYTHON_NS_PER_BYTECODE);
        calibrate(target)
    })
}

/// Times the work unit (best of several rounds: the least disturbed) and sizes a bytecode.
pub fn calibrate(target_ns: f64) -> Calibration {
    let mut state = 1u64;
    spin(&mut state, 2_000_000); // warm up the core's clock
    let rounds = 5;
    let units = 3_000_000u64;
    let ns_per_unit = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            spin(&mut state, units);
            t.elapsed().as_nanos() as f64 / units as f64
        })
        .fold(f64::INFINITY, f64::min);
    let units_per_bytecode = (target_ns / ns_per_unit).max(1.0);
    let bytecodes = 2_000_000u64;
    let ns_per_bytecode = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            spin(
                &mut state,
                (bytecodes as f64 * units_per_bytecode).round() as u64,
            );
            t.elapsed().as_nanos() as f64 / bytecodes as f64
        })
        .fold(f64::INFINITY, f64::min);
    black_box(state);
    Calibration {
        units_per_bytecode,
        ns_per_bytecode,
        ns_per_unit,
    }
}

impl Calibration {
    /// Work units for `bytecodes` bytecodes run back to back.
    #[inline]
    pub fn units(&self, bytecodes: u64) -> u64 {
        ((bytecodes as f64 * self.units_per_bytecode).round() as u64).max(bytecodes.min(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bytecode_costs_about_the_target() {
        let cal = calibrate(PYTHON_NS_PER_BYTECODE);
        assert!(cal.units_per_bytecode >= 1.0);
        // One unit is a few ns at most, so the rounding error is bounded; the machine is noisy.
        assert!(
            cal.ns_per_bytecode > 0.5 * PYTHON_NS_PER_BYTECODE
                && cal.ns_per_bytecode < 3.0 * PYTHON_NS_PER_BYTECODE,
            "{cal:?}"
        );
        assert_eq!(cal.units(0), 0);
        assert!(cal.units(1) >= 1);
    }
}
