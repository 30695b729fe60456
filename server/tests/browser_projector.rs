//! The projector's own screen (issue #12): at 1280×720 in projector mode, during and after a
//! `cpu-threads` run of 4 threads, every lane row of the timeline is inside the viewport
//! without scrolling (the cards stay in one compact row; the timeline gets the height).

mod chromium;

use std::net::SocketAddr;
use std::time::Duration;

use chromium::{eval, screenshot, wait_until, Chromium, Error, Server, LOAD};
use chromiumoxide::Page;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_1280x720_in_projector_mode_every_lane_is_on_screen() {
    let (server, addr) = Server::bind().await;
    let chromium = Chromium::launch(1280, 720).await;
    let outcome = scenario(&chromium, addr).await;
    chromium.close().await;
    server.stop().await;
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

/// Every lane row's bottom, in the page, against what is visible without scrolling (the
/// viewport, and the main panel that scrolls); answers the rows' count.
async fn lanes_on_screen(page: &Page, when: &str) -> Result<usize, Error> {
    let (rows, bottom, visible, scrolled): (usize, f64, f64, f64) = eval(
        page,
        "(() => { \
           const c = document.querySelector('[data-testid=\"timeline-canvas\"]'); \
           const top = c.getBoundingClientRect().top; \
           const rows = (c.dataset.laneRows || '').split(',').filter(r => r.includes(':')) \
             .map(r => top + Number(r.split(':')[1])); \
           const main = document.querySelector('.main').getBoundingClientRect(); \
           const scrolled = document.scrollingElement.scrollTop + document.querySelector('.main').scrollTop; \
           return [rows.length, Math.max(0, ...rows), Math.min(innerHeight, main.bottom), scrolled]; \
         })()",
    )
    .await?;
    if rows == 0 {
        return Err(format!("{when}: no lane drawn").into());
    }
    if scrolled > 0.0 || bottom > visible + 0.5 {
        return Err(format!(
            "{when}: the last of {rows} lane rows ends at {bottom:.0} px, below {visible:.0} px \
             (scrolled {scrolled})"
        )
        .into());
    }
    Ok(rows)
}

async fn scenario(chromium: &Chromium, addr: SocketAddr) -> Result<(), Error> {
    let page = chromium::open(
        &chromium.browser,
        &format!("http://{addr}/?lesson=cpu-threads&threads=4&projector=1"),
    )
    .await?;
    chromium::wait_for_text(&page, "conn-state", "connected", LOAD).await?;
    let on: bool = eval(
        &page,
        "document.documentElement.classList.contains('projector')",
    )
    .await?;
    if !on {
        return Err("projector mode is not on".into());
    }
    chromium::click(&page, "run").await?;
    wait_until(&page, "run-state", "running", LOAD, |r| {
        r.starts_with("running")
    })
    .await?;
    // During the run: once the four threads' lanes are drawn.
    let deadline = std::time::Instant::now() + LOAD;
    loop {
        let rows: usize = eval(
            &page,
            "(document.querySelector('[data-testid=\"timeline-canvas\"]').dataset.laneRows || '') \
             .split(',').filter(r => r.includes(':')).length",
        )
        .await?;
        if rows >= 5 {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("only {rows} lanes drawn during the run").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lanes_on_screen(&page, "during the run").await?;
    screenshot(&page, "projector-1280x720-live.png").await?;
    let finished = |r: &str| r.starts_with("finished");
    wait_until(
        &page,
        "run-state",
        "finished",
        Duration::from_secs(120),
        finished,
    )
    .await?;
    let rows = lanes_on_screen(&page, "after the run").await?;
    screenshot(&page, "projector-1280x720-finished.png").await?;
    eprintln!("{rows} lane rows on screen at 1280x720");
    Ok(())
}
