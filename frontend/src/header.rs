//! The bar across the top: title, the lesson's claim, Run/Stop and Run on CPython with the
//! run's progress and what runs it, projector mode, and who we are talking to.

use gilscope_shared::decimal::fixed;
use gilscope_shared::protocol::RunState;
use leptos::prelude::*;

use crate::connection::ConnState;
use crate::cpython::{CpythonNote, RunOnCpython};
use crate::dash::Dash;
use crate::figures;
use crate::lang::{self, catalogue, fill, tr, Locale};
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
    let l = move || dash.locale();
    let detail = move || match (state.get(), conn.retry_in.get()) {
        (ConnState::Lost, Some(delay)) => fill(
            tr!(l(), ui.retry_in),
            &[("s", &fixed(delay.as_secs_f64(), 2))],
        ),
        _ => String::new(),
    };
    // The catalogue's claim in the chosen language (the server's for a lesson it lacks).
    let claim = move || {
        let l = l();
        dash.preset().map_or_else(
            || tr!(l, ui.tagline).to_string(),
            |p| catalogue::lesson(l, &p.name).map_or(p.claim, |(claim, _)| claim.to_string()),
        )
    };
    let description = move || {
        let l = l();
        dash.preset()
            .map(|p| catalogue::lesson(l, &p.name).map_or(p.description, |(_, d)| d.to_string()))
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
        let l = l();
        dash.info.with(|i| {
            match i
                .as_ref()
                .map(|i| (i.state, i.summary.as_ref().map(|s| s.wall_s)))
            {
                None => String::new(),
                Some((RunState::Queued, _)) => tr!(l, ui.queued).into(),
                Some((RunState::Running, _)) => fill(tr!(l, ui.running), &[("s", &fixed(now, 1))]),
                Some((RunState::Finished, wall)) => fill(
                    tr!(l, ui.finished_in),
                    &[("t", &figures::seconds(wall.unwrap_or(now)))],
                ),
                Some((RunState::Stopped, _)) => tr!(l, ui.stopped).into(),
                Some((RunState::Failed, _)) => tr!(l, ui.failed).into(),
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
                .map(|i| runname::engine_text(l(), i, &python))
                .unwrap_or_default()
        })
    };
    view! {
        <header class="header">
            <h1 class="brand">"gilscope"<span class="dot">"."</span></h1>
            <p class="lesson-title">
                <span data-testid="lesson-claim" title=description>{claim}</span>
                <span class="setup-line" data-testid="setup-line">{setup_line}</span>
                <crate::findings::TopFinding dash=dash />
            </p>
            <div class="actions">
                <button
                    class=move || if live() { "run stop" } else { "run" }
                    data-testid="run"
                    title=move || tr!(l(), ui.run_title)
                    on:click=move |_| dash.run_or_stop()
                >
                    {move || if live() { tr!(l(), ui.stop) } else { tr!(l(), ui.run) }}
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
                    title=move || tr!(l(), ui.projector_title)
                    on:click=move |_| dash.projector.update(|p| *p = !*p)
                >
                    {move || tr!(l(), ui.projector)}
                </button>
                <button
                    class="toggle lang"
                    data-testid="lang"
                    lang=move || lang::code(other(l()))
                    title=move || tr!(l(), ui.lang_switch_title)
                    on:click=move |_| {
                        dash.lang_chosen.set(true);
                        switch_to(dash, other(l()));
                    }
                >
                    {move || tr!(l(), ui.lang_switch)}
                </button>
            </div>
            <CpythonNote dash=dash />
            <div class="server-info">
                <span class="fact" title=move || tr!(l(), ui.server_title)>
                    <span class="label">{move || tr!(l(), ui.server)}</span>
                    <span class="value" data-testid="server-version">{version}</span>
                </span>
                <span class="fact" title=move || tr!(l(), ui.cores_title)>
                    <span class="label">{move || tr!(l(), ui.cores)}</span>
                    <span class="value" data-testid="server-cores">{cores}</span>
                </span>
                <span
                    class=move || format!("conn {}", state.get().label())
                    data-testid="conn-state"
                    title=move || conn.last_error.get().map(|e| e.message).unwrap_or_default()
                >
                    {move || conn_label(l(), state.get())}
                </span>
                <span class="conn-detail">{detail}</span>
                <crate::follow::ClassBar dash=dash />
            </div>
        </header>
    }
}

/// Shows the dashboard in `locale` once its texts are here (fetched the first time).
fn switch_to(dash: Dash, locale: Locale) {
    leptos::task::spawn_local(async move {
        match lang::texts::load(locale).await {
            Ok(()) => dash.lang.set(locale),
            Err(err) => leptos::logging::error!("gilscope: the dashboard's texts: {err}"),
        }
    });
}

/// The other language: what the switch offers.
fn other(l: Locale) -> Locale {
    match l {
        Locale::en => Locale::zh,
        Locale::zh => Locale::en,
    }
}

/// The connection's state in words (its CSS class stays [`ConnState::label`]).
fn conn_label(l: Locale, state: ConnState) -> &'static str {
    match state {
        ConnState::Connecting => tr!(l, ui.conn_connecting),
        ConnState::Connected => tr!(l, ui.conn_connected),
        ConnState::Lost => tr!(l, ui.conn_lost),
    }
}
