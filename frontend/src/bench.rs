//! The drawing benchmark, compiled in always and exposed to the page as
//! `window.__gilscope_bench(lanes, spans, frames, css_width, dpr, zoom, blocks)` (see
//! index.html; `zoom`, optional, is the fraction of the run in view; `blocks`, optional, 2
//! draws it as a pinned run above the run shown, half the lanes and spans each, the raster
//! figure then covering one of them): draws a synthetic trace onto an off-screen canvas while
//! panning, timing each full redraw with `performance.now()` (after one untimed frame that
//! sizes the canvas and the raster).

use gilscope_shared::decimal::{fixed, shortest};
use gilscope_shared::protocol::FrameMsg;
use gilscope_shared::trace::{GilFlavour, LaneId, Span, State, Trace};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

use crate::paint::{self, Theme};
use crate::render::{Raster, Window};
use crate::store::Store;

/// A trace of `lanes` threads and about `spans` spans over 10 s, alternating running,
/// waiting for the GIL and I/O with varied lengths (so every pixel column holds several).
pub fn synthetic(lanes: u32, spans: u32) -> Store {
    let per_lane = (spans / lanes.max(1)).max(1) as u64;
    let end: u64 = 10_000_000_000;
    let step = end / per_lane;
    let mut all = Vec::with_capacity(spans as usize);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for lane in 0..lanes {
        let mut t = 0;
        for k in 0..per_lane {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = step / 2 + seed % step;
            let state = [State::Running, State::WaitGil, State::Io][(k % 3) as usize];
            all.push(Span {
                lane: LaneId(lane),
                state,
                t0: t,
                t1: t + len,
                task: Some(k as u32),
            });
            t += len;
        }
    }
    let mut store = Store::default();
    store.apply_frame(FrameMsg {
        run: 1,
        reset: true,
        resolution: 0,
        delta: Trace {
            spans: all,
            end,
            ..Trace::threads(GilFlavour::Current, lanes)
        }
        .into(),
    });
    store
}

/// Draws the synthetic trace `frames` times, panning a little each time; answers JSON with
/// the median, p95 and max milliseconds per full redraw, what was drawn, and the
/// bytes of the lanes' summaries against the spans' own.
#[wasm_bindgen]
pub fn gilscope_bench(
    lanes: u32,
    spans: u32,
    frames: u32,
    css_width: f64,
    dpr: f64,
    zoom: Option<f64>,
    blocks: Option<u32>,
) -> String {
    let pinned = blocks == Some(2);
    let store = if pinned {
        synthetic(lanes / 2, spans / 2)
    } else {
        synthetic(lanes, spans)
    };
    let Some(canvas) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok())
    else {
        return "{\"error\":\"no canvas\"}".into();
    };
    let perf = web_sys::window().and_then(|w| w.performance());
    let now = || perf.as_ref().map_or(0.0, |p| p.now());
    let theme = Theme::new(false, crate::lang::Locale::en);
    let mut raster = Raster::default();
    // The whole run in view (or the `zoom` fraction of it around its middle), then panned by
    // 0.5 % a frame: every frame redraws everything.
    let start = Window::fit(store.now).zoom_at(0.5, zoom.unwrap_or(1.0));
    let mut win = start;
    // One frame untimed first: it sizes the canvas and the raster, once per page, not per
    // redraw.
    let block = |pinned: bool| paint::Block {
        store: &store,
        title: pinned.then(|| "pinned · synthetic · emulated".to_string()),
        pinned,
    };
    let blocks = if pinned {
        vec![block(true), block(false)]
    } else {
        vec![block(false)]
    };
    paint::timeline(&canvas, css_width, dpr, &blocks, win, &theme, &mut raster);
    let mut times = Vec::with_capacity(frames as usize);
    for _ in 0..frames {
        let t0 = now();
        paint::timeline(&canvas, css_width, dpr, &blocks, win, &theme, &mut raster);
        times.push(now() - t0);
        win = win.pan(0.005);
    }
    // The last frame stays reachable, for a test to put on the page and look at.
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::set(&window, &"__gilscope_bench_canvas".into(), &canvas);
    }
    // The raster part alone (layout, level of detail, filling, the backdrop of the rows no
    // lane wrote), for the docs' breakdown; and a whole clear, for scale.
    let metrics = theme.metrics(store.lanes.len());
    let rows = crate::render::layout(&store, &metrics);
    let plot = crate::render::Plot {
        x0: theme.label_w * dpr,
        width: (css_width - theme.label_w - theme.right_pad) * dpr,
        dpr,
    };
    let mut spans_only = Vec::with_capacity(frames as usize);
    let mut clears = Vec::with_capacity(frames as usize);
    let mut win = start;
    for _ in 0..frames {
        let (w, h) = (canvas.width() as usize, canvas.height() as usize);
        let t0 = now();
        raster.reset(w, h, 0xffff_ffff);
        std::hint::black_box(raster.bytes());
        clears.push(now() - t0);
        let t0 = now();
        raster.reset(w, h, 0xffff_ffff);
        crate::render::paint_spans(&mut raster, &store, &rows, win, plot, 8.0);
        std::hint::black_box(raster.bytes());
        spans_only.push(now() - t0);
        win = win.pan(0.005);
    }
    for list in [&mut spans_only, &mut clears, &mut times] {
        gilscope_shared::sort::sort_by_key(list, |t| *t);
    }
    let pick = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    // The summary's memory against the spans' own.
    let summary: usize = store.lanes.iter().map(|l| l.summary.bytes()).sum();
    let own = store.span_count() * size_of::<Span>();
    let lanes = store.lanes.len() * blocks.len();
    format!(
        "{{\"blocks\":{},\"summary_bytes\":{summary},\"spans_bytes\":{own},\"lanes\":{lanes},\"spans\":{},\"frames\":{frames},\"width\":{},\"dpr\":{},\"zoom\":{},\"canvas\":[{},{}],\"median_ms\":{},\"p95_ms\":{},\"max_ms\":{},\"raster_median_ms\":{},\"clear_median_ms\":{}}}",
        blocks.len(),
        store.span_count() * blocks.len(),
        shortest(css_width),
        shortest(dpr),
        shortest(zoom.unwrap_or(1.0)),
        canvas.width(),
        canvas.height(),
        fixed(pick(0.5), 3),
        fixed(pick(0.95), 3),
        fixed(pick(1.0), 3),
        fixed(spans_only[spans_only.len() / 2], 3),
        fixed(clears[clears.len() / 2], 3)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_trace_has_what_was_asked() {
        let store = super::synthetic(64, 200_000);
        assert_eq!(store.lanes.len(), 64);
        assert_eq!(store.span_count(), 64 * 3125);
    }
}
