//! The dashboard's download stays under its budget: the wasm module, its JS glue and the texts
//! of the language it shows (the larger of the two), as the server embeds and serves them,
//! gzipped (level 9, as `gzip -9`), at most [`BUDGET`] bytes together. The README's "Numbers"
//! give the current sizes.

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use flate2::write::GzEncoder;
use flate2::Compression;
use gilscope_server::{app, assets, AppState};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Gzipped bytes of the wasm and the JS together, measured with wasm-opt (server/build.rs),
/// which `cargo xtask test` installs: 326,234 before #16; 199,641 after it (the wire's own
/// format instead of serde, no std sorts, float formatting or hash maps in the wasm); 220,793
/// once merged with the past-runs panel of #13 (the store); 274,966 with the findings panel and
/// the two languages of #14 (leptos_i18n, both catalogues compiled in: ~23 KB, the texts
/// ~13.5 KB of it); 280,581 with the classroom's follow mode of #12. Then, the second pass of
/// #16: 252,160, plus 6,021 for the texts of one language, fetched since (258,427 counted
/// here with the Chinese texts at 6,149). The third pass: 225,210 (std built with the wasm,
/// for size, panics that abort at once; the findings' English sentence written only when
/// asked; the browser's WebSocket without gloo-net), 231,359 counted here.
/// docs/bundle.md says what weighs and how it was measured.
const BUDGET: usize = 235_000;

/// What a viewer's browser downloads beyond the page and the stylesheet...
const FILES: &[&str] = &["pkg/gilscope_frontend_bg.wasm", "pkg/gilscope_frontend.js"];

/// ...and one of these: the texts of the language it shows (`frontend/src/lang/texts.rs`).
const LANGUAGES: &[&str] = &["lang/en.txt", "lang/zh.txt"];

async fn served(path: &str) -> Vec<u8> {
    let state = AppState::new("127.0.0.1:7878".parse().unwrap(), CancellationToken::new());
    // Every route checks that `Host` names this server.
    let request = Request::get(format!("/{path}"))
        .header("host", "127.0.0.1:7878")
        .body(Body::empty())
        .unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET /{path}");
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

fn gzipped_len(data: &[u8]) -> usize {
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
        let data = served(path).await;
        let gz = gzipped_len(&data);
        report.push(format!("{path}: {} bytes, {gz} gzipped", data.len()));
        total += gz;
    }
    let mut texts = 0;
    for path in LANGUAGES {
        let data = served(path).await;
        let gz = gzipped_len(&data);
        report.push(format!("{path}: {} bytes, {gz} gzipped", data.len()));
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
