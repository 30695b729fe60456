//! What each colour means: one colour per thread state, the same in every view
//! (see docs/visual-design.md; the colours are CSS variables in static/style.css).

use gilscope_shared::trace::State;
use leptos::prelude::*;

/// The CSS class suffix of a state's colour (`state-running`, ...).
pub fn css_class(state: State) -> &'static str {
    match state {
        State::Running => "running",
        State::WaitGil => "gil-wait",
        State::Io => "io",
        State::WaitLock => "lock",
        State::BlockedPut => "put",
        State::BlockedGet => "get",
        State::Join => "join",
        State::Idle | State::Done => "idle",
        State::Starting => "starting",
    }
}

#[component]
pub fn Legend() -> impl IntoView {
    view! {
        <ul class="legend" aria-label="Thread states" data-testid="legend">
            {State::ALL
                .iter()
                .filter(|state| **state != State::Done)
                .map(|state| {
                    view! {
                        <li>
                            <span class=format!("swatch state-{}", css_class(*state))></span>
                            {if *state == State::Idle { "idle / done" } else { state.label() }}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
