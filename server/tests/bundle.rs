//! The dashboard's download stays under its budget: the wasm module, its JS glue and the texts
//! of the language it shows (the larger of the two), as the server sends them to a browser that
//! accepts gzip (and not brotli: a browser that does gets less), at most [`BUDGET`] bytes
//! together, the wasm alone at most [`WASM_GOAL`]. The gzip is made at build time by zopfli
//! (server/build.rs); the report also gives each file by `gzip -9` (flate2 at level 9). The
//! README's "Numbers" give the current sizes.

use std::io::{Read, Write};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use gilscope_server::{app, assets, AppState};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Gzipped bytes of the wasm and the JS together (`gzip -9` until the fourth pass), measured with
/// wasm-opt (server/build.rs), which `cargo xtask test` installs: 326,234 before #16; 199,641 after
/// it (the wire's own format instead of serde, no std sorts, float formatting or hash maps in the
/// wasm); 220,793 once merged with the past-runs panel of #13 (the store); 274,966 with the
/// findings panel and the two languages of #14 (leptos_i18n, both catalogues compiled in: ~23 KB,
/// the texts ~13.5 KB of it); 280,581 with the classroom's follow mode of #12. Then, the second
/// pass of #16: 252,160, plus 6,021 for the texts of one language, fetched since (258,427 counted
/// here with the Chinese texts at 6,149). The third pass: 225,210 (std built with the wasm, for
/// size, panics that abort at once; the findings' English sentence written only when asked; the
/// browser's WebSocket without gloo-net), 231,359 counted here.
/// The fourth pass, measured as served since: 208,058 with the Chinese texts (wasm 192,347,
/// 202,418 by `gzip -9`; JS 9,495; texts 6,216): floats parsed without std's table of powers of
/// five (-13.9 KB by `gzip -9`), the gzip made by zopfli (-10.6 KB). docs/bundle.md says what
/// weighs and how it was measured.
const BUDGET: usize = 212_000;

/// Issue #16's goal for the wasm module, gzipped as served.
const WASM_GOAL: usize = 200_000;

/// What a viewer's browser downloads beyond the page and the stylesheet...
const FILES: &[&str] = &["pkg/gilscope_frontend_bg.wasm", "pkg/gilscope_frontend.js"];

/// ...and one of these: the texts of the language it shows (`frontend/src/lang/texts.rs`).
const LANGUAGES: &[&str] = &["lang/en.txt", "lang/zh.txt"];

/// What `GET /path` sends a browser that accepts `encoding` (`identity`: the file itself), and
/// the encoding it was sent in.
async fn served(path: &str, encoding: &str) -> (Vec<u8>, Option<String>) {
    let state = AppState::new("127.0.0.1:7878".parse().unwrap(), CancellationToken::new());
    // Every route checks that `Host` names this server.
    let request = Request::get(format!("/{path}"))
        .header("host", "127.0.0.1:7878")
        .header("accept-encoding", encoding)
        .body(Body::empty())
        .unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET /{path}");
    let sent = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (body, sent)
}

/// The bytes a browser that accepts gzip (and not brotli) downloads for `path`, checked to
/// be `path` itself once unpacked.
async fn gzipped(path: &str) -> usize {
    let (plain, _) = served(path, "identity").await;
    let (packed, sent) = served(path, "gzip").await;
    assert_eq!(
        sent.as_deref(),
        Some("gzip"),
        "GET /{path} with gzip accepted"
    );
    let mut unpacked = Vec::new();
    GzDecoder::new(&packed[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert!(unpacked == plain, "/{path}'s gzip is not the file");
    packed.len()
}

fn gzip9_len(data: &[u8]) -> usize {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(data).unwrap();
    gz.finish().unwrap().len()
}

#[tokio::test]
async fn the_dashboard_bundle_is_under_its_budget() {
    if !assets::has_frontend() {
        eprintln!(
            "SKIPPED the_dashboard_bundle_is_under_its_budget: this binary was built with \
             GILSCOPE_SKIP_FRONTEND=1, so it embeds no dashboard to measure"
        );
        return;
    }
    let mut report = Vec::new();
    let mut total = 0;
    for path in FILES {
        let gz = gzipped(path).await;
        let (plain, _) = served(path, "identity").await;
        report.push(format!(
            "{path}: {} bytes, {gz} gzipped as served ({} by gzip -9)",
            plain.len(),
            gzip9_len(&plain)
        ));
        total += gz;
        if path.ends_with(".wasm") {
            assert!(
                gz <= WASM_GOAL,
                "the dashboard's wasm is {gz} bytes gzipped, over the {WASM_GOAL} of issue #16"
            );
        }
    }
    let mut texts = 0;
    for path in LANGUAGES {
        let gz = gzipped(path).await;
        report.push(format!("{path}: {gz} gzipped as served"));
        texts = texts.max(gz);
    }
    total += texts;
    let report = report.join("; ");
    println!("bundle: {report}; total {total} gzipped, budget {BUDGET}");
    assert!(
        total <= BUDGET,
        "the dashboard bundle is {total} bytes gzipped, over its budget of {BUDGET} ({report}): \
         make it smaller, or raise the budget on purpose and say why in the README (a build \
         without wasm-opt, which `cargo xtask test` installs, is larger; docs/bundle.md says \
         what weighs)"
    );
}
