//! "Run on CPython": the lesson's Python (or the student's edit of it) run by the machine's
//! own `python3`, observed by sampling. Disabled, saying why and how to fix it, when the
//! server has no CPython to run.

use leptos::prelude::*;

use crate::dash::Dash;

#[component]
pub fn RunOnCpython(dash: Dash) -> impl IntoView {
    let status = move || {
        dash.conn
            .hello
            .with(|h| h.as_ref().map(|h| h.cpython.clone()))
    };
    let available = move || status().is_some_and(|s| s.available);
    let title = move || match status() {
        Some(s) if s.available => format!(
            "Run the lesson's Python on this machine's CPython, with these knobs (C): {}",
            s.detail
        ),
        Some(s) => format!("No CPython to run: {}", s.detail),
        None => "Waiting for the server".to_string(),
    };
    view! {
        <button
            class="run cpython"
            data-testid="run-cpython"
            title=title
            disabled=move || !available() || dash.live()
            on:click=move |_| dash.run_on_cpython()
        >
            <span class="wordy">"Run on "</span>
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
        dash.conn.hello.with(|h| {
            h.as_ref()
                .filter(|h| !h.cpython.available)
                .map(|h| match h.cpython.detail.as_str() {
                    "" => "CPython runs unavailable: this server cannot run them".to_string(),
                    why => format!("CPython runs unavailable: {why}"),
                })
        })
    };
    view! {
        <p class="cpython-note" data-testid="cpython-note" role="status">
            {note}
        </p>
    }
}
