//! A past run opens by its link (`/?run=ID`) in a real browser (Debian's Chromium, headless):
//! its lesson, its knobs and its end are shown even though a later run exists, and the link
//! stays in the address bar until another run is started.

mod chromium;

use std::net::SocketAddr;
use std::time::Duration;

use chromium::{click, eval, wait_for_text, wait_until, Chromium, Error, Server, LOAD};
use serde_json::Value;

/// A run below takes well under a second; this leaves room for a loaded machine.
const RUN: Duration = Duration::from_secs(90);
/// Everything, so a stuck step fails the test instead of hanging it.
const WHOLE: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_run_opens_by_its_link() {
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

/// Starts a run from the page (same origin) and waits until the server says it is over.
async fn run_over_http(page: &chromiumoxide::Page, threads: u32) -> Result<u64, Error> {
    let info: Value = eval(
        page,
        &format!(
            "fetch('/api/runs', {{method: 'POST', headers: {{'content-type': 'application/json'}}, \
             body: JSON.stringify({{preset: 'cpu-threads', knobs: {{threads: {threads}, work: 3000000}}}})}})\
             .then(r => r.json())"
        ),
    )
    .await?;
    let id = info["id"].as_u64().ok_or(format!("not started: {info}"))?;
    let deadline = std::time::Instant::now() + RUN;
    loop {
        let info: Value = eval(
            page,
            &format!("fetch('/api/runs/{id}').then(r => r.json())"),
        )
        .await?;
        if info["state"] == "finished" {
            return Ok(id);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("run {id} never finished: {info}").into());
        }
        // The page's fetch is the only way to ask; the server announces ends over the
        // websocket, which this page's own connection already uses.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scenario(chromium: &Chromium, addr: SocketAddr) -> Result<(), Error> {
    let page = chromium::open(&chromium.browser, &format!("http://{addr}/")).await?;
    wait_for_text(&page, "conn-state", "connected", LOAD).await?;
    // This server keeps nothing, and the past runs' panel says so.
    wait_until(
        &page,
        "history-problem",
        "why runs are not kept",
        LOAD,
        |t| t.contains("keeps no runs"),
    )
    .await?;
    let past = run_over_http(&page, 3).await?;
    let later = run_over_http(&page, 2).await?;
    if later <= past {
        return Err(format!("run {later} after run {past}").into());
    }

    tokio::time::timeout(LOAD, page.goto(format!("http://{addr}/?run={past}")))
        .await
        .map_err(|_| "the run's link did not load")??;
    wait_for_text(&page, "conn-state", "connected", LOAD).await?;
    wait_until(&page, "run-state", "finished", LOAD, |t| {
        t.starts_with("finished")
    })
    .await?;
    let threads: String = eval(
        &page,
        "document.querySelector('[data-testid=\"knob-threads\"]').value",
    )
    .await?;
    chromium::same(
        "threads (the past run's, not the later run's)",
        Some(threads.as_str()),
        Some("3"),
    )?;
    let search: String = eval(&page, "location.search").await?;
    if !search.contains(&format!("run={past}")) || !search.contains("lesson=cpu-threads") {
        return Err(format!("the link lost the run or its lesson: {search}").into());
    }

    // Running again shows the new run and the link forgets the past one.
    click(&page, "run").await?;
    wait_until(&page, "run-state", "the new run", RUN, |t| {
        t.starts_with("running") || t.starts_with("finished") || t == "queued"
    })
    .await?;
    let deadline = std::time::Instant::now() + LOAD;
    loop {
        let search: String = eval(&page, "location.search").await?;
        if !search.contains("run=") {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("the link still names the past run: {search}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Past runs are listed beside the lesson, a run is starred and opened from the list, pinned,
/// and a run file dropped on the page is kept and drawn below the pinned run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_runs_are_listed_starred_opened_and_a_dropped_file_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = Server::bind_keeping(dir.path()).await;
    let chromium = Chromium::launch(1280, 800).await;
    let outcome = tokio::time::timeout(WHOLE, history_scenario(&chromium, addr))
        .await
        .unwrap_or_else(|_| Err(format!("the scenario took over {WHOLE:?}").into()));
    chromium.close().await;
    server.stop().await;
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

/// Waits until the element `selector` exists and answers `js_of_el` evaluated on it as `el`.
async fn wait_for_element(
    page: &chromiumoxide::Page,
    selector: &str,
    js_of_el: &str,
    what: &str,
    ok: impl Fn(&str) -> bool,
) -> Result<String, Error> {
    let js = format!(
        "(() => {{ const el = document.querySelector('{selector}'); return el ? String({js_of_el}) : ''; }})()"
    );
    let deadline = std::time::Instant::now() + LOAD;
    loop {
        let got: String = eval(page, &js).await?;
        if ok(&got) {
            return Ok(got);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("{what}: still {got:?} after {LOAD:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn history_scenario(chromium: &Chromium, addr: SocketAddr) -> Result<(), Error> {
    let page = chromium::open(&chromium.browser, &format!("http://{addr}/")).await?;
    wait_for_text(&page, "conn-state", "connected", LOAD).await?;
    let past = run_over_http(&page, 3).await?;
    let later = run_over_http(&page, 2).await?;
    if chromium::text(&page, "history-problem").await?.is_some() {
        return Err("a server that keeps runs is said not to".into());
    }

    // Both are listed, newest first, once kept (their star button appears).
    let star_id = format!("history-star-{past}");
    let star = format!("[data-testid=\"{star_id}\"]");
    wait_until(&page, &star_id, "the past run's star", LOAD, |t| t == "☆").await?;
    let order: String = eval(
        &page,
        "[...document.querySelectorAll('[data-testid^=\"history-run-\"]')].map(e => e.dataset.testid).join(',')",
    )
    .await?;
    let want = format!("history-run-{later},history-run-{past}");
    if !order.starts_with(&want) {
        return Err(format!("history lists {order}, want {want} first").into());
    }
    let detail: String = eval(
        &page,
        &format!("document.querySelector('[data-testid=\"history-run-{past}\"] .past-detail').textContent"),
    )
    .await?;
    if !detail.contains("threads=3") || !detail.contains("speedup") {
        return Err(format!("the past run's line says {detail:?}: no knobs or figure").into());
    }

    // Star it: the server keeps the star, the list shows it.
    eval::<bool>(
        &page,
        &format!("(document.querySelector('{star}').click(), true)"),
    )
    .await?;
    wait_until(&page, &star_id, "the star", LOAD, |t| t == "★").await?;
    let kept: Value = eval(
        &page,
        &format!("fetch('/api/runs/{past}').then(r => r.json())"),
    )
    .await?;
    if kept["kept"]["starred"] != true {
        return Err(format!("the server did not keep the star: {kept}").into());
    }

    // Open it from the list: its knobs, its end, its link.
    eval::<bool>(
        &page,
        &format!("(document.querySelector('[data-testid=\"history-run-{past}\"] .past-open').click(), true)"),
    )
    .await?;
    wait_until(&page, "run-state", "finished", LOAD, |t| {
        t.starts_with("finished")
    })
    .await?;
    wait_for_element(
        &page,
        "[data-testid=\"knob-threads\"]",
        "el.value",
        "threads of the opened run",
        |v| v == "3",
    )
    .await?;
    let search: String = eval(&page, "location.search").await?;
    if !search.contains(&format!("run={past}")) {
        return Err(format!("the link does not name the opened run: {search}").into());
    }

    // Pin it, then drop its run file on the page: kept under a new id, opened, drawn below.
    click(&page, "pin").await?;
    let dropped: bool = eval(
        &page,
        &format!(
            "fetch('/api/runs/{past}/file').then(r => r.blob()).then(blob => {{
                const dt = new DataTransfer();
                dt.items.add(new File([blob], 'run-{past}.gilscope'));
                return document.body.dispatchEvent(new DragEvent('drop', {{dataTransfer: dt, bubbles: true, cancelable: true}}));
            }})"
        ),
    )
    .await?;
    if dropped {
        return Err("the page did not take the dropped file (drop not prevented)".into());
    }
    let opened = wait_for_element(
        &page,
        "body",
        "location.search",
        "the dropped run's link",
        |s| {
            s.split(['?', '&'])
                .filter_map(|kv| kv.strip_prefix("run="))
                .any(|id| id.parse::<u64>().is_ok_and(|id| id > later))
        },
    )
    .await?;
    wait_until(&page, "run-state", "finished", LOAD, |t| {
        t.starts_with("finished")
    })
    .await?;
    let running = wait_for_element(
        &page,
        "[data-testid=\"timeline-canvas\"]",
        "(() => { const d = el.getContext('2d').getImageData(0, 0, el.width, el.height).data; \
         let n = 0; for (let i = 0; i < d.length; i += 4) \
         if (d[i] === 0x00 && d[i + 1] === 0x9e && d[i + 2] === 0x73) n++; return n; })()",
        "running pixels of the pinned and the dropped run",
        |n| n.parse::<u64>().is_ok_and(|n| n > 2000),
    )
    .await?;
    // Two blocks: the pinned past run above, the dropped one below, each with its lanes.
    chromium::two_blocks(&page, "the pinned run and the dropped one").await?;
    chromium::screenshot(&page, "history-dropped").await?;
    println!("dropped run opened at {opened}; {running} running pixels");
    Ok(())
}
