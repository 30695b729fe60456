//! The canvas renderer's pure part, testable on the host: the time↔pixel transform, zoom and
//! pan, axis ticks in µs / ms / s, the rows of the timeline, and painting spans into an RGBA
//! raster with level of detail.
//!
//! Why a raster: a 64-lane, 200,000-span trace panned at 60 fps leaves no time for one canvas
//! call per rectangle. Spans are first merged to the pixel's resolution per lane
//! ([`merge_subpixel`]: the shared `coalesce`, minus its allocations, which cost most of the
//! frame; it keeps each state's time exactly), then filled straight into a buffer of
//! device pixels in wasm memory, which the page hands to the canvas in one `putImageData`.
//! Every rectangle of one colour costs a few memory writes, nothing more, and pixels are
//! exact (no anti-aliasing), so the tests can look for a state's colour.

#[cfg(test)]
use gilscope_shared::coalesce::coalesce;
use gilscope_shared::trace::{InterpId, MarkKind, Nanos, Span, State};

use crate::store::Store;

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
                label: format!("{:.*} {name}", decimals, t / unit),
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
    format!("{v:.decimals$} {name}")
}

/// What a row of the timeline shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowKind {
    /// Who holds this interpreter's GIL.
    Gil(InterpId),
    /// An interpreter without a GIL: its name only.
    Group(InterpId),
    /// A thread: index into [`Store::lanes`].
    Lane(usize),
}

/// A row's place, in CSS pixels from the top of the canvas.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub kind: RowKind,
    pub y: f64,
    pub h: f64,
}

/// Heights of the timeline's parts, in CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// The axis labels above the rows.
    pub axis_h: f64,
    pub lane_h: f64,
    pub gil_h: f64,
    pub group_h: f64,
}

/// One row per thread, grouped by interpreter (process), each group led by its GIL track
/// (or its name when it has no GIL).
pub fn layout(store: &Store, m: &Metrics) -> Vec<Row> {
    let mut rows = Vec::with_capacity(store.lanes.len() + store.interpreters.len());
    let mut y = m.axis_h;
    let mut current: Option<InterpId> = None;
    for (i, lane) in store.lanes.iter().enumerate() {
        let interp = lane.lane.interp;
        if current != Some(interp) {
            current = Some(interp);
            let (kind, h) = if store.has_gil(interp) {
                (RowKind::Gil(interp), m.gil_h)
            } else {
                (RowKind::Group(interp), m.group_h)
            };
            rows.push(Row { kind, y, h });
            y += h;
        }
        rows.push(Row {
            kind: RowKind::Lane(i),
            y,
            h: m.lane_h,
        });
        y += m.lane_h;
    }
    rows
}

/// The row at height `y`, if any.
pub fn row_at(rows: &[Row], y: f64) -> Option<&Row> {
    let i = rows.partition_point(|r| r.y + r.h <= y);
    rows.get(i).filter(|r| r.y <= y)
}

/// Total height of the rows.
pub fn rows_height(rows: &[Row], m: &Metrics) -> f64 {
    rows.last().map_or(m.axis_h, |r| r.y + r.h)
}

