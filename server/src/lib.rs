//! gilscope's server: the engine that runs Python-concurrency experiments for real, the HTTP
//! app (dashboard files and the `/ws` websocket) and the commands of the `gilscope` binary.
//!
//! One idea per module: [`engine`] (emulated interpreters, the GIL, the trace), [`presets`]
//! (the lessons' experiments), [`assets`] (embedded dashboard), [`ws`] (websocket sessions),
//! [`guard`] (who may use the acting endpoints), [`error`] (JSON error answers),
//! [`serve`] (the `gilscope serve` command), [`cli`] (`gilscope presets` and `gilscope run`).

use std::io;
use std::net::SocketAddr;

use axum::routing::{delete, get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::trace::TraceLayer;

pub mod api;
pub mod assets;
pub mod cli;
pub mod engine;
pub mod error;
pub mod frames;
pub mod guard;
pub mod presets;
pub mod runs;
pub mod serve;
pub mod ws;

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
}

impl AppState {
    pub fn new(local_addr: SocketAddr, shutdown: CancellationToken) -> Self {
        AppState {
            local_addr,
            version: VERSION,
            cores: logical_cores(),
            shutdown,
            tasks: TaskTracker::new(),
            runs: runs::Runs::new(),
        }
    }
}

/// Logical cores, as `std::thread::available_parallelism` counts them.
pub fn logical_cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// The whole HTTP app.
pub fn app(state: AppState) -> Router {
    // Endpoints that act on the server or stream from it: this server's own pages only.
    let guarded = Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/api/runs", post(api::create))
        .route("/api/runs/{id}", delete(api::stop))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::same_origin,
        ));
    Router::new()
        .merge(guarded)
        .route("/api/presets", get(api::presets))
        .route("/api/runs", get(api::list))
        .route("/api/runs/{id}", get(api::get))
        .route("/api/runs/{id}/trace", get(api::trace))
        .route("/", get(assets::index))
        .route("/{*path}", get(assets::asset))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` is cancelled, then closes the websocket
/// sessions (waiting up to 5 s for them) and returns. The listener is closed on return, so
/// the same address can be bound again at once.
pub async fn serve(listener: TcpListener, shutdown: CancellationToken) -> io::Result<()> {
    let state = AppState::new(listener.local_addr()?, shutdown.clone());
    let tasks = state.tasks.clone();
    let runs = state.runs.clone();
    let executor = runs.spawn_executor();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
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
