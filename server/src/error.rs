//! The server's one error type for HTTP answers: every refusal is JSON
//! `{"error": "<what is wrong>", "field": "<which input>" | null}` with a fitting status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed but not allowed (e.g. a foreign Origin or Host).
    #[error("{message}")]
    Forbidden {
        message: String,
        field: &'static str,
    },
    /// An input failed validation; `field` names it (a knob, `preset`, `id`, `body`).
    #[error("{message}")]
    BadRequest { message: String, field: String },
    /// Nothing is served at this path.
    #[error("no such route: {path}")]
    NotFound { path: String },
    /// No run has this id (never had, or dropped from the history).
    #[error("no run with id {id}")]
    NoSuchRun { id: u64 },
    /// The run queue is full.
    #[error("{message}")]
    Busy { message: String },
    /// The server cannot take this now and will not later (it is shutting down).
    #[error("{message}")]
    Unavailable { message: String },
}

impl From<crate::runs::RunsError> for AppError {
    fn from(err: crate::runs::RunsError) -> Self {
        use crate::runs::RunsError;
        match err {
            RunsError::Spec(spec) => AppError::BadRequest {
                message: spec.to_string(),
                field: spec.field,
            },
            RunsError::QueueFull => AppError::Busy {
                message: err.to_string(),
            },
            RunsError::ShuttingDown => AppError::Unavailable {
                message: err.to_string(),
            },
            RunsError::NotFound(id) => AppError::NoSuchRun { id },
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::NotFound { .. } | AppError::NoSuchRun { .. } => StatusCode::NOT_FOUND,
            AppError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Forbidden { field, .. } => Some(field),
            AppError::BadRequest { field, .. } => Some(field),
            AppError::NotFound { .. } => None,
            AppError::NoSuchRun { .. } => Some("id"),
            AppError::Busy { .. } => Some("queue"),
            AppError::Unavailable { .. } => None,
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: String,
    pub field: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.to_string(),
            field: self.field().map(str::to_string),
        };
        (self.status(), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::RunsError;

    #[test]
    fn a_full_queue_is_429_and_a_closing_server_503() {
        assert_eq!(
            AppError::from(RunsError::QueueFull).status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            AppError::from(RunsError::ShuttingDown).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
