//! The fidelity table (issue #10): every lesson's figures, emulated against the machine's
//! CPython, at default knobs and at the settings the lessons suggest.
//!
//! `cargo bench -p gilscope-server --bench fidelity` runs `gilscope compare --runs 5 --json`
//! for each setting (the two engines alternately, five runs each) and writes
//! `docs/fidelity.md`: medians, their ratio, each side's spread over its five runs, and for
//! the lessons that compare ways, whether the ways come in the same order. Run it on a quiet
//! machine: the load average is written at the start and at the end.
//! `GILSCOPE_FIDELITY_RUNS=N` changes the number of runs (1..=9).

use std::fmt::Write as _;
use std::process::Command;

use serde_json::Value;

/// Every lesson at its defaults, then the settings a lesson suggests (its knob help and docs).
const SUGGESTED: &[(&str, &[&str])] = &[
    ("counter-race", &["form=call"]),
    ("convoy-effect", &["switch_interval_ms=1"]),
    (
        "queue-vs-shared-memory",
        &["message_bytes=1048576", "items=2000"],
    ),
    ("return-values", &["shared=none"]),
    ("process-pool-map", &["chunksize=1"]),
    ("queue-qsize-unreliable", &["capacity=2"]),
    ("queue-vs-shared-memory", &["pairs=2", "items=2000"]),
];

/// Within this of CPython a figure agrees (the issue's ±15 %).
const AGREES: f64 = 0.15;
/// A figure is stable when its spread over the runs is at most this.
const STABLE: f64 = 0.10;

fn gilscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gilscope"))
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn lessons() -> Vec<String> {
    let out = gilscope()
        .args(["presets", "--json"])
        .output()
        .expect("gilscope presets");
    let presets: Value = serde_json::from_slice(&out.stdout).expect("presets JSON");
    presets
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect()
}

