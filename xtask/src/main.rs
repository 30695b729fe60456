//! The project's two commands (see README.md):
//!
//! - `cargo xtask run`: builds the dashboard and serves it (127.0.0.1:7878 unless `--addr`
//!   or `GILSCOPE_ADDR` say otherwise);
//! - `cargo xtask test`: installs what is missing (the wasm32 target, rustfmt/clippy,
//!   Chromium, wasm-opt), then `cargo fmt --check`, clippy (host and wasm32) with `-D warnings`, and
//!   every test, browser tests included. CI runs exactly this (`.ci/run`).
//!
//! And two for developers: `cargo xtask fmt` (formats the lessons' files too, which the
//! `lessons!` macro hides from `cargo fmt`) and `cargo xtask measure` (measures the figures
//! of the README and docs/measured.md and writes them there; see measure.rs).

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

mod measure;
use clap::{Parser, Subcommand};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Where the browser tests look for Chromium unless `GILSCOPE_CHROMIUM` names another.
const CHROMIUM: &str = "/usr/bin/chromium";

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "gilscope's two commands")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Build the dashboard and serve it; prints the URL.
    Run {
        /// Address to listen on (default 127.0.0.1:7878, or GILSCOPE_ADDR).
        #[arg(long, value_name = "ADDR")]
        addr: Option<String>,
        /// Open the dashboard in the default browser.
        #[arg(long)]
        open: bool,
        /// Build the server with optimisations (the dashboard is always optimised).
        #[arg(long)]
        release: bool,
    },
    /// Install what is missing, then check formatting, lint, and run every test.
    Test,
    /// Format the workspace, the lessons' files included.
    Fmt,
    /// Measure every figure the README and docs/measured.md state, and write them there.
    Measure,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Run {
            addr,
            open,
            release,
        } => run(addr, open, release),
        Task::Test => test(),
        Task::Fmt => fmt(),
        Task::Measure => measure_all(),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(addr: Option<String>, open: bool, release: bool) -> anyhow::Result<ExitCode> {
    if env::var_os("GILSCOPE_SKIP_FRONTEND").is_none() {
        ensure_wasm_target()?;
        ensure_rust_src()?;
        ensure_wasm_opt()?;
    }
    let mut cmd = cargo();
    cmd.arg("run");
    if release {
        cmd.arg("--release");
    }
    cmd.args([
        "--package",
        "gilscope-server",
        "--bin",
        "gilscope",
        "--",
        "serve",
    ]);
    if let Some(addr) = addr {
        cmd.args(["--addr", &addr]);
    }
    if open {
        cmd.arg("--open");
    }
    // Hand the terminal to cargo (and cargo to the server), so Ctrl-C reaches the server
    // and the shell returns only once it has shut down.
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        announce(&cmd);
        let err = cmd.exec();
        Err(err).context("cannot run cargo")
    }
    #[cfg(not(unix))]
    status(&mut cmd)
}

