//! Every preset runs and its trace is sound; the live API (drain, stop); and every preset's
//! Python really runs on the machine's python3. (The CLI's own tests are in cli.rs.)

mod common;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{run, serial, spec};
use gilscope_server::presets;
use gilscope_server::program::start;
use gilscope_shared::summary::EndReason;
use gilscope_shared::trace::{State, Trace};

/// Each lesson's own small knob values, so the whole suite stays short.
fn small(preset: &str) -> Vec<(&'static str, &'static str)> {
    presets::find(preset)
        .expect("a lesson")
        .lesson()
        .small
        .to_vec()
}

#[test]
fn every_preset_runs_with_a_sound_trace() {
    let _g = serial();
    for preset in presets::all() {
        let name = preset.name();
        let mut knobs = small(name);
        let outcome = run(name, &knobs);
        assert!(
            outcome.summary.invariants_ok,
            "{name}: {:?}",
            outcome.summary
        );
        assert!(!outcome.trace.lanes.is_empty());
        if name == "thread-pool-map" {
            knobs.push(("api", "apply_async"));
            assert_eq!(
                run(name, &knobs).summary.figures.results_in_order,
                Some(true)
            );
        }
        if name == "cpu-threads" || name == "gil-flavours" {
            for gil in ["current", "ticks", "none"] {
                let mut k = small(name);
                k.push(("gil", gil));
                assert!(run(name, &k).summary.invariants_ok, "{name} gil={gil}");
            }
        }
    }
}

#[test]
fn a_run_can_be_watched_live_and_rebuilt_from_its_deltas() {
    let _g = serial();
    let handle = start(&spec(
        "cpu-threads",
        &[("threads", "2"), ("work", "40000000")],
    ))
    .unwrap();
    let mut rebuilt = Trace::default();
    let mut nonempty_while_running = 0;
    let mut saw_open_span = false;
    while !handle.is_finished() {
        let delta = handle.drain();
        saw_open_span |= !delta.open_spans.is_empty();
        if !delta.added.spans.is_empty() {
            nonempty_while_running += 1;
        }
        rebuilt.apply(delta);
        std::thread::sleep(Duration::from_millis(15));
    }
    rebuilt.apply(handle.drain());
    let outcome = handle.wait();
    assert!(
        nonempty_while_running >= 3,
        "{nonempty_while_running} live deltas"
    );
    assert!(saw_open_span);
    assert_eq!(rebuilt.lanes.len(), outcome.trace.lanes.len());
    assert_eq!(rebuilt.spans.len(), outcome.trace.spans.len());
    assert_eq!(rebuilt.marks.len(), outcome.trace.marks.len());
    // Lanes arrive in id order, with their OS thread ids.
    for (i, lane) in rebuilt.lanes.iter().enumerate() {
        assert_eq!(lane.id.0 as usize, i);
        assert!(lane.tid.is_some());
    }
}

#[test]
fn stop_ends_a_long_run_promptly() {
    let _g = serial();
    stop_promptly("cpu-threads", &[("threads", "4"), ("work", "2000000000")]);
    // Python 2's GIL released at every bytecode: the holder takes it straight back and never
    // waits, so it must notice the stop anyway.
    stop_promptly(
        "gil-flavours",
        &[
            ("gil", "ticks"),
            ("check_ticks", "1"),
            ("threads", "64"),
            ("work", "2000000000"),
        ],
    );
}

fn stop_promptly(preset: &str, knobs: &[(&str, &str)]) {
    let handle = start(&spec(preset, knobs)).unwrap();
    while handle.drain().added.spans.is_empty() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let asked = Instant::now();
    handle.stop();
    let outcome = handle.wait();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{preset}: stopping took {:?}",
        asked.elapsed()
    );
    assert_eq!(outcome.summary.end, EndReason::Stopped, "{preset}");
    assert!(!outcome.summary.invariants_ok);
    // Every lane ended.
    for lane in &outcome.trace.lanes {
        assert!(
            outcome
                .trace
                .spans
                .iter()
                .any(|s| s.lane == lane.id && s.state == State::Done),
            "lane {} never ended",
            lane.name
        );
    }
}

#[test]
fn every_presets_python_runs_on_python3() {
    let python = Command::new("python3").arg("--version").output();
    assert!(python.is_ok(), "python3 is on every machine of this kind");
    let dir = tempfile::tempdir().unwrap();
    for preset in presets::all() {
        let info = presets::infos()
            .into_iter()
            .find(|p| p.name == preset.name())
            .unwrap();
        let given = small(preset.name())
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    gilscope_shared::spec::KnobValue::Text(v.into()),
                )
            })
            .collect();
        let knobs = info.resolve(&given).unwrap();
        let code = preset.python(&knobs);
        assert!(
            !code.contains("{{"),
            "{}: unrendered knob in\n{code}",
            preset.name()
        );
        let file = dir
            .path()
            .join(format!("{}.py", preset.name().replace('-', "_")));
        std::fs::write(&file, &code).unwrap();
        let out = Command::new("timeout")
            .args(["60", "python3"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} failed:\n{}\n{code}",
            preset.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{} printed nothing", preset.name());
    }
}
