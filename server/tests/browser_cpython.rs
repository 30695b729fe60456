//! Real CPython beside the emulation, in a real browser (Debian's Chromium, headless): an
//! emulated run of `cpu-threads` (its small knobs) is pinned, the same lesson runs on the
//! machine's `python3`; the timeline then draws both runs' lanes on one time axis, in two
//! labelled blocks (pinned above), and the cards show both runs' values and their ratio. The program's output is shown; an edit of the code survives a reload, runs on
//! CPython only, and a Python exception shows its traceback. First, a server pointed at a
//! missing python (`GILSCOPE_PYTHON`) shows "Run on CPython" disabled, saying why. Screenshots
//! at 1280×720 and 1920×1080, normal and projector mode, land in
//! `target/screenshots/cpython-*.png`.
//!
//! Needs Chromium (see `browser.rs`) and the machine's `python3` (3.3 to 3.15, with a GIL), as
//! the server finds it; without one the scenario fails, saying what the page said.

mod chromium;

use std::net::SocketAddr;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::Page;
use serde_json::Value;

use chromium::{
    click, eval, screenshot, text, type_into, wait_until, Chromium, Error, Server, CHANGE, LOAD,
};

/// A small run of the lesson (and CPython's start-up) on a loaded machine.
const RUN: Duration = Duration::from_secs(90);

/// Everything, so a stuck step fails the test instead of hanging it.
const WHOLE: Duration = Duration::from_secs(360);

/// The lesson and its small knobs (the preset's own `small`).
const LESSON: &str = "cpu-threads";
const KNOBS: &str = "threads=3&work=3000000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_emulated_run_beside_the_same_lesson_on_cpython() {
    let chromium = Chromium::launch(1280, 720).await;
    let outcome = tokio::time::timeout(WHOLE, async {
        without_python(&chromium).await?;
        let (server, addr) = Server::bind().await;
        let outcome = scenario(&chromium, addr).await;
        server.stop().await;
        outcome
    })
    .await
    .unwrap_or_else(|_| Err(format!("the scenario took over {WHOLE:?}").into()));
    chromium.close().await;
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

/// A server pointed at a missing `python3`: "Run on CPython" is disabled, says why and how to
/// fix it, and pressing it sends nothing.
async fn without_python(chromium: &Chromium) -> Result<(), Error> {
    // The server looks for its CPython once, as it starts (this test is alone in its binary).
    std::env::set_var("GILSCOPE_PYTHON", "/nonexistent/python3");
    let (server, addr) = Server::bind().await;
    let outcome = async {
        let page = chromium::open(
            &chromium.browser,
            &format!("http://{addr}/?lesson={LESSON}"),
        )
        .await?;
        chromium::wait_for_text(&page, "conn-state", "connected", LOAD).await?;
        let note = wait_until(
            &page,
            "cpython-note",
            "why CPython is unavailable",
            CHANGE,
            |t| t.contains("unavailable") && t.contains("/nonexistent/python3"),
        )
        .await?;
        let (disabled, title): (bool, String) = eval(
            &page,
            "(() => { const b = document.querySelector('[data-testid=run-cpython]'); \
             return [b.disabled, b.title]; })()",
        )
        .await?;
        if !disabled || !title.contains("GILSCOPE_PYTHON") {
            return Err(format!(
                "Run on CPython: disabled {disabled}, tooltip {title:?} (should name the fix)"
            )
            .into());
        }
        click(&page, "run-cpython").await?;
        eval::<Value>(&page, "new Promise(r => setTimeout(() => r(0), 300))").await?;
        let runs: Value = eval(&page, "fetch('/api/runs').then(r => r.json())").await?;
        if runs.as_array().is_none_or(|r| !r.is_empty()) {
            return Err(format!("a disabled Run on CPython started a run: {runs}").into());
        }
        if visible(&page, "program-output").await? {
            return Err("the program's output panel shows with no CPython run".into());
        }
        eprintln!("without python: {note}");
        screenshot(&page, "cpython-unavailable.png").await?;
        page.close().await?;
        Ok(())
    }
    .await;
    std::env::remove_var("GILSCOPE_PYTHON");
    server.stop().await;
    outcome
}