/// `#RRGGBB` as a pixel of an RGBA buffer (bytes R, G, B, A in memory).
pub fn pixel(hex: &str) -> u32 {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    let (r, g, b) = ((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    0xff00_0000 | (b << 16) | (g << 8) | r
}

/// The lighter stripe of the hatching of "waiting for the GIL".
const HATCH: &str = "#F2B48A";
/// The outline of "blocked in get" (yellow on white needs one).
const GET_OUTLINE: &str = "#5C5500";

/// An RGBA image in device pixels, filled in wasm memory and handed to the canvas at once.
#[derive(Default)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub px: Vec<u32>,
}

impl Raster {
    /// Resizes (keeping the allocation) and fills with `background`.
    pub fn reset(&mut self, width: usize, height: usize, background: u32) {
        self.width = width;
        self.height = height;
        self.px.clear();
        self.px.resize(width * height, background);
    }

    pub fn get(&self, x: usize, y: usize) -> u32 {
        self.px[y * self.width + x]
    }

    /// Fills `[x0, x1) × [y0, y1)`, clipped to the image.
    pub fn fill(&mut self, x0: i64, x1: i64, y0: i64, y1: i64, colour: u32) {
        let (x0, x1) = self.clip(x0, x1, self.width);
        let (y0, y1) = self.clip(y0, y1, self.height);
        for y in y0..y1 {
            let row = y * self.width;
            self.px[row + x0..row + x1].fill(colour);
        }
    }

    /// Like [`Raster::fill`], with diagonal stripes of `stripe` every `period` pixels, so the
    /// state reads without colour.
    #[allow(clippy::too_many_arguments)]
    pub fn hatch(
        &mut self,
        x0: i64,
        x1: i64,
        y0: i64,
        y1: i64,
        colour: u32,
        stripe: u32,
        period: usize,
    ) {
        let (x0, x1) = self.clip(x0, x1, self.width);
        let (y0, y1) = self.clip(y0, y1, self.height);
        let period = period.max(2);
        let on = period / 3;
        for y in y0..y1 {
            let row = y * self.width;
            // Walk the stripe phase instead of taking a remainder per pixel.
            let mut phase = (x0 + y) % period;
            for px in &mut self.px[row + x0..row + x1] {
                *px = if phase < on { stripe } else { colour };
                phase += 1;
                if phase == period {
                    phase = 0;
                }
            }
        }
    }

    fn clip(&self, a: i64, b: i64, max: usize) -> (usize, usize) {
        let a = a.clamp(0, max as i64) as usize;
        let b = b.clamp(0, max as i64) as usize;
        (a, b.max(a))
    }

    /// The pixels as bytes R, G, B, A, for `ImageData` (no copy).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: a `u32` is four initialised bytes with no padding, `u8` has no alignment
        // requirement, and the slice borrows `self.px` for its whole length. Bytes come out
        // in memory order, which on little-endian targets (wasm32, the hosts we test on) is
        // R, G, B, A as [`pixel`] packs them.
        unsafe { std::slice::from_raw_parts(self.px.as_ptr().cast::<u8>(), self.px.len() * 4) }
    }
}

/// Where spans are drawn, in device pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plot {
    pub x0: f64,
    pub width: f64,
    /// Device pixels per CSS pixel.
    pub dpr: f64,
}

/// A task id to print on a span that has room for it (CSS pixels).
#[derive(Clone, Debug, PartialEq)]
pub struct TaskLabel {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

/// Level of detail for one lane, without allocating: the same merging as the shared
/// [`coalesce`] (spans at least `res` long pass; a run of shorter ones becomes, per window of
/// about `res`, one span per state met, side by side in order of first appearance, each as
/// long as that state's total, so time per state is kept exactly), handed to `emit` one by
/// one. `spans` must be one lane's, sorted by `t0`. The tests check it against [`coalesce`].
pub fn merge_subpixel<'a>(
    spans: impl IntoIterator<Item = &'a Span>,
    res: Nanos,
    mut emit: impl FnMut(Span),
) {
    /// Per state met in the window: (state, total ns, task while all spans agree).
    struct Win {
        lane: gilscope_shared::trace::LaneId,
        start: Nanos,
        n: usize,
        met: [(State, Nanos, Option<u32>); State::ALL.len()],
    }
    fn flush(w: &Win, emit: &mut impl FnMut(Span)) {
        let mut cursor = w.start;
        for &(state, total, task) in &w.met[..w.n] {
            emit(Span {
                lane: w.lane,
                state,
                t0: cursor,
                t1: cursor + total,
                task,
            });
            cursor += total;
        }
    }
    let mut win: Option<Win> = None;
    for span in spans {
        if res <= 1 || span.duration() >= res {
            if let Some(w) = win.take() {
                flush(&w, &mut emit);
            }
            emit(*span);
            continue;
        }
        if win.as_ref().is_some_and(|w| span.t1 > w.start + res) {
            flush(&win.take().expect("checked above"), &mut emit);
        }
        let w = win.get_or_insert(Win {
            lane: span.lane,
            start: span.t0,
            n: 0,
            met: [(State::Idle, 0, None); State::ALL.len()],
        });
        match w.met[..w.n].iter_mut().find(|(s, ..)| *s == span.state) {
            Some((_, total, task)) => {
                *total += span.duration();
                if *task != span.task {
                    *task = None;
                }
            }
            None => {
                w.met[w.n] = (span.state, span.duration(), span.task);
                w.n += 1;
            }
        }
    }
    if let Some(w) = win {
        flush(&w, &mut emit);
    }
}

