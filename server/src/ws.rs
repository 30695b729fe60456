//! The `/ws` websocket: one session per viewer. The server greets with
//! [`ServerMsg::Hello`], then streams every run: its state changes and its frames. A viewer
//! that joins mid-run first gets the run so far; one that falls behind is resynchronised the
//! same way, so it never slows the engine or the other viewers. A frame the server cannot
//! decode gets a [`ServerMsg::Error`] naming the problem, and the connection stays open.
//!
//! Each session is three tasks joined with `select!`: a sender draining the session's outbox
//! (and closing the socket on server shutdown), a feeder forwarding the run manager's
//! updates into the outbox, and a receiver handling what the viewer sends.

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use gilscope_shared::protocol::{self, ClientMsg, ErrorMsg, Frame, Hello, RunId, ServerMsg};
use tokio::sync::{broadcast, mpsc};

use crate::frames::{encode_msg as encode, Encoded};
use crate::runs::{Runs, RunsError, Update};
use crate::AppState;

/// Messages queued for one viewer; when full, the feeder waits and its broadcast receiver
/// falls behind, which ends in a resynchronisation, never in a wait of the engine.
const OUTBOX: usize = 64;

/// `GET /ws` (behind [`crate::guard::same_origin`]).
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    let tasks = state.tasks.clone();
    ws.on_upgrade(move |socket| tasks.track_future(session(socket, state)))
}

async fn session(socket: WebSocket, state: AppState) {
    tracing::info!("viewer connected");
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut pending) = mpsc::channel::<Encoded>(OUTBOX);

    let hello = ServerMsg::Hello(Hello {
        version: state.version.to_string(),
        cores: state.cores,
        presets: state.runs.presets().to_vec(),
    });
    outbox
        .try_send(encode(&hello))
        .expect("a fresh outbox has room");

    let shutdown = state.shutdown.clone();
    let mut send_task = tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = pending.recv() => {
                    let Some(frame) = frame else { break };
                    if sink.send(to_message(&frame)).await.is_err() {
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

    // Subscribe before looking at the live run, so no frame falls between the two.
    let updates = state.runs.subscribe();
    let mut feed_task = tokio::spawn(feed(state.runs.clone(), updates, outbox.clone()));

    let runs = state.runs.clone();
    let mut recv_task = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let frame = match msg {
                Message::Text(text) => Frame::Text(text.to_string()),
                Message::Binary(bytes) => Frame::Binary(bytes.to_vec()),
                Message::Close(_) => break,
                // Control frames: axum answers pings itself.
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            let replies = match protocol::decode::<ClientMsg>(&frame) {
                Ok(msg) => handle(&runs, msg),
                Err(err) => {
                    tracing::debug!("undecodable message from viewer: {err}");
                    vec![error(err.to_string(), None)]
                }
            };
            for reply in replies {
                if outbox.send(reply).await.is_err() {
                    return;
                }
            }
        }
    });

    tokio::select! {
        _ = &mut send_task => {}
        _ = &mut recv_task => {}
        _ = &mut feed_task => {}
    }
    send_task.abort();
    recv_task.abort();
    feed_task.abort();
    tracing::info!("viewer disconnected");
}

/// Forwards the run manager's updates to one viewer, catching up first with the live run and
/// again whenever the viewer has fallen too far behind.
async fn feed(runs: Runs, mut updates: broadcast::Receiver<Update>, outbox: mpsc::Sender<Encoded>) {
    // Live frames up to this number are already in what the viewer was sent.
    let mut caught_up: Option<(RunId, u64)> = None;
    let mut catch_up = true;
    loop {
        if catch_up {
            catch_up = false;
            if let Some(id) = runs.live_id() {
                let Ok(snapshot) = runs.snapshot(id) else {
                    continue;
                };
                caught_up = Some((id, snapshot.seq));
                let info = encode(&ServerMsg::Run(snapshot.info));
                for frame in std::iter::once(info).chain(snapshot.frames) {
                    if outbox.send(frame).await.is_err() {
                        return;
                    }
                }
            }
        }
        let frames = match updates.recv().await {
            Ok(Update::Run(info)) => vec![encode(&ServerMsg::Run(info))],
            Ok(Update::Frame { id, seq, frames }) => {
                if caught_up.is_some_and(|(run, upto)| run == id && seq <= upto) {
                    continue;
                }
                frames.iter().cloned().collect()
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!("viewer fell {missed} updates behind; resynchronising");
                catch_up = true;
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        for frame in frames {
            if outbox.send(frame).await.is_err() {
                return;
            }
        }
    }
}

/// What the server does with each viewer request; the answers go to that viewer. Changes of
/// a run's state reach every viewer through the run manager's updates.
fn handle(runs: &Runs, msg: ClientMsg) -> Vec<Encoded> {
    match msg {
        ClientMsg::Ping { nonce } => vec![encode(&ServerMsg::Pong { nonce })],
        ClientMsg::Start { spec } => match runs.submit(spec) {
            Ok(_) => vec![],
            Err(err) => vec![runs_error(err)],
        },
        ClientMsg::Stop { id } => match runs.stop(id) {
            Ok(_) => vec![],
            Err(err) => vec![runs_error(err)],
        },
        ClientMsg::Subscribe { id } => match runs.snapshot(id) {
            Ok(snapshot) => std::iter::once(encode(&ServerMsg::Run(snapshot.info)))
                .chain(snapshot.frames)
                .collect(),
            Err(err) => vec![runs_error(err)],
        },
    }
}

fn runs_error(err: RunsError) -> Encoded {
    let field = match &err {
        RunsError::Spec(spec) => Some(spec.field.clone()),
        RunsError::QueueFull | RunsError::ShuttingDown => Some("queue".to_string()),
        RunsError::NotFound(_) => Some("id".to_string()),
    };
    error(err.to_string(), field)
}

fn error(message: String, field: Option<String>) -> Encoded {
    encode(&ServerMsg::Error(ErrorMsg { message, field }))
}

fn to_message(frame: &Encoded) -> Message {
    Message::Binary(frame.clone())
}
