//! The HTTP API, JSON in and out, the same types as the websocket:
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/presets` | every preset: knobs, bounds, descriptions, Python code |
//! | `POST /api/runs` `{"preset": NAME, "knobs": {NAME: VALUE}}` | `201` the queued run |
//! | `GET /api/runs?lesson=&limit=&before=&format=` | a page of runs: the newest `limit` below `before`, oldest first; live, queued and kept ([`RunEntry`]; `format=wire`: as the dashboard reads it, [`protocol::encode_listed`]) |
//! | `GET /api/runs/{id}` | its state, once over its summary, and what the store keeps of it |
//! | `GET /api/runs/{id}/trace` | Chrome Trace Event JSON (Perfetto opens it), streamed |
//! | `GET /api/runs/{id}/trace?format=gilscope` | the trace model itself (`shared::trace::Trace`), streamed |
//! | `GET /api/runs/{id}/file` | the run as one run file ([`crate::store::file`]) |
//! | `PATCH /api/runs/{id}` `{"name"?, "note"?, "starred"?}` | renames, notes, stars a kept run |
//! | `DELETE /api/runs/{id}` | a queued or live run: stops it; one that is over: deletes it |
//! | `POST /api/runs/import` (a run file) | `201` the run, kept under a new id |
//! | `GET /api/store` | where runs are kept, how much, and the last save's error |
//!
//! Every route checks `Host`; `POST`, `PATCH`, `PUT` and `DELETE` also `Origin`
//! ([`crate::guard`]) and that the caller may act ([`crate::role`]); editing, deleting and
//! importing kept runs also that the peer is on this machine. Errors are `{"error": ..., "field": ...}` with a 4xx status,
//! or `503` when [`crate::limits::Limits::exports`] exports are already streaming.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gilscope_shared::history::{RunEdit, RunEntry, StoreStatus};
use gilscope_shared::input::from_json;
use gilscope_shared::protocol::{self, RunId, RunInfo};
use gilscope_shared::spec::{ExperimentSpec, PresetInfo};
use serde::Deserialize;

use crate::error::AppError;
use crate::guard::Peer;
use crate::runs::Client;
use crate::state::AppState;
use crate::store::{Page, MAX_PAGE};
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

/// Longest `lesson` filter, in characters.
const MAX_LESSON_CHARS: usize = 64;

fn bad(field: &str, message: String) -> AppError {
    AppError::BadRequest {
        message,
        field: gilscope_shared::clip::echo(field).into_owned(),
    }
}

/// How `GET /api/runs` answers: JSON [`RunEntry`]s, or gilscope's wire format for the dashboard
/// ([`protocol::encode_listed`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ListFormat {
    #[default]
    Json,
    Wire,
}

/// `GET /api/runs` query: each parameter checked, its error naming it and its range.
fn page_of(pairs: Vec<(String, String)>) -> Result<(Page, ListFormat), AppError> {
    let mut page = Page::default();
    let mut format = ListFormat::default();
    let mut seen = std::collections::BTreeSet::new();
    for (key, value) in pairs {
        if !seen.insert(key.clone()) {
            return Err(bad(&key, format!("{key} is given twice")));
        }
        match key.as_str() {
            "lesson" => {
                let ok = (1..=MAX_LESSON_CHARS).contains(&value.chars().count())
                    && value.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    });
                if !ok {
                    return Err(bad(
                        "lesson",
                        format!(
                            "lesson is a preset's name: 1 to {MAX_LESSON_CHARS} of a-z, 0-9, - and _"
                        ),
                    ));
                }
                page.lesson = Some(value);
            }
            "limit" => {
                page.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "limit",
                            format!("limit is a whole number from 1 to {MAX_PAGE}"),
                        )
                    })?;
            }
            "before" => {
                page.before = Some(
                    value
                        .parse::<RunId>()
                        .ok()
                        .filter(|&n| (1..=i64::MAX as u64).contains(&n))
                        .ok_or_else(|| {
                            bad(
                                "before",
                                format!(
                                    "before is a run id, a whole number from 1 to {}",
                                    i64::MAX
                                ),
                            )
                        })?,
                );
            }
            "format" => {
                format = match value.as_str() {
                    "json" => ListFormat::Json,
                    "wire" => ListFormat::Wire,
                    _ => return Err(bad("format", "format is json or wire".to_string())),
                };
            }
            _ => {
                return Err(bad(
                    &key,
                    format!(
                        "unknown query parameter {}: the known ones are lesson, limit, before \
                         and format",
                        gilscope_shared::clip::echo(&key)
                    ),
                ))
            }
        }
    }
    Ok((page, format))
}

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(pairs) = query.map_err(|err| bad("query", err.body_text()))?;
    let (page, format) = page_of(pairs)?;
    let entries = state.runs.entries(page).await?;
    Ok(match format {
        ListFormat::Json => Json(entries).into_response(),
        ListFormat::Wire => (
            [(CONTENT_TYPE, "application/octet-stream")],
            protocol::encode_listed(entries),
        )
            .into_response(),
    })
}

pub async fn get(
    State(state): State<AppState>,
    id: Result<Path<RunId>, PathRejection>,
) -> Result<Json<RunEntry>, AppError> {
    Ok(Json(state.runs.entry(run_id(id)?).await?))
}

/// `PATCH /api/runs/{id}`: JSON [`RunEdit`], behind the acting guard.
pub async fn edit(
    State(state): State<AppState>,
    peer: Peer,
    id: Result<Path<RunId>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RunEntry>, AppError> {
    peer.may_act()?;
    let id = run_id(id)?;
    let body = body.map_err(|rejection| body_error(&state, rejection))?;
    let edit: RunEdit = from_json(&body).map_err(|err| AppError::BadRequest {
        message: err.message,
        field: err.field.unwrap_or_else(|| "body".to_string()),
    })?;
    Ok(Json(state.runs.edit(id, edit).await?))
}

/// `GET /api/runs/{id}/file`: the run as a run file, to download.
pub async fn file(
    State(state): State<AppState>,
    id: Result<Path<RunId>, PathRejection>,
) -> Result<Response, AppError> {
    let id = run_id(id)?;
    let bytes = state.runs.file(id).await?;
    let disposition = format!(
        "attachment; filename=\"run-{id}.{}\"",
        crate::store::file::EXTENSION
    );
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/runs/import`: a run file as the body (up to [`crate::limits::Limits::import_bytes`]).
pub async fn import(
    State(state): State<AppState>,
    peer: Peer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<RunEntry>), AppError> {
    peer.may_act()?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge {
            limit: state.limits.import_bytes,
        },
        _ => bad("body", rejection.body_text()),
    })?;
    Ok((StatusCode::CREATED, Json(state.runs.import(body).await?)))
}

