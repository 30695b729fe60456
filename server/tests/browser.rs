//! The dashboard in a real browser (Debian's Chromium, headless): it connects, shows the
//! server's facts, notices when the server goes away and reconnects by itself when it is
//! back on the same port. Saves a screenshot to `target/screenshots/skeleton.png`.
//!
//! Needs Chromium at /usr/bin/chromium (or `GILSCOPE_CHROMIUM`); `cargo xtask test`
//! installs it. Without it this test fails, saying so.

mod chromium;

use std::net::SocketAddr;

use chromiumoxide::Browser;
use tokio::net::TcpListener;

use chromium::{same, screenshot, text, wait_for_text, Chromium, Error, Server, CHANGE, LOAD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_connects_shows_the_server_and_reconnects() {
    let (server, addr) = Server::bind().await;
    let chromium = Chromium::launch(1280, 800).await;

    // Run the checks, then always close the browser before reporting.
    let outcome = scenario(&chromium.browser, addr, server).await;
    chromium.close().await;
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

async fn scenario(browser: &Browser, addr: SocketAddr, server: Server) -> Result<(), Error> {
    let page = chromium::open(browser, &format!("http://{addr}/")).await?;

    wait_for_text(&page, "conn-state", "connected", LOAD).await?;
    let title = page.get_title().await?;
    same("page title", title.as_deref(), Some("gilscope"))?;

    let cores = std::thread::available_parallelism()?.get().to_string();
    let shown = text(&page, "server-cores").await?;
    same("core count shown", shown.as_deref(), Some(cores.as_str()))?;
    let version = text(&page, "server-version").await?;
    same(
        "version shown",
        version.as_deref(),
        Some(env!("CARGO_PKG_VERSION")),
    )?;
    for frame in ["sidebar", "timeline"] {
        if text(&page, frame).await?.is_none() {
            return Err(format!("no [data-testid={frame}] on the page").into());
        }
    }

    screenshot(&page, "skeleton.png").await?;

    // The server goes away: the page notices.
    server.stop().await;
    wait_for_text(&page, "conn-state", "lost", CHANGE).await?;
    screenshot(&page, "skeleton-lost.png").await?;

    // Back on the same port: the page reconnects by itself.
    let server = Server::start(TcpListener::bind(addr).await?);
    wait_for_text(&page, "conn-state", "connected", CHANGE).await?;
    let shown = text(&page, "server-cores").await?;
    same(
        "core count after reconnecting",
        shown.as_deref(),
        Some(cores.as_str()),
    )?;
    server.stop().await;
    Ok(())
}
