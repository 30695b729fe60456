//! The websocket to the server, for the whole page: connects to `/ws` on the page's own
//! host, keeps the connection state, the server's hello and the last error in signals, and
//! reconnects by itself with exponential backoff (250 ms doubling, capped at 2 s) whenever
//! the connection drops or cannot be made.
//!
//! States: `connecting` until the first attempt ends, `connected` from the server's hello
//! on, `lost` from a drop until the next hello (retries happen while `lost`).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gilscope_shared::protocol::{self, ClientMsg, ErrorMsg, Hello, Payload, ServerMsg};
use js_sys::{ArrayBuffer, Function, Promise, Uint8Array};
use leptos::logging::warn;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{BinaryType, MessageEvent, WebSocket};

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
    /// The socket while it is open.
    outbox: StoredValue<Option<WebSocket>, LocalStorage>,
}

impl Connection {
    /// Sends a request to the server; false when there is no open connection.
    pub fn send(&self, msg: ClientMsg) -> bool {
        self.outbox.with_value(|socket| {
            socket.as_ref().is_some_and(|socket| {
                match protocol::encode(&msg) {
                    Payload::Text(text) => socket.send_with_str(&text),
                    Payload::Binary(bytes) => socket.send_with_u8_array(&bytes),
                }
                .is_ok()
            })
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
    outbox: StoredValue<Option<WebSocket>, LocalStorage>,
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
    let outbox = StoredValue::new_local(None);
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
        let greeted = match WebSocket::new(&url) {
            Ok(socket) => session(socket, w, &on_run).await,
            Err(err) => {
                warn!("cannot open {url}: {}", describe(&err));
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

/// Runs one connection until it closes (an error closes it too); true if the server said
/// hello on it. The browser's socket directly, with handlers: smaller in the wasm than a
/// `Stream` and `Sink` over it with channels between.
async fn session(socket: WebSocket, w: Writers, on_run: &OnRun) -> bool {
    socket.set_binary_type(BinaryType::Arraybuffer);
    let greeted = Rc::new(Cell::new(false));
    let on_open = {
        let socket = socket.clone();
        Closure::<dyn FnMut()>::new(move || w.outbox.set_value(Some(socket.clone())))
    };
    let on_message = {
        let (greeted, on_run) = (greeted.clone(), on_run.clone());
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let frame = match data.as_string() {
                Some(text) => Payload::Text(text),
                None => match data.dyn_into::<ArrayBuffer>() {
                    Ok(buffer) => Payload::Binary(Uint8Array::new(&buffer).to_vec()),
                    Err(_) => return,
                },
            };
            match protocol::decode_server(&frame) {
                Ok(msg) => {
                    if matches!(msg, ServerMsg::Hello(_)) {
                        greeted.set(true);
                    }
                    dispatch(msg, w, &on_run);
                }
                Err(err) => warn!("ignoring a message from the server: {err}"),
            }
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Resolved by the close event, which also follows an error or a failed attempt.
    let closed = Promise::new(&mut |resolve: Function, _reject: Function| {
        socket.set_onclose(Some(&resolve));
    });
    let _ = JsFuture::from(closed).await;
    socket.set_onopen(None);
    socket.set_onmessage(None);
    socket.set_onclose(None);
    w.outbox.set_value(None);
    greeted.get()
}

/// A JS error's message, for the console.
fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_default()
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
