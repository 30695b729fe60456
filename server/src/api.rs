//! The HTTP API, JSON in and out, the same types as the websocket:
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/presets` | every preset: knobs, bounds, descriptions, Python code |
//! | `POST /api/runs` `{"preset": NAME, "knobs": {NAME: VALUE}}` | `201` the queued run |
//! | `GET /api/runs` | every run the server remembers, oldest first |
//! | `GET /api/runs/{id}` | its state and, once over, its summary |
//! | `GET /api/runs/{id}/trace` | Chrome Trace Event JSON (Perfetto opens it) |
//! | `GET /api/runs/{id}/trace?format=gilscope` | the trace model itself (`shared::trace::Trace`) |
//! | `DELETE /api/runs/{id}` | stops it; answers its state |
//!
//! `POST` and `DELETE` sit behind [`crate::guard::same_origin`]. Errors are
//! `{"error": ..., "field": ...}` with a 4xx status.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gilscope_shared::protocol::{RunId, RunInfo};
use gilscope_shared::spec::{ExperimentSpec, PresetInfo};
use serde::Deserialize;

use crate::engine::chrome::to_chrome;
use crate::error::AppError;
use crate::AppState;

pub async fn presets(State(state): State<AppState>) -> Json<Vec<PresetInfo>> {
    Json(state.runs.presets().to_vec())
}

pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<ExperimentSpec>, JsonRejection>,
) -> Result<(StatusCode, Json<RunInfo>), AppError> {
    let Json(spec) = body.map_err(|rejection| AppError::BadRequest {
        message: rejection.body_text(),
        field: "body".to_string(),
    })?;
    let info = state.runs.submit(spec)?;
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
    // A big trace takes a while to convert: off the async workers.
    let body = tokio::task::spawn_blocking(move || match query.format {
        TraceFormat::Chrome => Json(to_chrome(&trace)).into_response(),
        TraceFormat::Gilscope => Json(&*trace).into_response(),
    })
    .await
    .expect("converting a trace does not panic");
    Ok(body)
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
