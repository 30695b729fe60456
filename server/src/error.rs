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
    /// An input failed validation.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: &'static str,
    },
    /// Nothing is served at this path.
    #[error("no such route: {path}")]
    NotFound { path: String },
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            AppError::Forbidden { field, .. } | AppError::BadRequest { field, .. } => Some(field),
            AppError::NotFound { .. } => None,
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: String,
    pub field: Option<&'static str>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.to_string(),
            field: self.field(),
        };
        (self.status(), Json(body)).into_response()
    }
}
