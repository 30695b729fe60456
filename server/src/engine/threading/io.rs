//! Real I/O for the emulated threads: a socket ping-pong with an echo peer that is not Python
//! (a plain OS thread on the other end of a Unix socket pair). `sock.send` and `sock.recv`
//! release the GIL around their system calls, as CPython's socket module does.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use gilscope_shared::trace::State;

use crate::engine::interpreter::interp::{EngineError, Interp, Py};
use crate::engine::interpreter::recorder::Recorder;
use crate::engine::interpreter::stop::{StopFlag, Stopped, MAX_WAIT};

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
    peer_interp.spawn_peer("echo server", move |rec, stop| echo(server, rec, stop))?;
    Ok(EchoClient { stream: client })
}

/// Echoes every byte back until the client hangs up or the run stops.
fn echo(mut stream: UnixStream, rec: &mut Recorder, stop: &StopFlag) {
    let mut byte = [0u8; 1];
    rec.enter(State::Io);
    while !stop.is_set() {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                rec.enter(State::Running);
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
            py.straight(4)?;
            py.blocking(State::Io, |_, _| {
                stream.write_all(b"x").map_err(|_| Stopped)
            })
        })?;
        py.call(|py| {
            py.straight(4)?;
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
