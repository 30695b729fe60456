//! A class on one machine (issue #12): `gilscope serve --classroom` as its own process, a
//! teacher and 200 simulated students (websocket clients, 8 from each of 25 loopback
//! addresses, as the per-address cap allows), all on loopback.
//!
//! - a student's first load: the page and every file it names, as a browser asks for them
//!   (`Accept-Encoding: gzip, deflate, br`), bytes on the wire;
//! - `cpu-threads` with 4 threads: the run's speedup with 200 students against none
//!   (alternated, 3 runs each, medians), and whether every student received every frame or a
//!   resynchronisation, and the summary;
//! - `cpu-threads` with 16 threads: bytes per student per second;
//! - the server's CPU (utime + stime over wall time) and memory (VmRSS, VmHWM) meanwhile.
//!
//! `cargo bench -p gilscope-server --bench classroom` (the dashboard is built; with
//! GILSCOPE_SKIP_FRONTEND=1 the first load measures the placeholder page).

use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gilscope_shared::protocol::{self, ClientMsg, Payload, RunId, RunInfo, ServerMsg};
use gilscope_shared::spec::{ExperimentSpec, KnobValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Client = WebSocketStream<TcpStream>;

const WAIT: Duration = Duration::from_secs(180);
const TOKEN: &str = "classroom-bench-token-0123456789";
const STUDENTS: usize = 200;
const ROUNDS: usize = 3;

/// `gilscope serve --classroom` on a free loopback port; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve() -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .args(["serve", "--classroom", "--addr", &addr.to_string()])
        .env("GILSCOPE_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("cannot start gilscope serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, addr }
}

/// Loopback addresses 127.0.1.1, 127.0.1.2, ...: eight students share each.
fn student_address(n: usize) -> IpAddr {
    IpAddr::from([127, 0, 1, (n / 8 + 1) as u8])
}

async fn connect(addr: SocketAddr, from: IpAddr, cookie: Option<&str>) -> Client {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "origin",
        HeaderValue::from_str(&format!("http://{addr}")).unwrap(),
    );
    if let Some(cookie) = cookie {
        headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    }
    let (ws, _) = tokio_tungstenite::client_async(request, stream)
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
            let msg = protocol::decode(&Payload::Binary(bytes.to_vec())).unwrap();
            return (msg, size);
        }
    }
}

/// What one viewer received of one run.
#[derive(Default, Debug)]
struct Seen {
    info: Option<RunInfo>,
    bytes: usize,
    frames: usize,
    resets: usize,
}

/// Follows the next run to its end.
async fn follow(ws: &mut Client) -> Seen {
    let mut seen = Seen::default();
    let mut run: Option<RunId> = None;
    loop {
        let (msg, size) = recv(ws).await;
        seen.bytes += size;
        match msg {
            ServerMsg::Run(info) => {
                if run.is_none() && !info.state.is_over() {
                    run = Some(info.id);
                }
                if Some(info.id) == run && info.state.is_over() {
                    seen.info = Some(info);
                    return seen;
                }
            }
            ServerMsg::Frame(frame) if Some(frame.run) == run => {
                seen.frames += 1;
                seen.resets += usize::from(frame.reset);
            }
            _ => {}
        }
    }
}

fn spec(threads: i64) -> ExperimentSpec {
    ExperimentSpec {
        preset: "cpu-threads".into(),
        knobs: [
            ("threads".to_string(), KnobValue::Int(threads)),
            ("work".to_string(), KnobValue::Int(60_000_000)),
        ]
        .into(),
        ..Default::default()
    }
}

async fn start(teacher: &mut Client, spec: ExperimentSpec) {
    let Payload::Binary(bytes) = protocol::encode(&ClientMsg::Start { spec }) else {
        unreachable!()
    };
    teacher.send(Message::binary(bytes)).await.unwrap();
}

fn speedup(seen: &Seen) -> f64 {
    seen.info
        .as_ref()
        .and_then(|i| i.summary.as_ref())
        .and_then(|s| s.speedup)
        .unwrap_or(f64::NAN)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The server's CPU seconds so far (user + system) and its memory (VmRSS, VmHWM) in MB.
fn usage(pid: u32) -> (f64, f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // utime and stime are the 14th and 15th fields; fields[0] is the 3rd.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // USER_HZ, the unit of utime and stime: 100 on Linux.
    let hz = 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
            / 1000.0
    };
    (ticks / hz, kb("VmRSS:"), kb("VmHWM:"))
}

