//! The run's findings in a real browser (Debian's Chromium, headless): `counter-race` with
//! its small knobs (`form=call`), more increments and a 0.1 ms switch interval loses updates; the "What happened" panel says how many (the
//! summary's own count), clicking the finding zooms the timeline to a stale write and
//! outlines it, Escape forgets it. In projector mode the top finding is one line at 1280×720,
//! also with the longest sentence the rules can write. Screenshots at 1280×720 and
//! 1920×1080, normal and projector, land in `target/screenshots/findings-*.png`.
//!
//! Needs Chromium (see `browser.rs`).

mod chromium;

use std::net::SocketAddr;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::Page;
use gilscope_shared::findings::{english, extreme_facts};
use serde_json::Value;

use chromium::{click, eval, screenshot, wait_until, Chromium, Error, Server, CHANGE, LOAD};

/// A small run on a loaded machine.
const RUN: Duration = Duration::from_secs(90);

/// Everything, so a stuck step fails the test instead of hanging it.
const WHOLE: Duration = Duration::from_secs(300);

/// The lesson's own `small` knobs (`threads=3`, `form=call`) with switches every 0.1 ms and
/// ten times the increments: at the default 5 ms the 6 ms run has too few switches to lose an
/// update, and even at 0.1 ms a 20,000-increment run loses none about one time in three
/// (8 hand-offs in 7 ms); 200,000 give it a few hundred.
const URL_QUERY: &str =
    "lesson=counter-race&threads=3&increments=200000&form=call&switch_interval_ms=0.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_the_lost_updates_finding_zooms_to_a_stale_write() {
    let chromium = Chromium::launch(1280, 720).await;
    let (server, addr) = Server::bind().await;
    let outcome = tokio::time::timeout(WHOLE, scenario(&chromium, addr))
        .await
        .unwrap_or_else(|_| Err(format!("the scenario took over {WHOLE:?}").into()));
    server.stop().await;
    chromium.close().await;
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

/// The canvas' `data-<name>` as numbers `a:b,c:d` → [(a, b), (c, d)].
async fn ranges(page: &Page, name: &str) -> Result<Vec<(f64, f64)>, Error> {
    let raw: String = eval(
        page,
        &format!(
            "document.querySelector('[data-testid=timeline-canvas]').getAttribute('data-{name}') || ''"
        ),
    )
    .await?;
    raw.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (a, b) = p
                .split_once(':')
                .ok_or_else(|| format!("data-{name}: {raw:?}"))?;
            Ok((a.parse::<f64>()?, b.parse::<f64>()?))
        })
        .collect()
}

async fn canvas_data(page: &Page, name: &str) -> Result<String, Error> {
    eval(
        page,
        &format!(
            "document.querySelector('[data-testid=timeline-canvas]').getAttribute('data-{name}') || ''"
        ),
    )
    .await
}

