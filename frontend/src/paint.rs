//! Painting the canvases: the timeline (spans through the raster of [`crate::render`], then
//! labels, axis, arrows and task ids on top; with a pinned run, its block above the run
//! shown's), the queue depth and the core usage. All three share the label column's width and
//! the time window, so their time axes line up.

use gilscope_shared::decimal::shortest;
use gilscope_shared::trace::{CounterKind, State};
use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::lang::{fill, tr, Locale};
use crate::render::{self, Metrics, Plot, Raster, Row, RowKind, Window};
use crate::store::Store;

/// Sizes, in CSS pixels, for normal and projector mode.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub font_px: f64,
    pub line_px: f64,
    /// Width of the label column on the left of every view.
    pub label_w: f64,
    /// Room on the right of the plot.
    pub right_pad: f64,
    pub axis_h: f64,
    pub lane_h_max: f64,
    pub lane_h_min: f64,
    /// Height the lanes may take together before they get thinner.
    pub lanes_room: f64,
    pub core_h: f64,
    pub queue_h: f64,
    /// The language of the canvases' words.
    pub locale: Locale,
}

impl Theme {
    pub fn new(projector: bool, locale: Locale) -> Theme {
        if projector {
            Theme {
                font_px: 24.0,
                line_px: 3.0,
                label_w: 230.0,
                right_pad: 16.0,
                axis_h: 36.0,
                lane_h_max: 44.0,
                lane_h_min: 10.0,
                lanes_room: 520.0,
                core_h: 34.0,
                locale,
                queue_h: 170.0,
            }
        } else {
            Theme {
                font_px: 14.0,
                line_px: 1.5,
                label_w: 140.0,
                right_pad: 10.0,
                axis_h: 24.0,
                lane_h_max: 26.0,
                lane_h_min: 9.0,
                lanes_room: 560.0,
                core_h: 20.0,
                locale,
                queue_h: 110.0,
            }
        }
    }

    /// Row heights for `lanes` threads: as tall as they fit, within bounds.
    pub fn metrics(&self, lanes: usize) -> Metrics {
        let lane_h = crate::bound::clamp(
            self.lanes_room / lanes.max(1) as f64,
            self.lane_h_min,
            self.lane_h_max,
        );
        Metrics {
            axis_h: self.axis_h,
            lane_h,
            gil_h: (lane_h * 1.2).max(self.font_px + 8.0),
            group_h: self.font_px + 8.0,
        }
    }

    fn font(&self, weight: u32) -> String {
        format!(
            "{weight} {}px system-ui, 'DejaVu Sans', sans-serif",
            shortest(self.font_px)
        )
    }
}

const TEXT: &str = "#1A1A1A";
const MUTED: &str = "#4A4A4A";
const GRID: &str = "#D8D8D4";
const BACKGROUND: &str = "#FFFFFF";
const CORE: &str = "#4A4A4A";
/// The title band of the pinned run's block: neutral grey, "kept aside".
const PINNED_BAND: &str = "#E4E4E0";
/// The title band of the run shown when a run is pinned: the chosen lesson's pale green.
const SHOWN_BAND: &str = "#E6F4EF";

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// Gives the canvas a backing store of `css_w × css_h` CSS pixels at `dpr`, and that CSS
/// height; answers the size in device pixels.
fn size(canvas: &HtmlCanvasElement, css_w: f64, css_h: f64, dpr: f64) -> (u32, u32) {
    let (w, h) = ((css_w * dpr).round() as u32, (css_h * dpr).round() as u32);
    if canvas.width() != w {
        canvas.set_width(w);
    }
    if canvas.height() != h {
        canvas.set_height(h);
    }
    let want = format!("{}px", shortest(css_h));
    let style = canvas.style();
    if style.get_property_value("height").ok().as_deref() != Some(want.as_str()) {
        let _ = style.set_property("height", &want);
    }
    (w, h)
}

/// One run's part of the timeline: its data and, when two runs share the axis, the title of
/// its block (`pinned · cpu-threads · emulated`).
pub struct Block<'a> {
    pub store: &'a Store,
    pub title: Option<String>,
    /// The pinned run's block: a grey title band (the run shown has a green one).
    pub pinned: bool,
}

