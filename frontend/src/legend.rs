//! What each colour means: one colour per thread state, the same in every view
//! (see shared/notes/visual-design.md; the colours are CSS variables in style.css).

use leptos::prelude::*;

/// (CSS class, label) for every thread state.
const STATES: [(&str, &str); 8] = [
    ("running", "running (holds the GIL)"),
    ("gil-wait", "waiting for the GIL"),
    ("io", "blocked on I/O"),
    ("lock", "waiting for a lock"),
    ("put", "blocked in put (queue full)"),
    ("get", "blocked in get (queue empty)"),
    ("join", "waiting in join"),
    ("idle", "idle / done"),
];

#[component]
pub fn Legend() -> impl IntoView {
    view! {
        <ul class="legend" aria-label="Thread states">
            {STATES
                .iter()
                .map(|(class, label)| {
                    view! {
                        <li>
                            <span class=format!("swatch {class}")></span>
                            {*label}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
