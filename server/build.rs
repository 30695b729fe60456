//! Builds the dashboard and lays out the bundle the server embeds (`$OUT_DIR/bundle`):
//!
//! 1. copies `static/` (index.html, CSS, icons), and writes each language's messages as
//!    `lang/<code>.txt` (their texts one per line, in the order of
//!    `frontend/locales/messages.rs`), which the dashboard fetches for the language it shows;
//! 2. builds `gilscope-frontend` for wasm32 with a nested `cargo build` in its own target
//!    directory (`target/frontend`), profile `wasm-release`, `--cfg erase_components`, with
//!    its own standard library built for size and panics that abort at once
//!    ([`build_frontend`]; the toolchain's `rust-src`);
//! 3. runs wasm-bindgen (as a library, `--target web`) into `bundle/pkg`;
//! 4. shrinks the wasm with binaryen's wasm-opt, as `cargo xtask` installs it from npm
//!    (`xtask/wasm-opt`), or the one `GILSCOPE_WASM_OPT` names; without it the bundle is
//!    embedded as it is, with a warning (and the bundle test says what to do);
//! 5. compresses every text and wasm file once, here: `NAME.br` (brotli, quality 11) and
//!    `NAME.gz` (gzip, by zopfli) beside it, each kept only when smaller; the server sends the
//!    one a browser accepts (`src/assets.rs`).
//!
//! `GILSCOPE_SKIP_FRONTEND=1` skips 2 and 3 and embeds a page saying so: for iterating on the
//! server without waiting for wasm builds. Nothing else reads it; the test command clears it.
//! `GILSCOPE_PANIC_MESSAGES=1` builds the wasm with its panics' messages, for debugging (a
//! larger bundle: the bundle test fails).

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

#[path = "../frontend/locales/messages.rs"]
mod messages;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const FRONTEND: &str = "gilscope-frontend";
const PROFILE: &str = "wasm-release";

fn main() -> ExitCode {
    match build() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            // Cargo prints this as one `error:` line and fails the build.
            println!("cargo::error={msg}");
            ExitCode::SUCCESS
        }
    }
}

fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let bundle = out_dir.join("bundle");

    println!("cargo::rerun-if-env-changed=GILSCOPE_SKIP_FRONTEND");
    println!("cargo::rerun-if-changed={}", root.join("static").display());

    if bundle.exists() {
        fs::remove_dir_all(&bundle)
            .map_err(|e| format!("cannot clear {}: {e}", bundle.display()))?;
    }
    copy_dir(&root.join("static"), &bundle, &[Path::new("pkg")])
        .map_err(|e| format!("cannot copy static/ into {}: {e}", bundle.display()))?;
    println!(
        "cargo::rerun-if-changed={}",
        root.join("frontend/locales").display()
    );
    languages(&root.join("frontend/locales"), &bundle.join("lang"))?;

    if env::var_os("GILSCOPE_SKIP_FRONTEND").is_some_and(|v| !v.is_empty() && v != "0") {
        println!(
            "cargo::warning=GILSCOPE_SKIP_FRONTEND is set: embedding a placeholder page instead of the dashboard"
        );
        fs::write(bundle.join("index.html"), PLACEHOLDER)
            .map_err(|e| format!("cannot write placeholder page: {e}"))?;
        return precompress(&bundle);
    }

    for input in [
        "frontend/src",
        "frontend/build.rs",
        "frontend/Cargo.toml",
        "shared/src",
        "shared/Cargo.toml",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo::rerun-if-changed={}", root.join(input).display());
    }

    ensure_wasm_target()?;
    ensure_rust_src()?;
    let wasm = build_frontend(&root)?;

    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e}"))?
        .typescript(false)
        // `init()` with no argument then fetches `gilscope_frontend_bg.wasm` next to the JS.
        .omit_default_module_path(false)
        // Function names (~170 KB) and toolchain info are of no use to the browser.
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(bundle.join("pkg"))
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", wasm.display()))?;
    optimise(&root, &bundle.join("pkg").join("gilscope_frontend_bg.wasm"))?;
    precompress(&bundle)
}

