//! A response body written by blocking code: a [`std::io::Write`] whose bytes become the
//! chunks of a streamed (chunked) HTTP body. The chunks pass through a bounded channel, so
//! the writer waits for a slow reader instead of piling the whole body up in memory: an
//! answer of any size costs at most [`CHUNKS_IN_FLIGHT`] + 1 chunks of [`CHUNK`] bytes.

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

/// Bytes gathered before they are handed to the connection as one chunk.
pub const CHUNK: usize = 64 * 1024;
/// Chunks written but not yet sent to the client; the writer waits when this many are.
pub const CHUNKS_IN_FLIGHT: usize = 4;

/// The writer a [`spawn`]ed closure writes the body into.
pub struct ChunkWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<io::Result<Bytes>>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

/// Runs `write` on a blocking thread and answers the body it writes, chunk by chunk, while it
/// writes. When the client goes away, the writer's next chunk fails with `BrokenPipe` and
/// `write` should stop; any other error of `write` ends the body abruptly (the client sees
/// a truncated chunked body, not a complete wrong one).
pub fn spawn<F>(write: F) -> Body
where
    F: FnOnce(&mut ChunkWriter) -> io::Result<()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut out = ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            tx,
        };
        let result = write(&mut out).and_then(|()| out.flush());
        match result {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                tracing::debug!("streamed answer abandoned: {err}");
            }
            Err(err) => {
                tracing::warn!("streamed answer failed: {err}");
                let _ = out.tx.blocking_send(Err(err));
            }
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Body::from_stream(chunks)
}
