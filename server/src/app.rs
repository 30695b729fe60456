//! The HTTP app (`fn app() -> Router`, which tests call) and serving it within bounds.

use std::io;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::limits::Limits;
use crate::state::AppState;
use crate::{api, assets, body_limit, guard, listen, ws};

/// The whole HTTP app. Acting routes read the peer's address from `ConnectInfo`, which
/// [`serve`] sets; served without it, they refuse everyone.
pub fn app(state: AppState) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};
    // Endpoints that act on the server: this server's own pages, on this machine.
    let acting = Router::new()
        .route("/api/runs", post(api::create))
        .route("/api/runs/{id}", delete(api::remove).patch(api::edit))
        .route(
            crate::body_limit::IMPORT_PATH,
            post(api::import).layer(DefaultBodyLimit::max(state.limits.import_bytes)),
        )
        .route_layer(from_fn(guard::loopback_peer));
    // ... and those that stream from it (the websocket checks its peer per message).
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
        .route("/", get(assets::index))
        .route("/{*path}", get(assets::asset))
        .layer(DefaultBodyLimit::max(state.limits.body_bytes))
        .layer(from_fn_with_state(
            state.clone(),
            body_limit::refuse_declared_too_big,
        ))
        .layer(from_fn_with_state(state.clone(), guard::host_middleware))
        .layer(TraceLayer::new_for_http())
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
    serve_keeping(listener, shutdown, limits, None).await
}

/// [`serve_with`], keeping runs that are over in `store`, as opened (none: keep nothing;
/// see [`AppState::keep_in`]). Saves still queued when the server stops are written before
/// this returns.
pub async fn serve_keeping(
    listener: TcpListener,
    shutdown: CancellationToken,
    limits: Limits,
    store: Option<Result<crate::store::Store, crate::store::StoreError>>,
) -> io::Result<()> {
    let mut state = AppState::with_limits(listener.local_addr()?, shutdown.clone(), limits.clone());
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