fn test() -> anyhow::Result<ExitCode> {
    ensure_wasm_target()?;
    ensure_rust_src()?;
    ensure_components()?;
    ensure_chromium()?;
    ensure_python()?;
    ensure_wasm_opt()?;

    let mut fmt = vec!["fmt", "--all", "--check", "--"];
    let lessons = lesson_files()?;
    fmt.extend(lessons.iter().map(String::as_str));
    let steps: [&[&str]; 4] = [
        &fmt,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        // The frontend only ever runs as wasm: lint it (and shared) for that target too.
        &[
            "clippy",
            "--package",
            "gilscope-frontend",
            "--package",
            "gilscope-shared",
            "--all-targets",
            "--target",
            WASM_TARGET,
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        // Last, so the output ends with cargo test's own summary.
        &["test", "--workspace", "--locked"],
    ];
    for args in steps {
        let mut cmd = cargo();
        cmd.args(args);
        let code = status(&mut cmd)?;
        if code != ExitCode::SUCCESS {
            return Ok(code);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn measure_all() -> anyhow::Result<ExitCode> {
    ensure_wasm_target()?;
    ensure_rust_src()?;
    ensure_chromium()?;
    ensure_wasm_opt()?;
    measure::measure(&root(), cargo)
}

fn fmt() -> anyhow::Result<ExitCode> {
    let lessons = lesson_files()?;
    status(cargo().args(["fmt", "--all", "--"]).args(&lessons))
}

/// The lessons' files, which `cargo fmt` cannot find on its own: their modules are declared
/// by the `lessons!` macro (server/src/presets/mod.rs), so they are named to it.
fn lesson_files() -> anyhow::Result<Vec<String>> {
    let dir = root().join("server/src/presets");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let file = if path.is_dir() {
            path.join("mod.rs")
        } else {
            path
        };
        if file.extension() == Some(OsStr::new("rs")) && file.exists() {
            files.push(file.to_string_lossy().into_owned());
        }
    }
    files.sort();
    Ok(files)
}

/// `cargo` at the workspace root, with the real dashboard (never the placeholder).
fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root()).env_remove("GILSCOPE_SKIP_FRONTEND");
    cmd
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn announce(cmd: &Command) {
    let args: Vec<_> = cmd.get_args().map(OsStr::to_string_lossy).collect();
    eprintln!("==> cargo {}", args.join(" "));
}

/// Runs `cmd`, echoing it first; its exit status becomes ours.
fn status(cmd: &mut Command) -> anyhow::Result<ExitCode> {
    announce(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// The wasm32 standard library, which `rustup` does not install by itself here
/// (`RUSTUP_AUTO_INSTALL=0`).
fn ensure_wasm_target() -> anyhow::Result<()> {
    let out = Command::new("rustc")
        .current_dir(root())
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .context("cannot run rustc")?;
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() && Path::new(&libdir).is_dir() {
        return Ok(());
    }
    eprintln!("==> rustup target add {WASM_TARGET}");
    let ok = Command::new("rustup")
        .current_dir(root())
        .args(["target", "add", WASM_TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!("could not install the {WASM_TARGET} target: run `rustup target add {WASM_TARGET}` yourself");
    }
    Ok(())
}

/// The standard library's sources, which server/build.rs compiles into the dashboard's wasm
/// (`-Zbuild-std`, for size): the toolchain file asks for them, a bare toolchain may lack them.
fn ensure_rust_src() -> anyhow::Result<()> {
    let out = Command::new("rustc")
        .current_dir(root())
        .args(["--print", "sysroot"])
        .output()
        .context("cannot run rustc")?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success()
        && Path::new(&sysroot)
            .join("lib/rustlib/src/rust/library/Cargo.lock")
            .is_file()
    {
        return Ok(());
    }
    eprintln!("==> rustup component add rust-src");
    let ok = Command::new("rustup")
        .current_dir(root())
        .args(["component", "add", "rust-src"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!("could not install rust-src: run `rustup component add rust-src` yourself");
    }
    Ok(())
}

/// rustfmt and clippy, which the toolchain file asks for but a bare toolchain may lack.
fn ensure_components() -> anyhow::Result<()> {
    for (tool, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        let present = cargo()
            .args([tool, "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if present {
            continue;
        }
        eprintln!("==> rustup component add {component}");
        let ok = Command::new("rustup")
            .current_dir(root())
            .args(["component", "add", component])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            bail!("could not install {component}: run `rustup component add {component}` yourself");
        }
    }
    Ok(())
}

/// Where `npm ci` puts binaryen's wasm-opt, which server/build.rs runs on the dashboard's
/// wasm (binaryen's own npm build: Debian's binaryen breaks the module).
const WASM_OPT_DIR: &str = "xtask/wasm-opt";

/// wasm-opt, from the npm package pinned in `xtask/wasm-opt/package-lock.json`, with the
/// machine's Node.js (installed with apt when missing and running as root).
fn ensure_wasm_opt() -> anyhow::Result<()> {
    let dir = root().join(WASM_OPT_DIR);
    if dir.join("node_modules/.bin/wasm-opt").is_file() {
        return Ok(());
    }
    let has_npm = || {
        Command::new("npm")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has_npm() {
        if !is_root() {
            bail!("the dashboard's bundle is optimised with wasm-opt from npm: install Node.js and npm (`sudo apt-get install -y nodejs npm`), then run this again");
        }
        apt_install(&["nodejs", "npm"])?;
    }
    eprintln!("==> npm ci --prefix {WASM_OPT_DIR}");
    let ok = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!("`npm ci --prefix {WASM_OPT_DIR}` failed: the dashboard's bundle needs its wasm-opt");
    }
    Ok(())
}

/// Debian's Chromium for the browser tests: installed with apt when running as root,
/// otherwise a message saying what to install.
fn ensure_chromium() -> anyhow::Result<()> {
    if let Some(custom) = env::var_os("GILSCOPE_CHROMIUM") {
        if Path::new(&custom).is_file() {
            return Ok(());
        }
        bail!(
            "GILSCOPE_CHROMIUM is {:?}, which is not a file",
            custom.to_string_lossy()
        );
    }
    if Path::new(CHROMIUM).is_file() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "the browser tests need Chromium at {CHROMIUM}: install it with \
             `sudo apt-get install -y chromium` (Debian), or set GILSCOPE_CHROMIUM to a \
             Chrome/Chromium binary, then run `cargo xtask test` again"
        );
    }
    apt_install(&["chromium"])?;
    if !Path::new(CHROMIUM).is_file() {
        bail!("apt-get installed chromium, but {CHROMIUM} is still missing");
    }
    Ok(())
}

/// A CPython 3 for the real-CPython tests (`python3` on the PATH, or $GILSCOPE_PYTHON):
/// installed with apt when missing and running as root, otherwise a message.
fn ensure_python() -> anyhow::Result<()> {
    let python = env::var_os("GILSCOPE_PYTHON").unwrap_or_else(|| "python3".into());
    let works = |p: &std::ffi::OsStr| {
        Command::new(p)
            .args(["-c", "import sys; sys.exit(sys.version_info < (3, 3))"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works(&python) {
        return Ok(());
    }
    if !is_root() || env::var_os("GILSCOPE_PYTHON").is_some() {
        bail!(
            "the real-CPython tests need Python 3 ({}): install it with \
             `sudo apt-get install -y python3`, or set GILSCOPE_PYTHON to one, then run \
             `cargo xtask test` again",
            python.to_string_lossy()
        );
    }
    apt_install(&["python3"])?;
    if !works(&python) {
        bail!("apt-get installed python3, but `python3` still does not run");
    }
    Ok(())
}

/// `apt-get update`, then `apt-get install -y` of `packages`.
fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let install = [&["install", "-y"][..], packages].concat();
    for args in [&["update"][..], &install[..]] {
        eprintln!("==> apt-get {}", args.join(" "));
        let ok = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            bail!(
                "`apt-get {}` failed; install {} and run `cargo xtask test` again",
                args.join(" "),
                packages.join(" ")
            );
        }
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0")
}
