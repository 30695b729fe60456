//! Request bodies are small JSON documents: a body over [`Limits::body_bytes`] is answered
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

/// Middleware on every route: refuses a declared `Content-Length` over the limit.
pub async fn refuse_declared_too_big(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let limit = state.limits.body_bytes;
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
