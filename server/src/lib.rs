//! gilscope's server: the engine that runs Python-concurrency experiments for real, the HTTP
//! app (dashboard files and the `/ws` websocket) and the commands of the `gilscope` binary.
//!
//! One idea per module: [`engine`] (emulated interpreters, the GIL, the trace), [`presets`]
//! (the lessons' experiments), [`assets`] (embedded dashboard), [`ws`] (websocket sessions),
//! [`guard`] (who may read and who may act), [`error`] (JSON error answers), [`export`]
//! (Chrome Trace JSON, streamed), [`stream_body`] (answers written as they are read),
//! [`limits`] (every bound under abuse), [`listen`] (connections within bounds),
//! [`body_limit`], [`rlimit`], [`serve`] (the `gilscope serve` command), [`cli`]
//! (`gilscope presets` and `gilscope run`).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::trace::TraceLayer;

pub mod api;
pub mod assets;
pub mod body_limit;
pub mod cli;
pub mod engine;
pub mod error;
pub mod export;
pub mod frames;
pub mod guard;
pub mod limits;
pub mod listen;
pub mod presets;
pub mod rlimit;
pub mod runs;
pub mod sampler;
pub mod serve;
pub mod stream_body;
pub mod ws;

pub use limits::Limits;

/// This crate's version, sent to every viewer in the hello message.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What every handler can see.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The address the server is bound to; the guard compares `Host` and `Origin` with it.
    pub local_addr: SocketAddr,
    pub version: &'static str,
    /// Logical cores of this machine.
    pub cores: u32,
    /// Cancelled when the server shuts down: websocket sessions then close.
    pub shutdown: CancellationToken,
    /// Websocket sessions, so shutdown can wait for them to close.
    pub tasks: TaskTracker,
    /// The run manager: what runs, what waits, what ran.
    pub runs: runs::Runs,
    /// The bounds this server keeps.
    pub limits: Limits,
    /// One permit per trace export streaming now ([`Limits::exports`]).
    pub exports: Arc<Semaphore>,
}

impl AppState {
    /// A server's state with the default [`Limits`].
    pub fn new(local_addr: SocketAddr, shutdown: CancellationToken) -> Self {
        Self::with_limits(local_addr, shutdown, Limits::default())
    }

    pub fn with_limits(
        local_addr: SocketAddr,
        shutdown: CancellationToken,
        limits: Limits,
    ) -> Self {
        AppState {
            local_addr,
            version: VERSION,
            cores: logical_cores(),
            shutdown,
            tasks: TaskTracker::new(),
            runs: runs::Runs::new(presets::infos(), &limits),
            exports: Arc::new(Semaphore::new(limits.exports)),
            limits,
        }
    }
}

/// Logical cores, as `std::thread::available_parallelism` counts them.
pub fn logical_cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// The whole HTTP app. Acting routes read the peer's address from `ConnectInfo`, which
/// [`serve`] sets; served without it, they refuse everyone.
pub fn app(state: AppState) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};
    // Endpoints that act on the server: this server's own pages, on this machine.
    let acting = Router::new()
        .route("/api/runs", post(api::create))
        .route("/api/runs/{id}", delete(api::stop))
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
    let state = AppState::with_limits(listener.local_addr()?, shutdown.clone(), limits.clone());
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
    Ok(())
}
