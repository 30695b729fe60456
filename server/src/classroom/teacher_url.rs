//! The teacher's URL, `/?token=…` (Jupyter's habit): the token is taken out of every
//! request's URI before anything logs it ([`take_token`], the outermost layer), and `GET /`
//! with the right one sets the teacher's cookie (HttpOnly, SameSite=Strict) and redirects to
//! the same page without the token (`crate::class_api::index`). Other routes take a token in the query as
//! they take the cookie, for scripts.

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;

/// The cookie that carries the teacher's token.
pub const COOKIE: &str = "gilscope_token";

/// A token offered in a request's query string, taken out of its URI.
#[derive(Clone)]
pub struct OfferedToken(pub String);

/// Middleware on every route, outside the tracing layer: moves `token=…` out of the query
/// into an [`OfferedToken`] extension, so no log or later layer sees it.
pub async fn take_token(mut request: Request, next: Next) -> Response {
    if let Some((token, rest)) = split_token(request.uri()) {
        *request.uri_mut() = rest;
        request.extensions_mut().insert(OfferedToken(token));
    }
    next.run(request).await
}

/// The value of the first `token` parameter and the URI without any, when there is one.
fn split_token(uri: &Uri) -> Option<(String, Uri)> {
    let query = uri.query()?;
    let mut token = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("token", value) => {
                token.get_or_insert_with(|| value.to_string());
            }
            _ => kept.push(pair),
        }
    }
    let token = token?;
    let path = uri.path();
    let rest = if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(rest.parse().ok()?);
    Some((token, Uri::from_parts(parts).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_leaves_the_uri() {
        let (token, rest) = split_token(&"/?token=abc&lang=zh".parse().unwrap()).unwrap();
        assert_eq!(
            (token.as_str(), rest.to_string().as_str()),
            ("abc", "/?lang=zh")
        );
        let (token, rest) = split_token(&"/ws?a=1&token=x&token=y".parse().unwrap()).unwrap();
        assert_eq!(
            (token.as_str(), rest.to_string().as_str()),
            ("x", "/ws?a=1")
        );
        let (_, rest) = split_token(&"/?token=".parse().unwrap()).unwrap();
        assert_eq!(rest.to_string(), "/");
        assert!(split_token(&"/?tokens=1".parse().unwrap()).is_none());
        assert!(split_token(&"/".parse().unwrap()).is_none());
    }
}
