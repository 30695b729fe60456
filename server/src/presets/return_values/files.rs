//! The first way: a file per worker, which the parent reads back.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use gilscope_shared::trace::State;

use crate::engine::interpreter::interp::Py;
use crate::engine::interpreter::stop::Stopped;

/// `f.write(f"{x}\n")` in a worker: the f-string and the buffered write call.
const FILE_WRITE_BYTECODES: u64 = 40;
/// `int(line)` for each line read back in the list comprehension, the file's line iteration
/// (decoding its buffer) and the `out +=`: 0.149 µs a line on CPython 3.11 here (1.49 ms for
/// 10,000 lines, one pass in a fresh `python3 -E -s -S`, median of 9).
const FILE_READ_BYTECODES: u64 = 45;

/// `tempfile.TemporaryDirectory()`, the first of the program: its random name sequence seeded
/// from `os.urandom`, the name tried and `os.mkdir`: 0.21–0.34 ms on CPython 3.11 here (a
/// later one 0.05).
const TEMPORARY_DIRECTORY_BYTECODES: u64 = 65_000;
/// Its `cleanup()`'s Python (`shutil.rmtree` walking the folder), beside the unlinks
/// themselves: 0.2–0.5 ms in all here, 0.1–0.37 of it the bare unlinks and `rmdir`.
const CLEANUP_BYTECODES: u64 = 30_000;

/// `with tempfile.TemporaryDirectory() as d:` (the folder itself was made before the run,
/// because the workers, spawned then, are given its name).
pub fn temporary_directory(py: &mut Py) -> Result<(), Stopped> {
    py.call(|py| py.straight(TEMPORARY_DIRECTORY_BYTECODES))
}

/// The `with`'s end: the folder and its files removed, for real (GIL released in the calls).
pub fn cleanup(py: &mut Py, dir: &str) -> Result<(), Stopped> {
    py.call(|py| {
        py.straight(CLEANUP_BYTECODES)?;
        let removed = py.blocking(State::Io, |_, _| Ok(std::fs::remove_dir_all(dir)))?;
        if let Err(e) = removed {
            py.interp.fail(format!("removing {dir}: {e}"));
            return Err(Stopped);
        }
        Ok(())
    })
}

pub fn file_of(dir: &str, i: u32) -> PathBuf {
    PathBuf::from(dir).join(format!("{i}.txt"))
}

/// A file writer (`to_file`): formats and writes each result, then closes the file (the one
/// real write of the buffered file, with the GIL released).
pub fn to_file(py: &mut Py, path: PathBuf, xs: impl Iterator<Item = i64>) -> Result<(), Stopped> {
    py.call(|py| {
        let mut buf = Vec::new();
        for x in xs {
            py.call(|py| py.straight(4))?; // square(x)
            py.straight(FILE_WRITE_BYTECODES)?;
            writeln!(buf, "{}", x * x).expect("writing to memory");
            py.check()?;
        }
        let written = py.blocking(State::Io, |_, _| Ok(std::fs::write(&path, &buf)))?;
        if let Err(e) = written {
            py.interp.fail(format!("writing {}: {e}", path.display()));
            return Err(Stopped);
        }
        Ok(())
    })
}

/// The parent reads the workers' files back.
pub fn read_files(py: &mut Py, dir: &str, n: u32) -> Result<Vec<i64>, Stopped> {
    let mut out = Vec::new();
    for i in 0..n {
        let path = file_of(dir, i);
        let read = py.blocking(State::Io, |_, _| Ok(std::fs::read(&path)))?;
        let bytes = match read {
            Ok(b) => b,
            Err(e) => {
                py.interp.fail(format!("reading {}: {e}", path.display()));
                return Err(Stopped);
            }
        };
        for line in bytes.lines() {
            py.straight(FILE_READ_BYTECODES)?;
            out.push(line.ok().and_then(|l| l.parse().ok()).unwrap_or(-1));
        }
        py.check()?;
    }
    Ok(out)
}
