//! A real program's stdout and stderr, read as it prints (so it never blocks on a full pipe)
//! and kept up to a bound: a script that prints a gigabyte costs reading time, not memory.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Bytes kept of each stream; the rest is counted and dropped.
pub const KEEP_BYTES: usize = 256 * 1024;

/// One stream being read on a thread of its own.
pub struct Capture {
    kept: Arc<Mutex<Kept>>,
    reader: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Kept {
    bytes: Vec<u8>,
    dropped: u64,
}

impl Capture {
    /// Reads `stream` to its end on a thread named `name`.
    pub fn spawn(name: &str, mut stream: impl Read + Send + 'static) -> std::io::Result<Capture> {
        let kept = Arc::new(Mutex::new(Kept::default()));
        let reader = {
            let kept = kept.clone();
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match stream.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                                let room = KEEP_BYTES.saturating_sub(kept.bytes.len()).min(n);
                                kept.bytes.extend_from_slice(&buf[..room]);
                                kept.dropped += (n - room) as u64;
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                })?
        };
        Ok(Capture {
            kept,
            reader: Some(reader),
        })
    }

    /// Waits for the stream's end (every writer gone); the text kept and the bytes dropped.
    pub fn finish(&mut self) -> (String, u64) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let kept = std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()));
        (
            String::from_utf8_lossy(&kept.bytes).into_owned(),
            kept.dropped,
        )
    }
}

/// At most one line of 200 characters of `text`, for error messages.
pub fn clip_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let clipped: String = line.chars().take(200).collect();
    if clipped.len() < line.len() {
        format!("{clipped}…")
    } else {
        clipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_kept_up_to_the_bound_and_counted() {
        let flood = std::io::repeat(b'x').take(3 * KEEP_BYTES as u64 + 5);
        let (text, dropped) = Capture::spawn("test-capture", flood).unwrap().finish();
        assert_eq!(text.len(), KEEP_BYTES);
        assert_eq!(dropped, 2 * KEEP_BYTES as u64 + 5);
    }

    #[test]
    fn lines_are_clipped() {
        assert_eq!(clip_line("a\nb"), "a");
        assert_eq!(clip_line(&"y".repeat(300)).chars().count(), 201);
    }
}