async fn scenario(chromium: &Chromium, addr: SocketAddr) -> Result<(), Error> {
    let url = format!("http://{addr}/?lesson={LESSON}&{KNOBS}");
    let page = chromium::open(&chromium.browser, &url).await?;
    chromium::wait_for_text(&page, "conn-state", "connected", LOAD).await?;
    // A fresh profile has no edit of the lesson's code; earlier runs of this test left none.
    wait_until(&page, "code-edit", "the code panel", CHANGE, |_| true).await?;
    if text(&page, "code-note")
        .await?
        .is_some_and(|t| !t.is_empty())
    {
        return Err("a fresh browser profile shows an edited lesson".into());
    }
    let enabled = wait_for_enabled(&page, "run-cpython").await;
    if let Err(err) = enabled {
        let note = text(&page, "cpython-note").await?;
        return Err(
            format!("Run on CPython stays disabled ({err}); the page says {note:?}").into(),
        );
    }

    // 1. The emulated run, pinned.
    let emulated = run_until(&page, "run", "finished").await?;
    let emulated_speedup = wait_until(&page, "card-speedup-value", "a speedup", CHANGE, |t| {
        !t.is_empty()
    })
    .await?;
    let emulated_cores = text(&page, "card-cores-value").await?.unwrap_or_default();
    click(&page, "pin").await?;
    wait_until(&page, "pin", "pinned", CHANGE, |t| t == "pinned").await?;

    // 2. The same lesson, the same knobs, on CPython.
    let cpython = run_until(&page, "run-cpython", "finished").await?;
    if cpython <= emulated {
        return Err(format!("the CPython run ({cpython}) is not newer than {emulated}").into());
    }
    let engine = wait_until(&page, "run-engine", "CPython, sampled", CHANGE, |t| {
        t.starts_with("CPython") && t.contains("sampled at")
    })
    .await?;
    let run: Value = eval(
        &page,
        &format!("fetch('/api/runs/{cpython}').then(r => r.json())"),
    )
    .await?;
    if run["spec"]["engine"] != "cpython" || run["summary"]["engine"] != "cpython" {
        return Err(format!("run {cpython} did not run on CPython: {run}").into());
    }

    // Two labelled blocks on one axis, the pinned one above, each with lanes holding colour.
    let blocks = wait_for_blocks(&page).await?;
    let want_pinned = format!("pinned · {LESSON} · emulated");
    if blocks.len() != 2
        || blocks[0] != want_pinned
        || !blocks[1].starts_with(&format!("{LESSON} · CPython 3."))
        || !blocks[1].ends_with(engine.split_once(" · ").map_or("", |(_, rate)| rate))
    {
        return Err(format!(
            "the timeline's blocks are {blocks:?}, not [{want_pinned:?}, \"{LESSON} · {engine}\"]"
        )
        .into());
    }
    let (pinned_rows, shown_rows) = lane_rows(&page).await?;
    if pinned_rows.is_empty() || shown_rows.is_empty() {
        return Err(format!("lanes: pinned {pinned_rows:?}, shown {shown_rows:?}").into());
    }
    let pinned_bottom = pinned_rows.iter().map(|r| r.1).fold(0.0, f64::max);
    let shown_top = shown_rows.iter().map(|r| r.0).fold(f64::MAX, f64::min);
    if pinned_bottom > shown_top {
        return Err(
            format!("the pinned lanes {pinned_rows:?} are not above {shown_rows:?}").into(),
        );
    }
    for (name, rows) in [("pinned", &pinned_rows), ("CPython", &shown_rows)] {
        let painted = painted_pixels(&page, rows).await?;
        if painted < 50 {
            return Err(
                format!("the {name} block's lanes hold only {painted} state pixels").into(),
            );
        }
        eprintln!("{name} block: {} lanes, {painted} state pixels", rows.len());
    }

    // Hovering a lane of the pinned block tells what it is, and that it is the pinned run's.
    let (y0, y1) = pinned_rows[1];
    let tooltip = hover_painted(&page, (y0 + y1) / 2.0).await?;
    if !tooltip.contains("(pinned run)") {
        return Err(format!("hovering a pinned lane shows {tooltip:?}").into());
    }
    let (y0, y1) = shown_rows[0];
    let tooltip = hover_painted(&page, (y0 + y1) / 2.0).await?;
    if tooltip.is_empty() || tooltip.contains("(pinned run)") {
        return Err(format!("hovering a lane of the run shown shows {tooltip:?}").into());
    }

    // The cards: the value shown is CPython's, the pinned one the emulated run's, and their
    // ratio. The speedup only the emulated run measures: "—", and the pinned value.
    let pinned_cores = wait_until(
        &page,
        "card-cores-pinned",
        "the pinned cores",
        CHANGE,
        |t| !t.is_empty(),
    )
    .await?;
    if pinned_cores != emulated_cores {
        return Err(format!(
            "the pinned cores busy is {pinned_cores:?}, the emulated run showed {emulated_cores:?}"
        )
        .into());
    }
    let shown = text(&page, "card-cores-value").await?.unwrap_or_default();
    let want = run["summary"]["cores_busy_mean"]
        .as_f64()
        .map(|c| format!("{c:.2}"))
        .ok_or(format!("no cores_busy_mean in CPython's summary: {run}"))?;
    if shown != want {
        return Err(format!("the card shows {shown:?}, CPython's summary says {want:?}").into());
    }
    let ratio = text(&page, "card-cores-ratio").await?.unwrap_or_default();
    if !ratio.ends_with("× the pinned") {
        return Err(format!("no ratio on the cores card: {ratio:?}").into());
    }
    let speedup = text(&page, "card-speedup-value").await?;
    let pinned_speedup = text(&page, "card-speedup-pinned").await?;
    if run["summary"]["speedup"].is_null()
        && (speedup.as_deref() != Some("—")
            || pinned_speedup.as_deref() != Some(emulated_speedup.as_str()))
    {
        return Err(format!(
            "speedup card: {speedup:?}, pinned {pinned_speedup:?} (emulated {emulated_speedup:?})"
        )
        .into());
    }
    eprintln!(
        "cores busy: CPython {shown}, pinned (emulated) {pinned_cores}, {ratio}; speedup \
         {speedup:?}, pinned {pinned_speedup:?}; {engine}"
    );

    // What the program printed.
    let stdout = wait_until(&page, "program-stdout", "the lesson's print", CHANGE, |t| {
        t.contains("speedup")
    })
    .await?;
    eprintln!("stdout: {stdout:?}");

    screenshots(&page, "cpython-compare").await?;
    edited_code(&page).await?;
    Ok(())
}

