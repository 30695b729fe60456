//! Request bodies are small JSON documents (run files aside, see [`IMPORT_PATH`]): a body over [`Limits::body_bytes`] is answered
//! `413`, before a byte of it is read when its `Content-Length` already says it is too big
//! (an early refusal), and as soon as it grows too big otherwise (axum's `DefaultBodyLimit`,
//! set by [`crate::app`], for chunked bodies).
//!
//! [`Limits::body_bytes`]: crate::limits::Limits::body_bytes

use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::AppError;
use crate::state::AppState;

/// The one route that takes big bodies (run files), up to [`Limits::import_bytes`].
///
/// [`Limits::import_bytes`]: crate::limits::Limits::import_bytes
pub const IMPORT_PATH: &str = "/api/runs/import";

/// Middleware on every route: refuses a declared `Content-Length` over the limit.
pub async fn refuse_declared_too_big(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let limit = if request.uri().path() == IMPORT_PATH {
        state.limits.import_bytes
    } else {
        state.limits.body_bytes
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(AppError::TooLarge { limit });
    }
    Ok(next.run(request).await)
}
