//! The dashboard in Chinese, in a real browser (Debian's Chromium, headless): `?lang=zh`
//! shows every word in Chinese — after a `counter-race` run that loses updates, the visible
//! text holds no English word but code (the Python, knob names and values, lesson ids, names
//! such as `qsize()`) and units; the header's switch turns it into English and back; in
//! projector mode the top finding is one line at 1280×720, also for the longest Chinese
//! sentence the rules can write. Screenshots land in `target/screenshots/lang-zh-*.png`.
//!
//! Needs Chromium (see `browser.rs`).

mod chromium;

use std::net::SocketAddr;
use std::time::Duration;

use chromiumoxide::Page;
use gilscope_frontend::lang::{findings::sentence, Locale};
use gilscope_shared::findings::extreme_facts;
use serde_json::Value;

use chromium::{click, eval, screenshot, wait_until, Chromium, Error, Server, CHANGE, LOAD};

/// A small run on a loaded machine.
const RUN: Duration = Duration::from_secs(90);

/// Everything, so a stuck step fails the test instead of hanging it.
const WHOLE: Duration = Duration::from_secs(300);

/// The run of `browser_findings.rs`: it loses updates, so the panel has a finding.
const URL_QUERY: &str =
    "lang=zh&lesson=counter-race&threads=3&increments=200000&form=call&switch_interval_ms=0.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_in_chinese_has_no_english_left() {
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

/// Words that may stay as they are in Chinese text: names, abbreviations and units.
const NAMES: &[&str] = &[
    "GIL",
    "CPU",
    "IO",
    "CPython",
    "Python",
    "Esc",
    "PNG",
    "JSON",
    "Queue",
    "Value",
    "Pool",
    "Manager",
    "RuntimeError",
    "Linux",
    "Windows",
    "macOS",
    "NUL",
    "KiB",
    "true",
    "false",
    "True",
    "ms",
    "s",
    "µs",
    "ns",
    "Hz",
    "kHz",
    "k",
    "M",
    "W",
    "S",
    "A",
    "D",
    "F",
    "P",
    "C",
    "gilscope",
    "English",
];

/// The visible text of the page, element by element, leaving out what is code: the Python,
/// knob names and their inputs, the lesson ids, the setup line (`lesson knob=value`), the
/// server's version, the brand, keys.
const VISIBLE_TEXT: &str = r#"(() => {
  const code = 'code, .code-panel pre, .code, textarea, input, .knob-name, .lesson-name, kbd, '
    + '[data-testid=setup-line], [data-testid=server-version], .brand';
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode;
    const el = node.parentElement;
    if (!el || el.closest(code) || !node.textContent.trim()) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    out.push(node.textContent.trim());
  }
  return out;
})()"#;

/// The English words in a piece of text: runs of Latin letters that are not code (`gil=none`,
/// `q.put()`, `start_method`), names or units.
fn english_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii() || c.is_whitespace())
        .filter(|t| !t.contains(['=', '(', '.', '_']))
        .flat_map(|t| t.split(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit()) && !NAMES.contains(w))
        .map(str::to_string)
        .collect()
}

async fn english_left(page: &Page) -> Result<Vec<(String, Vec<String>)>, Error> {
    let texts: Vec<String> = eval(page, VISIBLE_TEXT).await?;
    Ok(texts
        .into_iter()
        .map(|t| {
            let words = english_words(&t);
            (t, words)
        })
        .filter(|(_, words)| !words.is_empty())
        .collect())
}

async fn scenario(chromium: &Chromium, addr: SocketAddr) -> Result<(), Error> {
    let page = chromium::open(&chromium.browser, &format!("http://{addr}/?{URL_QUERY}")).await?;
    wait_until(&page, "conn-state", "connected, in Chinese", LOAD, |t| {
        t == "已连接"
    })
    .await?;
    wait_until(&page, "lesson-claim", "the claim in Chinese", CHANGE, |t| {
        t.contains("需要加锁")
    })
    .await?;
    let lang: String = eval(&page, "document.documentElement.lang").await?;
    if lang != "zh" {
        return Err(format!("<html lang={lang:?}>, not zh").into());
    }
    click(&page, "run").await?;
    wait_until(&page, "run-state", "finished", RUN, |t| {
        t.starts_with("用时")
    })
    .await?;
    let lost = wait_until(&page, "finding-lost_updates", "the finding", CHANGE, |t| {
        t.contains("次更新丢了")
    })
    .await?;
    eprintln!("finding: {lost}");
    // The panel's words once the run is over (they change with it).
    wait_until(&page, "findings", "the panel in Chinese", CHANGE, |t| {
        t.contains("发生了什么")
    })
    .await?;
    screenshot(&page, "lang-zh-1280x720.png").await?;
    let left = english_left(&page).await?;
    if !left.is_empty() {
        return Err(format!("English left in the Chinese page: {left:?}").into());
    }

    // The switch: English, then Chinese again.
    click(&page, "lang").await?;
    wait_until(
        &page,
        "finding-lost_updates",
        "the finding in English",
        CHANGE,
        |t| t.contains("updates lost"),
    )
    .await?;
    let url: String = eval(&page, "location.search").await?;
    if !url.contains("lang=en") {
        return Err(format!("the link does not keep the language: {url}").into());
    }
    click(&page, "lang").await?;
    wait_until(
        &page,
        "finding-lost_updates",
        "the finding in Chinese",
        CHANGE,
        |t| t.contains("次更新丢了"),
    )
    .await?;

    // Projector mode: the top finding is one line, even the longest Chinese sentence.
    click(&page, "projector").await?;
    let top = wait_until(&page, "top-finding-text", "the top finding", CHANGE, |t| {
        t.contains("次更新丢了")
    })
    .await?;
    one_line(&page, &top).await?;
    let mut longest = String::new();
    for s in extreme_facts().iter().map(|f| sentence(Locale::zh, f)) {
        set_top(&page, &s).await?;
        one_line(&page, &s).await?;
        if s.chars().count() > longest.chars().count() {
            longest = s;
        }
    }
    set_top(&page, &longest).await?;
    screenshot(&page, "lang-zh-1280x720-projector-longest.png").await?;
    set_top(&page, &top).await?;
    screenshot(&page, "lang-zh-1280x720-projector.png").await?;
    let left = english_left(&page).await?;
    if !left.is_empty() {
        return Err(format!("English left in projector mode: {left:?}").into());
    }
    Ok(())
}

async fn set_top(page: &Page, sentence: &str) -> Result<(), Error> {
    eval::<Value>(
        page,
        &format!(
            "(document.querySelector('[data-testid=top-finding-text]').textContent = {sentence:?}, 0)"
        ),
    )
    .await?;
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
        "top finding: {} characters, {scroll} of {client} px wide, {height} px high (line {line}): {sentence}",
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
