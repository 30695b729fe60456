//! The run: summary figures on top, the timeline below, one shared time axis.
//! An empty frame until runs stream in.

use leptos::prelude::*;

use crate::legend::Legend;

const SUMMARY: [&str; 4] = ["speedup", "cores busy", "GIL hand-offs", "wall time"];

#[component]
pub fn Timeline() -> impl IntoView {
    view! {
        <main class="main">
            <div class="cards">
                {SUMMARY
                    .iter()
                    .map(|label| {
                        view! {
                            <div class="card">
                                <div class="label">{*label}</div>
                                <div class="value">"—"</div>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
            <section class="timeline" data-testid="timeline" aria-label="Timeline">
                <div class="timeline-body">
                    "No run yet. Pick a lesson on the left, then press Run."
                </div>
                <div class="timeline-axis">"time →"</div>
            </section>
            <Legend />
        </main>
    }
}
