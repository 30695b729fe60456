//! The server's one error type for HTTP answers: every refusal is JSON
//! `{"error": "<what is wrong>", "field": "<which input>" | null}` with a fitting status.
//! Input quoted in either is clipped where the message is made ([`gilscope_shared::clip`]);
//! the answer clips both once more, so no input can make an answer big.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gilscope_shared::clip::{clip, ECHO_CHARS};
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
    /// The run queue is full, or this client's share of it.
    #[error("{message}")]
    Busy { message: String },
    /// The client is over its share of a bound (connections from one address).
    #[error("{message}")]
    TooMany {
        message: String,
        field: &'static str,
    },
    /// The request body is bigger than the server takes.
    #[error("the request body is over {limit} bytes")]
    TooLarge { limit: usize },
    /// The request conflicts with the run's state (e.g. renaming a run still going).
    #[error("{message}")]
    Conflict {
        message: String,
        field: &'static str,
    },
    /// The server is at a bound it keeps (e.g. concurrent trace exports); try again later.
    #[error("{message}")]
    Unavailable {
        message: String,
        field: &'static str,
    },
}

impl From<gilscope_shared::spec::SpecError> for AppError {
    fn from(err: gilscope_shared::spec::SpecError) -> Self {
        AppError::BadRequest {
            message: err.to_string(),
            field: err.field,
        }
    }
}

impl From<crate::runs::RunsError> for AppError {
    fn from(err: crate::runs::RunsError) -> Self {
        use crate::runs::RunsError;
        match err {
            RunsError::Spec(spec) => AppError::BadRequest {
                message: spec.to_string(),
                field: spec.field,
            },
            RunsError::QueueFull | RunsError::ClientQueueFull(_) => AppError::Busy {
                message: err.to_string(),
            },
            RunsError::ShuttingDown => AppError::Unavailable {
                message: err.to_string(),
                field: "queue",
            },
            RunsError::NotFound(id) => AppError::NoSuchRun { id },
            RunsError::Snapshot(_) => AppError::Unavailable {
                message: err.to_string(),
                field: "id",
            },
            RunsError::CodeRefused(_) => AppError::Forbidden {
                message: err.to_string(),
                field: "engine",
            },
            RunsError::NotOver(..) => AppError::Conflict {
                message: err.to_string(),
                field: "id",
            },
            RunsError::NoStore | RunsError::NotKept(_) => AppError::Unavailable {
                message: err.to_string(),
                field: "store",
            },
            RunsError::Store(store) => AppError::from(store),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(err: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match err {
            StoreError::NotFound(id) => AppError::NoSuchRun { id },
            StoreError::File(_) => AppError::BadRequest {
                message: err.to_string(),
                field: "file".to_string(),
            },
            StoreError::TooLong { field, .. } => AppError::BadRequest {
                message: err.to_string(),
                field: field.to_string(),
            },
            StoreError::Open { .. }
            | StoreError::Locked { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::Write(_)
            | StoreError::Read(_)
            | StoreError::Stopped => AppError::Unavailable {
                message: err.to_string(),
                field: "store",
            },
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::NotFound { .. } | AppError::NoSuchRun { .. } => StatusCode::NOT_FOUND,
            AppError::Busy { .. } | AppError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
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
            AppError::TooMany { field, .. } => Some(field),
            AppError::TooLarge { .. } => Some("body"),
            AppError::Conflict { field, .. } => Some(field),
            AppError::Unavailable { field, .. } => Some(field),
        }
    }
}

/// Characters of an error message at most (it quotes input clipped to
/// [`ECHO_CHARS`], with words around it).
const MESSAGE_CHARS: usize = 1000;

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: String,
    pub field: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: clip(&self.to_string(), MESSAGE_CHARS).into_owned(),
            field: self.field().map(|f| clip(f, ECHO_CHARS + 1).into_owned()),
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
