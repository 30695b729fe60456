//! The dashboard in a real browser (Debian's Chromium, headless): it connects, shows the
//! server's facts, notices when the server goes away and reconnects by itself when it is
//! back on the same port. Saves a screenshot to `target/screenshots/skeleton.png`.
//!
//! Needs Chromium at /usr/bin/chromium (or `GILSCOPE_CHROMIUM`); `cargo xtask test`
//! installs it. Without it this test fails, saying so.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::Page;
use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// First load compiles the wasm; generous, but bounded.
const LOAD: Duration = Duration::from_secs(30);
/// Reconnect backoff is capped at 2 s; this leaves room for a slow, shared machine.
const CHANGE: Duration = Duration::from_secs(15);

fn chromium() -> PathBuf {
    let path = std::env::var_os("GILSCOPE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium not found at {}: the browser tests need it. Install it with \
         `apt-get install -y chromium` (or run `cargo xtask test`, which does), or set \
         GILSCOPE_CHROMIUM to a Chrome/Chromium binary.",
        path.display()
    );
    path
}

struct Server {
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    fn start(listener: TcpListener) -> Server {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(gilscope_server::serve(listener, shutdown.clone()));
        Server { shutdown, task }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(CHANGE, self.task)
            .await
            .expect("the server did not stop in time")
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_connects_shows_the_server_and_reconnects() {
    let chromium = chromium();
    assert!(
        gilscope_server::assets::has_frontend(),
        "this binary was built with GILSCOPE_SKIP_FRONTEND=1: no dashboard to test"
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::start(listener);

    // A profile of its own (two browsers sharing one fail with "SingletonLock"), removed
    // when `profile` drops at the end.
    let profile = tempfile::Builder::new()
        .prefix("gilscope-chromium-")
        .tempdir()
        .unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable(&chromium)
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1280, 800)
        .viewport(Viewport {
            width: 1280,
            height: 800,
            ..Viewport::default()
        })
        .args([
            "disable-gpu",
            "disable-dev-shm-usage",
            "disable-quic",
            "no-first-run",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
        ])
        .launch_timeout(LOAD)
        .request_timeout(CHANGE)
        .build()
        .unwrap();
    let (mut browser, mut handler) = Browser::launch(config)
        .await
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let events = tokio::spawn(async move {
        while let Some(event) = handler.next().await {
            if let Err(err) = event {
                eprintln!("chromium connection: {err}");
                break;
            }
        }
    });

    // Run the checks, then always close the browser before reporting.
    let outcome = scenario(&browser, addr, server).await;

    let _ = tokio::time::timeout(CHANGE, browser.close()).await;
    let _ = tokio::time::timeout(CHANGE, browser.wait()).await;
    let _ = tokio::time::timeout(CHANGE, events).await;
    drop(profile);
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

async fn scenario(browser: &Browser, addr: SocketAddr, server: Server) -> Result<(), Error> {
    let page = browser.new_page(format!("http://{addr}/")).await?;

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

fn same(what: &str, got: Option<&str>, want: Option<&str>) -> Result<(), Error> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}").into())
    }
}

/// `textContent` of the element with this `data-testid`, if there is one.
async fn text(page: &Page, testid: &str) -> Result<Option<String>, Error> {
    // Through JSON: CDP hands back `null` as "no value", which would read as an error.
    let js = format!(
        "JSON.stringify(document.querySelector('[data-testid=\"{testid}\"]')?.textContent ?? null)"
    );
    let json: String = page.evaluate(js).await?.into_value()?;
    Ok(serde_json::from_str(&json)?)
}

/// Polls until the element's text is `want`, or fails after `within`.
async fn wait_for_text(
    page: &Page,
    testid: &str,
    want: &str,
    within: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + within;
    let mut seen = None;
    while Instant::now() < deadline {
        seen = text(page, testid).await?;
        if seen.as_deref() == Some(want) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body: String = page
        .evaluate("document.body ? document.body.innerText : ''")
        .await?
        .into_value()?;
    Err(format!(
        "[data-testid={testid}] was {seen:?}, not {want:?}, after {within:?}; the page said: {body:?}"
    )
    .into())
}

/// Saves the viewport to `target/screenshots/<name>` (next to the tests' target directory).
async fn screenshot(page: &Page, name: &str) -> Result<(), Error> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("screenshots");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    let params = ScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Png)
        .build();
    page.save_screenshot(params, &path).await?;
    eprintln!("screenshot: {}", path.display());
    Ok(())
}
