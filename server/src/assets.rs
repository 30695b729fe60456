//! The dashboard's files, embedded in the binary at build time (see `server/build.rs`):
//! `index.html`, CSS, icons and the wasm-bindgen output under `pkg/`, each with the brotli
//! (`.br`) and gzip (`.gz`) copies the build compressed once. A browser gets the smallest it
//! accepts (`Accept-Encoding`), with `Content-Encoding`, `Vary: Accept-Encoding` and an
//! `ETag` of its own; `If-None-Match` with it answers `304`.

use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
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

/// The encodings the build made, best first: (`Content-Encoding`, file suffix).
const ENCODINGS: [(&str, &str); 2] = [("br", "br"), ("gzip", "gz")];

fn file(path: &str, headers: &HeaderMap) -> Result<Response, AppError> {
    let Some(original) = Bundle::get(path) else {
        return Err(AppError::NotFound {
            path: format!("/{path}"),
        });
    };
    let mime = HeaderValue::from_str(original.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let chosen = ENCODINGS.iter().find_map(|&(encoding, suffix)| {
        if !accepts(headers, encoding) {
            return None;
        }
        Bundle::get(&format!("{path}.{suffix}")).map(|file| (Some(encoding), file))
    });
    let (encoding, file) = chosen.unwrap_or((None, original));
    let tag = hex(&file.metadata.sha256_hash()[..16]);
    let etag = HeaderValue::from_str(&format!("\"{tag}\"")).expect("hex is a valid header value");
    // Revalidate every time (a rebuilt server serves a new bundle), but cheaply.
    let mut common = HeaderMap::new();
    common.insert(ETAG, etag.clone());
    common.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    common.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if not_modified(headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    common.insert(CONTENT_TYPE, mime);
    if let Some(encoding) = encoding {
        common.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    Ok((common, file.data).into_response())
}

/// Whether `Accept-Encoding` takes `encoding` (named, or `*`, with a quality above 0).
fn accepts(headers: &HeaderMap, encoding: &str) -> bool {
    let mut verdict = None;
    for item in headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(encoding) {
            return q > 0.0;
        }
        if name == "*" {
            verdict = Some(q > 0.0);
        }
    }
    verdict.unwrap_or(false)
}

/// Whether `If-None-Match` names `etag` (or `*`), weak or strong.
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.to_str().unwrap_or("");
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_encoding_is_read_with_its_qualities() {
        let h = with(ACCEPT_ENCODING, "gzip, deflate, br;q=0.9");
        assert!(accepts(&h, "br") && accepts(&h, "gzip"));
        let h = with(ACCEPT_ENCODING, "br;q=0, *");
        assert!(!accepts(&h, "br") && accepts(&h, "gzip"));
        let h = with(ACCEPT_ENCODING, "identity");
        assert!(!accepts(&h, "br") && !accepts(&h, "gzip"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }

    #[test]
    fn if_none_match_takes_lists_and_weak_tags() {
        let tag = HeaderValue::from_static("\"ab\"");
        assert!(not_modified(&with(IF_NONE_MATCH, "\"x\", W/\"ab\""), &tag));
        assert!(not_modified(&with(IF_NONE_MATCH, "*"), &tag));
        assert!(!not_modified(&with(IF_NONE_MATCH, "\"abc\""), &tag));
        assert!(!not_modified(&HeaderMap::new(), &tag));
    }
}
