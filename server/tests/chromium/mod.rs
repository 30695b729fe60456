//! Driving Debian's Chromium (headless) for the browser tests (included with
//! `mod chromium;`): the server on a free port, a browser with a profile of its own, and the
//! small page helpers the tests share. Every wait polls against a deadline.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::Page;
use futures_util::StreamExt;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// First load compiles the wasm; generous, but bounded.
pub const LOAD: Duration = Duration::from_secs(30);
/// Reconnect backoff is capped at 2 s; this leaves room for a slow, shared machine.
pub const CHANGE: Duration = Duration::from_secs(15);

pub fn chromium() -> PathBuf {
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

pub struct Server {
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub fn start(listener: TcpListener) -> Server {
        Server::start_keeping(listener, None)
    }

    /// [`Server::start`], keeping runs in a store in `dir` (none: keeping nothing).
    pub fn start_keeping(listener: TcpListener, dir: Option<&Path>) -> Server {
        // Worker processes run the gilscope binary, not this test's executable.
        if std::env::var_os("GILSCOPE_WORKER_EXE").is_none() {
            std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope"));
        }
        let shutdown = CancellationToken::new();
        let store = dir.map(|dir| {
            gilscope_server::store::Store::open(gilscope_server::store::StoreConfig::new(dir))
        });
        let task = tokio::spawn(gilscope_server::serve_keeping(
            listener,
            shutdown.clone(),
            gilscope_server::limits::Limits::default(),
            store,
        ));
        Server { shutdown, task }
    }

    /// A server on a free loopback port, and its address.
    pub async fn bind() -> (Server, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (Server::start(listener), addr)
    }

    /// [`Server::bind`], keeping runs in a store in `dir`.
    pub async fn bind_keeping(dir: &Path) -> (Server, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (Server::start_keeping(listener, Some(dir)), addr)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(CHANGE, self.task)
            .await
            .expect("the server did not stop in time")
            .unwrap()
            .unwrap();
    }
}

/// A headless Chromium with a profile of its own (two browsers sharing one fail with
/// "SingletonLock"), closed and removed by [`Chromium::close`].
pub struct Chromium {
    pub browser: Browser,
    events: JoinHandle<()>,
    profile: TempDir,
}

impl Chromium {
    pub async fn launch(width: u32, height: u32) -> Chromium {
        let chromium = chromium();
        assert!(
            gilscope_server::assets::has_frontend(),
            "this binary was built with GILSCOPE_SKIP_FRONTEND=1: no dashboard to test"
        );
        let profile = tempfile::Builder::new()
            .prefix("gilscope-chromium-")
            .tempdir()
            .unwrap();
        let config = BrowserConfig::builder()
            .chrome_executable(&chromium)
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(width, height)
            .viewport(Viewport {
                width,
                height,
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
        let (browser, mut handler) = Browser::launch(config)
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
        Chromium {
            browser,
            events,
            profile,
        }
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(CHANGE, self.browser.close()).await;
        let _ = tokio::time::timeout(CHANGE, self.browser.wait()).await;
        let _ = tokio::time::timeout(CHANGE, self.events).await;
        drop(self.profile);
    }
}

/// Opens `url` in a new tab. Bounded: a tab or a navigation that does not answer is
/// tried again (rarely, a fresh headless Chromium leaves the first one hanging).
pub async fn open(browser: &Browser, url: &str) -> Result<Page, Error> {
    let mut last = String::new();
    for attempt in 1..=3 {
        let tab = tokio::time::timeout(CHANGE, browser.new_page("about:blank")).await;
        let page = match tab {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => {
                last = e.to_string();
                continue;
            }
            Err(_) => {
                last = format!("no new tab after {CHANGE:?} (attempt {attempt})");
                continue;
            }
        };
        match tokio::time::timeout(LOAD, page.goto(url)).await {
            Ok(Ok(_)) => return Ok(page),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("{url} did not load in {LOAD:?} (attempt {attempt})"),
        }
        let _ = page.close().await;
    }
    Err(format!("cannot open {url}: {last}").into())
}

pub fn same(what: &str, got: Option<&str>, want: Option<&str>) -> Result<(), Error> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}").into())
    }
}

