//! `cargo xtask measure`: measures what the README and the docs claim, and writes it down.
//!
//! Numbers live here, not in `cargo test` (tests check behaviour, with generous bounds). This
//! command builds the release server, then measures:
//! - every lesson at its default knobs, on gilscope (`gilscope run`, the CLI's figures) and on
//!   the machine's CPython (`python3` on the lesson's own Python, what it prints);
//! - the dashboard's download (the bundle test's report) and its drawing speed in headless
//!   Chromium (the drawing test's `drawing.json`).
//!
//! It writes `docs/measured.md` whole and the README's block between [`BEGIN`] and [`END`], so
//! a figure in them is never older than the last run of this command.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

/// Where the README's generated block starts and ends.
pub const BEGIN: &str = "<!-- measured: written by `cargo xtask measure`, do not edit -->";
pub const END: &str = "<!-- /measured -->";

/// A lesson's Python on CPython gets this long before it is abandoned.
const PYTHON_TIMEOUT: Duration = Duration::from_secs(300);

/// One lesson measured both ways.
struct Lesson {
    name: String,
    gilscope: String,
    gilscope_s: f64,
    cpython: String,
    cpython_s: f64,
}

/// Runs every measurement (see the module doc); `cargo` makes a cargo command at the root.
pub fn measure(root: &Path, cargo: impl Fn() -> Command) -> anyhow::Result<ExitCode> {
    let status = cargo()
        .args(["build", "--release", "--locked", "-p", "gilscope-server"])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("the release build failed");
    }
    let gilscope = root.join("target/release/gilscope");
    let machine = machine()?;
    let lessons = lessons(&gilscope)?;
    let dashboard = dashboard(root, &cargo)?;

    let page = render(&machine, &lessons, &dashboard);
    let docs = root.join("docs/measured.md");
    std::fs::write(&docs, page).with_context(|| format!("writing {}", docs.display()))?;
    let readme = root.join("README.md");
    let text = std::fs::read_to_string(&readme)?;
    std::fs::write(
        &readme,
        replace_block(&text, &readme_block(&machine, &dashboard))?,
    )?;
    eprintln!("xtask: wrote {} and the README's figures", docs.display());
    Ok(ExitCode::SUCCESS)
}

/// The machine and the moment, as a reader needs them to weigh a figure.
fn machine() -> anyhow::Result<String> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let rustc = output(Command::new("rustc").arg("-V"))?;
    let python = output(Command::new("python3").arg("-V")).unwrap_or_else(|_| "none".into());
    let date = output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?;
    Ok(format!(
        "{date}, {cores} cores, load average {load} at the start, {rustc}, {python}"
    ))
}

fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Every lesson at its default knobs, on gilscope then on CPython.
fn lessons(gilscope: &Path) -> anyhow::Result<Vec<Lesson>> {
    let presets: Value =
        serde_json::from_str(&output(Command::new(gilscope).args(["presets", "--json"]))?)?;
    let presets = presets.as_array().context("presets --json is a list")?;
    let mut measured = Vec::new();
    for preset in presets {
        let name = preset["name"].as_str().context("a preset has a name")?;
        let python = preset["python"]
            .as_str()
            .context("a preset has its Python")?;
        eprintln!("xtask: measuring {name}");
        let start = Instant::now();
        let figures = output(Command::new(gilscope).args(["run", name]))?;
        let gilscope_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let cpython = cpython(python)?;
        measured.push(Lesson {
            name: name.to_string(),
            gilscope: figures,
            gilscope_s,
            cpython,
            cpython_s: start.elapsed().as_secs_f64(),
        });
    }
    Ok(measured)
}

