//! The HTTP app (`fn app() -> Router`, which tests call) and serving it within bounds.

use std::io;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::classroom::{teacher_url, Classroom};
use crate::limits::Limits;
use crate::state::AppState;
use crate::{api, assets, body_limit, class_api, guard, listen, role, ws};

/// The whole HTTP app. Acting routes read the peer's address from `ConnectInfo`, which
/// [`serve`] sets; served without it, they refuse everyone but a class's teacher.
pub fn app(state: AppState) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};
    // Endpoints that act on the server: this server's own pages, for a caller who may act
    // (this machine without a class; the teacher in one).
    let acting = Router::new()
        .route("/api/runs", post(api::create))
        .route("/api/runs/{id}", delete(api::remove).patch(api::edit))
        .route(
            crate::body_limit::IMPORT_PATH,
            post(api::import).layer(DefaultBodyLimit::max(state.limits.import_bytes)),
        )
        .route("/api/classroom", put(class_api::share))
        .route_layer(from_fn_with_state(state.clone(), role::acting_only));
    // ... and those that stream from it (the websocket decides its role once, at the start).
    let guarded = Router::new()
        .merge(acting)
        .route("/ws", get(ws::upgrade))
        .route_layer(from_fn_with_state(state.clone(), guard::same_origin));
    Router::new()
        .merge(guarded)
        .route("/api/presets", get(api::presets))
        .route("/api/runs", get(api::list))
        .route("/api/runs/{id}", get(api::get))
        .route("/api/runs/{id}/trace", get(api::trace))
        .route("/api/runs/{id}/file", get(api::file))
        .route("/api/store", get(api::store))
        .route("/api/classroom", get(class_api::get))
        .route("/api/classroom/qr.svg", get(class_api::qr))
        .route("/", get(class_api::index))
        .route("/{*path}", get(assets::asset))
        .layer(DefaultBodyLimit::max(state.limits.body_bytes))
        .layer(from_fn_with_state(
            state.clone(),
            body_limit::refuse_declared_too_big,
        ))
        .layer(from_fn_with_state(state.clone(), guard::host_middleware))
        .layer(TraceLayer::new_for_http())
        // Outermost: the teacher's token leaves the URI before anything logs it.
        .layer(from_fn(teacher_url::take_token))
        .with_state(state)
}

/// Serves [`app`] on `listener` with the default [`Limits`]: see [`serve_with`].
pub async fn serve(listener: TcpListener, shutdown: CancellationToken) -> io::Result<()> {
    serve_with(listener, shutdown, Limits::default()).await
}

/// Serves [`app`] on `listener` within `limits` ([`listen::serve`]) until `shutdown` is
/// cancelled, then closes the websocket sessions (waiting up to 5 s for them) and returns.
/// The listener is closed on return, so the same address can be bound again at once.
pub async fn serve_with(
    listener: TcpListener,
    shutdown: CancellationToken,
    limits: Limits,
) -> io::Result<()> {
    serve_app(listener, shutdown, limits, None, None).await
}

/// [`serve_with`], keeping runs that are over in `store`, as opened (none: keep nothing;
/// see [`AppState::keep_in`]).
pub async fn serve_keeping(
    listener: TcpListener,
    shutdown: CancellationToken,
    limits: Limits,
    store: Option<Result<crate::store::Store, crate::store::StoreError>>,
) -> io::Result<()> {
    serve_app(listener, shutdown, limits, None, store).await
}

/// [`serve_with`], running `classroom` if given and keeping runs in `store` if given. Saves
/// still queued when the server stops are written before this returns.
pub async fn serve_app(
    listener: TcpListener,
    shutdown: CancellationToken,
    limits: Limits,
    classroom: Option<Classroom>,
    store: Option<Result<crate::store::Store, crate::store::StoreError>>,
) -> io::Result<()> {
    let mut state = AppState::with_classroom(
        listener.local_addr()?,
        shutdown.clone(),
        limits.clone(),
        classroom,
    );
    if let Some(opened) = store {
        state.keep_in(opened).map_err(io::Error::other)?;
    }
    let cpython = state.runs.cpython_status();
    if cpython.available {
        tracing::info!("runs on CPython use {}", cpython.detail);
    } else {
        tracing::warn!("no runs on CPython: {}", cpython.detail);
    }
    let tasks = state.tasks.clone();
    let runs = state.runs.clone();
    let executor = runs.spawn_executor();
    listen::serve(listener, app(state), &limits, shutdown.clone()).await;
    runs.shutdown();
    tasks.close();
    if tokio::time::timeout(std::time::Duration::from_secs(5), executor)
        .await
        .is_err()
    {
        tracing::warn!("the running experiment did not stop within 5 s");
    }
    if tokio::time::timeout(std::time::Duration::from_secs(5), tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("websocket sessions did not close within 5 s");
    }
    if let Some(store) = runs.store() {
        match tokio::task::spawn_blocking(move || store.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("{err}"),
            Err(err) => tracing::warn!("the store did not finish saving: {err}"),
        }
    }
    Ok(())
}
