//! What a real program printed: the stdout and stderr of a CPython run and how it ended, the
//! traceback first and marked when it failed; bounded in height, scrolling. Also how often
//! it was sampled, and so what is too short to be seen.

use gilscope_shared::protocol::RunState;
use gilscope_shared::spec::Engine;
use gilscope_shared::summary::ProgramOutput;
use leptos::prelude::*;

use crate::dash::Dash;
use crate::lang::{fill, tr, Locale};
use crate::runname;

/// How the program ended, in words: `exit code 0`, `killed by signal 9`.
pub fn ending(l: Locale, output: &ProgramOutput) -> String {
    let mut words = match (output.exit_code, output.signal) {
        (_, Some(signal)) => fill(tr!(l, ui.killed_by_signal), &[("n", &signal.to_string())]),
        (Some(code), None) => fill(tr!(l, ui.exit_code), &[("n", &code.to_string())]),
        (None, None) => tr!(l, ui.ended).to_string(),
    };
    if output.dropped_bytes > 0 {
        words.push_str(&fill(
            tr!(l, ui.dropped),
            &[("n", &output.dropped_bytes.to_string())],
        ));
    }
    words
}

#[component]
pub fn Output(dash: Dash) -> impl IntoView {
    // The run shown, when it ran on CPython (or printed anything).
    let cpython = move || {
        dash.info.get().filter(|i| {
            i.spec.engine() == Engine::Cpython
                || i.summary.as_ref().is_some_and(|s| s.output.is_some())
        })
    };
    let output = move || {
        cpython()
            .and_then(|i| i.summary)
            .and_then(|s| s.output)
            .unwrap_or_default()
    };
    let failed = move || cpython().is_some_and(|i| i.state == RunState::Failed);
    let class = move || match (cpython().is_some(), failed()) {
        (false, _) => "output hidden",
        (true, false) => "output",
        (true, true) => "output failed",
    };
    let l = move || dash.locale();
    let status = move || {
        let info = cpython()?;
        Some(
            match info.summary.as_ref().and_then(|s| s.output.as_ref()) {
                Some(out) => ending(l(), out),
                None if info.state.is_over() => tr!(l(), ui.no_output).to_string(),
                None => tr!(l(), ui.output_later).to_string(),
            },
        )
    };
    let failure = move || {
        let info = cpython().filter(|i| i.state == RunState::Failed)?;
        Some(
            info.error
                .unwrap_or_else(|| tr!(l(), ui.program_failed).to_string()),
        )
    };
    let sampled = move || {
        let hz = cpython()?.summary?.sampling_hz?;
        Some(fill(
            tr!(l(), ui.sampled_note),
            &[
                ("rate", &runname::sampling(l(), hz)),
                ("t", &crate::render::fmt_ns(1e9 / hz.max(1e-3))),
            ],
        ))
    };
    view! {
        <section class=class data-testid="program-output">
            <h2>
                {move || tr!(l(), ui.printed)}
                <span class="output-status" data-testid="program-status">{status}</span>
            </h2>
            <p class="failure" data-testid="program-failure">{failure}</p>
            <div class="stream">
                <div class="stream-name">"stdout"</div>
                <pre data-testid="program-stdout">{move || output().stdout}</pre>
            </div>
            <div class="stream stderr">
                <div class="stream-name">"stderr"</div>
                <pre data-testid="program-stderr">{move || output().stderr}</pre>
            </div>
            <p class="hint">{sampled}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_say_how_and_what_was_lost() {
        let mut out = ProgramOutput {
            exit_code: Some(0),
            ..Default::default()
        };
        assert_eq!(ending(Locale::en, &out), "exit code 0");
        out.exit_code = None;
        out.signal = Some(9);
        out.dropped_bytes = 1200;
        assert_eq!(
            ending(Locale::en, &out),
            "killed by signal 9 · 1200 more bytes printed, not kept"
        );
        out.signal = None;
        out.dropped_bytes = 0;
        assert_eq!(ending(Locale::en, &out), "ended");
    }
}