/// `lang/<code>.txt` for each `frontend/locales/<code>.json` (the frontend's build checked
/// that they have the same keys).
fn languages(locales: &Path, out: &Path) -> Result<(), String> {
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let entries =
        fs::read_dir(locales).map_err(|e| format!("cannot read {}: {e}", locales.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let messages = messages::messages(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let code = path.file_stem().unwrap().to_string_lossy();
        let file = out.join(format!("{code}.txt"));
        fs::write(&file, messages::lines(&messages))
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(())
}

/// Files worth compressing, by extension (images other than SVG are compressed already).
const COMPRESSIBLE: &[&str] = &["html", "css", "js", "wasm", "svg", "json", "txt"];

/// Writes `NAME.br` and `NAME.gz` beside each compressible file of `dir`, when smaller.
fn precompress(dir: &Path) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            precompress(&path)?;
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !COMPRESSIBLE.contains(&ext) {
            continue;
        }
        let data = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (suffix, packed) in [("br", brotli(&data)), ("gz", gzip(&data))] {
            let packed = packed.map_err(|e| format!("cannot compress {}: {e}", path.display()))?;
            if packed.len() < data.len() {
                let out = PathBuf::from(format!("{}.{suffix}", path.display()));
                fs::write(&out, packed)
                    .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            }
        }
    }
    Ok(())
}

fn brotli(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
    Ok(out)
}

/// Gzip by zopfli, which searches much harder than `gzip -9` for the same format: 5 % smaller
/// on the dashboard's wasm (10.1 KB), in about 6 s of the build.
fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        data,
        &mut out,
    )?;
    Ok(out)
}

/// Runs wasm-opt on the bindgen'd module in place, if there is one to run.
fn optimise(root: &Path, wasm: &Path) -> Result<(), String> {
    println!("cargo::rerun-if-env-changed=GILSCOPE_WASM_OPT");
    // The folder, which exists before the install too (a missing path would rerun this
    // script on every build).
    let dir = root.join("xtask/wasm-opt");
    println!("cargo::rerun-if-changed={}", dir.display());
    let npm = dir.join("node_modules/.bin/wasm-opt");
    let tool = env::var_os("GILSCOPE_WASM_OPT")
        .map(PathBuf::from)
        .unwrap_or(npm);
    if !tool.is_file() {
        println!(
            "cargo::warning=no wasm-opt at {}: the dashboard's wasm is embedded unoptimised \
             (`cargo xtask test` or `npm ci --prefix xtask/wasm-opt` installs it)",
            tool.display()
        );
        return Ok(());
    }
    let out = wasm.with_extension("opt.wasm");
    // First, the exports nothing calls: the `ReadableStream` adapters of `wasm-streams`
    // (`IntoUnderlyingSource`, `IntoUnderlyingByteSource`, `IntoUnderlyingSink`), which Leptos
    // links through `server_fn` for server functions the dashboard does not have (their JS
    // classes stay in the glue, never constructed): 1.6 KB gzipped with the code they keep.
    // Then -Oz, but inlining a function into its only caller no further than small ones: whole
    // call trees inlined into one make the module smaller raw yet larger gzipped. Repeated
    // until nothing shrinks (`--converge`: 1.2 KB less gzipped, ~20 s more). Last, the custom
    // sections no browser reads (the toolchain's name and the target features: 0.3 KB).
    let status = Command::new(&tool)
        .args([
            "--remove-exports",
            "--pass-arg=remove-exports@*intounderlying*",
            "-Oz",
            "--one-caller-inline-max-function-size",
            "20",
            "--converge",
            "--strip-producers",
            "--strip-target-features",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(&out)
        .stdout(Stdio::from(io::stderr()))
        .status()
        .map_err(|e| format!("cannot run {}: {e}", tool.display()))?;
    if !status.success() {
        return Err(format!(
            "{} failed on {} ({status})",
            tool.display(),
            wasm.display()
        ));
    }
    fs::rename(&out, wasm).map_err(|e| format!("cannot replace {}: {e}", wasm.display()))
}

/// Fails with a one-line hint when the wasm32 standard library is not installed.
fn ensure_wasm_target() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.to_string_lossy()))?;
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !Path::new(&libdir).is_dir() {
        return Err(format!(
            "the {WASM_TARGET} target is not installed, so the frontend cannot be built: \
             run `rustup target add {WASM_TARGET}` (or `cargo xtask run`, which does it), \
             or set GILSCOPE_SKIP_FRONTEND=1 to build the server without the dashboard"
        ));
    }
    Ok(())
}