/// Paints every lane's spans (and each GIL track's holders) into `raster`; answers the task
/// labels that fit, for the canvas to print. `label_px`: width of one character, CSS pixels.
pub fn paint_spans(
    raster: &mut Raster,
    store: &Store,
    rows: &[Row],
    win: Window,
    plot: Plot,
    label_px: f64,
) -> Vec<TaskLabel> {
    let mut labels = Vec::new();
    let res = (win.len() / plot.width).max(1.0) as Nanos;
    let (lo, hi) = (win.t0.max(0.0) as Nanos, win.t1.max(0.0) as Nanos);
    let gil_rows: Vec<(InterpId, Row)> = rows
        .iter()
        .filter_map(|r| match r.kind {
            RowKind::Gil(id) => Some((id, *r)),
            _ => None,
        })
        .collect();
    let dpr = plot.dpr;
    // Colours parsed once per frame, not once per span.
    let colours = State::ALL.map(|s| pixel(s.colour()));
    let (hatch, outline) = (pixel(HATCH), pixel(GET_OUTLINE));
    let period = (9.0 * dpr) as usize;
    for row in rows {
        let RowKind::Lane(i) = row.kind else { continue };
        let lane = &store.lanes[i];
        let pad = (row.h * 0.12).max(1.0);
        let (y0, y1) = (
            ((row.y + pad) * dpr).round() as i64,
            ((row.y + row.h - pad) * dpr).round() as i64,
        );
        // This lane's slice of its interpreter's GIL track.
        let gil = gil_rows
            .iter()
            .find(|(id, _)| *id == lane.lane.interp)
            .map(|(id, r)| {
                let of: Vec<usize> = (0..store.lanes.len())
                    .filter(|&j| store.lanes[j].lane.interp == *id)
                    .collect();
                let k = of.iter().position(|&j| j == i).unwrap_or(0);
                let inner = r.h - 2.0 * pad;
                let h = inner / of.len().max(1) as f64;
                let top = r.y + pad + k as f64 * h;
                ((top * dpr).round() as i64, ((top + h) * dpr).round() as i64)
            });
        let x_min = plot.x0 as i64;
        let x_max = (plot.x0 + plot.width) as i64;
        // Edges round half to even: a window that is half one state, half another then shows
        // each in every other pixel, not always the first.
        let open = lane.open.filter(|s| s.t1 >= lo && s.t0 <= hi);
        merge_subpixel(
            lane.visible(lo, hi).iter().chain(open.as_ref()),
            res,
            |span| {
                if span.state == State::Done {
                    return;
                }
                let x0 = (plot.x0 + win.x(span.t0 as f64, plot.width)).round_ties_even() as i64;
                let x1 = (plot.x0 + win.x(span.t1 as f64, plot.width)).round_ties_even() as i64;
                let (x0, x1) = (x0.max(x_min), x1.min(x_max));
                if x1 <= x0 {
                    return;
                }
                let colour = colours[span.state as usize];
                match span.state {
                    State::WaitGil => raster.hatch(x0, x1, y0, y1, colour, hatch, period),
                    State::BlockedGet => {
                        let b = dpr.round().max(1.0) as i64;
                        raster.fill(x0, x1, y0, y1, outline);
                        raster.fill(x0, x1, y0 + b, y1 - b, colour);
                    }
                    _ => raster.fill(x0, x1, y0, y1, colour),
                }
                if span.state == State::Running {
                    if let Some((g0, g1)) = gil {
                        raster.fill(x0, x1, g0, g1, colour);
                    }
                }
                if let Some(task) = span.task {
                    let w = (x1 - x0) as f64 / dpr;
                    let digits = task.checked_ilog10().unwrap_or(0) as f64 + 1.0;
                    if w >= (digits + 2.0) * label_px {
                        let text = format!("#{task}");
                        labels.push(TaskLabel {
                            x: (x0 + x1) as f64 / 2.0 / dpr,
                            y: row.y + row.h / 2.0,
                            text,
                        });
                    }
                }
            },
        );
    }
    labels
}

/// A GIL hand-off drawn as an arrow from the releasing lane to the acquiring one (CSS px).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrow {
    pub x: f64,
    pub y_from: f64,
    pub y_to: f64,
}

