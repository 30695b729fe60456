//! The class over HTTP: `GET /api/classroom` (the shared state, the viewer count, the
//! students' URLs, the caller's role), `PUT /api/classroom` (the teacher shares a state,
//! checked like a websocket's `share`), `GET /api/classroom/qr.svg` (the students' URL as a
//! QR code, for the teacher's page), and `GET /` taking the teacher's URL ([`index`]).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use gilscope_shared::input::from_json;
use gilscope_shared::protocol::{ClassState, Role};
use serde::Serialize;

use crate::classroom::qr;
use crate::classroom::teacher_url::{OfferedToken, COOKIE};
use crate::error::AppError;
use crate::role::Caller;
use crate::state::AppState;

/// The answer of `GET /api/classroom`.
#[derive(Debug, Serialize)]
pub struct ClassInfo {
    pub class: Option<ClassState>,
    pub viewers: u32,
    pub students: Vec<String>,
    pub role: Role,
}

pub async fn get(State(state): State<AppState>, caller: Caller) -> Json<ClassInfo> {
    Json(ClassInfo {
        class: state.follow.class(),
        viewers: state.follow.viewers(),
        students: students(&state),
        role: caller.role,
    })
}

/// `PUT /api/classroom` (behind [`crate::role::acting_only`]): the shared state, every field
/// checked; followers are sent it.
pub async fn share(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ClassState>, AppError> {
    let body = body.map_err(|rejection| AppError::BadRequest {
        message: rejection.body_text(),
        field: "body".to_string(),
    })?;
    let class: ClassState = from_json(&body).map_err(|err| AppError::BadRequest {
        message: err.message,
        field: err.field.unwrap_or_else(|| "body".to_string()),
    })?;
    class.check(state.runs.presets())?;
    state.follow.share(class.clone());
    Ok(Json(class))
}

/// `GET /api/classroom/qr.svg`: the first students' URL as a QR code; `404` without a class.
pub async fn qr(State(state): State<AppState>) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound {
        path: "/api/classroom/qr.svg (this server runs no class)".into(),
    };
    let url = students(&state).into_iter().next().ok_or_else(not_found)?;
    let svg = qr::svg(&url, 200).ok_or_else(not_found)?;
    Ok((
        [(CONTENT_TYPE, "image/svg+xml"), (CACHE_CONTROL, "no-cache")],
        svg,
    )
        .into_response())
}

/// `GET /`: with the teacher's token in the query, sets the cookie and redirects to the
/// page without it; a wrong token is refused (`403`, `token`); otherwise the dashboard.
pub async fn index(
    State(state): State<AppState>,
    offered: Option<Extension<OfferedToken>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (Some(class), Some(Extension(OfferedToken(token)))) = (&state.classroom, offered) else {
        return crate::assets::index(headers).await;
    };
    if !class.token.matches(&token) {
        tracing::warn!("refused a teacher's URL with a wrong token");
        return Err(AppError::Forbidden {
            message: "this URL's token is not this server's: open the teacher's URL that \
                      `gilscope serve --classroom` printed"
                .into(),
            field: "token",
        });
    }
    let location = match uri.query() {
        Some(query) => format!("/?{query}"),
        None => "/".to_string(),
    };
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    Ok((
        StatusCode::SEE_OTHER,
        [(LOCATION, location), (SET_COOKIE, cookie)],
    )
        .into_response())
}

fn students(state: &AppState) -> Vec<String> {
    state
        .classroom
        .as_ref()
        .map(|c| c.students.clone())
        .unwrap_or_default()
}