/// Fails with a one-line hint when the standard library's sources, which the nested build
/// compiles ([`build_frontend`]), are not installed.
fn ensure_rust_src() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.to_string_lossy()))?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let library = Path::new(&sysroot).join("lib/rustlib/src/rust/library/Cargo.lock");
    if !out.status.success() || !library.is_file() {
        return Err(
            "the standard library's sources (rust-src) are not installed, so the frontend \
             cannot be built: run `rustup component add rust-src` (or `cargo xtask run`, which \
             does it), or set GILSCOPE_SKIP_FRONTEND=1 to build the server without the \
             dashboard"
                .to_string(),
        );
    }
    Ok(())
}

/// Nested `cargo build` of the frontend for wasm32; returns the path of the built `.wasm`.
///
/// Its standard library is built with it, for size (`-Zbuild-std`, std's `optimize_for_size`),
/// with panics that abort at once (`-Cpanic=immediate-abort`: no panic messages, their
/// formatting or their hook, a wasm `unreachable` trap instead) and no file, line and column
/// kept for `#[track_caller]` (`-Zlocation-detail=none`): 21.9 KB gzipped less
/// (docs/bundle.md). These are unstable options of the pinned stable toolchain
/// (`rust-toolchain.toml`), unlocked for this build only with `RUSTC_BOOTSTRAP=1` rather than
/// a second, nightly, toolchain to install; a toolchain update must check that they still
/// build (the bundle test measures them).
fn build_frontend(root: &Path) -> Result<PathBuf, String> {
    // The outer cargo holds the lock on its own target directory: build in a sibling one.
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("frontend");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut cmd = Command::new(&cargo);
    cmd.current_dir(root)
        .args(["build", "--package", FRONTEND, "--lib"])
        .args(["--target", WASM_TARGET, "--profile", PROFILE])
        .args([
            "-Zbuild-std=std,panic_abort",
            "-Zbuild-std-features=optimize_for_size",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        // Cargo reads build-script directives from our stdout: keep the nested output off it.
        .stdout(Stdio::from(io::stderr()));
    for (key, _) in env::vars_os() {
        if leaks_from_outer_build(&key) {
            cmd.env_remove(key);
        }
    }
    // Leptos' components return type-erased views (`AnyView`) instead of nested view types:
    // fewer generic copies of its rendering code, 4.4 KB gzipped less (docs/bundle.md). With
    // `--target`, RUSTFLAGS reaches the wasm crates only, not build scripts or proc macros.
    // The panic strategy given here overrides the profile's `panic = "abort"`; with
    // GILSCOPE_PANIC_MESSAGES=1 the profile's stays, and a panic's message and place reach the
    // browser's console (`console_error_panic_hook`), for debugging.
    println!("cargo::rerun-if-env-changed=GILSCOPE_PANIC_MESSAGES");
    let messages =
        env::var_os("GILSCOPE_PANIC_MESSAGES").is_some_and(|v| !v.is_empty() && v != "0");
    let rustflags = if messages {
        "--cfg erase_components"
    } else {
        "--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
    };
    cmd.env("RUSTFLAGS", rustflags);
    cmd.env("RUSTC_BOOTSTRAP", "1");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", cargo.to_string_lossy()))?;
    if !status.success() {
        return Err(format!(
            "building {FRONTEND} for {WASM_TARGET} failed ({status}); its errors are above \
             (or build it directly: cargo build -p {FRONTEND} --target {WASM_TARGET})"
        ));
    }
    Ok(target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join("gilscope_frontend.wasm"))
}

/// Environment the outer cargo sets for this build script (or that clippy sets for the outer
/// cargo) which would change what the nested build does: flags meant for the host build,
/// the outer target dir, clippy's wrapper, and per-package build-script variables.
fn leaks_from_outer_build(key: &OsString) -> bool {
    let Some(key) = key.to_str() else {
        return false;
    };
    const EXACT: &[&str] = &[
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CRATE_NAME",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "RUSTC_LINKER",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_FEATURE_",
        "CARGO_CFG_",
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "DEP_",
    ];
    EXACT.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

fn copy_dir(from: &Path, to: &Path, skip: &[&Path]) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.contains(&Path::new(&name)) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_dir(&src, &dst, &[])?;
        } else {
            fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gilscope</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<main class="placeholder">
<h1>gilscope</h1>
<p>The dashboard was not built into this binary: it was compiled with
<code>GILSCOPE_SKIP_FRONTEND=1</code>. The websocket at <code>/ws</code> works as usual.</p>
<p>Rebuild without that variable (or run <code>cargo xtask run</code>) to get the dashboard.</p>
</main>
</body>
</html>
"#;