/// Draws the timeline: each block's rows below the one before, all on the same time axis
/// (t = 0 at each run's start); answers each block's rows (CSS pixels) for hit testing.
#[allow(clippy::too_many_arguments)]
pub fn timeline(
    canvas: &HtmlCanvasElement,
    css_w: f64,
    dpr: f64,
    blocks: &[Block],
    win: Window,
    theme: &Theme,
    raster: &mut Raster,
) -> Vec<Vec<Row>> {
    let Some(ctx) = context(canvas) else {
        return Vec::new();
    };
    let lanes = blocks.iter().map(|b| b.store.lanes.len()).sum();
    let metrics = theme.metrics(lanes);
    let title_h = theme.font_px + 14.0;
    // Each block: its title band's top (if titled), then its rows.
    let mut y = metrics.axis_h;
    let mut placed = Vec::with_capacity(blocks.len());
    for block in blocks {
        let band = block.title.as_ref().map(|_| y);
        if band.is_some() {
            y += title_h;
        }
        let rows = render::layout_at(block.store, &metrics, y);
        y = rows.last().map_or(y, |r| r.y + r.h);
        placed.push((band, rows, y));
    }
    let css_h = y + theme.line_px * 2.0;
    let (w, h) = size(canvas, css_w, css_h, dpr);
    let plot_w = (css_w - theme.label_w - theme.right_pad).max(10.0);

    // Grid and spans, into the raster; then one putImageData.
    raster.reset(w as usize, h as usize, render::pixel(BACKGROUND));
    let ticks = render::ticks(win, plot_w, theme.font_px * 7.0);
    let grid = render::pixel(GRID);
    let line = (theme.line_px * dpr / 1.5).round().max(1.0) as i64;
    for tick in &ticks {
        let x = ((theme.label_w + win.x(tick.t, plot_w)) * dpr).round() as i64;
        raster.grid_line(x, x + line, (theme.axis_h * dpr) as i64, grid);
    }
    let plot = Plot {
        x0: theme.label_w * dpr,
        width: plot_w * dpr,
        dpr,
    };
    let mut labels = Vec::new();
    for (block, (_, rows, _)) in blocks.iter().zip(&placed) {
        labels.extend(render::paint_spans(
            raster,
            block.store,
            rows,
            win,
            plot,
            theme.font_px * 0.6,
        ));
    }
    if let Ok(image) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(raster.bytes()), w, h) {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }

    // Text and lines on top, in CSS pixels.
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.set_text_baseline("middle");
    ctx.set_font(&theme.font(500));
    ctx.set_fill_style_str(MUTED);
    ctx.set_text_align("center");
    for tick in &ticks {
        let x = theme.label_w + win.x(tick.t, plot_w);
        let _ = ctx.fill_text(&tick.label, x, theme.axis_h / 2.0);
    }
    ctx.set_text_align("left");
    let mut top = metrics.axis_h;
    for (block, (band, rows, bottom)) in blocks.iter().zip(&placed) {
        if let (Some(y), Some(title)) = (band, &block.title) {
            title_band(&ctx, theme, css_w, *y, title_h, title, block.pinned);
        }
        row_labels(&ctx, theme, css_w, block.store, rows);
        arrows(&ctx, theme, block.store, rows, win, plot_w);
        // The live edge.
        let store = block.store;
        if store.is_live() {
            let x = theme.label_w + win.x(store.now as f64, plot_w);
            if x >= theme.label_w && x <= css_w {
                ctx.set_fill_style_str(TEXT);
                ctx.fill_rect(x, top, theme.line_px, bottom - top);
            }
        }
        top = *bottom;
    }
    // Task ids.
    ctx.set_font(&theme.font(600));
    ctx.set_text_align("center");
    ctx.set_fill_style_str("#FFFFFF");
    for label in &labels {
        let _ = ctx.fill_text(&label.text, label.x, label.y);
    }
    // The axis rule.
    ctx.set_fill_style_str(MUTED);
    ctx.fill_rect(
        theme.label_w,
        theme.axis_h - theme.line_px,
        plot_w,
        theme.line_px,
    );
    placed.into_iter().map(|(_, rows, _)| rows).collect()
}

