//! The `/ws` websocket: one session per viewer. The server greets with
//! [`ServerMsg::Hello`], answers each [`ClientMsg`], and answers a frame it cannot decode
//! with [`ServerMsg::Error`] naming the problem, keeping the connection open.
//!
//! Each session is two tasks, joined with `select!`: a sender draining the session's
//! outbox (and closing the socket on server shutdown) and a receiver handling what the
//! viewer sends. When either ends, the other is stopped.

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use gilscope_shared::protocol::{self, ClientMsg, ErrorMsg, Frame, Hello, ServerMsg};
use tokio::sync::mpsc;

use crate::AppState;

/// Messages queued for one viewer before the sender blocks the receiver.
const OUTBOX: usize = 64;

/// `GET /ws` (behind [`crate::guard::same_origin`]).
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    let tasks = state.tasks.clone();
    ws.on_upgrade(move |socket| tasks.track_future(session(socket, state)))
}

async fn session(socket: WebSocket, state: AppState) {
    tracing::info!("viewer connected");
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut pending) = mpsc::channel::<ServerMsg>(OUTBOX);

    let hello = ServerMsg::Hello(Hello {
        version: state.version.to_string(),
        cores: state.cores,
    });
    outbox.try_send(hello).expect("a fresh outbox has room");

    let shutdown = state.shutdown.clone();
    let mut send_task = tokio::spawn(async move {
        loop {
            tokio::select! {
                msg = pending.recv() => {
                    let Some(msg) = msg else { break };
                    if sink.send(to_message(protocol::encode(&msg))).await.is_err() {
                        break;
                    }
                }
                () = shutdown.cancelled() => {
                    let bye = CloseFrame {
                        code: close_code::AWAY,
                        reason: "server shutting down".into(),
                    };
                    let _ = sink.send(Message::Close(Some(bye))).await;
                    break;
                }
            }
        }
    });

    let mut recv_task = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let frame = match msg {
                Message::Text(text) => Frame::Text(text.to_string()),
                Message::Binary(bytes) => Frame::Binary(bytes.to_vec()),
                Message::Close(_) => break,
                // Control frames: axum answers pings itself.
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            let reply = match protocol::decode::<ClientMsg>(&frame) {
                Ok(msg) => handle(msg),
                Err(err) => {
                    tracing::debug!("undecodable message from viewer: {err}");
                    Some(ServerMsg::Error(ErrorMsg {
                        message: err.to_string(),
                        field: None,
                    }))
                }
            };
            if let Some(reply) = reply {
                if outbox.send(reply).await.is_err() {
                    break;
                }
            }
        }
    });

    tokio::select! {
        _ = &mut send_task => recv_task.abort(),
        _ = &mut recv_task => send_task.abort(),
    }
    tracing::info!("viewer disconnected");
}

/// What the server does with each viewer request; the answer, if any, goes to that viewer.
fn handle(msg: ClientMsg) -> Option<ServerMsg> {
    match msg {
        ClientMsg::Ping { nonce } => Some(ServerMsg::Pong { nonce }),
    }
}

fn to_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::Text(text.into()),
        Frame::Binary(bytes) => Message::Binary(bytes.into()),
    }
}
