//! What a run is called on screen, so a room can tell two runs apart at a glance: its lesson,
//! what ran it ("emulated", "CPython 3.11") and, for a run observed by sampling, how often
//! ("sampled at 1 kHz"): `cpu-threads · CPython 3.11 · sampled at 1 kHz`.

use gilscope_shared::decimal::fixed;
use gilscope_shared::protocol::RunInfo;
use gilscope_shared::spec::{Engine, SCRIPT_PRESET};

use crate::lang::{fill, tr, Locale};

/// `CPython 3.11` from the server's `Python 3.11.7 (/usr/bin/python3)`; `CPython` when the
/// detail names no version.
pub fn cpython_name(detail: &str) -> String {
    // "3.11.7 (/usr/bin/python3)": the digits and dots up to the second dot.
    let version = detail.strip_prefix("Python ").map(|rest| {
        let mut dots = 0;
        let end = rest
            .bytes()
            .position(|b| {
                dots += usize::from(b == b'.');
                !(b.is_ascii_digit() || b == b'.') || dots == 2
            })
            .unwrap_or(rest.len());
        &rest[..end]
    });
    match version {
        Some(v) if v.contains('.') && !v.ends_with('.') => format!("CPython {v}"),
        _ => "CPython".to_string(),
    }
}

/// `sampled at 1 kHz`, `sampled at 250 Hz`, `sampled at 1.5 kHz`.
pub fn sampling(l: Locale, hz: f64) -> String {
    let rate = if hz >= 950.0 {
        let khz = fixed(hz / 1000.0, 1);
        format!("{} kHz", khz.strip_suffix(".0").unwrap_or(&khz))
    } else {
        format!("{} Hz", fixed(hz, 0))
    };
    fill(tr!(l, ui.sampled_at), &[("rate", &rate)])
}

/// What ran the run and how it was seen: `emulated`, `CPython 3.11 · sampled at 1 kHz`
/// (`python`: the server's description of its CPython). While a CPython run is live its rate
/// is not known yet: `CPython 3.11 · sampled`.
pub fn engine_text(l: Locale, info: &RunInfo, python: &str) -> String {
    match info.spec.engine() {
        Engine::Emulated => tr!(l, ui.emulated).to_string(),
        Engine::Cpython => {
            let rate = info
                .summary
                .as_ref()
                .and_then(|s| s.sampling_hz)
                .filter(|hz| *hz > 0.0)
                .map_or_else(|| tr!(l, ui.sampled).to_string(), |hz| sampling(l, hz));
            format!("{} · {rate}", cpython_name(python))
        }
    }
}

/// The run's lesson, `(edited)` when it ran a student's code in place of the lesson's.
pub fn lesson_text(l: Locale, info: &RunInfo) -> String {
    match (info.spec.preset.as_str(), info.spec.script.is_some()) {
        ("", _) => SCRIPT_PRESET.to_string(),
        (preset, true) if preset != SCRIPT_PRESET => fill(tr!(l, ui.edited), &[("name", preset)]),
        (preset, _) => preset.to_string(),
    }
}

/// The title of a run's block on the timeline: `pinned · cpu-threads · emulated`,
/// `cpu-threads · CPython 3.11 · sampled at 1 kHz`.
pub fn block_title(l: Locale, info: &RunInfo, python: &str, pinned: bool) -> String {
    let name = format!(
        "{} · {}",
        lesson_text(l, info),
        engine_text(l, info, python)
    );
    if pinned {
        format!("{} · {name}", tr!(l, ui.pinned))
    } else {
        name
    }
}