/// One GET as a browser sends it; answers the bytes received (head and body) and the body.
async fn get(addr: SocketAddr, path: &str) -> (usize, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&answer[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    (answer.len(), answer[head_end..].to_vec())
}

/// A student's first load: the page, then each file it names (href and src attributes).
async fn first_load(addr: SocketAddr) -> Vec<(String, usize)> {
    let (bytes, page) = get(addr, "/").await;
    let mut loaded = vec![("/".to_string(), bytes)];
    // The page came compressed (brotli, as asked), unless it was too small to gain.
    let mut plain = Vec::new();
    let page = match std::io::Read::read_to_end(
        &mut brotli::Decompressor::new(page.as_slice(), 4096),
        &mut plain,
    ) {
        Ok(_) => String::from_utf8_lossy(&plain).into_owned(),
        Err(_) => String::from_utf8_lossy(&page).into_owned(),
    };
    let mut names = Vec::new();
    for attr in ["href=\"", "src=\"", "from \""] {
        for piece in page.split(attr).skip(1) {
            if let Some(name) = piece.split('"').next() {
                if name.starts_with('/') && !names.contains(&name.to_string()) {
                    names.push(name.to_string());
                }
            }
        }
    }
    // The module fetches its wasm beside it.
    if names.iter().any(|n| n.ends_with("gilscope_frontend.js")) {
        names.push("/pkg/gilscope_frontend_bg.wasm".into());
    }
    for name in names {
        let (bytes, _) = get(addr, &name).await;
        loaded.push((name, bytes));
    }
    loaded
}

#[tokio::main]
async fn main() {
    let server = serve().await;
    let addr = server.addr;
    let pid = server.child.id();
    let teacher_cookie = format!("gilscope_token={TOKEN}");

    // 1. A student's first load.
    let loaded = first_load(addr).await;
    let total: usize = loaded.iter().map(|(_, b)| b).sum();
    println!("| a student's first load | bytes on the wire |");
    println!("|---|---|");
    for (name, bytes) in &loaded {
        println!("| `{name}` | {bytes} |");
    }
    println!("| total | **{total}** |");
    println!();

    let mut teacher = connect(addr, [127, 0, 0, 1].into(), Some(&teacher_cookie)).await;
    recv(&mut teacher).await;

    // 2. cpu-threads, 4 threads: alone, then with 200 students, alternated.
    let mut students = Vec::new();
    for n in 0..STUDENTS {
        let mut ws = connect(addr, student_address(n), None).await;
        recv(&mut ws).await;
        students.push(Some(ws));
    }
    let (mut alone, mut crowded) = (Vec::new(), Vec::new());
    let mut complete = 0;
    let mut summaries = 0;
    let mut resets = 0;
    let (cpu0, _, _) = usage(pid);
    let t0 = Instant::now();
    for _ in 0..ROUNDS {
        // With the students watching.
        let watching: Vec<_> = students
            .iter_mut()
            .map(|ws| {
                let mut ws = ws.take().unwrap();
                tokio::spawn(async move {
                    let seen = follow(&mut ws).await;
                    (ws, seen)
                })
            })
            .collect();
        start(&mut teacher, spec(4)).await;
        let teachers = follow(&mut teacher).await;
        crowded.push(speedup(&teachers));
        for (slot, task) in students.iter_mut().zip(watching) {
            let (ws, seen) = task.await.unwrap();
            *slot = Some(ws);
            summaries += usize::from(seen.info.as_ref().is_some_and(|i| i.summary.is_some()));
            resets += seen.resets;
            // Every frame, or a resynchronisation (a reset frame rebuilding the run so far).
            if seen.frames >= teachers.frames || seen.resets > 0 {
                complete += 1;
            }
        }
        // Alone: nobody but the teacher watches; the students leave, then come back.
        for ws in students.iter_mut() {
            let mut ws = ws.take().unwrap();
            let _ = ws.close(None).await;
        }
        start(&mut teacher, spec(4)).await;
        alone.push(speedup(&follow(&mut teacher).await));
        for (n, slot) in students.iter_mut().enumerate() {
            let mut ws = connect(addr, student_address(n), None).await;
            recv(&mut ws).await;
            *slot = Some(ws);
        }
    }
    let (cpu1, rss, _) = usage(pid);
    let (alone_m, crowded_m) = (median(alone.clone()), median(crowded.clone()));
    println!("| cpu-threads, 4 threads, work 60M | speedup (median of {ROUNDS}) | runs |");
    println!("|---|---|---|");
    println!("| no students | {alone_m:.3} | {alone:.3?} |");
    println!("| {STUDENTS} students | {crowded_m:.3} | {crowded:.3?} |");
    println!(
        "| change | **{:+.1} %** | |",
        (crowded_m - alone_m) / alone_m * 100.0
    );
    println!(
        "| students with every frame or a resynchronisation | {complete} of {} ({resets} resynchronisations) | |",
        STUDENTS * ROUNDS
    );
    println!(
        "| students that received the summary | {summaries} of {} | |",
        STUDENTS * ROUNDS
    );
    println!(
        "| server CPU over these {:.0} s | {:.2} cores | RSS {rss:.0} MB |",
        t0.elapsed().as_secs_f64(),
        (cpu1 - cpu0) / t0.elapsed().as_secs_f64()
    );
    println!();

    // 3. cpu-threads, 16 threads: bytes per student per second, and the server meanwhile.
    let watching: Vec<_> = students
        .iter_mut()
        .map(|ws| {
            let mut ws = ws.take().unwrap();
            tokio::spawn(async move { follow(&mut ws).await })
        })
        .collect();
    let (cpu0, _, _) = usage(pid);
    let t = Instant::now();
    start(&mut teacher, spec(16)).await;
    let teachers = follow(&mut teacher).await;
    let wall = t.elapsed().as_secs_f64();
    let (cpu1, rss, hwm) = usage(pid);
    let mut per_student = Vec::new();
    for task in watching {
        per_student.push(task.await.unwrap().bytes as f64 / wall / 1000.0);
    }
    println!("| cpu-threads, 16 threads, work 60M, {STUDENTS} students | |");
    println!("|---|---|");
    println!(
        "| bytes per student per second (whole run, {wall:.2} s) | median **{:.1} KB/s**, max {:.1} KB/s |",
        median(per_student.clone()),
        per_student.iter().copied().fold(0.0, f64::max)
    );
    println!("| the teacher's speedup | {:.3} |", speedup(&teachers));
    println!(
        "| server CPU during the run (the run's own threads included) | {:.2} cores |",
        (cpu1 - cpu0) / wall
    );
    println!("| server memory | VmRSS {rss:.0} MB, VmHWM {hwm:.0} MB |");
}