/// The student's code: edited, it survives a reload, says it runs on CPython only, runs
/// there (its print shows), a Python exception fails the run with its traceback shown, and
/// the lesson's code comes back on reset.
async fn edited_code(page: &Page) -> Result<(), Error> {
    if visible(page, "code-editor").await? || !visible(page, "code").await? {
        return Err("the code panel opens as an editor".into());
    }
    click(page, "code-edit").await?;
    if !visible(page, "code-editor").await? || visible(page, "code").await? {
        return Err("Edit does not turn the code into an editor".into());
    }
    let code: String = eval(
        page,
        "document.querySelector('[data-testid=code-editor]').value",
    )
    .await?;
    if !code.contains("THREADS = 3") {
        return Err(format!("the editor does not hold the lesson with its knobs: {code:?}").into());
    }
    let edit = format!("{code}\nprint('edited by the test')\n");
    type_into(page, "code-editor", &edit).await?;
    wait_until(page, "code-note", "the CPython-only note", CHANGE, |t| {
        t.contains("runs on CPython only")
    })
    .await?;
    eval::<bool>(
        page,
        "(document.querySelector('[data-testid=code-editor]').scrollIntoView(), true)",
    )
    .await?;
    screenshot(page, "cpython-edited.png").await?;
    page.reload().await?;
    chromium::wait_for_text(page, "conn-state", "connected", LOAD).await?;
    wait_until(page, "code", "the edit, after a reload", CHANGE, |t| {
        t.contains("edited by the test")
    })
    .await?;
    if !visible(page, "code").await? || !visible(page, "code-reset").await? {
        return Err("after a reload the edit or its reset control is hidden".into());
    }
    wait_for_enabled(page, "run-cpython").await?;
    run_until(page, "run-cpython", "finished").await?;
    wait_until(page, "program-stdout", "the edit's print", CHANGE, |t| {
        t.contains("edited by the test")
    })
    .await?;

    // An exception: the run fails and the traceback is shown.
    click(page, "code-edit").await?;
    type_into(
        page,
        "code-editor",
        "raise ValueError('raised by the test')\n",
    )
    .await?;
    run_until(page, "run-cpython", "failed").await?;
    wait_until(page, "program-stderr", "the traceback", CHANGE, |t| {
        t.contains("Traceback") && t.contains("ValueError: raised by the test")
    })
    .await?;
    if text(page, "program-failure")
        .await?
        .is_none_or(|t| t.is_empty())
    {
        return Err("a failed run shows no failure line".into());
    }
    screenshot(page, "cpython-traceback.png").await?;

    click(page, "code-reset").await?;
    wait_until(
        page,
        "code-editor",
        "the lesson's code again",
        CHANGE,
        |_| true,
    )
    .await?;
    let code: String = eval(
        page,
        "document.querySelector('[data-testid=code-editor]').value",
    )
    .await?;
    let note = text(page, "code-note").await?.unwrap_or_default();
    if code.contains("raised by the test") || !note.is_empty() {
        return Err(format!("reset left the edit: {code:?}").into());
    }
    let saved: Value = eval(page, "localStorage.getItem('gilscope.code.cpu-threads')").await?;
    if !saved.is_null() {
        return Err(format!("reset left the edit in localStorage: {saved}").into());
    }
    Ok(())
}