/// A block's title across the whole width, on a band that tells the pinned run (grey) from
/// the run shown (green), under a thick rule.
fn title_band(
    ctx: &CanvasRenderingContext2d,
    theme: &Theme,
    css_w: f64,
    y: f64,
    h: f64,
    title: &str,
    pinned: bool,
) {
    ctx.set_fill_style_str(if pinned { PINNED_BAND } else { SHOWN_BAND });
    ctx.fill_rect(0.0, y, css_w, h);
    ctx.set_fill_style_str(TEXT);
    ctx.fill_rect(0.0, y, css_w, theme.line_px * 1.5);
    ctx.set_font(&theme.font(700));
    ctx.set_text_align("left");
    let _ = ctx.fill_text_with_max_width(title, 6.0, y + h / 2.0 + 1.0, css_w - 12.0);
}

/// The names in the label column, and a rule above each process group.
fn row_labels(
    ctx: &CanvasRenderingContext2d,
    theme: &Theme,
    css_w: f64,
    store: &Store,
    rows: &[Row],
) {
    for row in rows {
        let (text, weight, colour) = match row.kind {
            RowKind::Lane(i) => (store.lanes[i].lane.name.clone(), 500, TEXT),
            RowKind::Gil(id) => (format!("GIL {}", interp_name(store, id.0)), 700, TEXT),
            RowKind::Group(id) => (format!("{} (no GIL)", interp_name(store, id.0)), 700, TEXT),
        };
        ctx.set_font(&theme.font(weight));
        ctx.set_fill_style_str(colour);
        if row.h >= theme.font_px * 0.9 {
            let _ =
                ctx.fill_text_with_max_width(&text, 6.0, row.y + row.h / 2.0, theme.label_w - 10.0);
        }
        if !matches!(row.kind, RowKind::Lane(_)) {
            // A rule above each process group.
            ctx.set_fill_style_str(MUTED);
            ctx.fill_rect(0.0, row.y, css_w, theme.line_px);
        }
    }
}

/// Hand-off arrows, when zoomed in far enough.
fn arrows(
    ctx: &CanvasRenderingContext2d,
    theme: &Theme,
    store: &Store,
    rows: &[Row],
    win: Window,
    plot_w: f64,
) {
    let arrows =
        render::handoff_arrows(store, rows, win, theme.label_w, plot_w, theme.font_px * 2.0);
    if arrows.is_empty() {
        return;
    }
    ctx.set_stroke_style_str(TEXT);
    ctx.set_fill_style_str(TEXT);
    ctx.set_line_width(theme.line_px);
    let head = theme.font_px * 0.45;
    for a in &arrows {
        let dir = if a.y_to > a.y_from { 1.0 } else { -1.0 };
        ctx.begin_path();
        ctx.move_to(a.x, a.y_from);
        ctx.line_to(a.x, a.y_to - dir * head);
        ctx.stroke();
        ctx.begin_path();
        ctx.move_to(a.x, a.y_to);
        ctx.line_to(a.x - head * 0.7, a.y_to - dir * head);
        ctx.line_to(a.x + head * 0.7, a.y_to - dir * head);
        ctx.close_path();
        ctx.fill();
    }
}

fn interp_name(store: &Store, id: u32) -> String {
    store
        .interpreters
        .iter()
        .find(|i| i.id.0 == id)
        .map_or_else(|| "process".to_string(), |i| i.name.clone())
}

/// Strokes a counter's samples as a step line, `x` and `y_of` placing a time and a value.
fn stroke_steps(
    ctx: &CanvasRenderingContext2d,
    samples: &[gilscope_shared::trace::Sample],
    win: Window,
    x: impl Fn(f64) -> f64,
    y_of: impl Fn(f64) -> f64,
) {
    ctx.begin_path();
    let mut first = true;
    for (t0, t1, v) in steps(samples, win) {
        if first {
            ctx.move_to(x(t0), y_of(v));
            first = false;
        }
        ctx.line_to(x(t0), y_of(v));
        ctx.line_to(x(t1), y_of(v));
    }
    ctx.stroke();
}

/// A counter's samples as steps: each value holds until the next sample.
fn steps(
    samples: &[gilscope_shared::trace::Sample],
    win: Window,
) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
    samples.windows(2).filter_map(move |w| {
        let (a, b) = (w[0], w[1]);
        ((b.t as f64) >= win.t0 && (a.t as f64) <= win.t1)
            .then_some((a.t as f64, b.t as f64, b.value))
    })
}

