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
