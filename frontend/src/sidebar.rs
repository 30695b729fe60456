//! The lessons, grouped as in docs/lessons.md, each with its claim; the chosen one's knobs
//! below, then the past runs.
//! Keys 1–9 choose the lessons in this order.

use gilscope_shared::spec::Group;
use leptos::prelude::*;

use crate::dash::Dash;
use crate::knobs::Knobs;
use crate::lang::{catalogue, tr, Locale};

/// A group's title in the chosen language.
fn title(l: Locale, group: Group) -> &'static str {
    match group {
        Group::Threads => tr!(l, ui.group_threads),
        Group::Processes => tr!(l, ui.group_processes),
        Group::Caveats => tr!(l, ui.group_caveats),
        Group::Beyond => tr!(l, ui.group_beyond),
    }
}

const GROUPS: [Group; 4] = [
    Group::Threads,
    Group::Processes,
    Group::Caveats,
    Group::Beyond,
];

#[component]
pub fn Sidebar(dash: Dash) -> impl IntoView {
    let groups = move || {
        let presets = dash.ordered_presets();
        let l = dash.locale();
        GROUPS
            .iter()
            .map(|group| {
                let items: Vec<_> = presets
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.group == *group)
                    .map(|(i, p)| {
                        let name = p.name.clone();
                        let chosen = {
                            let name = name.clone();
                            move || dash.lesson.get().as_deref() == Some(name.as_str())
                        };
                        let key = (i < 9).then(|| view! { <kbd class="key">{i + 1}</kbd> });
                        let (claim, description) = catalogue::lesson(l, &name).map_or_else(
                            || (p.claim.clone(), p.description.clone()),
                            |(c, d)| (c.to_string(), d.to_string()),
                        );
                        view! {
                            <li>
                                <button
                                    class="lesson"
                                    class:chosen=chosen
                                    title=description
                                    data-testid=format!("lesson-{name}")
                                    on:click={
                                        let name = name.clone();
                                        move |_| dash.choose(&name)
                                    }
                                >
                                    <span class="lesson-name">{key}{name.clone()}</span>
                                    <span class="lesson-claim">{claim}</span>
                                </button>
                            </li>
                        }
                    })
                    .map(IntoAny::into_any)
                    .collect();
                let empty = items.is_empty();
                view! {
                    <section>
                        <h2>{title(l, *group)}</h2>
                        <ul>
                            {items}
                            {empty.then(|| view! { <li class="empty">{tr!(l, ui.coming_soon)}</li> })}
                        </ul>
                    </section>
                }
            })
            .map(IntoAny::into_any)
            .collect_view()
    };
    view! {
        <nav class="sidebar" data-testid="sidebar" aria-label=move || tr!(dash.locale(), ui.lessons)>
            {groups}
            <Knobs dash=dash />
            <crate::history::History dash=dash />
        </nav>
    }
}
