//! Who may read from the server, and who may act on it.
//!
//! - Every route: `Host` must name this server — its port, and a host name that cannot be
//!   DNS-rebound: the bound IP literal (any IP literal when bound to all interfaces) or
//!   `localhost` (when bound to loopback or all interfaces). A page on another site that
//!   rebinds its name to this machine can then read nothing ([`host_middleware`]).
//! - Routes that act or stream (`POST`, `DELETE`, `/ws`): `Origin`, when present (browsers
//!   always send it on websocket handshakes), must be `http://<that same Host>`: another
//!   site's page cannot drive the server from a viewer's browser ([`same_origin`]).
//! - Acting (`POST`, `PUT`, `DELETE`, a websocket's `start`, `stop` and `share`): decided
//!   by the caller's role ([`crate::role`]): without a class only a loopback peer
//!   ([`Peer::may_act`]); in a class only the teacher.
//!
//! Refusals are `403` with a JSON [`AppError`] naming the header, or `peer`. Quoted headers
//! are clipped in answers and logs.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::uri::Authority;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use gilscope_shared::clip::echo;

use crate::error::AppError;
use crate::state::AppState;

/// Middleware on every route: `Host` names this server.
pub async fn host_middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if let Err(err) = check_host(request.headers(), state.local_addr) {
        tracing::warn!(uri = %echo(&request.uri().to_string()), "refused: {err}");
        return Err(err);
    }
    Ok(next.run(request).await)
}

/// Middleware on the acting and streaming routes:
/// `Router::route_layer(axum::middleware::from_fn_with_state(state, same_origin))`.
pub async fn same_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if let Err(err) = check(request.headers(), state.local_addr) {
        tracing::warn!(uri = %echo(&request.uri().to_string()), "refused: {err}");
        return Err(err);
    }
    Ok(next.run(request).await)
}

/// The address of the client on the other end of the connection, as the server saw it
/// (`ConnectInfo`, set by [`crate::serve`]); None when the app is served without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer(pub Option<SocketAddr>);

impl Peer {
    /// Only a peer on this machine may act; answers its address. An unknown peer may not:
    /// fail closed.
    pub fn may_act(&self) -> Result<SocketAddr, AppError> {
        match self.0 {
            Some(addr) if is_loopback(addr.ip()) => Ok(addr),
            Some(addr) => Err(forbidden(
                "peer",
                format!(
                    "{} is not on this machine: other machines may watch, not start or stop runs",
                    addr.ip()
                ),
            )),
            None => Err(forbidden(
                "peer",
                "the client's address is unknown: only clients on this machine may act".into(),
            )),
        }
    }
}

/// Loopback, including IPv4 loopback seen through a dual-stack IPv6 socket (`::ffff:127.0.0.1`).
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
        ))
    }
}

/// The whole rule of the acting routes' headers, on a request's headers and the address this
/// server is bound to: [`check_host`], then `Origin`.
pub fn check(headers: &HeaderMap, local: SocketAddr) -> Result<(), AppError> {
    let host = check_host(headers, local)?;
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin
            .to_str()
            .map_err(|_| forbidden("origin", "the Origin header is not ASCII".into()))?;
        let own = format!("http://{host}");
        if !origin.eq_ignore_ascii_case(&own) {
            return Err(forbidden(
                "origin",
                format!(
                    "Origin {:?} is not allowed: only pages served by {own} may connect",
                    echo(origin)
                ),
            ));
        }
    }
    Ok(())
}

/// `Host` names this server; answers it.
pub fn check_host(headers: &HeaderMap, local: SocketAddr) -> Result<&str, AppError> {
    let host = headers
        .get(HOST)
        .ok_or_else(|| forbidden("host", "the Host header is missing".into()))?
        .to_str()
        .map_err(|_| forbidden("host", "the Host header is not ASCII".into()))?;
    if !host_is_ours(host, local) {
        return Err(forbidden(
            "host",
            format!("Host {:?} does not name this server ({local})", echo(host)),
        ));
    }
    Ok(host)
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
    fn long_headers_are_clipped_in_the_refusal() {
        let local = LOOPBACK.parse().unwrap();
        let origin = format!("http://{}", "o".repeat(8192));
        let err = check(&headers(Some(LOOPBACK), Some(&origin)), local).unwrap_err();
        assert!(err.to_string().len() < 400, "{}", err.to_string().len());
        let host = format!("{}:7878", "h".repeat(8192));
        let err = check(&headers(Some(&host), None), local).unwrap_err();
        assert!(err.to_string().len() < 400, "{}", err.to_string().len());
    }

    #[test]
    fn only_loopback_peers_may_act() {
        for addr in [
            "127.0.0.1:5000",
            "127.0.0.2:1",
            "[::1]:80",
            "[::ffff:127.0.0.1]:9",
        ] {
            assert!(
                Peer(Some(addr.parse().unwrap())).may_act().is_ok(),
                "{addr}"
            );
        }
        for addr in [
            "192.168.1.20:5000",
            "10.0.0.1:1",
            "[2001:db8::1]:80",
            "0.0.0.0:1",
        ] {
            let err = Peer(Some(addr.parse().unwrap())).may_act().unwrap_err();
            assert_eq!(err.field(), Some("peer"), "{addr}");
            assert_eq!(err.status(), axum::http::StatusCode::FORBIDDEN);
        }
        assert!(Peer(None).may_act().is_err());
    }

    #[test]
    fn ipv6_loopback() {
        let local = "[::1]:7878".parse().unwrap();
        let h = headers(Some("[::1]:7878"), Some("http://[::1]:7878"));
        assert!(check(&h, local).is_ok());
    }
}