/// What `python3` prints running `code` (its last lines), or why it did not finish.
fn cpython(code: &str) -> anyhow::Result<String> {
    let dir = std::env::temp_dir().join(format!("gilscope-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("lesson.py");
    std::fs::write(&script, code)?;
    let child = Command::new("python3")
        .arg(&script)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run python3")?;
    let pid = child.id().to_string();
    // A thread drains the pipes to the end; this one waits for it, at most PYTHON_TIMEOUT.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let out = match finished.recv_timeout(PYTHON_TIMEOUT) {
        Ok(out) => out?,
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid]).status();
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(format!("(did not finish in {PYTHON_TIMEOUT:?})"));
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        format!(
            "(exited with {}) {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let lines: Vec<&str> = text.trim().lines().collect();
    Ok(lines[lines.len().saturating_sub(12)..].join("\n"))
}

/// The dashboard's figures: the bundle test's report line and the drawing test's JSON.
struct Dashboard {
    bundle: String,
    drawing: Vec<Value>,
}

fn dashboard(root: &Path, cargo: &impl Fn() -> Command) -> anyhow::Result<Dashboard> {
    let out = cargo()
        .args([
            "test",
            "--locked",
            "-p",
            "gilscope-server",
            "--test",
            "bundle",
            "--test",
            "drawing",
            "--",
            "--nocapture",
            "--test-threads=1",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo test")?;
    if !out.status.success() {
        bail!("the bundle or drawing test failed");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let bundle = stdout
        .lines()
        // libtest prints the test's name first, on the same line.
        .find_map(|l| l.split_once("bundle: ").map(|(_, report)| report))
        .context("the bundle test printed no report")?
        .to_string();
    let drawing: PathBuf = root.join("target/screenshots/drawing.json");
    let drawing: Value = serde_json::from_str(&std::fs::read_to_string(&drawing)?)?;
    Ok(Dashboard {
        bundle,
        drawing: drawing.as_array().cloned().unwrap_or_default(),
    })
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// The drawing benchmark as a table, and the frame rate while streaming.
fn drawing_table(d: &Dashboard) -> String {
    let mut out = String::from(
        "| spans (64 lanes) | DPR | zoom | median ms | p95 ms | summary / spans memory |\n\
         |---|---|---|---|---|---|\n",
    );
    for row in d.drawing.iter().filter(|r| r.get("p95_ms").is_some()) {
        out += &format!(
            "| {} | {} | 1/{} | {:.1} | {:.1} | {:.1} % |\n",
            num(row, "spans"),
            num(row, "dpr"),
            (1.0 / num(row, "zoom")).round(),
            num(row, "median_ms"),
            num(row, "p95_ms"),
            100.0 * num(row, "summary_bytes") / num(row, "spans_bytes"),
        );
    }
    if let Some(live) = d.drawing.iter().find_map(|r| r.get("live")) {
        out += &format!(
            "\nWhile a 16-thread run streams: {:.0} frames per second (slowest 0.5 s window \
             {:.0}, longest gap {:.1} ms).\n",
            num(live, "fps"),
            num(live, "fps_min_window"),
            num(live, "worst_gap_ms"),
        );
    }
    out
}

fn render(machine: &str, lessons: &[Lesson], d: &Dashboard) -> String {
    let mut out = format!(
        "# Measured\n\n\
         Written by `cargo xtask measure` on {machine}. Do not edit: run the command again.\n\n\
         ## Every lesson, on gilscope and on CPython\n\n\
         Default knobs. gilscope's figures as `gilscope run NAME` prints them; CPython's as the \
         lesson's own Python (the code panel's, `gilscope presets --json`) prints them under \
         the machine's `python3`, run right after. Wall times include start-up and, for \
         gilscope, the one-thread baseline.\n"
    );
    for l in lessons {
        out += &format!(
            "\n### {}\n\ngilscope ({:.1} s):\n\n```text\n{}\n```\n\nCPython ({:.1} s):\n\n```text\n{}\n```\n",
            l.name, l.gilscope_s, l.gilscope, l.cpython_s, l.cpython
        );
    }
    out += &format!(
        "\n## The dashboard\n\nBundle (the bundle test, gzip -9 as served): {}\n\n\
         Drawing, headless Chromium, `window.__gilscope_bench(64, spans, 60, 1280, dpr, zoom)` \
         (the drawing test), milliseconds per full redraw:\n\n{}",
        d.bundle,
        drawing_table(d)
    );
    out
}

fn readme_block(machine: &str, d: &Dashboard) -> String {
    format!(
        "Measured by `cargo xtask measure` on {machine}; every lesson on gilscope and on \
         CPython side by side is in [docs/measured.md](docs/measured.md).\n\n\
         - Dashboard bundle: {}\n- Drawing (ms per full redraw):\n\n{}",
        d.bundle,
        drawing_table(d)
    )
}

/// `text` with what stands between [`BEGIN`] and [`END`] replaced by `block`.
fn replace_block(text: &str, block: &str) -> anyhow::Result<String> {
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        bail!("the README has no `{BEGIN}` ... `{END}` block");
    };
    if end < begin {
        bail!("the README's measured block ends before it begins");
    }
    Ok(format!(
        "{}{BEGIN}\n{block}\n{}",
        &text[..begin],
        &text[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_replaced_and_the_rest_kept() {
        let text = format!("intro\n{BEGIN}\nold\n{END}\nrest\n");
        let new = replace_block(&text, "new").unwrap();
        assert_eq!(new, format!("intro\n{BEGIN}\nnew\n{END}\nrest\n"));
        assert!(replace_block("no markers", "x").is_err());
    }
}
