//! The `/ws` websocket: one session per viewer. The server greets with
//! [`ServerMsg::Hello`], then streams every run: its state changes and its frames. A viewer
//! that joins mid-run first gets the run so far; one that falls behind is resynchronised the
//! same way, so it never slows the engine or the other viewers. A frame the server cannot
//! decode gets a [`ServerMsg::Error`] naming the problem (and the field at fault), and the
//! connection stays open. A message or frame over [`crate::limits::Limits::ws_message_bytes`]
//! closes the connection with code 1009 before it is read; a viewer's messages are read at
//! most [`crate::limits::Limits::ws_messages_per_s`] a second ([`crate::rate`]). The role is
//! decided once, at the upgrade ([`crate::role`]): `start`, `stop` and `share` are refused
//! (an error naming `token` in a class, `peer` otherwise) to a viewer who may not act. At
//! most [`crate::limits::Limits::max_viewers`] sessions at once (`503`, `viewers`). Each
//! session is a client of its own for the bound on waiting runs.
//!
//! Each session is four tasks joined with `select!`: a sender draining the session's outbox
//! (and closing the socket on server shutdown), a feeder forwarding the run manager's
//! updates into the outbox, a follower forwarding the teacher's shared state (and, to the
//! teacher, the viewer count), and a receiver handling what the viewer sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use gilscope_shared::clip::{clip, ECHO_CHARS};
use gilscope_shared::protocol::{
    self, ClientMsg, ErrorMsg, Hello, Payload, Role, RunId, ServerMsg,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::classroom::follow::Seat;
use crate::classroom::Follow;
use crate::error::AppError;
use crate::frames::{encode_msg as encode, Encoded};
use crate::rate::Bucket;
use crate::role::Caller;
use crate::runs::{Client, Runs, RunsError, Update};
use crate::state::AppState;

/// Messages queued for one viewer; when full, the feeder waits and its broadcast receiver
/// falls behind, which ends in a resynchronisation, never in a wait of the engine.
const OUTBOX: usize = 64;

/// How long a session that asked to close waits for its close frame to be sent.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Numbers websocket sessions, for [`Client::Session`].
static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// `GET /ws` (behind [`crate::guard::same_origin`]): a seat among the viewers, or `503`.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let seat = state.follow.join().map_err(|full| {
        tracing::warn!(peer = ?caller.peer.0, "refused a viewer: {full}");
        AppError::Unavailable {
            message: full.to_string(),
            field: "viewers",
        }
    })?;
    let tasks = state.tasks.clone();
    let max = state.limits.ws_message_bytes;
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| tasks.track_future(session(socket, state, caller, seat))))
}

/// Who is on the other end of a session.
#[derive(Clone, Copy)]
struct Viewer {
    caller: Caller,
    client: Client,
}