/// Draws the core usage: one row per core (busy fraction as bar height) and the mean number
/// of busy cores as a line over a scale of whole cores.
pub fn cores(
    canvas: &HtmlCanvasElement,
    css_w: f64,
    dpr: f64,
    store: &Store,
    win: Window,
    theme: &Theme,
) {
    let Some(ctx) = context(canvas) else { return };
    let mut per_core = store.counters_where(|k| matches!(k, CounterKind::CoreUsage { .. }));
    gilscope_shared::sort::sort_by_key(&mut per_core, |c| match c.track.kind {
        CounterKind::CoreUsage { core } => core,
        _ => 0,
    });
    let mean = store.counters_where(|k| matches!(k, CounterKind::CoresBusy));
    let n = per_core.len().max(1);
    let mean_h = theme.core_h * crate::bound::clamp(n as f64, 2.0, 4.0);
    let css_h = theme.core_h * per_core.len() as f64 + mean_h + theme.font_px * 0.8;
    size(canvas, css_w, css_h, dpr);
    let plot_w = (css_w - theme.label_w - theme.right_pad).max(10.0);
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.set_fill_style_str(BACKGROUND);
    ctx.fill_rect(0.0, 0.0, css_w, css_h);
    grid(&ctx, win, plot_w, theme, 0.0, css_h);
    let x = |t: f64| theme.label_w + crate::bound::clamp(win.x(t, plot_w), 0.0, plot_w);
    ctx.set_text_baseline("middle");
    ctx.set_text_align("left");
    let mut y = theme.font_px * 0.4;
    for core in &per_core {
        ctx.set_fill_style_str(CORE);
        ctx.begin_path();
        for (t0, t1, v) in steps(&core.samples, win) {
            let h = (theme.core_h - 2.0) * crate::bound::clamp(v, 0.0, 1.0);
            ctx.rect(
                x(t0),
                y + theme.core_h - 1.0 - h,
                (x(t1) - x(t0)).max(0.0),
                h,
            );
        }
        ctx.fill();
        ctx.set_font(&theme.font(500));
        ctx.set_fill_style_str(TEXT);
        let _ = ctx.fill_text(&core.track.name, 6.0, y + theme.core_h / 2.0);
        ctx.set_fill_style_str(GRID);
        ctx.fill_rect(theme.label_w, y + theme.core_h - 1.0, plot_w, 1.0);
        y += theme.core_h;
    }
    // Mean busy cores, on a scale of 0..=cores.
    let top = y + theme.font_px * 0.4;
    let bottom = y + mean_h;
    let scale = n as f64;
    let y_of = |v: f64| bottom - (bottom - top) * crate::bound::clamp(v / scale, 0.0, 1.0);
    ctx.set_font(&theme.font(700));
    ctx.set_fill_style_str(TEXT);
    let _ = ctx.fill_text(tr!(theme.locale, ui.busy_cores), 6.0, (top + bottom) / 2.0);
    ctx.set_font(&theme.font(500));
    ctx.set_text_align("right");
    for k in 0..=n {
        let yy = y_of(k as f64);
        ctx.set_fill_style_str(GRID);
        ctx.fill_rect(theme.label_w, yy, plot_w, 1.0);
        ctx.set_fill_style_str(MUTED);
        if k > 0 {
            let _ = ctx.fill_text(&k.to_string(), theme.label_w - 6.0, yy);
        }
    }
    ctx.set_text_align("left");
    if let Some(mean) = mean.first() {
        ctx.set_stroke_style_str(TEXT);
        ctx.set_line_width(theme.line_px * 1.5);
        stroke_steps(&ctx, &mean.samples, win, x, y_of);
    }
}

