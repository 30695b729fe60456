//! Painting the lanes into the raster. Per lane, the pieces to draw come from the lane's
//! summary ([`crate::pyramid`]: about one bucket per device pixel at any zoom) or, zoomed in
//! past it, from the spans themselves merged to the pixel ([`merge_subpixel`]); either way
//! they are first coloured into one scanline, which is then copied into each of the lane's
//! rows (hatching, outlines and the GIL track are patched in per row): the cost of a frame is
//! pixels, not spans.

use gilscope_shared::trace::{InterpId, Nanos, State};

use super::{merge_subpixel, pixel, Raster, Row, RowKind, Window};
use crate::store::{LaneData, Store};

/// The lighter stripe of the hatching of "waiting for the GIL".
pub(super) const HATCH: &str = "#F2B48A";
/// The outline of "blocked in get" (yellow on white needs one).
const GET_OUTLINE: &str = "#5C5500";

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

/// One lane's pixels before they go into its rows: a colour per column (the raster's backdrop
/// where nothing was painted), and the runs of columns that were painted.
struct Scanline {
    colour: Vec<u32>,
    runs: Vec<(usize, usize)>,
    /// States met, as bits of `1 << state`: which per-row patches are needed.
    met: u32,
}

impl Scanline {
    #[inline]
    fn put(&mut self, x0: i64, x1: i64, state: State, colour: u32) {
        let (x0, x1) = (x0 as usize, x1 as usize);
        self.colour[x0..x1].fill(colour);
        self.met |= 1 << state as u32;
        match self.runs.last_mut() {
            Some(run) if x0 <= run.1 => run.1 = run.1.max(x1),
            _ => self.runs.push((x0, x1)),
        }
    }

