//! The visible time range, zoom and pan, axis ticks in µs / ms / s, durations for people.

use gilscope_shared::decimal::fixed;
use gilscope_shared::trace::Nanos;

/// The narrowest window one can zoom to: 2 µs.
pub const MIN_WINDOW_NS: f64 = 2_000.0;
/// While a run is live and the view follows it, at least this much time is shown.
pub const MIN_LIVE_NS: f64 = 500_000_000.0;

/// The visible time range, in ns since the run started. Every view shares one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub t0: f64,
    pub t1: f64,
}

impl Window {
    pub fn new(t0: f64, t1: f64) -> Window {
        Window {
            t0,
            t1: t1.max(t0 + MIN_WINDOW_NS),
        }
    }

    /// The whole run, with a little room on the right.
    pub fn fit(end: Nanos) -> Window {
        Window::new(0.0, (end as f64 * 1.02).max(1_000_000.0))
    }

    /// Following a live run: from its start to its live edge.
    pub fn live(now: f64) -> Window {
        Window::new(0.0, now.max(MIN_LIVE_NS))
    }

    pub fn len(&self) -> f64 {
        self.t1 - self.t0
    }

    /// Pixels from the plot's left edge for instant `t`, in a plot `width` pixels wide.
    pub fn x(&self, t: f64, width: f64) -> f64 {
        (t - self.t0) / self.len() * width
    }

    /// The instant at `x` pixels from the plot's left edge.
    pub fn t(&self, x: f64, width: f64) -> f64 {
        self.t0 + x / width * self.len()
    }

    /// Zooms by `factor` (< 1 zooms in) keeping the instant under `frac` (0 = left edge,
    /// 1 = right edge of the plot) in place.
    pub fn zoom_at(&self, frac: f64, factor: f64) -> Window {
        let len = (self.len() * factor).max(MIN_WINDOW_NS);
        let anchor = self.t0 + frac * self.len();
        let t0 = anchor - frac * len;
        Window { t0, t1: t0 + len }
    }

    /// Moves by `frac` of the window's length (positive: later).
    pub fn pan(&self, frac: f64) -> Window {
        let d = frac * self.len();
        Window {
            t0: self.t0 + d,
            t1: self.t1 + d,
        }
    }
}

/// A mark on the time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub t: f64,
    pub label: String,
}

/// Ticks at 1, 2 or 5 × 10ⁿ ns, at least `min_px` apart in a plot `width` pixels wide,
/// labelled in the unit that suits the window (µs, ms or s).
pub fn ticks(win: Window, width: f64, min_px: f64) -> Vec<Tick> {
    if width <= 0.0 || win.len() <= 0.0 {
        return Vec::new();
    }
    let min_step = win.len() * min_px / width;
    let mut step = 1.0;
    'search: for exp in 0..14 {
        for m in [1.0, 2.0, 5.0] {
            step = m * 10f64.powi(exp);
            if step >= min_step {
                break 'search;
            }
        }
    }
    let (unit, name) = unit_for(win.len());
    let in_unit = step / unit;
    let decimals = if in_unit >= 1.0 {
        0
    } else {
        (-in_unit.log10()).ceil() as usize
    };
    let first = (win.t0 / step).ceil() as i64;
    let last = (win.t1 / step).floor() as i64;
    (first..=last)
        .map(|i| {
            let t = i as f64 * step;
            Tick {
                t,
                label: format!("{} {name}", fixed(t / unit, decimals)),
            }
        })
        .collect()
}

/// (ns per unit, unit name) for a window of `len` ns.
fn unit_for(len: f64) -> (f64, &'static str) {
    if len >= 2e9 {
        (1e9, "s")
    } else if len >= 2e6 {
        (1e6, "ms")
    } else {
        (1e3, "µs")
    }
}

/// A duration for people: "830 µs", "12.5 ms", "1.25 s".
pub fn fmt_ns(ns: f64) -> String {
    let (unit, name) = if ns >= 1e9 {
        (1e9, "s")
    } else if ns >= 1e6 {
        (1e6, "ms")
    } else if ns >= 1e3 {
        (1e3, "µs")
    } else {
        (1.0, "ns")
    };
    let v = ns / unit;
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{} {name}", fixed(v, decimals))
}
