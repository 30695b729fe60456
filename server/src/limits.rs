//! Every bound that keeps the server alive under abuse, in one place (issue #15). The defaults
//! are what `gilscope serve` uses; tests shrink them to reach the bounds in seconds.

use std::time::Duration;

/// What one server allows; see [`Limits::default`] for the values and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Trace exports streaming at once; one more is answered `503`. Each costs a blocking
    /// thread and a few chunks of memory, whatever the trace's size.
    pub exports: usize,
    /// Bytes of finished runs' traces kept for replay and export (an estimate of their heap,
    /// [`gilscope_shared::trace::Trace::heap_bytes`]); beyond it the oldest finished runs are
    /// dropped. The newest finished run is always kept.
    pub keep_bytes: usize,
    /// Runs one client (a websocket session, or an HTTP peer address) may have waiting; one
    /// more is answered `429`.
    pub queued_per_client: usize,
    /// Largest request body, in bytes; a bigger one is answered `413` (before it is read when
    /// its `Content-Length` says so).
    pub body_bytes: usize,
    /// Largest run file `POST /api/runs/import` takes, in bytes; a bigger one is answered
    /// `413`, before a byte of it is read when its `Content-Length` says so. A run file of
    /// a million events is about 5 MB.
    pub import_bytes: usize,
    /// Largest websocket message and frame a viewer may send, in bytes; a bigger one closes
    /// the connection with code 1009.
    pub ws_message_bytes: usize,
    /// Time a client has to send a request's headers. It also bounds how long a kept-alive
    /// connection may wait idle for its next request.
    pub header_read_timeout: Duration,
    /// An HTTP connection that moves no byte either way for this long is closed (a body that
    /// never comes, an answer nobody reads). Websockets are exempt: viewers may watch quietly.
    pub idle_timeout: Duration,
    /// Connections open at once, websockets included; beyond it new ones are closed at once.
    /// Lowered at start to fit the open-file limit ([`crate::rlimit`]).
    pub max_connections: usize,
    /// Websocket viewers at once (students and teacher); one more is answered `503`
    /// (`viewers`). `gilscope serve --max-viewers`.
    pub max_viewers: usize,
    /// Connections open at once from one address; one more is answered `429`
    /// (`connections`) and closed. `gilscope serve --max-per-address`.
    pub connections_per_address: usize,
    /// Messages a websocket viewer may send per second on average (as many at once); beyond
    /// it the server reads that viewer's messages no faster.
    pub ws_messages_per_s: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            exports: 8,
            keep_bytes: 256 * 1024 * 1024,
            queued_per_client: 2,
            body_bytes: 64 * 1024,
            import_bytes: 256 * 1024 * 1024,
            ws_message_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_viewers: 500,
            connections_per_address: 8,
            ws_messages_per_s: 20,
        }
    }
}
