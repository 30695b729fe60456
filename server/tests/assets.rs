//! The dashboard's files are served compressed as the build compressed them (brotli, else
//! gzip, else as they are), each encoding with its own ETag, and revalidated with `304`.

use std::io::Read;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use gilscope_server::{app, assets, AppState};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

async fn get(
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let state = AppState::new("127.0.0.1:7878".parse().unwrap(), CancellationToken::new());
    let mut request = Request::get(path).header(header::HOST, "127.0.0.1:7878");
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = app(state)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(data, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn files_come_compressed_as_accepted_with_their_own_etags_and_304() {
    let mut paths = vec!["/style.css", "/index.html", "/lang/en.txt", "/lang/zh.txt"];
    if assets::has_frontend() {
        paths.extend([
            "/pkg/gilscope_frontend_bg.wasm",
            "/pkg/gilscope_frontend.js",
        ]);
    }
    for path in paths {
        let (status, plain_headers, plain) = get(path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            plain_headers.get(header::CONTENT_ENCODING).is_none(),
            "{path}"
        );

        let chrome = "gzip, deflate, br, zstd";
        let (status, br_headers, br) = get(path, &[(header::ACCEPT_ENCODING, chrome)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(br_headers[header::CONTENT_ENCODING], "br", "{path}");
        assert_eq!(br_headers[header::VARY], "accept-encoding");
        assert_eq!(
            br_headers[header::CONTENT_TYPE],
            plain_headers[header::CONTENT_TYPE]
        );
        assert_eq!(unbrotli(&br), plain, "{path}");
        assert!(
            br.len() < plain.len(),
            "{path}: {} >= {}",
            br.len(),
            plain.len()
        );

        let (_, gz_headers, gz) = get(path, &[(header::ACCEPT_ENCODING, "gzip")]).await;
        assert_eq!(gz_headers[header::CONTENT_ENCODING], "gzip", "{path}");
        assert_eq!(gunzip(&gz), plain, "{path}");
        eprintln!(
            "{path}: {} bytes, {} gzip, {} brotli",
            plain.len(),
            gz.len(),
            br.len()
        );

        let tags: Vec<_> = [&plain_headers, &br_headers, &gz_headers]
            .iter()
            .map(|h| h[header::ETAG].to_str().unwrap().to_string())
            .collect();
        assert!(
            tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2],
            "{tags:?}"
        );

        // Revalidating with the tag of the encoding received: 304, no body.
        let (status, headers, body) = get(
            path,
            &[
                (header::ACCEPT_ENCODING, chrome),
                (header::IF_NONE_MATCH, &tags[1]),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(body.is_empty());
        assert_eq!(headers[header::ETAG], tags[1].as_str());
        // Another encoding's tag does not match.
        let (status, _, _) = get(
            path,
            &[
                (header::ACCEPT_ENCODING, "gzip"),
                (header::IF_NONE_MATCH, &tags[1]),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}
