//! `convoy-effect`: one I/O-bound thread beside one CPU-bound thread. Each time the I/O
//! thread's socket call returns it needs the GIL back, and waits up to a switch interval for
//! it (Beazley, 2010; bpo-7946): its round trips per second collapse. Shorter intervals help.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gilscope_shared::spec::Group;
use gilscope_shared::trace::{GilFlavour, LaneKind};
use serde::Deserialize;

use super::common::{spin, with_main};
use super::harness::{Program, Setup, Spawned};
use super::knobs;
use super::role::NoProcesses;
use crate::engine::interpreter::interp::{EngineError, InterpConfig, Py, ThreadHandle};
use crate::engine::interpreter::stop::Stopped;
use crate::engine::running::program::{Figures, Lesson};
use crate::engine::threading::io::{echo_pair, EchoClient};

pub struct ConvoyEffect;

#[derive(Deserialize)]
pub struct Knobs {
    work: u64,
}

/// Round trips of the I/O thread alone, for `baseline_ops_per_s`.
const BASELINE_ROUND_TRIPS: u64 = 2_000;

const PYTHON: &str = r#"import multiprocessing
import socket
import sys
import threading
import time

WORK = {{work}}  # bytecodes of the CPU-bound thread
sys.setswitchinterval({{switch_interval_ms}} / 1000)

def echo(sock):  # the other end: a separate process, so not competing for our GIL
    while data := sock.recv(1):
        sock.sendall(data)

def spin(n):
    for i in range(n // 3):
        pass

def ping(sock, until):
    trips = 0
    while trips == 0 or until():  # at least one round trip, so the rates below exist
        sock.send(b"x")
        sock.recv(1)
        trips += 1
    return trips

if __name__ == "__main__":
    a, b = socket.socketpair()
    multiprocessing.Process(target=echo, args=(b,), daemon=True).start()

    start = time.perf_counter()
    trips = ping(a, lambda: time.perf_counter() - start < 0.2)  # alone
    alone = trips / (time.perf_counter() - start)

    cpu = threading.Thread(target=spin, args=(WORK,))
    result = []
    io = threading.Thread(target=lambda: result.append(ping(a, cpu.is_alive)))
    start = time.perf_counter()
    cpu.start()
    io.start()
    cpu.join()
    io.join()
    beside = result[0] / (time.perf_counter() - start)
    print(f"round trips/s alone {alone:.0f}, beside a CPU-bound thread {beside:.0f}, "
          f"{alone / beside:.0f}x fewer")
"#;

/// The echo server's interpreter: the lesson's echo process, whose GIL nobody else wants (so
/// none is modelled).
fn echo_server() -> InterpConfig {
    InterpConfig {
        name: "echo server (its own process)".into(),
        gil: GilFlavour::None,
        switch_interval: Duration::from_millis(5),
        check_ticks: 100,
        check_every_bytecode: false,
    }
}

/// Pings until `until()` is false (checked as Python would, once per trip); records the trips.
fn ping(
    py: &mut Py,
    client: &Mutex<EchoClient>,
    figures: &Mutex<Figures>,
    mut until: impl FnMut(u64) -> bool,
) -> Result<(), Stopped> {
    let mut client = client.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = py.rec.now();
    let mut trips = 0u64;
    while py.call(|py| py.straight(4).map(|_| until(trips)))? {
        client.round_trip(py)?;
        py.straight(4)?;
        py.check()?;
        trips += 1;
    }
    let seconds = (py.rec.now() - t0) as f64 / 1e9;
    figures.lock().unwrap_or_else(|e| e.into_inner()).ops_per_s = Some(trips as f64 / seconds);
    Ok(())
}

impl Program for ConvoyEffect {
    type Knobs = Knobs;
    type Role = NoProcesses;

    const LESSON: &'static Lesson = &Lesson {
        name: "convoy-effect",
        group: Group::Beyond,
        claim: "An I/O-bound thread beside a CPU-bound one waits up to a switch interval after every I/O operation.",
        description: "Round trips per second of the I/O thread collapse against the same thread alone; a shorter switch interval helps.",
        python: PYTHON,
        knobs: || {
            vec![
                    knobs::work(100_000_000),
                    knobs::switch_interval_ms(),
                    knobs::gil("current"),
            ]
        },
        small: &[("work", "3000000"), ("switch_interval_ms", "1")],
    };

    fn build(&self, knobs: &Knobs, setup: &mut Setup) -> Spawned {
        let peers = setup.peer(echo_server());
        let interp = setup.interp(); // after the peer, before its server thread
        let client = Arc::new(Mutex::new(echo_pair(&peers)?));
        let (work, result) = (knobs.work, setup.figures());
        with_main(
            interp,
            move |interp| -> Result<(ThreadHandle, ThreadHandle), EngineError> {
                let cpu = interp.spawn(
                    "cpu",
                    LaneKind::Worker,
                    Box::new(move |py: &mut Py| spin(py, work)),
                )?;
                let watched = cpu.clone();
                let io = interp.spawn(
                    "io",
                    LaneKind::Worker,
                    Box::new(move |py: &mut Py| ping(py, &client, &result, |_| !watched.is_done())),
                )?;
                Ok((cpu, io))
            },
            |py, (cpu, io)| {
                py.start(cpu)?;
                py.start(io)?;
                py.join(cpu)?;
                py.join(io)
            },
        )
    }

    fn baseline(&self, _: &Knobs, setup: &mut Setup) -> Spawned<Option<ThreadHandle>> {
        let peers = setup.peer(echo_server());
        setup.interp(); // after the peer, before its server thread
        let client = Mutex::new(echo_pair(&peers)?);
        let result = setup.figures();
        setup
            .main(move |py| ping(py, &client, &result, |trips| trips < BASELINE_ROUND_TRIPS))
            .map(Some)
    }

    fn baseline_is_same_work(&self) -> bool {
        false
    }
}