/// Polls the canvas' `data-<name>` until `check` accepts it.
async fn wait_canvas(
    page: &Page,
    name: &str,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> Result<String, Error> {
    let deadline = tokio::time::Instant::now() + CHANGE;
    loop {
        let got = canvas_data(page, name).await?;
        if check(&got) {
            return Ok(got);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("canvas data-{name} was {got:?}, not {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scenario(chromium: &Chromium, addr: SocketAddr) -> Result<(), Error> {
    let page = chromium::open(&chromium.browser, &format!("http://{addr}/?{URL_QUERY}")).await?;
    chromium::wait_for_text(&page, "conn-state", "connected", LOAD).await?;
    wait_until(&page, "setup-line", "the lesson's knobs", CHANGE, |t| {
        t.contains("counter-race") && t.contains("form=call")
    })
    .await?;
    wait_until(&page, "findings", "the panel before a run", CHANGE, |t| {
        t.contains("What happened")
    })
    .await?;
    click(&page, "run").await?;
    wait_until(&page, "run-state", "finished", RUN, |t| {
        t.starts_with("finished")
    })
    .await?;

    // The finding, with the summary's own numbers.
    let sentence = wait_until(
        &page,
        "finding-lost_updates",
        "the lost updates",
        CHANGE,
        |t| t.contains("updates lost"),
    )
    .await?;
    let runs: Value = eval(&page, "fetch('/api/runs').then(r => r.json())").await?;
    let id = runs
        .as_array()
        .and_then(|r| r.iter().filter_map(|r| r["id"].as_u64()).max())
        .ok_or_else(|| format!("no run in /api/runs: {runs}"))?;
    let run: Value = eval(
        &page,
        &format!("fetch('/api/runs/{id}').then(r => r.json())"),
    )
    .await?;
    // The lesson's figures, flattened into the summary's JSON or under `figures`.
    let figure = |name: &str| {
        let s = &run["summary"];
        s[name]
            .as_i64()
            .or(s["figures"][name].as_i64())
            .unwrap_or(-1)
    };
    let (lost, expected) = (figure("lost_updates"), figure("expected_count"));
    if !sentence.contains(&format!("{lost} of {expected} updates lost")) {
        return Err(format!("finding {sentence:?}, summary lost {lost} of {expected}").into());
    }
    let first: String = eval(
        &page,
        "document.querySelector('.finding-list button')?.dataset.testid ?? ''",
    )
    .await?;
    if first != "finding-lost_updates" {
        return Err(format!("a wrong result should come first, not {first}").into());
    }
    let whole = ranges(&page, "window").await?;
    let whole = *whole.first().ok_or("no data-window on the canvas")?;
    screenshot(&page, "findings-1280x720.png").await?;

    // Click: the view zooms to the first stale write, which is outlined.
    click(&page, "finding-lost_updates").await?;
    wait_canvas(&page, "focus", "the evidence", |f| !f.is_empty()).await?;
    wait_canvas(&page, "outlines", "an outline", |o| {
        o.parse::<u32>().unwrap_or(0) >= 1
    })
    .await?;
    let focus = ranges(&page, "focus").await?;
    let win = ranges(&page, "window").await?[0];
    let (t0, t1) = focus[0];
    eprintln!("whole {whole:?}, zoomed {win:?}, evidence {focus:?}");
    if !(win.0 <= t0 && t1 <= win.1) {
        return Err(format!("window {win:?} does not hold the evidence {t0}..{t1}").into());
    }
    if win.1 - win.0 > (whole.1 - whole.0) / 2.0 {
        return Err(format!("no zoom: window {win:?}, whole run {whole:?}").into());
    }
    if t1 < t0 || t1 > whole.1 {
        return Err(format!("evidence {t0}..{t1} outside the run {whole:?}").into());
    }
    let pressed: String = eval(
        &page,
        "document.querySelector('[data-testid=finding-lost_updates]').getAttribute('aria-pressed')",
    )
    .await?;
    if pressed != "true" {
        return Err(format!("the finding clicked is not marked as shown: {pressed}").into());
    }
    screenshot(&page, "findings-1280x720-zoomed.png").await?;

    // Escape forgets the outline; the view stays.
    eval::<Value>(
        &page,
        "(window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' })), 0)",
    )
    .await?;
    wait_canvas(&page, "outlines", "no outline", |o| o == "0").await?;

    // Projector mode: the top finding is one line, even the longest the rules write.
    click(&page, "projector").await?;
    let top = wait_until(&page, "top-finding-text", "the top finding", CHANGE, |t| {
        t.contains("updates lost")
    })
    .await?;
    one_line(&page, &top).await?;
    // Every rule's sentence at the largest numbers the lessons allow, measured in place.
    let shown = top.clone();
    let mut longest = String::new();
    for sentence in extreme_facts().iter().map(english) {
        eval::<Value>(
            &page,
            &format!(
                "(document.querySelector('[data-testid=top-finding-text]').textContent = {sentence:?}, 0)"
            ),
        )
        .await?;
        one_line(&page, &sentence).await?;
        if sentence.chars().count() > longest.chars().count() {
            longest = sentence;
        }
    }
    eval::<Value>(
        &page,
        &format!(
            "(document.querySelector('[data-testid=top-finding-text]').textContent = {longest:?}, 0)"
        ),
    )
    .await?;
    screenshot(&page, "findings-1280x720-projector-longest.png").await?;
    eval::<Value>(
        &page,
        &format!(
            "(document.querySelector('[data-testid=top-finding-text]').textContent = {shown:?}, 0)"
        ),
    )
    .await?;
    screenshot(&page, "findings-1280x720-projector.png").await?;

    // The larger screen, normal and projector.
    page.execute(SetDeviceMetricsOverrideParams::new(1920, 1080, 1.0, false))
        .await?;
    click(&page, "finding-lost_updates").await?;
    for projector in [true, false] {
        let on: bool = eval(
            &page,
            "document.documentElement.classList.contains('projector')",
        )
        .await?;
        if on != projector {
            click(&page, "projector").await?;
        }
        // Let the canvas repaint at this size (on the next animation frame).
        eval::<Value>(
            &page,
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(0))))",
        )
        .await?;
        let name = if projector {
            "findings-1920x1080-projector.png"
        } else {
            "findings-1920x1080.png"
        };
        screenshot(&page, name).await?;
    }
    Ok(())
}

/// The top finding's sentence takes one line and is not cut.
async fn one_line(page: &Page, sentence: &str) -> Result<(), Error> {
    let (scroll, client, height, line): (f64, f64, f64, f64) = eval(
        page,
        "(() => { const e = document.querySelector('[data-testid=top-finding-text]'); \
         const s = getComputedStyle(e); \
         return [e.scrollWidth, e.clientWidth, e.getBoundingClientRect().height, \
                 parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.25]; })()",
    )
    .await?;
    eprintln!(
        "top finding: {} characters, {scroll} of {client} px wide, {height} px high (line {line})",
        sentence.chars().count()
    );
    if scroll > client || height > line * 1.5 {
        return Err(format!(
            "the top finding does not fit one line at 1280×720 ({scroll} px of {client}, \
             {height} px high for lines of {line}): {sentence:?}"
        )
        .into());
    }
    Ok(())
}
