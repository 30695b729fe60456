//! What a real program printed: the stdout and stderr of a CPython run and how it ended, the
//! traceback first and marked when it failed; bounded in height, scrolling. Also how often
//! it was sampled, and so what is too short to be seen.

use gilscope_shared::protocol::RunState;
use gilscope_shared::spec::Engine;
use gilscope_shared::summary::ProgramOutput;
use leptos::prelude::*;

use crate::dash::Dash;
use crate::runname;

/// How the program ended, in words: `exit code 0`, `killed by signal 9`.
pub fn ending(output: &ProgramOutput) -> String {
    let mut words = match (output.exit_code, output.signal) {
        (_, Some(signal)) => format!("killed by signal {signal}"),
        (Some(code), None) => format!("exit code {code}"),
        (None, None) => "ended".to_string(),
    };
    if output.dropped_bytes > 0 {
        words.push_str(&format!(
            " · {} more bytes printed, not kept",
            output.dropped_bytes
        ));
    }
    words
}

fn stream(name: &'static str, text: String, failed: bool) -> impl IntoView {
    let empty = text.is_empty();
    let text = if empty { "(nothing)".to_string() } else { text };
    view! {
        <div class="stream" class:failed=failed class:empty=empty>
            <div class="stream-name">{name}</div>
            <pre data-testid=format!("program-{name}")>{text}</pre>
        </div>
    }
}

#[component]
pub fn Output(dash: Dash) -> impl IntoView {
    let panel = move || {
        let info = dash.info.get()?;
        let summary = info.summary.as_deref();
        let output = summary.and_then(|s| s.output.clone());
        if output.is_none() && info.spec.engine() != Engine::Cpython {
            return None;
        }
        let failed = info.state == RunState::Failed;
        let status = match &output {
            Some(out) => ending(out),
            None if info.state.is_over() => "no output was kept".to_string(),
            None => "shown when the program ends".to_string(),
        };
        let sampled = summary.and_then(|s| s.sampling_hz).map(|hz| {
            format!(
                "{}: what lasts under {} may not show on the timeline",
                runname::sampling(hz),
                crate::render::fmt_ns(1e9 / hz.max(1e-3))
            )
        });
        let failure = failed.then(|| {
            let why = info
                .error
                .clone()
                .unwrap_or_else(|| "the program failed".to_string());
            view! { <p class="failure" data-testid="program-failure">{why}</p> }
        });
        let streams = output.map(|out| {
            let stdout = stream("stdout", out.stdout, false);
            let stderr = stream("stderr", out.stderr, failed);
            if failed {
                view! { {stderr} {stdout} }.into_any()
            } else {
                view! { {stdout} {stderr} }.into_any()
            }
        });
        Some(view! {
            <section class="output" class:failed=failed data-testid="program-output">
                <h2>
                    "What the program printed "
                    <span class="output-status" data-testid="program-status">{status}</span>
                </h2>
                {failure}
                {streams}
                <p class="hint">{sampled}</p>
            </section>
        })
    };
    view! { {panel} }
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
        assert_eq!(ending(&out), "exit code 0");
        out.exit_code = None;
        out.signal = Some(9);
        out.dropped_bytes = 1200;
        assert_eq!(
            ending(&out),
            "killed by signal 9 · 1200 more bytes printed, not kept"
        );
        out.signal = None;
        out.dropped_bytes = 0;
        assert_eq!(ending(&out), "ended");
    }
}
