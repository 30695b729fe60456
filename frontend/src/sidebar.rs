//! The lessons, grouped as in LESSONS.md. Empty until the lessons land.

use leptos::prelude::*;

const GROUPS: [&str; 4] = ["Threads", "Processes", "Caveats", "Beyond"];

#[component]
pub fn Sidebar() -> impl IntoView {
    view! {
        <nav class="sidebar" data-testid="sidebar" aria-label="Lessons">
            {GROUPS
                .iter()
                .map(|group| {
                    view! {
                        <section>
                            <h2>{*group}</h2>
                            <ul>
                                <li class="empty">"no lessons yet"</li>
                            </ul>
                        </section>
                    }
                })
                .collect_view()}
        </nav>
    }
}
