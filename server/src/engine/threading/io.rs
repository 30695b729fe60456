//! Real I/O for the emulated threads: a socket ping-pong with an echo peer (a plain OS thread on
//! the other end of a Unix socket pair, standing for the lesson's echo process: its own
//! interpreter, so nothing it does waits for our GIL). `sock.send` and `sock.recv` release the
//! GIL around their system calls, as CPython's socket module does.
//!
//! The Python around each socket call costs [`SOCKET_CALL_BYTECODES`]; the echo peer burns the
//! CPU of its own two calls and loop ([`ECHO_BYTECODES`]) per byte, as the lesson's
//! `while data := sock.recv(1): sock.sendall(data)` does.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use gilscope_shared::trace::State;

use crate::engine::interpreter::bytecode::spin;
use crate::engine::interpreter::interp::{EngineError, Interp, Py};
use crate::engine::interpreter::recorder::Recorder;
use crate::engine::interpreter::stop::{StopFlag, Stopped, MAX_WAIT};

/// A socket method call around its system call: on CPython 3.11 here `a.send(b"x");
/// b.recv(1)` costs 740 ns against 516 ns for the same two system calls made from Rust, so
/// about 110 ns (34 bytecodes) each.
pub const SOCKET_CALL_BYTECODES: u64 = 34;
/// The echo process's Python per byte: `sock.recv(1)`, `sock.sendall(data)` and the loop.
pub const ECHO_BYTECODES: u64 = 2 * SOCKET_CALL_BYTECODES + 6;

/// The client end of a connection to an echo peer.
pub struct EchoClient {
    stream: UnixStream,
}

/// Starts an echo peer as a lane of `peer_interp` (an interpreter without a GIL standing for
/// "some other program") and returns the client end.
pub fn echo_pair(peer_interp: &Arc<Interp>) -> Result<EchoClient, EngineError> {
    let (client, server) = UnixStream::pair()?;
    client.set_read_timeout(Some(MAX_WAIT))?;
    server.set_read_timeout(Some(MAX_WAIT))?;
    let units = (ECHO_BYTECODES as f64 * peer_interp.cal.units_per_bytecode) as u64;
    peer_interp.spawn_peer("echo server", move |rec, stop| {
        echo(server, units, rec, stop)
    })?;
    Ok(EchoClient { stream: client })
}

/// Echoes every byte back (after `units` of work: its Python) until the client hangs up or the
/// run stops.
fn echo(mut stream: UnixStream, units: u64, rec: &mut Recorder, stop: &StopFlag) {
    let mut byte = [0u8; 1];
    let mut work = 1u64;
    rec.enter(State::Io);
    while !stop.is_set() {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                rec.enter(State::Running);
                spin(&mut work, units);
                if stream.write_all(&byte).is_err() {
                    break;
                }
                rec.enter(State::Io);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

impl EchoClient {
    /// `sock.send(b"x"); sock.recv(1)`: one round trip, each call releasing the GIL.
    pub fn round_trip(&mut self, py: &mut Py) -> Result<(), Stopped> {
        let stream = &mut self.stream;
        py.call(|py| {
            py.straight(SOCKET_CALL_BYTECODES)?;
            py.blocking(State::Io, |_, _| {
                stream.write_all(b"x").map_err(|_| Stopped)
            })
        })?;
        py.call(|py| {
            py.straight(SOCKET_CALL_BYTECODES)?;
            py.blocking(State::Io, |_, stop| {
                let mut byte = [0u8; 1];
                loop {
                    stop.check()?;
                    match stream.read(&mut byte) {
                        Ok(1) => return Ok(()),
                        Err(e)
                            if matches!(
                                e.kind(),
                                ErrorKind::WouldBlock
                                    | ErrorKind::TimedOut
                                    | ErrorKind::Interrupted
                            ) => {}
                        _ => return Err(Stopped),
                    }
                }
            })
        })
    }
}
