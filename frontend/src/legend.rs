//! What each colour means: one colour per thread state, the same in every view
//! (see docs/visual-design.md; the colours are CSS variables in static/style.css).

use gilscope_shared::trace::State;
use leptos::prelude::*;

use crate::lang::{tr, Locale};

/// A state's words in the chosen language (idle and done share a colour and a line).
pub fn label(l: Locale, state: State) -> &'static str {
    match state {
        State::Running => tr!(l, state.running),
        State::WaitGil => tr!(l, state.wait_gil),
        State::Io => tr!(l, state.io),
        State::WaitLock => tr!(l, state.wait_lock),
        State::BlockedPut => tr!(l, state.blocked_put),
        State::BlockedGet => tr!(l, state.blocked_get),
        State::Join => tr!(l, state.join),
        State::Idle | State::Done => tr!(l, state.idle),
        State::Starting => tr!(l, state.starting),
    }
}

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
pub fn Legend(dash: crate::dash::Dash) -> impl IntoView {
    move || {
        let l = dash.locale();
        view! {
        <ul class="legend" aria-label=tr!(l, ui.legend) data-testid="legend">
            {State::ALL
                .iter()
                .filter(|state| **state != State::Done)
                .map(|state| {
                    view! {
                        <li>
                            <span class=format!("swatch state-{}", css_class(*state))></span>
                            {label(l, *state)}
                        </li>
                    }
                })
                .map(IntoAny::into_any)
                .collect_view()}
        </ul>
        }
    }
}