/// Draws every queue's true depth (solid), what `qsize()` reported (dashed) and its
/// capacity (a line marked `maxsize`).
pub fn queue(
    canvas: &HtmlCanvasElement,
    css_w: f64,
    dpr: f64,
    store: &Store,
    win: Window,
    theme: &Theme,
) {
    let Some(ctx) = context(canvas) else { return };
    let queues = &store.queues;
    let css_h = theme.queue_h * queues.len().max(1) as f64;
    size(canvas, css_w, css_h, dpr);
    let plot_w = (css_w - theme.label_w - theme.right_pad).max(10.0);
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.set_fill_style_str(BACKGROUND);
    ctx.fill_rect(0.0, 0.0, css_w, css_h);
    grid(&ctx, win, plot_w, theme, 0.0, css_h);
    let x = |t: f64| theme.label_w + crate::bound::clamp(win.x(t, plot_w), 0.0, plot_w);
    ctx.set_text_baseline("middle");
    for (qi, q) in queues.iter().enumerate() {
        let top = qi as f64 * theme.queue_h + theme.font_px;
        let bottom = (qi + 1) as f64 * theme.queue_h - theme.line_px * 2.0;
        let depth = store
            .counters_where(|k| matches!(k, CounterKind::QueueDepth { queue } if *queue == q.id));
        let qsize = store
            .counters_where(|k| matches!(k, CounterKind::QueueQsize { queue } if *queue == q.id));
        let max_seen = depth
            .iter()
            .chain(&qsize)
            .flat_map(|c| c.samples.iter().map(|s| s.value))
            .fold(1.0f64, f64::max);
        let top_value = q.capacity.map_or(max_seen, |c| (c as f64).max(max_seen)) * 1.1;
        let y_of = |v: f64| bottom - (bottom - top) * crate::bound::clamp(v / top_value, 0.0, 1.0);
        ctx.set_text_align("left");
        ctx.set_font(&theme.font(700));
        ctx.set_fill_style_str(TEXT);
        let title = fill(tr!(theme.locale, ui.queue_depth), &[("name", &q.name)]);
        let _ = ctx.fill_text(&title, 6.0, (top + bottom) / 2.0);
        if let Some(cap) = q.capacity {
            ctx.set_fill_style_str(State::WaitGil.colour());
            ctx.fill_rect(
                theme.label_w,
                y_of(cap as f64) - theme.line_px / 2.0,
                plot_w,
                theme.line_px,
            );
            ctx.set_font(&theme.font(600));
            ctx.set_text_align("right");
            let _ = ctx.fill_text(
                &format!("maxsize {cap}"),
                css_w - theme.right_pad,
                y_of(cap as f64) - theme.font_px * 0.6,
            );
        }
        for (tracks, colour, dash) in [
            (&depth, TEXT, false),
            (&qsize, State::BlockedPut.colour(), true),
        ] {
            let Some(track) = tracks.first() else {
                continue;
            };
            ctx.set_stroke_style_str(colour);
            ctx.set_line_width(theme.line_px * 1.5);
            let pattern = if dash {
                js_sys::Array::of2(
                    &JsValue::from(theme.font_px * 0.5),
                    &JsValue::from(theme.font_px * 0.3),
                )
            } else {
                js_sys::Array::new()
            };
            let _ = ctx.set_line_dash(&pattern);
            stroke_steps(&ctx, &track.samples, win, x, y_of);
        }
        let _ = ctx.set_line_dash(&js_sys::Array::new());
    }
}

/// Vertical grid lines at the time axis' ticks.
fn grid(ctx: &CanvasRenderingContext2d, win: Window, plot_w: f64, theme: &Theme, y0: f64, y1: f64) {
    ctx.set_fill_style_str(GRID);
    for tick in render::ticks(win, plot_w, theme.font_px * 7.0) {
        let x = theme.label_w + win.x(tick.t, plot_w);
        ctx.fill_rect(x, y0, 1.0, y1 - y0);
    }
}

/// Outlines a finding's evidence over the timeline already drawn: a pale band with a thick
/// dark border on each piece's lane (the first piece, zoomed to, thicker still). Answers how
/// many outlines it drew.
pub fn outlines(
    canvas: &HtmlCanvasElement,
    dpr: f64,
    store: &Store,
    rows: &[Row],
    win: Window,
    theme: &Theme,
    evidence: &[gilscope_shared::findings::Evidence],
) -> usize {
    if evidence.is_empty() {
        return 0;
    }
    let Some(ctx) = context(canvas) else {
        return 0;
    };
    let css_w = canvas.width() as f64 / dpr;
    let plot_w = (css_w - theme.label_w - theme.right_pad).max(10.0);
    let boxes = crate::evidence::outlines(
        evidence,
        store,
        rows,
        win,
        theme.label_w,
        plot_w,
        theme.line_px * 4.0,
    );
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.set_stroke_style_str(TEXT);
    for (i, b) in boxes.iter().enumerate() {
        let line = theme.line_px * if i == 0 { 2.0 } else { 1.2 };
        ctx.set_fill_style_str("rgba(255, 255, 255, 0.25)");
        ctx.fill_rect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
        ctx.set_line_width(line);
        ctx.stroke_rect(
            b.x0 + line / 2.0,
            b.y0 + line / 2.0,
            (b.x1 - b.x0 - line).max(1.0),
            (b.y1 - b.y0 - line).max(1.0),
        );
    }
    boxes.len()
}