/// `GET /api/store`.
pub async fn store(State(state): State<AppState>) -> Result<Json<StoreStatus>, AppError> {
    let Some(store) = state.runs.store() else {
        return Ok(Json(StoreStatus {
            error: state.store_error.clone(),
            ..StoreStatus::default()
        }));
    };
    let status = tokio::task::spawn_blocking(move || store.status())
        .await
        .map_err(|err| AppError::Unavailable {
            message: err.to_string(),
            field: "store",
        })?;
    Ok(Json(status))
}

fn body_error(state: &AppState, rejection: BytesRejection) -> AppError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge {
            limit: state.limits.body_bytes,
        },
        _ => bad("body", rejection.body_text()),
    }
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
    let (_, trace) = state.runs.trace_any(run_id(id)?).await?;
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

/// `DELETE /api/runs/{id}`: stops a queued or live run; deletes one that is over.
pub async fn remove(
    State(state): State<AppState>,
    id: Result<Path<RunId>, PathRejection>,
) -> Result<Json<RunInfo>, AppError> {
    Ok(Json(state.runs.remove(run_id(id)?).await?))
}

fn run_id(id: Result<Path<RunId>, PathRejection>) -> Result<RunId, AppError> {
    id.map(|Path(id)| id).map_err(|_| AppError::BadRequest {
        message: "a run id is a whole number from 1 up".to_string(),
        field: "id".to_string(),
    })
}