/// Runs JavaScript and hands back its value, through JSON (CDP hands back `null` as "no
/// value", which would read as an error).
pub async fn eval<T: serde::de::DeserializeOwned>(page: &Page, js: &str) -> Result<T, Error> {
    let json: String = page
        .evaluate(format!("(async () => JSON.stringify(await ({js})))()"))
        .await?
        .into_value()?;
    Ok(serde_json::from_str(&json)?)
}

/// `textContent` of the element with this `data-testid`, if there is one.
pub async fn text(page: &Page, testid: &str) -> Result<Option<String>, Error> {
    eval(
        page,
        &format!("document.querySelector('[data-testid=\"{testid}\"]')?.textContent ?? null"),
    )
    .await
}

/// Polls until `check` accepts the element's text, or fails after `within`.
pub async fn wait_until(
    page: &Page,
    testid: &str,
    what: &str,
    within: Duration,
    check: impl Fn(&str) -> bool,
) -> Result<String, Error> {
    let deadline = Instant::now() + within;
    let mut seen = None;
    while Instant::now() < deadline {
        seen = text(page, testid).await?;
        if let Some(t) = seen.as_deref().filter(|t| check(t)) {
            return Ok(t.to_string());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body: String = eval(page, "document.body ? document.body.innerText : ''").await?;
    Err(format!(
        "[data-testid={testid}] was {seen:?}, not {what}, after {within:?}; the page said: {body:?}"
    )
    .into())
}

/// Polls until the element's text is `want`, or fails after `within`.
pub async fn wait_for_text(
    page: &Page,
    testid: &str,
    want: &str,
    within: Duration,
) -> Result<(), Error> {
    wait_until(page, testid, &format!("{want:?}"), within, |t| t == want)
        .await
        .map(|_| ())
}

/// Clicks the element with this `data-testid`.
pub async fn click(page: &Page, testid: &str) -> Result<(), Error> {
    let found: bool = eval(
        page,
        &format!(
            "(() => {{ const e = document.querySelector('[data-testid=\"{testid}\"]'); \
             if (e) e.click(); return !!e; }})()"
        ),
    )
    .await?;
    if found {
        Ok(())
    } else {
        Err(format!("nothing to click: no [data-testid={testid}]").into())
    }
}

/// Types `value` into the input with this `data-testid`, as a person would (input event).
pub async fn type_into(page: &Page, testid: &str, value: &str) -> Result<(), Error> {
    let found: bool = eval(
        page,
        &format!(
            "(() => {{ const e = document.querySelector('[data-testid=\"{testid}\"]'); \
             if (!e) return false; e.value = {value:?}; \
             e.dispatchEvent(new Event('input', {{ bubbles: true }})); return true; }})()"
        ),
    )
    .await?;
    if found {
        Ok(())
    } else {
        Err(format!("no input [data-testid={testid}]").into())
    }
}

/// Where screenshots go: `target/screenshots/` (next to the tests' target directory).
pub fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves the viewport to `target/screenshots/<name>`.
pub async fn screenshot(page: &Page, name: &str) -> Result<(), Error> {
    let path = screenshot_dir().join(name);
    let params = ScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Png)
        .build();
    page.save_screenshot(params, &path).await?;
    eprintln!("screenshot: {}", path.display());
    Ok(())
}

/// Waits until `page` draws a pinned block and the run shown below it, each with lanes.
pub async fn two_blocks(page: &Page, who: &str) -> Result<(), Error> {
    let rows = |name: &str| {
        format!("document.querySelector('[data-testid=timeline-canvas]').dataset.{name} || ''")
    };
    let deadline = Instant::now() + CHANGE;
    loop {
        let pinned: String = eval(page, &rows("pinnedLaneRows")).await?;
        let shown: String = eval(page, &rows("laneRows")).await?;
        if !pinned.is_empty() && !shown.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{who}: pinned rows {pinned:?}, shown rows {shown:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