async fn session(socket: WebSocket, state: AppState, caller: Caller, seat: Seat) {
    let _seat = seat;
    let viewer = Viewer {
        caller,
        client: Client::Session(SESSIONS.fetch_add(1, Ordering::Relaxed)),
    };
    tracing::info!(peer = ?caller.peer.0, role = ?caller.role, "viewer connected");
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut pending) = mpsc::channel::<Encoded>(OUTBOX);

    let hello = ServerMsg::Hello(Hello {
        version: state.version.to_string(),
        cores: state.cores,
        presets: state.runs.presets().to_vec(),
        cpython: state.runs.cpython_status(),
        role: caller.role,
        students: state
            .classroom
            .as_ref()
            .map(|c| c.students.clone())
            .unwrap_or_default(),
    });
    outbox
        .try_send(encode(&hello))
        .expect("a fresh outbox has room");

    let shutdown = state.shutdown.clone();
    // The receiver asks the sender to close the socket with this (a message too big).
    let (close_tx, mut close_rx) = oneshot::channel::<CloseFrame>();
    let mut send_task = tokio::spawn(async move {
        loop {
            tokio::select! {
                close = &mut close_rx => {
                    if let Ok(close) = close {
                        let _ = sink.send(Message::Close(Some(close))).await;
                        let _ = sink.close().await;
                    }
                    break;
                }
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
    let mut follow_task = tokio::spawn(follow(
        state.follow.clone(),
        caller.role == Role::Teacher,
        outbox.clone(),
    ));

    let runs = state.runs.clone();
    let shared = state.follow.clone();
    let mut bucket = Bucket::new(state.limits.ws_messages_per_s);
    let mut recv_task = tokio::spawn(async move {
        while let Some(msg) = stream.next().await {
            // A viewer who floods waits here; nobody else does.
            bucket.take().await;
            let msg = match msg {
                Ok(msg) => msg,
                Err(err) => {
                    let close = close_for(err);
                    tracing::debug!("closing a viewer's connection: {}", close.reason);
                    let _ = close_tx.send(close);
                    return;
                }
            };
            let frame = match msg {
                Message::Text(text) => Payload::Text(text.to_string()),
                Message::Binary(bytes) => Payload::Binary(bytes.to_vec()),
                Message::Close(_) => break,
                // Control frames: axum answers pings itself.
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            let replies = match protocol::decode_client(&frame) {
                Ok(msg) => handle(&runs, &shared, msg, viewer).await,
                Err(err) => {
                    tracing::debug!("undecodable message from viewer: {err}");
                    vec![error(err.to_string(), err.field().map(str::to_string))]
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
        _ = &mut feed_task => {}
        _ = &mut follow_task => {}
        _ = &mut recv_task => {
            // The receiver may have asked the sender to close the socket: let it.
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut send_task).await;
        }
    }
    send_task.abort();
    recv_task.abort();
    feed_task.abort();
    follow_task.abort();
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
                let Ok(snapshot) = runs.snapshot(id).await else {
                    continue;
                };
                caught_up = Some((id, snapshot.seq));
                let info = encode(&ServerMsg::Run(snapshot.info.clone()));
                for frame in std::iter::once(info).chain(snapshot.frames.iter().cloned()) {
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

/// Forwards the teacher's shared state as it changes (the current one first), and the
/// viewer count to a viewer who `counts` (a class's teacher). A slow viewer skips to the
/// latest of each.
async fn follow(follow: Follow, counts: bool, outbox: mpsc::Sender<Encoded>) {
    let mut class = follow.watch_class();
    let mut viewers = follow.watch_viewers();
    viewers.mark_changed();
    loop {
        let msg = tokio::select! {
            changed = class.changed() => {
                if changed.is_err() {
                    return;
                }
                let Some((_, encoded)) = class.borrow_and_update().clone() else {
                    continue;
                };
                encoded
            }
            changed = viewers.changed(), if counts => {
                if changed.is_err() {
                    return;
                }
                let count = *viewers.borrow_and_update();
                encode(&ServerMsg::Viewers { count })
            }
        };
        if outbox.send(msg).await.is_err() {
            return;
        }
    }
}

/// The close frame for a connection whose next message could not be read: 1009 for one
/// over the size limit, 1002 for a broken frame.
fn close_for(err: axum::Error) -> CloseFrame {
    use tungstenite::error::{CapacityError, Error};
    let (code, reason) = match err.into_inner().downcast::<Error>().map(|e| *e) {
        Ok(Error::Capacity(CapacityError::MessageTooLong { size, max_size })) => (
            close_code::SIZE,
            format!("message of {size} bytes; at most {max_size} are read"),
        ),
        Ok(err @ Error::Capacity(_)) => (close_code::SIZE, err.to_string()),
        Ok(err) => (close_code::PROTOCOL, err.to_string()),
        Err(err) => (close_code::PROTOCOL, err.to_string()),
    };
    // A close frame's reason has at most 123 bytes.
    let reason = clip(&reason, 100).into_owned();
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// What the server does with each viewer request; the answers go to that viewer. Changes of
/// a run's state reach every viewer through the run manager's updates.
async fn handle(runs: &Runs, follow: &Follow, msg: ClientMsg, viewer: Viewer) -> Vec<Encoded> {
    let may_act = || {
        viewer
            .caller
            .may_act()
            .map_err(|err| error(err.to_string(), err.field().map(str::to_string)))
    };
    match msg {
        ClientMsg::Ping { nonce } => vec![encode(&ServerMsg::Pong { nonce })],
        ClientMsg::Start { spec } => match may_act() {
            Err(refusal) => vec![refusal],
            Ok(_) => match runs.submit(spec, viewer.client) {
                Ok(_) => vec![],
                Err(err) => vec![runs_error(err)],
            },
        },
        ClientMsg::Stop { id } => match may_act() {
            Err(refusal) => vec![refusal],
            Ok(_) => match runs.stop(id) {
                Ok(_) => vec![],
                Err(err) => vec![runs_error(err)],
            },
        },
        ClientMsg::Share { class } => match may_act() {
            Err(refusal) => vec![refusal],
            Ok(()) => match class.check(runs.presets()) {
                Ok(()) => {
                    follow.share(class);
                    vec![]
                }
                Err(err) => vec![error(err.to_string(), Some(err.field))],
            },
        },
        ClientMsg::Subscribe { id } => match runs.snapshot(id).await {
            Ok(snapshot) => std::iter::once(encode(&ServerMsg::Run(snapshot.info.clone())))
                .chain(snapshot.frames.iter().cloned())
                .collect(),
            Err(err) => vec![runs_error(err)],
        },
    }
}

fn runs_error(err: RunsError) -> Encoded {
    let field = match &err {
        RunsError::Spec(spec) => Some(spec.field.clone()),
        RunsError::QueueFull | RunsError::ClientQueueFull(_) | RunsError::ShuttingDown => {
            Some("queue".to_string())
        }
        RunsError::NotFound(_) | RunsError::Snapshot(_) => Some("id".to_string()),
        RunsError::CodeRefused(_) => Some("engine".to_string()),
        RunsError::NotOver(..) => Some("id".to_string()),
        RunsError::NoStore | RunsError::NotKept(_) | RunsError::Store(_) => {
            Some("store".to_string())
        }
    };
    error(err.to_string(), field)
}

/// An error for this viewer; quoted input was clipped where the message was made, and the
/// whole is clipped once more.
fn error(message: String, field: Option<String>) -> Encoded {
    encode(&ServerMsg::Error(ErrorMsg {
        message: clip(&message, 1000).into_owned(),
        field: field.map(|f| clip(&f, ECHO_CHARS + 1).into_owned()),
    }))
}

fn to_message(frame: &Encoded) -> Message {
    Message::Binary(frame.clone())
}
