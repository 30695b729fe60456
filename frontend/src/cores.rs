//! Core usage on the same time axis: one row per core (how busy it was), and the mean number
//! of busy cores against a scale of whole cores.

use leptos::prelude::*;

use crate::dash::Dash;

#[component]
pub fn CoreUsage(dash: Dash) -> impl IntoView {
    view! {
        <div class="cores" data-testid="cores">
            <canvas node_ref=dash.cores data-testid="cores-canvas"></canvas>
        </div>
    }
}