/// Presses `button` and waits for the run it starts to end in `state` (`finished`,
/// `failed`), on the server and on the page; answers its id.
async fn run_until(page: &Page, button: &str, state: &str) -> Result<u64, Error> {
    let newest = || async {
        let runs: Value = eval(page, "fetch('/api/runs').then(r => r.json())").await?;
        let newest = runs.as_array().and_then(|r| {
            r.iter()
                .filter_map(|r| Some((r["id"].as_u64()?, r["state"].as_str()?.to_string())))
                .max()
        });
        Ok::<_, Error>(newest)
    };
    let before = newest().await?.map_or(0, |(id, _)| id);
    click(page, button).await?;
    let deadline = std::time::Instant::now() + RUN;
    let mut seen = None;
    while std::time::Instant::now() < deadline {
        seen = newest().await?;
        let shown = text(page, "run-state").await?.unwrap_or_default();
        if let Some((id, ended)) = &seen {
            if *id > before && ended == state && shown.starts_with(state) {
                return Ok(*id);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body: String = eval(page, "document.body.innerText").await?;
    Err(format!(
        "pressing {button}: the newest run is {seen:?}, not a new one {state} after {RUN:?}; \
         the page said: {body:?}"
    )
    .into())
}

/// Whether the element with this `data-testid` takes room on the page.
async fn visible(page: &Page, testid: &str) -> Result<bool, Error> {
    eval(
        page,
        &format!(
            "(document.querySelector('[data-testid=\"{testid}\"]')?.getClientRects().length ?? 0) > 0"
        ),
    )
    .await
}

/// Polls until the button is enabled.
async fn wait_for_enabled(page: &Page, testid: &str) -> Result<(), Error> {
    let js = format!("document.querySelector('[data-testid=\"{testid}\"]')?.disabled === false");
    let deadline = std::time::Instant::now() + CHANGE;
    while std::time::Instant::now() < deadline {
        if eval::<bool>(page, &js).await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("[data-testid={testid}] still disabled after {CHANGE:?}").into())
}

/// The timeline's block titles, once there are two.
async fn wait_for_blocks(page: &Page) -> Result<Vec<String>, Error> {
    let js = "document.querySelector('[data-testid=timeline-canvas]').dataset.blocks || ''";
    let deadline = std::time::Instant::now() + CHANGE;
    loop {
        let blocks: String = eval(page, js).await?;
        let blocks: Vec<String> = blocks.lines().map(str::to_string).collect();
        if blocks.len() >= 2 || std::time::Instant::now() > deadline {
            return Ok(blocks);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Rows = Vec<(f64, f64)>;

/// The pinned block's lane rows and the run shown's, in CSS pixels.
async fn lane_rows(page: &Page) -> Result<(Rows, Rows), Error> {
    let read = |name: &str| {
        format!("document.querySelector('[data-testid=timeline-canvas]').dataset.{name} || ''")
    };
    let parse = |s: String| -> Rows {
        s.split(',')
            .filter_map(|r| r.split_once(':'))
            .filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .collect()
    };
    let pinned: String = eval(page, &read("pinnedLaneRows")).await?;
    let shown: String = eval(page, &read("laneRows")).await?;
    Ok((parse(pinned), parse(shown)))
}

/// Pixels of any thread state's colour (docs/visual-design.md) inside these rows.
async fn painted_pixels(page: &Page, rows: &Rows) -> Result<u64, Error> {
    let rows = rows
        .iter()
        .map(|(a, b)| format!("[{a},{b}]"))
        .collect::<Vec<_>>()
        .join(",");
    let js = format!(
        r#"(() => {{
        const colours = new Set(['009e73', 'd55e00', 'f2b48a', '56b4e9', 'cc79a7', 'e69f00',
                                 'f0e442', '0072b2', '999999']);
        const c = document.querySelector('[data-testid="timeline-canvas"]');
        const k = c.height / c.getBoundingClientRect().height;
        const ctx = c.getContext('2d');
        let n = 0;
        for (const [y0, y1] of [{rows}]) {{
            const top = Math.floor(y0 * k), h = Math.max(1, Math.floor((y1 - y0) * k));
            const d = ctx.getImageData(0, top, c.width, h).data;
            for (let i = 0; i < d.length; i += 4) {{
                const hex = ((1 << 24) | (d[i] << 16) | (d[i + 1] << 8) | d[i + 2]).toString(16).slice(1);
                if (colours.has(hex)) n++;
            }}
        }}
        return n;
    }})()"#
    );
    eval(page, &js).await
}

/// Moves the pointer over the first painted pixel of the timeline's row at height `y` (CSS
/// pixels) and answers the tooltip's text.
async fn hover_painted(page: &Page, y: f64) -> Result<String, Error> {
    let js = format!(
        r#"(() => {{
        const c = document.querySelector('[data-testid="timeline-canvas"]');
        const r = c.getBoundingClientRect();
        const k = c.height / r.height;
        const d = c.getContext('2d').getImageData(0, Math.floor({y} * k), c.width, 1).data;
        const label = c.width * 0.2;
        for (let x = Math.ceil(label); x < c.width; x++) {{
            const [red, green, blue] = [d[4 * x], d[4 * x + 1], d[4 * x + 2]];
            if (red + green + blue < 600) {{
                const ev = {{ clientX: r.left + x / k + 1, clientY: r.top + {y}, bubbles: true }};
                c.dispatchEvent(new MouseEvent('mousemove', ev));
                return true;
            }}
        }}
        return false;
    }})()"#
    );
    if !eval::<bool>(page, &js).await? {
        return Err(format!("nothing painted in the row at y = {y}").into());
    }
    wait_until(page, "tooltip", "a tooltip", CHANGE, |t| !t.is_empty()).await
}

/// Screenshots at 1280×720 and 1920×1080, normal and projector mode.
async fn screenshots(page: &Page, name: &str) -> Result<(), Error> {
    // No tooltip left from hovering.
    eval::<bool>(
        page,
        "(document.querySelector('.plots').dispatchEvent(new MouseEvent('mouseleave')), true)",
    )
    .await?;
    for (w, h) in [(1280, 720), (1920, 1080)] {
        page.execute(SetDeviceMetricsOverrideParams::new(w, h, 1.0, false))
            .await?;
        for projector in [false, true] {
            let on: bool = eval(
                page,
                "document.documentElement.classList.contains('projector')",
            )
            .await?;
            if on != projector {
                click(page, "projector").await?;
            }
            // Let the canvas repaint at this size (it redraws on the next animation frame).
            eval::<Value>(
                page,
                "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))",
            )
            .await?;
            let mode = if projector { "-projector" } else { "" };
            screenshot(page, &format!("{name}-{w}x{h}{mode}.png")).await?;
        }
        click(page, "projector").await?;
    }
    page.execute(SetDeviceMetricsOverrideParams::new(1280, 720, 1.0, false))
        .await?;
    Ok(())
}