/// The titles of the timeline's blocks, (pinned, shown): none while no run is pinned (one
/// run needs no title); while the pinned run is the one shown, one block, titled as pinned.
pub fn block_titles(
    l: Locale,
    pinned: Option<&RunInfo>,
    shown: Option<&RunInfo>,
    python: &str,
) -> (Option<String>, Option<String>) {
    let Some(pinned) = pinned else {
        return (None, None);
    };
    let pinned_title = Some(block_title(l, pinned, python, true));
    match shown.filter(|s| s.id != pinned.id) {
        Some(shown) => (pinned_title, Some(block_title(l, shown, python, false))),
        None => (None, pinned_title),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::protocol::RunState;
    use gilscope_shared::spec::ExperimentSpec;

    fn info(engine: Option<Engine>, script: Option<&str>, hz: Option<f64>) -> RunInfo {
        let summary = hz.map(|hz| {
            let mut s = cpython_summary();
            s.sampling_hz = Some(hz);
            Box::new(s)
        });
        RunInfo {
            id: 1,
            spec: ExperimentSpec {
                preset: "cpu-threads".into(),
                engine,
                script: script.map(str::to_string),
                ..Default::default()
            },
            state: RunState::Finished,
            summary,
            error: None,
        }
    }

    /// A CPython run's summary that measured nothing.
    fn cpython_summary() -> gilscope_shared::summary::Summary {
        gilscope_shared::summary::Summary::empty("cpu-threads", Engine::Cpython)
    }

    #[test]
    fn the_python_version_is_short() {
        assert_eq!(
            cpython_name("Python 3.11.7 (/usr/bin/python3)"),
            "CPython 3.11"
        );
        assert_eq!(cpython_name("Python 3.13.0rc1"), "CPython 3.13");
        assert_eq!(cpython_name("python3 not found"), "CPython");
        assert_eq!(cpython_name("Python 3"), "CPython");
        assert_eq!(cpython_name("Python 3.12"), "CPython 3.12");
        assert_eq!(cpython_name(""), "CPython");
    }

    #[test]
    fn rates_in_hz_or_khz() {
        assert_eq!(sampling(Locale::en, 1000.0), "sampled at 1 kHz");
        assert_eq!(sampling(Locale::en, 998.7), "sampled at 1 kHz");
        assert_eq!(sampling(Locale::en, 10_000.0), "sampled at 10 kHz");
        assert_eq!(sampling(Locale::en, 1500.0), "sampled at 1.5 kHz");
        assert_eq!(sampling(Locale::en, 250.0), "sampled at 250 Hz");
    }

    #[test]
    fn titles_say_lesson_engine_and_rate() {
        let python = "Python 3.11.7 (/usr/bin/python3)";
        assert_eq!(
            block_title(Locale::en, &info(None, None, None), python, true),
            "pinned · cpu-threads · emulated"
        );
        assert_eq!(
            block_title(
                Locale::en,
                &info(Some(Engine::Cpython), None, Some(1000.0)),
                python,
                false
            ),
            "cpu-threads · CPython 3.11 · sampled at 1 kHz"
        );
        assert_eq!(
            block_title(
                Locale::en,
                &info(Some(Engine::Cpython), None, None),
                python,
                false
            ),
            "cpu-threads · CPython 3.11 · sampled"
        );
        assert_eq!(
            block_title(
                Locale::en,
                &info(None, Some("print(1)"), Some(1000.0)),
                "",
                false
            ),
            "cpu-threads (edited) · CPython · sampled at 1 kHz"
        );
        let emulated = info(None, None, None);
        let mut cpython = info(Some(Engine::Cpython), None, Some(1000.0));
        cpython.id = 2;
        assert_eq!(
            block_titles(Locale::en, None, Some(&cpython), python),
            (None, None)
        );
        assert_eq!(
            block_titles(Locale::en, Some(&emulated), Some(&emulated), python),
            (None, Some("pinned · cpu-threads · emulated".into())),
            "the run just pinned is drawn once"
        );
        assert_eq!(
            block_titles(Locale::en, Some(&emulated), Some(&cpython), python),
            (
                Some("pinned · cpu-threads · emulated".into()),
                Some("cpu-threads · CPython 3.11 · sampled at 1 kHz".into())
            )
        );
        let mut script = info(None, Some("print(1)"), None);
        script.spec.preset.clear();
        assert_eq!(lesson_text(Locale::en, &script), "script");
    }
}
