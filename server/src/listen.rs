//! Accepting and serving HTTP connections within bounds: at most
//! [`Limits::max_connections`] open at once (websockets included; one more is closed as soon
//! as it is accepted), at most [`Limits::connections_per_address`] from one address (one more
//! is answered `429` naming `connections`, then closed), a request's headers within [`Limits::header_read_timeout`] (which also
//! ends a kept-alive connection idle between requests), and no HTTP connection silent either
//! way for [`Limits::idle_timeout`]. Each request carries its peer's address as
//! `ConnectInfo<SocketAddr>`. On shutdown: no new connection, in-flight requests finish.
//!
//! `axum::serve` has none of these knobs, so this is its accept loop with them, on hyper's
//! HTTP/1 server (the dashboard and its websocket speak HTTP/1.1).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::error::AppError;
use crate::limits::Limits;
use crate::per_address::{PerAddress, Slot};

/// Largest request head (request line and headers) read, in bytes; a bigger one is answered
/// `431`. Hyper's smallest allowed buffer is 8 KiB.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long shutdown waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` is cancelled, then stops accepting, lets
/// in-flight requests finish (up to 5 s) and returns, closing the listener.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerAddress::new(limits.connections_per_address);
    let connections = TaskTracker::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "closing a new connection: {} are open", limits.max_connections);
            continue;
        };
        let activity = Arc::new(Activity::new());
        let slot = per_address.take(peer.ip());
        let refused = slot.is_none();
        let io = Metered {
            io: stream,
            activity: activity.clone(),
            _permit: permit,
            _slot: slot,
        };
        if refused {
            tracing::debug!(%peer, "refusing a connection: {} are open from its address", per_address.max());
            connections.spawn(refuse_connection(
                http.clone(),
                io,
                per_address.max(),
                peer,
                limits.header_read_timeout,
            ));
            continue;
        }
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        connections.spawn(serve_connection(
            http.clone(),
            io,
            TowerToHyperService::new(service),
            activity,
            limits.idle_timeout,
            shutdown.clone(),
        ));
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(DRAIN, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight {DRAIN:?} after shutdown");
    }
}

/// One connection until it ends, is idle too long, or shutdown lets its request finish. An
/// upgrade to a websocket ends this task, not the connection: the socket (and its permit)
/// then lives in the websocket session.
async fn serve_connection<S>(
    http: http1::Builder,
    io: Metered,
    service: S,
    activity: Arc<Activity>,
    idle: Duration,
    shutdown: CancellationToken,
) where
    S: hyper::service::HttpService<Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = http
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut closing = false;
    loop {
        let idle_at = activity.last() + idle;
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!("connection ended: {err}");
                }
                return;
            }
            () = shutdown.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_at.into()) => {
                if activity.last() + idle <= Instant::now() {
                    tracing::debug!("closing a connection silent for {idle:?}");
                    return;
                }
            }
        }
    }
}

/// Answers the one request of a connection over its address's share `429` naming
/// `connections`, then closes it (within `timeout`).
async fn refuse_connection(
    mut http: http1::Builder,
    io: Metered,
    max: usize,
    peer: std::net::SocketAddr,
    timeout: Duration,
) {
    let service = hyper::service::service_fn(move |_request: hyper::Request<Incoming>| {
        let refusal = AppError::TooMany {
            message: format!(
                "{max} connections from {} are open already, the most one address may have \
                 (gilscope serve --max-per-address); close a tab or try again",
                peer.ip().to_canonical()
            ),
            field: "connections",
        };
        std::future::ready(Ok::<_, std::convert::Infallible>(
            axum::response::IntoResponse::into_response(refusal),
        ))
    });
    http.keep_alive(false);
    let conn = http.serve_connection(TokioIo::new(io), service);
    if tokio::time::timeout(timeout, conn).await.is_err() {
        tracing::debug!(%peer, "a refused connection sent no request in time");
    }
}

/// `accept` failed: a connection that died before it was accepted is no matter; anything
/// else (out of open files) is logged, and accepting pauses a moment so the loop does not
/// spin while nothing can be accepted.
async fn accept_failed(err: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!("cannot accept a connection: {err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// When a connection last moved a byte.
struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last byte read or written.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A connection's socket, noting when it moves bytes and holding its place among the open
/// connections until it is closed.
struct Metered {
    io: TcpStream,
    activity: Arc<Activity>,
    _permit: OwnedSemaphorePermit,
    _slot: Option<Slot>,
}

impl AsyncRead for Metered {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
