//! The websocket to the server, for the whole page: connects to `/ws` on the page's own
//! host, keeps the connection state, the server's hello and the last error in signals, and
//! reconnects by itself with exponential backoff (250 ms doubling, capped at 2 s) whenever
//! the connection drops or cannot be made.
//!
//! States: `connecting` until the first attempt ends, `connected` from the server's hello
//! on, `lost` from a drop until the next hello (retries happen while `lost`).

use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::future::select;
use futures::{SinkExt, StreamExt};
use gilscope_shared::protocol::{self, ClientMsg, ErrorMsg, Hello, Payload, ServerMsg};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::Message;
use leptos::logging::warn;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// First retry delay after a failure.
pub const BACKOFF_START: Duration = Duration::from_millis(250);
/// Longest wait between attempts.
pub const BACKOFF_CAP: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Connected,
    Lost,
}

impl ConnState {
    /// The word the page shows (and the tests read).
    pub fn label(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Lost => "lost",
        }
    }
}

/// Delay before the next attempt after `failures` consecutive failed attempts.
pub fn backoff(failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures).unwrap_or(u32::MAX);
    BACKOFF_START.saturating_mul(factor).min(BACKOFF_CAP)
}

/// A handle to the page's connection: cheap to copy, readable from any component.
#[derive(Clone, Copy)]
pub struct Connection {
    pub state: ReadSignal<ConnState>,
    /// The last hello received (kept while the connection is lost).
    pub hello: ReadSignal<Option<Hello>>,
    /// The last error the server reported about something this page sent.
    pub last_error: ReadSignal<Option<ErrorMsg>>,
    /// While `lost`: how long until the next attempt.
    pub retry_in: ReadSignal<Option<Duration>>,
    outbox: StoredValue<Option<mpsc::UnboundedSender<ClientMsg>>>,
}

impl Connection {
    /// Queues a request for the server; false when there is no open connection.
    pub fn send(&self, msg: ClientMsg) -> bool {
        self.outbox.with_value(|outbox| {
            outbox
                .as_ref()
                .is_some_and(|tx| tx.unbounded_send(msg).is_ok())
        })
    }
}

/// The write side of a [`Connection`]'s signals, owned by the connection task.
#[derive(Clone, Copy)]
struct Writers {
    state: WriteSignal<ConnState>,
    hello: WriteSignal<Option<Hello>>,
    last_error: WriteSignal<Option<ErrorMsg>>,
    retry_in: WriteSignal<Option<Duration>>,
    outbox: StoredValue<Option<mpsc::UnboundedSender<ClientMsg>>>,
}

/// Runs and frames, handed to whoever shows them.
pub type OnRun = Rc<dyn Fn(ServerMsg)>;

/// Starts the connection task for `url` (see [`ws_url`]); `on_run` gets every
/// [`ServerMsg::Run`] and [`ServerMsg::Frame`].
pub fn connect(url: String, on_run: OnRun) -> Connection {
    let (state, set_state) = signal(ConnState::Connecting);
    let (hello, set_hello) = signal(None);
    let (last_error, set_last_error) = signal(None);
    let (retry_in, set_retry_in) = signal(None);
    let outbox = StoredValue::new(None);
    let writers = Writers {
        state: set_state,
        hello: set_hello,
        last_error: set_last_error,
        retry_in: set_retry_in,
        outbox,
    };
    spawn_local(keep_connected(url, writers, on_run));
    Connection {
        state,
        hello,
        last_error,
        retry_in,
        outbox,
    }
}

/// `ws://<this page's host>/ws` (or `wss://` under https).
pub fn ws_url() -> String {
    let location = window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/ws")
}

async fn keep_connected(url: String, w: Writers, on_run: OnRun) {
    let mut failures: u32 = 0;
    loop {
        w.retry_in.set(None);
        let greeted = match WebSocket::open(&url) {
            Ok(socket) => session(socket, w, &on_run).await,
            Err(err) => {
                warn!("cannot open {url}: {err}");
                false
            }
        };
        failures = if greeted {
            0
        } else {
            failures.saturating_add(1)
        };
        w.state.set(ConnState::Lost);
        let delay = backoff(failures.saturating_sub(1));
        w.retry_in.set(Some(delay));
        gloo_timers::future::sleep(delay).await;
    }
}

/// Runs one connection until it drops; true if the server said hello on it.
async fn session(socket: WebSocket, w: Writers, on_run: &OnRun) -> bool {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded::<ClientMsg>();
    w.outbox.set_value(Some(tx));
    let mut greeted = false;
    {
        let reader = pin!(async {
            while let Some(Ok(msg)) = stream.next().await {
                let frame = match msg {
                    Message::Text(text) => Payload::Text(text),
                    Message::Bytes(bytes) => Payload::Binary(bytes),
                };
                match protocol::decode_server(&frame) {
                    Ok(msg) => {
                        if matches!(msg, ServerMsg::Hello(_)) {
                            greeted = true;
                        }
                        dispatch(msg, w, on_run);
                    }
                    Err(err) => warn!("ignoring a message from the server: {err}"),
                }
            }
        });
        let writer = pin!(async {
            while let Some(msg) = rx.next().await {
                let message = match protocol::encode(&msg) {
                    Payload::Text(text) => Message::Text(text),
                    Payload::Binary(bytes) => Message::Bytes(bytes),
                };
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        select(reader, writer).await;
    }
    w.outbox.set_value(None);
    greeted
}

/// Where each server message goes.
fn dispatch(msg: ServerMsg, w: Writers, on_run: &OnRun) {
    match msg {
        ServerMsg::Hello(hello) => {
            w.hello.set(Some(hello));
            w.last_error.set(None);
            w.state.set(ConnState::Connected);
        }
        // Kept only comes in a page of the history (crate::api), never on the websocket.
        ServerMsg::Pong { .. } | ServerMsg::Kept { .. } => {}
        ServerMsg::Run(_)
        | ServerMsg::Frame(_)
        | ServerMsg::Class(_)
        | ServerMsg::Viewers { .. } => on_run(msg),
        ServerMsg::Error(err) => {
            warn!("server: {}", err.message);
            w.last_error.set(Some(err));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let ms: Vec<u128> = (0..7).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 2000, 2000, 2000]);
        assert_eq!(backoff(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn labels_are_what_the_tests_read() {
        assert_eq!(ConnState::Connecting.label(), "connecting");
        assert_eq!(ConnState::Connected.label(), "connected");
        assert_eq!(ConnState::Lost.label(), "lost");
    }
}
