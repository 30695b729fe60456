//! The HTTP API, JSON in and out, the same types as the websocket:
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/presets` | every preset: knobs, bounds, descriptions, Python code |
//! | `POST /api/runs` `{"preset": NAME, "knobs": {NAME: VALUE}}` | `201` the queued run |
//! | `GET /api/runs` | every run the server remembers, oldest first |
//! | `GET /api/runs/{id}` | its state and, once over, its summary |
//! | `GET /api/runs/{id}/trace` | Chrome Trace Event JSON (Perfetto opens it), streamed |
//! | `GET /api/runs/{id}/trace?format=gilscope` | the trace model itself (`shared::trace::Trace`), streamed |
//! | `DELETE /api/runs/{id}` | stops it; answers its state |
//!
//! Every route checks `Host`; `POST` and `DELETE` also `Origin` ([`crate::guard`]) and that
//! the caller may act ([`crate::role`]). Errors are `{"error": ..., "field": ...}` with a 4xx status,
//! or `503` when [`crate::limits::Limits::exports`] exports are already streaming.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gilscope_shared::input::from_json;
use gilscope_shared::protocol::{RunId, RunInfo};
use gilscope_shared::spec::{ExperimentSpec, PresetInfo};
use serde::Deserialize;

use crate::error::AppError;
use crate::guard::Peer;
use crate::runs::Client;
use crate::state::AppState;
use crate::{export, stream_body};

pub async fn presets(State(state): State<AppState>) -> Json<Vec<PresetInfo>> {
    Json(state.runs.presets().to_vec())
}

/// `POST /api/runs`, behind [`crate::role::acting_only`]: a JSON [`ExperimentSpec`], its
/// errors naming the field at fault, queued for this peer's address.
pub async fn create(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<RunInfo>), AppError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(AppError::BadRequest {
            message: "expected a JSON body with Content-Type: application/json".to_string(),
            field: "body".to_string(),
        });
    }
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge {
            limit: state.limits.body_bytes,
        },
        _ => AppError::BadRequest {
            message: rejection.body_text(),
            field: "body".to_string(),
        },
    })?;
    let spec: ExperimentSpec = from_json(&body).map_err(|err| AppError::BadRequest {
        message: err.message,
        field: err.field.unwrap_or_else(|| "body".to_string()),
    })?;
    let ip = peer
        .0
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
    let client = Client::Peer(ip.to_canonical());
    let info = state.runs.submit(spec, client)?;
    Ok((StatusCode::CREATED, Json(info)))
}

pub async fn list(State(state): State<AppState>) -> Json<Vec<RunInfo>> {
    Json(state.runs.list())
}

pub async fn get(
    State(state): State<AppState>,
    id: Result<Path<RunId>, PathRejection>,
) -> Result<Json<RunInfo>, AppError> {
    Ok(Json(state.runs.get(run_id(id)?)?))
}

/// `?format=` of a trace download.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormat {
    /// Chrome Trace Event JSON, for Perfetto and chrome://tracing.
    #[default]
    Chrome,
    /// gilscope's own trace model.
    Gilscope,
}

#[derive(Debug, Deserialize)]
pub struct TraceQuery {
    #[serde(default)]
    format: TraceFormat,
}

pub async fn trace(
    State(state): State<AppState>,
    id: Result<Path<RunId>, PathRejection>,
    query: Result<Query<TraceQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(query) = query.map_err(|_| AppError::BadRequest {
        message: "format is one of chrome, gilscope".to_string(),
        field: "format".to_string(),
    })?;
    let (_, trace) = state.runs.trace(run_id(id)?)?;
    let permit = state
        .exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| AppError::Unavailable {
            message: format!(
                "{} trace exports are streaming already; try again when one has finished",
                state.limits.exports
            ),
            field: "trace",
        })?;
    // Written on a blocking thread as the client reads it: memory stays flat.
    let body = stream_body::spawn(move |out| {
        let _permit = permit;
        match query.format {
            TraceFormat::Chrome => export::write_chrome(&trace, out),
            TraceFormat::Gilscope => export::write_gilscope(&trace, out),
        }
    });
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn stop(
    State(state): State<AppState>,
    id: Result<Path<RunId>, PathRejection>,
) -> Result<Json<RunInfo>, AppError> {
    Ok(Json(state.runs.stop(run_id(id)?)?))
}

fn run_id(id: Result<Path<RunId>, PathRejection>) -> Result<RunId, AppError> {
    id.map(|Path(id)| id).map_err(|_| AppError::BadRequest {
        message: "a run id is a whole number from 1 up".to_string(),
        field: "id".to_string(),
    })
}
