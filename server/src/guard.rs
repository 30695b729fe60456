//! Who may use the endpoints that act on the server or stream from it (`/ws` now; later every
//! state-changing endpoint): only this server's own pages and non-browser clients.
//!
//! - `Host` must name this server: its port, and a host name that cannot be DNS-rebound —
//!   the bound IP literal (any IP literal when bound to all interfaces) or `localhost` (when
//!   bound to loopback or all interfaces).
//! - `Origin`, when present (browsers always send it on websocket handshakes), must be
//!   `http://<that same Host>`: another site's page cannot drive the server from a viewer's
//!   browser.
//!
//! Refusals are `403` with a JSON [`AppError`] naming the header.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::uri::Authority;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::AppError;
use crate::AppState;

/// Middleware: `Router::route_layer(axum::middleware::from_fn_with_state(state, same_origin))`.
pub async fn same_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if let Err(err) = check(request.headers(), state.local_addr) {
        tracing::warn!(uri = %request.uri(), "refused: {err}");
        return Err(err);
    }
    Ok(next.run(request).await)
}

/// The rule itself, on a request's headers and the address this server is bound to.
pub fn check(headers: &HeaderMap, local: SocketAddr) -> Result<(), AppError> {
    let host = headers
        .get(HOST)
        .ok_or_else(|| forbidden("host", "the Host header is missing".into()))?
        .to_str()
        .map_err(|_| forbidden("host", "the Host header is not ASCII".into()))?;
    if !host_is_ours(host, local) {
        return Err(forbidden(
            "host",
            format!("Host {host:?} does not name this server ({local})"),
        ));
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin
            .to_str()
            .map_err(|_| forbidden("origin", "the Origin header is not ASCII".into()))?;
        let own = format!("http://{host}");
        if !origin.eq_ignore_ascii_case(&own) {
            return Err(forbidden(
                "origin",
                format!("Origin {origin:?} is not allowed: only pages served by {own} may connect"),
            ));
        }
    }
    Ok(())
}

fn host_is_ours(host: &str, local: SocketAddr) -> bool {
    let Ok(authority) = host.parse::<Authority>() else {
        return false;
    };
    if authority.port_u16().unwrap_or(80) != local.port() {
        return false;
    }
    let name = authority.host();
    let bound = local.ip();
    if name.eq_ignore_ascii_case("localhost") {
        return bound.is_loopback() || bound.is_unspecified();
    }
    match name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => bound.is_unspecified() || ip == bound,
        Err(_) => false,
    }
}

fn forbidden(field: &'static str, message: String) -> AppError {
    AppError::Forbidden { message, field }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: Option<&str>, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(host) = host {
            h.insert(HOST, HeaderValue::from_str(host).unwrap());
        }
        if let Some(origin) = origin {
            h.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        h
    }

    fn field(r: Result<(), AppError>) -> Option<String> {
        r.err().and_then(|e| e.field().map(str::to_string))
    }

    const LOOPBACK: &str = "127.0.0.1:7878";

    #[test]
    fn own_host_and_origin_pass() {
        let local = LOOPBACK.parse().unwrap();
        for (host, origin) in [
            ("127.0.0.1:7878", None),
            ("127.0.0.1:7878", Some("http://127.0.0.1:7878")),
            ("localhost:7878", Some("http://localhost:7878")),
            ("LocalHost:7878", Some("http://localhost:7878")),
        ] {
            assert!(
                check(&headers(Some(host), origin), local).is_ok(),
                "{host} {origin:?}"
            );
        }
    }

    #[test]
    fn foreign_host_is_refused() {
        let local = LOOPBACK.parse().unwrap();
        for host in [
            "evil.example:7878",
            "127.0.0.1:7879",
            "127.0.0.1",
            "10.0.0.1:7878",
            "[::1]:7878",
            "not a host",
        ] {
            assert_eq!(
                field(check(&headers(Some(host), None), local)),
                Some("host".to_string()),
                "{host}"
            );
        }
        assert_eq!(
            field(check(&headers(None, None), local)),
            Some("host".to_string())
        );
    }

    #[test]
    fn foreign_origin_is_refused() {
        let local = LOOPBACK.parse().unwrap();
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:7879",
            "https://127.0.0.1:7878",
            "http://localhost:7878",
            "null",
        ] {
            let h = headers(Some("127.0.0.1:7878"), Some(origin));
            assert_eq!(
                field(check(&h, local)),
                Some("origin".to_string()),
                "{origin}"
            );
        }
    }

    #[test]
    fn all_interfaces_accept_ip_literals_but_not_names() {
        let local = "0.0.0.0:7878".parse().unwrap();
        for host in ["192.168.1.20:7878", "localhost:7878", "127.0.0.1:7878"] {
            let origin = format!("http://{host}");
            assert!(
                check(&headers(Some(host), Some(&origin)), local).is_ok(),
                "{host}"
            );
        }
        assert!(check(&headers(Some("rebound.example:7878"), None), local).is_err());
    }

    #[test]
    fn ipv6_loopback() {
        let local = "[::1]:7878".parse().unwrap();
        let h = headers(Some("[::1]:7878"), Some("http://[::1]:7878"));
        assert!(check(&h, local).is_ok());
    }
}
