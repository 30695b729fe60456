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
    /// Why gilscope cannot read this interpreter's GIL, if it cannot: it still runs, and its
    /// threads and cores are drawn from /proc.
    pub unreadable_gil: Option<String>,
}

impl Python {
    /// `Python 3.11.7 (/usr/bin/python3)`.
    pub fn describe_short(&self) -> String {
        let (major, minor, micro) = self.version;
        format!("Python {major}.{minor}.{micro} ({})", self.path.display())
    }

    /// [`Python::describe_short`], and why its GIL cannot be read if it cannot.
    pub fn describe(&self) -> String {
        let mut text = self.describe_short();
        if let Some(why) = &self.unreadable_gil {
            text.push_str(&format!(" — {why}"));
        }
        text
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
    // Python 2 and 3 alike: what it is, its version, whether it is a free-threaded build.
    let script = "import platform, sys, sysconfig; v = sys.version_info; \
                  sys.stdout.write('%s %d %d %d %d\\n' % (\
                  platform.python_implementation().lower(), v[0], v[1], v[2], \
                  int(bool(sysconfig.get_config_var('Py_GIL_DISABLED')))))";
    let mut child = Command::new(path)
        .args(["-E", "-s", "-S", "-c", script])
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
    let unreadable_gil = if (version.0, version.1) < OLDEST || (version.0, version.1) > NEWEST {
        Some(format!(
            "gilscope reads the GIL of CPython {}.{} to {}.{}, not {version_text}: only its \
             threads and cores are drawn (point --python / {PYTHON_ENV} at one of those to see \
             the GIL)",
            OLDEST.0, OLDEST.1, NEWEST.0, NEWEST.1
        ))
    } else if free == "1" {
        Some(
            "a free-threaded build has no GIL to read: only its threads and cores are drawn"
                .to_string(),
        )
    } else {
        None
    };
    Ok(Python {
        path: path.to_path_buf(),
        version,
        unreadable_gil,
    })
}

/// [`probe`], once per path for the life of this process (each probe starts a Python).
pub fn probe_once(path: &Path) -> Result<Python, PythonError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Probed = HashMap<PathBuf, Result<Python, PythonError>>;
    static PROBED: OnceLock<Mutex<Probed>> = OnceLock::new();
    let mut probed = PROBED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    probed
        .entry(path.to_path_buf())
        .or_insert_with(|| probe(path))
        .clone()
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

    #[test]
    fn a_python_whose_gil_cannot_be_read_still_runs() {
        // Python 2.7, where this machine has one (pyenv): outside the versions read.
        let old = Path::new("/root/.pyenv/versions/2.7.18/bin/python2.7");
        if !old.exists() {
            return;
        }
        let python = probe(old).expect("runs");
        assert!(python.unreadable_gil.is_some(), "{python:?}");
        assert!(python.describe().contains("only its threads and cores"));
    }
}
