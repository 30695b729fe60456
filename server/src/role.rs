//! Who a request comes from, decided in this one place for every HTTP request and websocket:
//!
//! - no class: [`Role::Local`] for a peer on this machine, else [`Role::Student`] (other
//!   machines watch);
//! - a class (`gilscope serve --classroom`): [`Role::Teacher`] for a request carrying the
//!   teacher's token — the cookie [`COOKIE`], `Authorization: Bearer …`, or `?token=…` — else
//!   [`Role::Student`], wherever it comes from, this machine included.
//!
//! Only a role that [`Role::may_act`] starts or stops runs, runs code, pins or changes the
//! shared lesson; the others get `403` naming `token` (in a class) or `peer`.

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, COOKIE as COOKIE_HEADER};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
pub use gilscope_shared::protocol::Role;

use crate::classroom::teacher_url::{OfferedToken, COOKIE};
use crate::classroom::Classroom;
use crate::error::AppError;
use crate::guard::Peer;
use crate::state::AppState;

/// A request's (or a websocket's) caller: its role and address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub peer: Peer,
    /// Whether the server runs a class (then a refusal names the token).
    pub classroom: bool,
}

impl Caller {
    /// Decides the role from the server's class, the peer and what the request carries.
    pub fn decide(
        classroom: Option<&Classroom>,
        peer: Peer,
        headers: &HeaderMap,
        offered: Option<&OfferedToken>,
    ) -> Caller {
        let role = match classroom {
            Some(class) => {
                let carried = tokens(headers).chain(offered.map(|o| o.0.as_str()));
                // Every candidate is compared, in constant time each.
                let teacher = carried.fold(false, |found, t| class.token.matches(t) | found);
                if teacher {
                    Role::Teacher
                } else {
                    Role::Student
                }
            }
            None if peer.may_act().is_ok() => Role::Local,
            None => Role::Student,
        };
        Caller {
            role,
            peer,
            classroom: classroom.is_some(),
        }
    }

    /// Ok for the teacher and for this machine without a class; else the refusal, `403`.
    pub fn may_act(&self) -> Result<(), AppError> {
        if self.role.may_act() {
            return Ok(());
        }
        if self.classroom {
            return Err(AppError::Forbidden {
                message: "only the teacher may start or stop runs, run code, pin runs or \
                          change the lesson: this page does not carry the teacher's token \
                          (open the teacher's URL that `gilscope serve --classroom` printed)"
                    .into(),
                field: "token",
            });
        }
        self.peer.may_act().map(|_| ())
    }
}

/// The tokens a request carries in its cookies and its `Authorization: Bearer` header.
fn tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let cookies = headers
        .get_all(COOKIE_HEADER)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value);
    let bearer = headers
        .get_all(AUTHORIZATION)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    cookies.chain(bearer)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = Peer::from_request_parts(parts, state).await?;
        Ok(Caller::decide(
            state.classroom.as_deref(),
            peer,
            &parts.headers,
            parts.extensions.get::<OfferedToken>(),
        ))
    }
}

/// Middleware on the acting routes: only a caller that [`Caller::may_act`].
pub async fn acting_only(
    caller: Caller,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if let Err(err) = caller.may_act() {
        tracing::warn!(path = %request.uri().path(), role = ?caller.role, "refused: {err}");
        return Err(err);
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classroom::Token;
    use axum::http::HeaderValue;

    fn class() -> Classroom {
        Classroom {
            token: Token::parse("the-teachers-secret-1").unwrap(),
            students: vec![],
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    const HERE: &str = "127.0.0.1:5000";
    const THERE: &str = "192.168.1.30:5000";

    fn role(class: Option<&Classroom>, peer: &str, h: &HeaderMap, q: Option<&str>) -> Role {
        let offered = q.map(|q| OfferedToken(q.to_string()));
        Caller::decide(
            class,
            Peer(Some(peer.parse().unwrap())),
            h,
            offered.as_ref(),
        )
        .role
    }

    #[test]
    fn without_a_class_this_machine_acts_and_others_watch() {
        let none = HeaderMap::new();
        assert_eq!(role(None, HERE, &none, None), Role::Local);
        assert_eq!(role(None, THERE, &none, None), Role::Student);
        let caller = Caller::decide(None, Peer(Some(THERE.parse().unwrap())), &none, None);
        assert_eq!(caller.may_act().unwrap_err().field(), Some("peer"));
    }

    #[test]
    fn in_a_class_only_the_token_acts_wherever_it_comes_from() {
        let class = class();
        let c = Some(&class);
        let none = HeaderMap::new();
        assert_eq!(role(c, HERE, &none, None), Role::Student);
        let cookie = headers(&[("cookie", "a=1; gilscope_token=the-teachers-secret-1; b=2")]);
        assert_eq!(role(c, THERE, &cookie, None), Role::Teacher);
        let bearer = headers(&[("authorization", "Bearer the-teachers-secret-1")]);
        assert_eq!(role(c, HERE, &bearer, None), Role::Teacher);
        assert_eq!(
            role(c, HERE, &none, Some("the-teachers-secret-1")),
            Role::Teacher
        );
        let wrong = headers(&[("cookie", "gilscope_token=the-teachers-secret-2")]);
        assert_eq!(role(c, HERE, &wrong, Some("nope")), Role::Student);
        let other_cookie = headers(&[("cookie", "token=the-teachers-secret-1")]);
        assert_eq!(role(c, HERE, &other_cookie, None), Role::Student);
        let caller = Caller::decide(c, Peer(Some(HERE.parse().unwrap())), &wrong, None);
        let err = caller.may_act().unwrap_err();
        assert_eq!(err.field(), Some("token"));
        assert_eq!(err.status(), axum::http::StatusCode::FORBIDDEN);
    }
}
