//! Live streaming figures (issue #5), on loopback against an in-process server:
//!
//! - lag from an event in the engine to a viewer receiving it (p50 / p95 / max);
//! - 200 concurrent viewers: the run's speedup against no viewers, and every viewer gets the
//!   finished summary;
//! - bytes per viewer per second for `cpu-threads` with 16 threads.
//!
//! `cargo bench -p gilscope-server --bench stream` (set GILSCOPE_SKIP_FRONTEND=1 to skip the
//! wasm build; the dashboard is not used).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gilscope_shared::protocol::{self, ClientMsg, Payload, RunInfo, RunState, ServerMsg};
use gilscope_shared::spec::{ExperimentSpec, KnobValue};
use gilscope_shared::trace::Nanos;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(120);

fn spec(preset: &str, knobs: &[(&str, KnobValue)]) -> ExperimentSpec {
    ExperimentSpec {
        preset: preset.into(),
        knobs: knobs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..Default::default()
    }
}

async fn connect(addr: std::net::SocketAddr) -> Client {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("websocket handshake");
    ws
}

/// The next message and its size on the wire.
async fn recv(ws: &mut Client) -> (ServerMsg, usize) {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("timed out")
            .expect("closed")
            .expect("websocket error");
        if let Message::Binary(bytes) = msg {
            let size = bytes.len();
            return (
                protocol::decode(&Payload::Binary(bytes.to_vec())).unwrap(),
                size,
            );
        }
    }
}

async fn start_run(ws: &mut Client, spec: ExperimentSpec) {
    let Payload::Binary(bytes) = protocol::encode(&ClientMsg::Start { spec }) else {
        unreachable!()
    };
    ws.send(Message::binary(bytes)).await.unwrap();
}

/// What one viewer saw of one run.
#[derive(Default)]
struct Seen {
    info: Option<RunInfo>,
    bytes: usize,
    /// Per frame: when it arrived (ns after the "running" message), its `now`, and the times
    /// of its span ends, marks and samples.
    frames: Vec<(Nanos, Nanos, Vec<Nanos>)>,
    started: Option<Instant>,
    wall: Duration,
}

/// Follows the next run to its end.
async fn follow(ws: &mut Client) -> Seen {
    let mut seen = Seen::default();
    loop {
        let (msg, size) = recv(ws).await;
        let now = Instant::now();
        match msg {
            ServerMsg::Run(info) if info.state == RunState::Running => {
                seen.started = Some(now);
                seen.bytes += size;
            }
            ServerMsg::Run(info) if info.state.is_over() => {
                seen.bytes += size;
                seen.wall = seen.started.map(|s| now - s).unwrap_or_default();
                seen.info = Some(info);
                return seen;
            }
            ServerMsg::Frame(frame) => {
                seen.bytes += size;
                let Some(started) = seen.started else {
                    continue;
                };
                let received = (now - started).as_nanos() as Nanos;
                let d = &frame.delta;
                let times = d
                    .added
                    .spans
                    .iter()
                    .map(|s| s.t1)
                    .chain(d.added.marks.iter().map(|m| m.t))
                    .chain(d.added.samples.iter().map(|s| s.t))
                    .collect();
                seen.frames.push((received, d.now(), times));
            }
            _ => seen.bytes += size,
        }
    }
}

impl Seen {
    /// Receive time minus event time, in ms, for every event. The viewer's clock and the
    /// run's are aligned on the frame that arrived soonest after its `now` (its transport
    /// time taken as zero), so the figures are, if anything, a little low by that one hop.
    fn lags_ms(&self) -> Vec<f64> {
        let offset = self
            .frames
            .iter()
            .map(|&(received, now, _)| received as i128 - now as i128)
            .min()
            .unwrap_or(0);
        let mut lags: Vec<f64> = self
            .frames
            .iter()
            .flat_map(|(received, _, times)| {
                times
                    .iter()
                    .map(move |&t| (*received as i128 - offset - t as i128) as f64 / 1e6)
            })
            .collect();
        lags.sort_by(f64::total_cmp);
        lags
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn speedup(seen: &Seen) -> f64 {
    seen.info
        .as_ref()
        .and_then(|i| i.summary.as_ref())
        .and_then(|s| s.speedup)
        .unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(gilscope_server::serve(listener, shutdown.clone()));

    let mut teacher = connect(addr).await;
    recv(&mut teacher).await;

    // 1. Lag, and bytes per second of one viewer, for cpu-threads with 16 threads.
    let sixteen = spec(
        "cpu-threads",
        &[
            ("threads", KnobValue::Int(16)),
            ("work", KnobValue::Int(60_000_000)),
        ],
    );
    start_run(&mut teacher, sixteen).await;
    let seen = follow(&mut teacher).await;
    let lags = seen.lags_ms();
    println!("| lag, event to viewer (cpu-threads, 16 threads) | ms |");
    println!("|---|---|");
    println!("| p50 | {:.1} |", percentile(&lags, 0.5));
    println!("| p95 | {:.1} |", percentile(&lags, 0.95));
    println!("| max | {:.1} |", percentile(&lags, 1.0));
    println!("| events measured | {} |", lags.len());
    println!();
    let secs = seen.wall.as_secs_f64();
    println!(
        "bytes per viewer per second (cpu-threads, 16 threads, whole run incl. baseline {:.2} s): {:.1} KB/s",
        secs,
        seen.bytes as f64 / secs / 1000.0
    );
    println!();

    // 2. 200 viewers against none: the run's speedup, and every viewer gets the summary.
    let four = spec(
        "cpu-threads",
        &[
            ("threads", KnobValue::Int(4)),
            ("work", KnobValue::Int(60_000_000)),
        ],
    );
    start_run(&mut teacher, four.clone()).await;
    let alone = speedup(&follow(&mut teacher).await);

    let mut viewers = Vec::new();
    for _ in 0..200 {
        let mut ws = connect(addr).await;
        recv(&mut ws).await;
        viewers.push(ws);
    }
    let watching: Vec<_> = viewers
        .into_iter()
        .map(|mut ws| tokio::spawn(async move { follow(&mut ws).await }))
        .collect();
    let started = Instant::now();
    start_run(&mut teacher, four).await;
    let crowded = speedup(&follow(&mut teacher).await);
    let mut got_summary = 0;
    let mut bytes = 0;
    for viewer in watching {
        let seen = viewer.await.unwrap();
        bytes += seen.bytes;
        if seen.info.and_then(|i| i.summary).is_some() {
            got_summary += 1;
        }
    }
    println!("| cpu-threads, 4 threads | speedup |");
    println!("|---|---|");
    println!("| no viewers | {alone:.3} |");
    println!("| 200 viewers | {crowded:.3} |");
    println!("| change | {:+.1} % |", (crowded - alone) / alone * 100.0);
    println!(
        "| viewers that received the summary | {got_summary} of 200 ({:.1} MB sent in {:.1} s) |",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    shutdown.cancel();
    let _ = server.await;
}
