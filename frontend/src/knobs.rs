//! The chosen lesson's knobs: one input per knob with its default and bounds, checked as typed
//! with the shared knob definitions (the same words the server would use), and the server's
//! own complaint shown next to the knob it names.

use gilscope_shared::spec::{KnobDef, KnobKind};
use leptos::prelude::*;

use crate::dash::Dash;
use crate::lang::{catalogue, tr, Locale};

#[component]
pub fn Knobs(dash: Dash) -> impl IntoView {
    let errors = Memo::new(move |_| dash.knob_errors());
    let error_for = move |name: String| {
        move || {
            errors.with(|e| e.get(&name).cloned()).or_else(|| {
                dash.server_error
                    .get()
                    .filter(|e| e.field.as_deref() == Some(name.as_str()))
                    .map(|e| e.message)
            })
        }
    };
    // The server's complaint when it names no knob of this lesson.
    let general = move || {
        let knobs = dash.preset().map(|p| p.knobs).unwrap_or_default();
        dash.server_error
            .get()
            .filter(|e| {
                !e.field
                    .as_ref()
                    .is_some_and(|f| knobs.iter().any(|k| &k.name == f))
            })
            .map(|e| e.message)
    };
    let l = move || dash.locale();
    let list = move || {
        let Some(preset) = dash.preset() else {
            return view! { <p class="empty">{tr!(l(), ui.choose_lesson)}</p> }.into_any();
        };
        let l = l();
        let lesson = preset.name.clone();
        preset
            .knobs
            .into_iter()
            .map(|knob| {
                let name = knob.name.clone();
                let error = error_for(name.clone());
                let has_error = {
                    let error = error.clone();
                    move || error().is_some()
                };
                view! {
                    <div class="knob" class:bad=has_error data-testid=format!("knob-row-{name}")>
                        <label
                            for=format!("knob-{name}")
                            title=catalogue::knob(l, &lesson, &name)
                                .map_or_else(|| knob.description.clone(), str::to_string)
                        >
                            <span class="knob-name">{name.clone()}</span>
                            <span class="knob-allowed">{allowed(l, &knob)}</span>
                        </label>
                        {input(dash, &knob)}
                        <p class="knob-error" data-testid=format!("knob-error-{name}") role="alert">
                            {error}
                        </p>
                    </div>
                }
            })
            .map(IntoAny::into_any)
            .collect_view()
            .into_any()
    };
    view! {
        <section class="knobs" data-testid="knobs">
            <h2>{move || tr!(l(), ui.knobs)}</h2>
            {list}
            <p class="knob-error" data-testid="run-error" role="alert">
                {move || {
                    if dash.blocked.get() {
                        Some(tr!(l(), ui.fix_knobs).to_string())
                    } else {
                        general()
                    }
                }}
            </p>
        </section>
    }
}

fn input(dash: Dash, knob: &KnobDef) -> AnyView {
    let name = knob.name.clone();
    let id = format!("knob-{name}");
    let value = {
        let name = name.clone();
        move || {
            dash.knobs
                .with(|k| k.get(&name).cloned().unwrap_or_default())
        }
    };
    let set = {
        let name = name.clone();
        move |text: String| dash.set_knob(&name, text)
    };
    match &knob.kind {
        KnobKind::Bool { .. } => view! {
            <input
                type="checkbox"
                id=id
                data-testid=format!("knob-{name}")
                prop:checked=move || value() == "true"
                on:change=move |ev| set(event_target_checked(&ev).to_string())
            />
        }
        .into_any(),
        KnobKind::Choice { options, .. } => {
            let options = options.clone();
            view! {
                <select
                    id=id
                    data-testid=format!("knob-{name}")
                    prop:value=value.clone()
                    on:change=move |ev| set(event_target_value(&ev))
                >
                    {options
                        .into_iter()
                        .map(|o| {
                            let v = value.clone();
                            let selected = {
                                let o = o.clone();
                                move || v() == o
                            };
                            view! { <option value=o.clone() selected=selected>{o.clone()}</option> }
                        })
                        .map(IntoAny::into_any)
                        .collect_view()}
                </select>
            }
            .into_any()
        }
        KnobKind::Int { .. } | KnobKind::Float { .. } => view! {
            <input
                type="text"
                inputmode="decimal"
                spellcheck="false"
                id=id
                data-testid=format!("knob-{name}")
                prop:value=value
                on:input=move |ev| set(event_target_value(&ev))
            />
        }
        .into_any(),
    }
}

/// What a knob takes, in the chosen language; a choice's options as code.
fn allowed(l: Locale, knob: &KnobDef) -> impl IntoView {
    let (before, options, after) = crate::lang::knob::allowed_parts(l, knob);
    view! { {before}{options.map(|o| view! { <code>{o}</code> })}{after} }
}