/// One `gilscope compare`: its rows, or why there are none.
fn compare(lesson: &str, sets: &[&str], runs: u32) -> Result<Vec<Value>, String> {
    let mut cmd = gilscope();
    cmd.args(["compare", lesson, "--json", "--runs", &runs.to_string()]);
    for set in sets {
        cmd.args(["--set", set]);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let rows: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    Ok(rows.as_array().cloned().unwrap_or_default())
}

fn percent(v: &Value) -> String {
    v.as_f64()
        .map_or("-".into(), |s| format!("{:.0} %", s * 100.0))
}

/// The ways of a lesson that compares ways (`... messages/s`, `... ms`), fastest first on
/// each side; `None` when the lesson has fewer than two.
fn orders(rows: &[Value]) -> Option<(Vec<String>, Vec<String>)> {
    let ways: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            let f = r["figure"].as_str().unwrap_or("");
            f.ends_with(" messages/s") || f.ends_with(" ms")
        })
        .collect();
    if ways.len() < 2 {
        return None;
    }
    // Faster is more messages per second, or fewer milliseconds.
    let faster_first = |side: &str| {
        let mut v: Vec<(String, f64)> = ways
            .iter()
            .map(|r| {
                let f = r["figure"].as_str().unwrap_or("").to_string();
                let x = r[side].as_f64().unwrap_or(0.0);
                let key = if f.ends_with(" ms") { -x } else { x };
                (f, key)
            })
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.into_iter()
            .map(|(f, _)| {
                let way = f.trim_end_matches(" messages/s").trim_end_matches(" ms");
                way.to_string()
            })
            .collect::<Vec<_>>()
    };
    Some((faster_first("emulated"), faster_first("cpython")))
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported (one table).
    let runs: u32 = std::env::var("GILSCOPE_FIDELITY_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|r| (1..=9).contains(r))
        .unwrap_or(5);
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "python3: not found".into());
    let started = load();
    let mut settings: Vec<(String, Vec<&str>)> =
        lessons().into_iter().map(|l| (l, Vec::new())).collect();
    settings.extend(SUGGESTED.iter().map(|(l, s)| (l.to_string(), s.to_vec())));

    let mut table = String::new();
    let (mut figures, mut agree, mut stable, mut same_order, mut compared_orders) = (0, 0, 0, 0, 0);
    for (lesson, sets) in &settings {
        let knobs = if sets.is_empty() {
            "defaults".to_string()
        } else {
            sets.join(" ")
        };
        eprintln!("{lesson} ({knobs})");
        let rows = match compare(lesson, sets, runs) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = writeln!(
                    table,
                    "| {lesson} | {knobs} | (compare failed: {e}) | | | | | |"
                );
                continue;
            }
        };
        if rows.is_empty() {
            let _ = writeln!(
                table,
                "| {lesson} | {knobs} | (no figure printed by both) | | | | | |"
            );
        }
        for r in &rows {
            figures += 1;
            let ratio = r["ratio"].as_f64();
            if ratio.is_some_and(|x| (x - 1.0).abs() <= AGREES) {
                agree += 1;
            }
            let spread_e = r["emulated_spread"].as_f64().unwrap_or(f64::INFINITY);
            if spread_e <= STABLE {
                stable += 1;
            }
            let _ = writeln!(
                table,
                "| {lesson} | {knobs} | {} | {:.4} | {:.4} | {} | {} | {} |",
                r["figure"].as_str().unwrap_or("?"),
                r["emulated"].as_f64().unwrap_or(f64::NAN),
                r["cpython"].as_f64().unwrap_or(f64::NAN),
                ratio.map_or("-".into(), |x| format!("**{x:.2}**")),
                percent(&r["emulated_spread"]),
                percent(&r["cpython_spread"]),
            );
        }
        if let Some((e, c)) = orders(&rows) {
            compared_orders += 1;
            let same = e == c;
            same_order += usize::from(same);
            let _ = writeln!(
                table,
                "| {lesson} | {knobs} | order, fastest first | {} | {} | {} | | |",
                e.join(" > "),
                c.join(" > "),
                if same { "same" } else { "**differs**" }
            );
        }
    }
    let ended = load();

    let mut md = String::new();
    let _ = writeln!(md, "# Fidelity: the emulation against real CPython\n");
    let _ = writeln!(
        md,
        "Written by `cargo bench -p gilscope-server --bench fidelity` (`server/benches/fidelity.rs`)\n\
         on {}, {} cores, {python}; load average {started} at the start, {ended} at the end.\n",
        date(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = writeln!(
        md,
        "Each row: `gilscope compare LESSON --runs {runs}` — the lesson's own Python on this\n\
         machine's CPython and the emulation, alternately, {runs} run(s) each; the medians, their\n\
         ratio (emulated / CPython), and each side's spread over its runs ((largest − smallest) /\n\
         median). Counts are compared as shares (updates lost of those expected, wrong `empty()`\n\
         answers of the tries). Lessons whose Python prints no figure (join, thread-pool-map,\n\
         queue-producer-consumer, apply-async) have no row: their claims are drawn, not counted.\n"
    );
    let _ = writeln!(
        md,
        "**{agree} of {figures}** figures within ±{:.0} % of CPython; **{stable} of {figures}** with an\n\
         emulated spread of at most {:.0} %; ways in the same order as CPython in **{same_order} of\n\
         {compared_orders}** comparisons.\n",
        AGREES * 100.0,
        STABLE * 100.0
    );
    let _ = writeln!(
        md,
        "| lesson | knobs | figure | emulated | CPython | ratio | spread (emulated) | spread (CPython) |\n\
         |---|---|---|---|---|---|---|---|"
    );
    md.push_str(&table);
    md.push_str(WHY);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/fidelity.md");
    std::fs::write(path, &md).expect("write docs/fidelity.md");
    print!("{md}");
}

fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// What the table cannot show by itself (kept with it, since the bench rewrites the file).
const WHY: &str = include_str!("fidelity_notes.md");
