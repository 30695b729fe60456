//! The bar across the top: title, the lesson's claim, Run/Stop and Run on CPython with the
//! run's progress and what runs it, projector mode, and who we are talking to.

use gilscope_shared::decimal::fixed;
use gilscope_shared::protocol::RunState;
use leptos::prelude::*;

use crate::connection::ConnState;
use crate::cpython::{CpythonNote, RunOnCpython};
use crate::dash::Dash;
use crate::figures;
use crate::runname;

#[component]
pub fn Header(dash: Dash) -> impl IntoView {
    let conn = dash.conn;
    let state = conn.state;
    let version = move || {
        conn.hello
            .get()
            .map_or_else(|| "—".to_string(), |h| h.version)
    };
    let cores = move || {
        conn.hello
            .get()
            .map_or_else(|| "—".to_string(), |h| h.cores.to_string())
    };
    let detail = move || match (state.get(), conn.retry_in.get()) {
        (ConnState::Lost, Some(delay)) => format!("retry in {} s", fixed(delay.as_secs_f64(), 2)),
        _ => String::new(),
    };
    let claim = move || {
        dash.preset().map_or_else(
            || "What Python threads and processes really do, live".to_string(),
            |p| p.claim,
        )
    };
    // The lesson and its knobs in one line, so the room sees the setup (the sidebar is
    // hidden in projector mode).
    let setup_line = move || {
        let lesson = dash.lesson.get().unwrap_or_default();
        let knobs = dash.knobs.with(|k| {
            k.iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("  ")
        });
        format!("{lesson}  {knobs}")
    };
    let live = move || dash.live();
    let progress = move || {
        let now = dash.now.get() as f64 / 1e9;
        dash.info.with(|i| {
            match i
                .as_ref()
                .map(|i| (i.state, i.summary.as_ref().map(|s| s.wall_s)))
            {
                None => String::new(),
                Some((RunState::Queued, _)) => "queued".into(),
                Some((RunState::Running, _)) => format!("running {} s", fixed(now, 1)),
                Some((RunState::Finished, wall)) => {
                    format!("finished in {}", figures::seconds(wall.unwrap_or(now)))
                }
                Some((RunState::Stopped, _)) => "stopped".into(),
                Some((RunState::Failed, _)) => "failed".into(),
            }
        })
    };
    // What runs the run shown: "emulated", "CPython 3.11 · sampled at 1 kHz".
    let engine = move || {
        let python = conn.hello.with(|h| {
            h.as_ref()
                .map(|h| h.cpython.detail.clone())
                .unwrap_or_default()
        });
        dash.info.with(|i| {
            i.as_ref()
                .map(|i| runname::engine_text(i, &python))
                .unwrap_or_default()
        })
    };
    view! {
        <header class="header">
            <h1 class="brand">"gilscope"<span class="dot">"."</span></h1>
            <p class="lesson-title">
                <span data-testid="lesson-claim">{claim}</span>
                <span class="setup-line" data-testid="setup-line">{setup_line}</span>
            </p>
            <div class="actions">
                <button
                    class=move || if live() { "run stop" } else { "run" }
                    data-testid="run"
                    title="Run the lesson, or stop it (space)"
                    on:click=move |_| dash.run_or_stop()
                >
                    {move || if live() { "Stop ■" } else { "Run ▶" }}
                </button>
                <RunOnCpython dash=dash />
                <span class=move || if live() { "progress live" } else { "progress" } data-testid="run-state">
                    {progress}
                </span>
                <span class="engine" data-testid="run-engine">{engine}</span>
                <button
                    class="toggle"
                    class:on=move || dash.projector.get()
                    data-testid="projector"
                    title="Large type and thick lines for a projector (P)"
                    on:click=move |_| dash.projector.update(|p| *p = !*p)
                >
                    "projector"
                </button>
            </div>
            <CpythonNote dash=dash />
            <div class="server-info">
                <span class="fact" title="gilscope server version">
                    <span class="label">"server"</span>
                    <span class="value" data-testid="server-version">{version}</span>
                </span>
                <span class="fact" title="logical cores of the machine that runs the experiments">
                    <span class="label">"cores"</span>
                    <span class="value" data-testid="server-cores">{cores}</span>
                </span>
                <span
                    class=move || format!("conn {}", state.get().label())
                    data-testid="conn-state"
                    title=move || conn.last_error.get().map(|e| e.message).unwrap_or_default()
                >
                    {move || state.get().label()}
                </span>
                <span class="conn-detail">{detail}</span>
            </div>
        </header>
    }
}