/// The hand-offs in the window, as arrows, when there is room for them: at most one per
/// `min_gap` CSS pixels on average; none otherwise.
pub fn handoff_arrows(
    store: &Store,
    rows: &[Row],
    win: Window,
    plot_x0: f64,
    width: f64,
    min_gap: f64,
) -> Vec<Arrow> {
    let lo = store.handoffs.partition_point(|m| (m.t as f64) < win.t0);
    let hi = store.handoffs.partition_point(|m| (m.t as f64) <= win.t1);
    if hi <= lo || (hi - lo) as f64 > width / min_gap {
        return Vec::new();
    }
    let centre = |lane| {
        let i = store.lane_index(lane)?;
        rows.iter()
            .find(|r| r.kind == RowKind::Lane(i))
            .map(|r| r.y + r.h / 2.0)
    };
    store.handoffs[lo..hi]
        .iter()
        .filter_map(|m| match m.kind {
            MarkKind::Handoff {
                from: Some(from),
                to,
                ..
            } if from != to => Some(Arrow {
                x: plot_x0 + win.x(m.t as f64, width),
                y_from: centre(from)?,
                y_to: centre(to)?,
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::protocol::FrameMsg;
    use gilscope_shared::trace::{GilFlavour, Interpreter, Lane, LaneId, LaneKind, Mark, Trace};

    #[test]
    fn time_and_pixels_convert_both_ways() {
        let w = Window::new(1_000.0, 11_000.0);
        assert_eq!(w.x(6_000.0, 100.0), 50.0);
        assert_eq!(w.t(50.0, 100.0), 6_000.0);
        let z = w.zoom_at(0.25, 0.5);
        assert_eq!(z.len(), 5_000.0);
        assert_eq!(
            z.t(25.0, 100.0),
            w.t(25.0, 100.0),
            "the instant under the cursor stays"
        );
        assert_eq!(w.pan(0.1), Window::new(2_000.0, 12_000.0));
        assert_eq!(w.zoom_at(0.5, 1e-9).len(), MIN_WINDOW_NS);
        assert_eq!(Window::fit(100_000_000).t1, 102_000_000.0);
        assert_eq!(Window::live(1e9), Window::new(0.0, 1e9));
        assert_eq!(Window::live(1e6).t1, MIN_LIVE_NS);
    }

    #[test]
    fn ticks_pick_round_steps_and_units() {
        let labels = |w: Window| -> Vec<String> {
            ticks(w, 1000.0, 100.0)
                .into_iter()
                .map(|t| t.label)
                .collect()
        };
        assert_eq!(
            labels(Window::new(0.0, 1e9)),
            [
                "0 ms", "100 ms", "200 ms", "300 ms", "400 ms", "500 ms", "600 ms", "700 ms",
                "800 ms", "900 ms", "1000 ms"
            ]
        );
        assert_eq!(
            labels(Window::new(0.0, 5e9))[..3],
            ["0.0 s", "0.5 s", "1.0 s"]
        );
        assert_eq!(
            labels(Window::new(0.0, 1e6))[..3],
            ["0 µs", "100 µs", "200 µs"]
        );
        assert_eq!(labels(Window::new(2.5e6, 3e6))[..2], ["2500 µs", "2550 µs"]);
        assert_eq!(
            labels(Window::new(0.0, 4e6))[..3],
            ["0.0 ms", "0.5 ms", "1.0 ms"]
        );
        assert!(ticks(Window::new(0.0, 1e6), 0.0, 100.0).is_empty());
    }

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(fmt_ns(830.0), "830 ns");
        assert_eq!(fmt_ns(12_500.0), "12.5 µs");
        assert_eq!(fmt_ns(5_000_000.0), "5.00 ms");
        assert_eq!(fmt_ns(1.25e9), "1.25 s");
    }

    fn store() -> Store {
        let mut store = Store::default();
        let lane = |id, name: &str| Lane {
            id: LaneId(id),
            interp: gilscope_shared::trace::InterpId(0),
            name: name.into(),
            kind: LaneKind::Worker,
            tid: None,
        };
        let span = |lane, state, t0, t1| Span {
            lane: LaneId(lane),
            state,
            t0,
            t1,
            task: Some(3),
        };
        let mut spans = vec![
            span(1, State::Running, 0, 500),
            span(1, State::WaitGil, 500, 1000),
            span(2, State::WaitGil, 0, 500),
            span(2, State::Running, 500, 1000),
        ];
        // Sub-pixel chatter on lane 2 after 1000 ns: 1000 spans of 1 ns.
        for k in 0..1000 {
            let state = if k % 2 == 0 {
                State::Running
            } else {
                State::Io
            };
            spans.push(span(2, state, 1000 + k, 1001 + k));
        }
        store.apply_frame(FrameMsg {
            run: 1,
            reset: true,
            resolution: 0,
            delta: Trace {
                interpreters: vec![Interpreter {
                    id: gilscope_shared::trace::InterpId(0),
                    name: "MainProcess".into(),
                    gil: GilFlavour::Current,
                    pid: None,
                }],
                lanes: vec![lane(2, "Thread-2"), lane(1, "Thread-1")],
                spans,
                marks: vec![Mark {
                    lane: LaneId(2),
                    t: 500,
                    kind: MarkKind::Handoff {
                        interp: gilscope_shared::trace::InterpId(0),
                        from: Some(LaneId(1)),
                        to: LaneId(2),
                    },
                }],
                end: 2000,
                ..Trace::default()
            }
            .into(),
        });
        store
    }

    const M: Metrics = Metrics {
        axis_h: 20.0,
        lane_h: 10.0,
        gil_h: 10.0,
        group_h: 6.0,
    };

    #[test]
    fn rows_group_lanes_under_their_gil() {
        let store = store();
        let rows = layout(&store, &M);
        assert_eq!(rows.len(), 3);
        assert!(matches!(rows[0].kind, RowKind::Gil(_)));
        assert_eq!(rows[1].kind, RowKind::Lane(0));
        assert_eq!(store.lanes[0].lane.name, "Thread-1");
        assert_eq!(rows_height(&rows, &M), 50.0);
        assert_eq!(row_at(&rows, 25.0).unwrap().kind, rows[0].kind);
        assert_eq!(row_at(&rows, 45.0).unwrap().kind, RowKind::Lane(1));
        assert_eq!(row_at(&rows, 5.0), None);
        assert_eq!(row_at(&rows, 55.0), None);
    }

    #[test]
    fn spans_land_in_their_rows_in_their_colours() {
        let store = store();
        let rows = layout(&store, &M);
        let mut r = Raster::default();
        let white = pixel("#FFFFFF");
        r.reset(120, 50, white);
        // 100 px for 2000 ns: 20 ns per pixel, after a 20 px label column.
        let plot = Plot {
            x0: 20.0,
            width: 100.0,
            dpr: 1.0,
        };
        let labels = paint_spans(&mut r, &store, &rows, Window::new(0.0, 2000.0), plot, 4.0);
        let green = pixel(State::Running.colour());
        let vermillion = pixel(State::WaitGil.colour());
        let hatch = pixel(HATCH);
        // Thread-1 (row y 30..40): running for 25 px, then waiting (hatched).
        assert_eq!(r.get(30, 35), green);
        assert!([vermillion, hatch].contains(&r.get(60, 35)));
        // Nothing in the label column, nothing after the data.
        assert_eq!(r.get(10, 35), white);
        // The GIL track (row y 20..30) shows Thread-1 in its top half, Thread-2 in the bottom.
        assert_eq!(r.get(30, 22), green);
        assert_eq!(r.get(30, 27), white);
        assert_eq!(r.get(60, 27), green);
        // Sub-pixel chatter is merged, not dropped: both states stay visible, in proportion.
        let row: Vec<u32> = (70..120).map(|x| r.get(x, 45)).collect();
        let g = row.iter().filter(|&&p| p == green).count();
        let io = row
            .iter()
            .filter(|&&p| p == pixel(State::Io.colour()))
            .count();
        assert!(g >= 20 && io >= 20, "green {g}, io {io}");
        // Task ids where a span is wide enough.
        assert!(labels.iter().any(|l| l.text == "#3"));
        // The raster's bytes are R, G, B, A.
        assert_eq!(&r.bytes()[..4], &[255, 255, 255, 255]);
        assert_eq!(pixel("#009E73").to_le_bytes(), [0x00, 0x9E, 0x73, 0xFF]);
    }

    #[test]
    fn merging_matches_the_shared_coalesce() {
        let mut seed: u64 = 7;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut spans = Vec::new();
        let mut t = 0;
        for _ in 0..5000 {
            let len = 1 + next() % 300;
            let state = State::ALL[(next() % 8) as usize];
            let task = (next() % 3 != 0).then_some((next() % 2) as u32);
            spans.push(Span {
                lane: LaneId(4),
                state,
                t0: t,
                t1: t + len,
                task,
            });
            t += len;
        }
        for res in [0, 1, 50, 100, 1000, 100_000] {
            let mut mine = Vec::new();
            merge_subpixel(&spans, res, |s| mine.push(s));
            assert_eq!(mine, coalesce(&spans, res), "resolution {res}");
        }
    }

    #[test]
    fn arrows_only_when_there_is_room() {
        let store = store();
        let rows = layout(&store, &M);
        let arrows = handoff_arrows(&store, &rows, Window::new(0.0, 2000.0), 20.0, 100.0, 10.0);
        assert_eq!(
            arrows,
            [Arrow {
                x: 45.0,
                y_from: 35.0,
                y_to: 45.0
            }]
        );
        assert!(
            handoff_arrows(&store, &rows, Window::new(0.0, 2000.0), 20.0, 5.0, 10.0).is_empty()
        );
    }
}
