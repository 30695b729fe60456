//! "Run on CPython": the lesson's Python (or the student's edit of it) run by the machine's
//! own `python3`, observed by sampling. Disabled, saying why and how to fix it, when the
//! server has no CPython to run.

use leptos::prelude::*;

use crate::dash::Dash;
use crate::lang::{fill, tr};

#[component]
pub fn RunOnCpython(dash: Dash) -> impl IntoView {
    let status = move || {
        dash.conn
            .hello
            .with(|h| h.as_ref().map(|h| h.cpython.clone()))
    };
    let available = move || status().is_some_and(|s| s.available);
    let l = move || dash.locale();
    let title = move || match status() {
        Some(s) if s.available => fill(tr!(l(), ui.cpython_title), &[("detail", &s.detail)]),
        Some(s) => fill(tr!(l(), ui.no_cpython), &[("detail", &s.detail)]),
        None => tr!(l(), ui.waiting_server).to_string(),
    };
    view! {
        <button
            class="run cpython"
            data-testid="run-cpython"
            title=title
            disabled=move || !available() || dash.live()
            on:click=move |_| dash.run_on_cpython()
        >
            <span class="wordy">{move || tr!(l(), ui.run_on)}</span>
            "CPython ▶"
        </button>
    }
}

/// Under the buttons: why CPython runs are unavailable, or why the last press sent nothing.
#[component]
pub fn CpythonNote(dash: Dash) -> impl IntoView {
    let note = move || {
        if let Some(refusal) = dash.cpython_refusal.get() {
            return Some(refusal);
        }
        let l = dash.locale();
        dash.conn.hello.with(|h| {
            h.as_ref()
                .filter(|h| !h.cpython.available)
                .map(|h| match h.cpython.detail.as_str() {
                    "" => tr!(l, ui.cpython_unavailable).to_string(),
                    why => fill(tr!(l, ui.cpython_unavailable_why), &[("why", why)]),
                })
        })
    };
    view! {
        <p class="cpython-note" data-testid="cpython-note" role="status">
            {note}
        </p>
    }
}
