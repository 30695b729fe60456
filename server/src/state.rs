//! What every handler can see: the server's address, the run manager, its bounds.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::classroom::{Classroom, Follow};
use crate::limits::Limits;
use crate::runs;

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
    /// The class this server runs (`gilscope serve --classroom`), if any.
    pub classroom: Option<Arc<Classroom>>,
    /// The teacher's shared state and the viewers connected.
    pub follow: Follow,
    /// Why runs are not kept, when the store was asked for and could not be opened.
    pub store_error: Option<String>,
}

impl AppState {
    /// A server's state with the default [`Limits`]; it keeps no runs on disk (tests), see
    /// [`AppState::open_store`].
    pub fn new(local_addr: SocketAddr, shutdown: CancellationToken) -> Self {
        Self::with_limits(local_addr, shutdown, Limits::default())
    }

    pub fn with_limits(
        local_addr: SocketAddr,
        shutdown: CancellationToken,
        limits: Limits,
    ) -> Self {
        Self::with_classroom(local_addr, shutdown, limits, None)
    }

    /// A server's state, running `classroom` if given. Listening beyond this machine without
    /// a class, it runs no code on CPython (nobody there could be trusted with it); a class's
    /// teacher may.
    pub fn with_classroom(
        local_addr: SocketAddr,
        shutdown: CancellationToken,
        limits: Limits,
        classroom: Option<Classroom>,
    ) -> Self {
        let runs = runs::Runs::new(&limits);
        if !local_addr.ip().is_loopback() && classroom.is_none() {
            runs.refuse_code(local_addr);
        }
        AppState {
            local_addr,
            version: VERSION,
            cores: logical_cores(),
            shutdown,
            tasks: TaskTracker::new(),
            runs,
            exports: Arc::new(Semaphore::new(limits.exports)),
            classroom: classroom.map(Arc::new),
            follow: Follow::new(limits.max_viewers),
            limits,
            store_error: None,
        }
    }
}

impl AppState {
    /// Keeps runs that are over in the store `config` describes: see [`AppState::keep_in`].
    pub fn open_store(
        &mut self,
        config: crate::store::StoreConfig,
    ) -> Result<(), crate::store::StoreError> {
        self.keep_in(crate::store::Store::open(config))
    }

    /// Keeps runs that are over in `opened`. A store another server holds is an error (two
    /// servers never share one); any other failure to open it (a read-only or missing
    /// directory, a newer schema) is logged and kept in [`AppState::store_error`]: the
    /// server runs on, keeping nothing.
    pub fn keep_in(
        &mut self,
        opened: Result<crate::store::Store, crate::store::StoreError>,
    ) -> Result<(), crate::store::StoreError> {
        use crate::store::StoreError;
        let opened = opened.and_then(|store| {
            let dir = store.dir().display().to_string();
            self.runs.set_store(store)?;
            Ok(dir)
        });
        match opened {
            Ok(dir) => {
                tracing::info!("runs are kept in {dir}");
                Ok(())
            }
            Err(err @ StoreError::Locked { .. }) => Err(err),
            Err(err) => {
                tracing::error!("{err}; runs go on but are not kept");
                self.store_error = Some(format!("{err}; runs go on but are not kept"));
                Ok(())
            }
        }
    }
}

/// Logical cores, as `std::thread::available_parallelism` counts them.
pub fn logical_cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}
