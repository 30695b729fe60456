//! Which `python3` runs real-CPython runs, and whether gilscope can observe it: found once,
//! probed by running it (its version and whether it is a free-threaded build).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gilscope_shared::protocol::CpythonStatus;

/// Names the interpreter to run instead of `python3` on the `PATH`.
pub const PYTHON_ENV: &str = "GILSCOPE_PYTHON";

/// The CPython versions whose interpreter state the observer (py-spy) can read.
const OLDEST: (u32, u32) = (3, 3);
const NEWEST: (u32, u32) = (3, 15);

/// How long the probe may take (a cold start of CPython on a busy machine takes ~100 ms).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A usable CPython.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Python {
    /// What to execute (as given or found on the `PATH`).
    pub path: PathBuf,
    pub version: (u32, u32, u32),
}

impl Python {
    /// `Python 3.11.7 (/usr/bin/python3)`.
    pub fn describe(&self) -> String {
        let (major, minor, micro) = self.version;
        format!("Python {major}.{minor}.{micro} ({})", self.path.display())
    }
}

/// Why no usable CPython was found; each says what to do about it.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum PythonError {
    #[error(
        "no Python found at `{0}`: install Python 3 (e.g. `apt-get install python3`) or point \
         --python / {PYTHON_ENV} at one"
    )]
    NotFound(String),
    #[error("`{path}` could not be run as Python: {detail}")]
    NotPython { path: String, detail: String },
    #[error(
        "`{path}` is Python {version}, which gilscope cannot observe: it reads the GIL of \
         CPython {}.{} to {}.{}; point --python / {PYTHON_ENV} at one of those",
        OLDEST.0, OLDEST.1, NEWEST.0, NEWEST.1
    )]
    Unsupported { path: String, version: String },
    #[error(
        "`{path}` is a free-threaded build of Python {version}: it has no GIL for gilscope to \
         observe; point --python / {PYTHON_ENV} at a default (GIL) build"
    )]
    FreeThreaded { path: String, version: String },
}

/// The interpreter to use: `explicit` (a `--python` flag), else [`PYTHON_ENV`], else
/// `python3` on the `PATH`.
pub fn choose(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(PYTHON_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Runs `path` once to learn its version and build; a usable CPython or why not.
pub fn probe(path: &Path) -> Result<Python, PythonError> {
    let shown = path.display().to_string();
    let script = "import sys, sysconfig; v = sys.version_info; \
                  print(sys.implementation.name, v[0], v[1], v[2], \
                  int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))";
    let mut child = Command::new(path)
        .args(["-I", "-S", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                PythonError::NotFound(shown.clone())
            }
            _ => PythonError::NotPython {
                path: shown.clone(),
                detail: e.to_string(),
            },
        })?;
    let deadline = Instant::now() + PROBE_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PythonError::NotPython {
                    path: shown,
                    detail: format!("it did not answer within {} s", PROBE_TIMEOUT.as_secs()),
                });
            }
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| PythonError::NotPython {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let not_python = |detail: String| PythonError::NotPython {
        path: shown.clone(),
        detail,
    };
    let [implementation, major, minor, micro, free] = fields[..] else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(not_python(format!(
            "it printed {:?} {}",
            crate::cpython::output::clip_line(&text),
            crate::cpython::output::clip_line(&stderr)
        )));
    };
    let number = |s: &str| {
        s.parse::<u32>()
            .map_err(|_| not_python(format!("version {s:?}")))
    };
    let version = (number(major)?, number(minor)?, number(micro)?);
    let version_text = format!("{}.{}.{}", version.0, version.1, version.2);
    if implementation != "cpython" {
        return Err(not_python(format!(
            "it is {implementation} {version_text}, not CPython"
        )));
    }
    if (version.0, version.1) < OLDEST || (version.0, version.1) > NEWEST {
        return Err(PythonError::Unsupported {
            path: shown,
            version: version_text,
        });
    }
    if free == "1" {
        return Err(PythonError::FreeThreaded {
            path: shown,
            version: version_text,
        });
    }
    Ok(Python {
        path: path.to_path_buf(),
        version,
    })
}

/// What the dashboard is told: available with the interpreter's description, or why not.
pub fn status(found: &Result<Python, PythonError>) -> CpythonStatus {
    match found {
        Ok(python) => CpythonStatus {
            available: true,
            detail: python.describe(),
        },
        Err(err) => CpythonStatus {
            available: false,
            detail: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interpreter_says_how_to_get_one() {
        let err = probe(Path::new("/nonexistent/python3")).unwrap_err();
        assert!(matches!(err, PythonError::NotFound(_)), "{err}");
        assert!(err.to_string().contains("--python"), "{err}");
    }

    #[test]
    fn a_program_that_is_not_python_is_refused() {
        let err = probe(Path::new("/bin/true")).unwrap_err();
        assert!(matches!(err, PythonError::NotPython { .. }), "{err}");
    }

    #[test]
    fn the_machines_python_is_probed() {
        let python = probe(&choose(None)).expect("python3 is installed (cargo xtask test does it)");
        assert_eq!(python.version.0, 3);
    }
}