    fn has(&self, state: State) -> bool {
        self.met & (1 << state as u32) != 0
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
    let res = win.len() / plot.width;
    let (lo, hi) = (win.t0.max(0.0) as Nanos, win.t1.max(0.0) as Nanos);
    let dpr = plot.dpr;
    // Colours parsed once per frame, not once per span.
    let colours = State::ALL.map(|s| pixel(s.colour()));
    let x_min = crate::bound::clamp(plot.x0 as i64, 0, raster.width as i64);
    let x_max = crate::bound::clamp((plot.x0 + plot.width) as i64, x_min, raster.width as i64);
    // Edges round half to even: a window that is half one state, half another then shows
    // each in every other pixel, not always the first.
    // Device pixels per ns: an edge costs a multiplication, not a division.
    let scale = plot.width / win.len();
    let x_of = |t: f64| (plot.x0 + (t - win.t0) * scale).round_ties_even() as i64;
    let to_px = |t0: f64, t1: f64| {
        let (x0, x1) = (x_of(t0), x_of(t1));
        let (x0, x1) = (x0.max(x_min), x1.min(x_max));
        (x1 > x0).then_some((x0, x1))
    };
    let mut line = Scanline {
        colour: raster.backdrop().to_vec(),
        runs: Vec::new(),
        met: 0,
    };
    for row in rows {
        let RowKind::Lane(i) = row.kind else { continue };
        let lane = &store.lanes[i];
        for &(a, b) in &line.runs {
            line.colour[a..b].copy_from_slice(&raster.backdrop()[a..b]);
        }
        line.runs.clear();
        line.met = 0;
        let put = |line: &mut Scanline, state: State, t0: f64, t1: f64| {
            let px = to_px(t0, t1).filter(|_| state != State::Done);
            if let Some((x0, x1)) = px {
                line.put(x0, x1, state, colours[state as usize]);
            }
            px
        };
        let mut label = |(x0, x1): (i64, i64), task: u32| {
            let w = (x1 - x0) as f64 / dpr;
            let digits = task.checked_ilog10().unwrap_or(0) as f64 + 1.0;
            if w >= (digits + 2.0) * label_px {
                labels.push(TaskLabel {
                    x: (x0 + x1) as f64 / 2.0 / dpr,
                    y: row.y + row.h / 2.0,
                    text: format!("#{task}"),
                });
            }
        };
        let open = lane.open.filter(|s| s.t1 >= lo && s.t0 <= hi);
        match lane.summary.level_for(res) {
            Some(k) => {
                // Pieces are contiguous: most start where the last ended, at a pixel edge
                // already found (about three pieces a bucket, one or two pixels a bucket).
                let mut edge = (f64::NAN, 0);
                lane.summary.pieces(k, win.t0, win.t1, |state, t0, t1| {
                    let x0 = if t0 == edge.0 { edge.1 } else { x_of(t0) };
                    let x1 = x_of(t1);
                    edge = (t1, x1);
                    let (x0, x1) = (x0.max(x_min), x1.min(x_max));
                    if x1 > x0 && state != State::Done {
                        line.put(x0, x1, state, colours[state as usize]);
                    }
                });
                if let Some(span) = open {
                    put(&mut line, span.state, span.t0 as f64, span.t1 as f64);
                }
                // The summary has no task ids: the spans wide enough for one are indexed.
                for &at in lane.summary.long_spans(&lane.spans, lo, hi) {
                    let span = lane.spans[at as usize];
                    if let (Some(task), Some(px)) =
                        (span.task, to_px(span.t0 as f64, span.t1 as f64))
                    {
                        label(px, task);
                    }
                }
            }
            None => merge_subpixel(
                lane.visible(lo, hi).iter().chain(open.as_ref()),
                res.max(1.0) as Nanos,
                |span| {
                    let px = put(&mut line, span.state, span.t0 as f64, span.t1 as f64);
                    if let (Some(px), Some(task)) = (px, span.task) {
                        label(px, task);
                    }
                },
            ),
        }
        let pad = (row.h * 0.12).max(1.0);
        let (y0, y1) = (
            ((row.y + pad) * dpr).round() as i64,
            ((row.y + row.h - pad) * dpr).round() as i64,
        );
        let gil = gil_slice(store, rows, lane, i, pad, dpr);
        rows_from(raster, &line, y0, y1, gil, dpr, &colours);
    }
    labels
}

/// This lane's slice of its interpreter's GIL track, in device pixels, if it has one.
fn gil_slice(
    store: &Store,
    rows: &[Row],
    lane: &LaneData,
    i: usize,
    pad: f64,
    dpr: f64,
) -> Option<(i64, i64)> {
    let interp: InterpId = lane.lane.interp;
    let r = rows.iter().find(|r| r.kind == RowKind::Gil(interp))?;
    let of = store
        .lanes
        .iter()
        .filter(|l| l.lane.interp == interp)
        .count();
    let k = store.lanes[..i]
        .iter()
        .filter(|l| l.lane.interp == interp)
        .count();
    let inner = r.h - 2.0 * pad;
    let h = inner / of.max(1) as f64;
    let top = r.y + pad + k as f64 * h;
    Some(((top * dpr).round() as i64, ((top + h) * dpr).round() as i64))
}

/// Copies the scanline into rows `y0..y1` (whole: they are written once a frame), then
/// patches in the hatching of "waiting for the GIL", the outline of "blocked in get", and
/// "running" into the GIL track's rows `gil`.
fn rows_from(
    raster: &mut Raster,
    line: &Scanline,
    y0: i64,
    y1: i64,
    gil: Option<(i64, i64)>,
    dpr: f64,
    colours: &[u32; State::ALL.len()],
) {
    let h = raster.height as i64;
    let clip = |a: i64, b: i64| {
        (crate::bound::clamp(a, 0, h) as usize)..(crate::bound::clamp(b, 0, h) as usize)
    };
    let width = raster.width;
    let hatch = line.has(State::WaitGil).then(|| Hatch {
        of: colours[State::WaitGil as usize],
        stripe: pixel(HATCH),
        period: ((9.0 * dpr) as usize).max(3),
    });
    for y in clip(y0, y1) {
        let (above, row) = raster.overwrite_row(y);
        match &hatch {
            None => row.copy_from_slice(&line.colour),
            Some(h) if y as i64 > y0.max(0) => h.next_row(row, &above[(y - 1) * width..], line, y),
            Some(h) => h.row(row, line, y),
        }
    }
    if line.has(State::BlockedGet) {
        let b = dpr.round().max(1.0) as i64;
        let outline = pixel(GET_OUTLINE);
        let blocked = colours[State::BlockedGet as usize];
        patch(raster, line, clip(y0, (y0 + b).min(y1)), blocked, |_, _| {
            outline
        });
        patch(
            raster,
            line,
            clip((y1 - b).max(y0 + b), y1),
            blocked,
            |_, _| outline,
        );
    }
    if let (Some((g0, g1)), true) = (gil, line.has(State::Running)) {
        let running = colours[State::Running as usize];
        patch(raster, line, clip(g0, g1), running, |_, _| running);
    }
}

/// Replaces, in rows `ys`, the scanline's pixels of colour `of` by what `with(x, y)` says.
fn patch(
    raster: &mut Raster,
    line: &Scanline,
    ys: std::ops::Range<usize>,
    of: u32,
    with: impl Fn(usize, usize) -> u32,
) {
    for y in ys {
        let row = raster.row_mut(y);
        for &(a, b) in &line.runs {
            for (x, (px, &c)) in row[a..b].iter_mut().zip(&line.colour[a..b]).enumerate() {
                if c == of {
                    *px = with(a + x, y);
                }
            }
        }
    }
}

/// The hatching of "waiting for the GIL": pixel `(x, y)` of colour `of` takes `stripe` when
/// `(x + y) % period` is in the first third, so the state reads without colour.
struct Hatch {
    of: u32,
    stripe: u32,
    period: usize,
}

impl Hatch {
    /// Row `y` from the scanline, then the stripes' pixels in its runs.
    fn row(&self, row: &mut [u32], line: &Scanline, y: usize) {
        let on = self.period / 3;
        row.copy_from_slice(&line.colour);
        for &(a, b) in &line.runs {
            let mut s = self.first(a, y);
            while s < b as isize {
                let (s0, s1) = (
                    s.max(a as isize) as usize,
                    ((s + on as isize) as usize).min(b),
                );
                if s0 < s1 {
                    for (px, &c) in row[s0..s1].iter_mut().zip(&line.colour[s0..s1]) {
                        if c == self.of {
                            *px = self.stripe;
                        }
                    }
                }
                s += self.period as isize;
            }
        }
    }

    /// Row `y` from row `y - 1` (`above`), whose stripes all move one pixel left: per stripe,
    /// one pixel enters it and one leaves, instead of a third of the row to test.
    fn next_row(&self, row: &mut [u32], above: &[u32], line: &Scanline, y: usize) {
        let on = self.period as isize / 3;
        row.copy_from_slice(&above[..row.len()]);
        for &(a, b) in &line.runs {
            let (a, b) = (a as isize, b as isize);
            // Stripes of row y - 1 start at `s`; in row y they span `s - 1 .. s - 1 + on`.
            let mut s = self.first(a as usize, y - 1);
            while s <= b {
                let (enter, leave) = (s - 1, s + on - 1);
                if (a..b).contains(&enter) && line.colour[enter as usize] == self.of {
                    row[enter as usize] = self.stripe;
                }
                if (a..b).contains(&leave) {
                    row[leave as usize] = line.colour[leave as usize];
                }
                s += self.period as isize;
            }
        }
    }

    /// The start of the stripe of row `y` at or before `x`.
    fn first(&self, x: usize, y: usize) -> isize {
        x as isize - ((x + y) % self.period) as isize
    }
}
