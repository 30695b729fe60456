//! The dashboard's files, embedded in the binary at build time (see `server/build.rs`):
//! `index.html`, CSS, icons and the wasm-bindgen output under `pkg/`.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use crate::error::AppError;

#[derive(Embed)]
#[folder = "$OUT_DIR/bundle"]
struct Bundle;

/// `GET /`
pub async fn index(headers: HeaderMap) -> Result<Response, AppError> {
    file("index.html", &headers)
}

/// `GET /{*path}`: a file of the bundle, or 404.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    file(&path, &headers)
}

/// Whether the dashboard itself was built into this binary (not the placeholder page of
/// `GILSCOPE_SKIP_FRONTEND=1`).
pub fn has_frontend() -> bool {
    Bundle::get("pkg/gilscope_frontend_bg.wasm").is_some()
}

fn file(path: &str, headers: &HeaderMap) -> Result<Response, AppError> {
    let Some(file) = Bundle::get(path) else {
        return Err(AppError::NotFound {
            path: format!("/{path}"),
        });
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let etag = HeaderValue::from_str(&etag).expect("hex is a valid header value");
    // Revalidate every time (a rebuilt server serves a new bundle), but cheaply.
    let common = [
        (ETAG, etag.clone()),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if headers.get(IF_NONE_MATCH) == Some(&etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let mime = HeaderValue::from_str(file.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((common, [(CONTENT_TYPE, mime)], file.data).into_response())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
