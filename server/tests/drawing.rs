//! Drawing speed in a real browser (Debian's Chromium, headless): the drawing benchmark
//! (`window.__gilscope_bench`) for 64 lanes × 200,000 and × 2,000,000 spans at DPR 1 and 2
//! (the larger also zoomed in, to 1/4096 of the run),
//! and the page's frame rate (`requestAnimationFrame`) while a 16-thread run streams at
//! 30 Hz. Figures go to stderr and `target/screenshots/drawing.json`; the bounds checked are
//! far looser than the goals (docs/dashboard.md has the figures), since the machine is shared.

mod chromium;

use std::net::SocketAddr;
use std::time::Duration;

use chromiumoxide::Page;
use serde_json::{json, Value};

use chromium::{
    click, eval, screenshot, screenshot_dir, type_into, wait_until, Chromium, Error, Server,
    CHANGE, LOAD,
};

/// Everything, so a stuck step fails the test instead of hanging it.
const WHOLE: Duration = Duration::from_secs(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redraws_cost_pixels_not_spans_and_live_runs_stay_smooth() {
    let (server, addr) = Server::bind().await;
    let chromium = Chromium::launch(1280, 800).await;
    let outcome = tokio::time::timeout(WHOLE, scenario(&chromium, addr))
        .await
        .unwrap_or_else(|_| Err(format!("the scenario took over {WHOLE:?}").into()));
    chromium.close().await;
    server.stop().await;
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

async fn scenario(chromium: &Chromium, addr: SocketAddr) -> Result<(), Error> {
    let page = chromium::open(&chromium.browser, &format!("http://{addr}/")).await?;
    chromium::wait_for_text(&page, "conn-state", "connected", LOAD).await?;
    let mut figures = Vec::new();
    // The two sizes at both DPRs, whole run in view; then the larger at DPR 2 zoomed in, down
    // past the summary's finest buckets (from 1/32 of the run on, spans are drawn).
    let cases = [200_000, 2_000_000]
        .into_iter()
        .flat_map(|spans| [(spans, 1, 1.0), (spans, 2, 1.0)])
        .chain([1.0 / 16.0, 1.0 / 32.0, 1.0 / 256.0, 1.0 / 4096.0].map(|z| (2_000_000, 2, z)));
    // One bench untimed first: a page's first drawing also pays for compiling the drawing
    // code optimised and for the canvas' first glyphs and buffers, once per page.
    let _: Value = eval(&page, "window.__gilscope_bench(64, 200000, 60, 1280, 1, 1)").await?;
    for (spans, dpr, zoom) in cases {
        let js = format!("window.__gilscope_bench(64, {spans}, 60, 1280, {dpr}, {zoom})");
        let result: Value = eval(&page, &js).await?;
        eprintln!("bench: {result}");
        let p95 = result["p95_ms"].as_f64().ok_or("no p95")?;
        let (summary, own) = (
            result["summary_bytes"].as_f64().unwrap_or(f64::MAX),
            result["spans_bytes"].as_f64().unwrap_or(0.0),
        );
        if summary > own / 4.0 {
            return Err(
                format!("the summary takes {summary} bytes, over a quarter of {own}").into(),
            );
        }
        // The goal is 8 ms; this guards against a return to time per span.
        if p95 > 40.0 {
            return Err(format!("{spans} spans at DPR {dpr}, zoom {zoom}: p95 {p95} ms").into());
        }
        figures.push(result);
        if dpr == 2 && (zoom == 1.0 || zoom == 1.0 / 256.0) {
            // The benchmark's last frame, on the page at CSS size, to look at.
            let _: Value = eval(
                &page,
                "(() => { const c = window.__gilscope_bench_canvas; c.style.width = '1280px'; \
                     c.style.position = 'fixed'; c.style.top = '0'; c.style.left = '0'; \
                     c.style.zIndex = '9'; c.style.background = 'white'; document.body.append(c); \
                     return new Promise(r => requestAnimationFrame(() => r(1))); })()",
            )
            .await?;
            let name = format!("drawing-bench-{spans}-zoom{}.png", (1.0 / zoom) as u32);
            screenshot(&page, &name).await?;
            let _: Value = eval(&page, "(window.__gilscope_bench_canvas.remove(), 1)").await?;
        }
    }
    let fps = live_fps(&page).await?;
    eprintln!("live: {fps}");
    figures.push(fps.clone());
    std::fs::write(
        screenshot_dir().join("drawing.json"),
        serde_json::to_string_pretty(&figures)?,
    )?;
    let median = fps["live"]["fps_median_window"].as_f64().unwrap_or(0.0);
    if median < 20.0 {
        return Err(format!("{median} frames per second while streaming").into());
    }
    Ok(())
}

/// Starts a 16-thread `cpu-threads` run and counts animation frames for 3 s while it streams;
/// answers the frame rate over the whole span and the median of 0.5 s windows.
async fn live_fps(page: &Page) -> Result<Value, Error> {
    click(page, "lesson-cpu-threads").await?;
    wait_until(page, "knobs", "the lesson's knobs", CHANGE, |t| {
        t.contains("threads")
    })
    .await?;
    type_into(page, "knob-threads", "16").await?;
    type_into(page, "knob-work", "400000000").await?;
    click(page, "run").await?;
    wait_until(page, "run-state", "running", CHANGE, |t| {
        t.starts_with("running")
    })
    .await?;
    let measured: Value = eval(
        page,
        "new Promise(done => {
            const stamps = [];
            const spans = () => (document.querySelector('[data-testid=span-count]') || {}).textContent;
            const first = spans();
            const tick = t => {
                stamps.push(t);
                if (t - stamps[0] < 3000) { requestAnimationFrame(tick); return; }
                const fps = [];
                for (let w = stamps[0]; w + 500 <= t; w += 500) {
                    fps.push(stamps.filter(s => s >= w && s < w + 500).length * 2);
                }
                fps.sort((a, b) => a - b);
                let worst = 0;
                for (let i = 1; i < stamps.length; i++) worst = Math.max(worst, stamps[i] - stamps[i - 1]);
                done({frames: stamps.length, seconds: (t - stamps[0]) / 1000,
                      fps: (stamps.length - 1) * 1000 / (t - stamps[0]),
                      fps_median_window: fps[Math.floor(fps.length / 2)], fps_min_window: fps[0],
                      worst_gap_ms: worst, state: document.querySelector('[data-testid=run-state]').textContent,
                      spans_before: first, spans_after: spans()});
            };
            requestAnimationFrame(tick);
        })",
    )
    .await?;
    screenshot(page, "drawing-live.png").await?;
    Ok(json!({ "live": measured }))
}
