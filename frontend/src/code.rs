//! The Python the lesson mirrors, syntax-highlighted, and editable: a student's edit is kept
//! per lesson (see [`crate::edits`]) and runs on CPython only; a control gives the lesson's
//! code back.

use std::collections::BTreeMap;

use gilscope_shared::spec::{render_python, PresetInfo};
use leptos::prelude::*;

use crate::dash::Dash;
use crate::edits;
use crate::highlight::highlight;
use crate::lang::{comments, tr, Locale};
use crate::setup;

/// The preset's Python with the knobs as set; with the defaults while a knob is invalid.
fn python_for(l: Locale, preset: &PresetInfo, texts: &BTreeMap<String, String>) -> String {
    let knobs = setup::spec(preset, texts).and_then(|spec| preset.resolve(&spec.knobs).ok());
    match knobs {
        Some(knobs) if !preset.python_template.is_empty() => {
            let template = comments::localize(l, &preset.name, &preset.python_template);
            render_python(&template, &knobs)
        }
        _ => preset.python.clone(),
    }
}

/// Takes the student's text: an edit of the lesson's code, kept for this lesson; the lesson's
/// own code again (as rendered with the knobs) is no edit.
fn edit(dash: Dash, preset: &PresetInfo, text: String) {
    let l = dash.lang.get_untracked();
    let lesson = dash
        .knobs
        .with_untracked(|texts| python_for(l, preset, texts));
    let edit = (text != lesson).then_some(text);
    edits::save(&preset.name, edit.as_deref());
    dash.edited.set(edit);
    dash.cpython_refusal.set(None);
}

#[component]
pub fn Code(dash: Dash) -> impl IntoView {
    let editing = RwSignal::new(false);
    // What the panel holds: the student's edit, else the lesson's code with the knobs.
    let text = move || {
        dash.edited.get().unwrap_or_else(|| {
            dash.preset()
                .map(|p| {
                    dash.knobs
                        .with(|texts| python_for(dash.locale(), &p, texts))
                })
                .unwrap_or_default()
        })
    };
    let edited = move || dash.edited.with(Option::is_some);
    let highlighted = move || {
        highlight(&text())
            .into_iter()
            .map(|(tok, text)| view! { <span class=tok.class()>{text.to_string()}</span> })
            .map(IntoAny::into_any)
            .collect_view()
    };
    let on_input = move |ev| {
        if let Some(preset) = dash.preset() {
            edit(dash, &preset, event_target_value(&ev));
        }
    };
    let reset = move |_| {
        if let Some(preset) = dash.preset() {
            edits::save(&preset.name, None);
        }
        dash.edited.set(None);
        dash.cpython_refusal.set(None);
    };
    let l = move || dash.locale();
    let problem = move || {
        dash.edited
            .with(|e| e.as_deref().and_then(|s| edits::script_error(l(), s)))
    };
    view! {
        <details class="code-panel" class:edited=edited open>
            <summary>
                {move || if edited() { tr!(l(), ui.code_edited) } else { tr!(l(), ui.code_lesson) }}
            </summary>
            <div class="code-tools">
                <button
                    class="export"
                    data-testid="code-edit"
                    title=move || tr!(l(), ui.edit_title)
                    on:click=move |_| editing.update(|e| *e = !*e)
                >
                    {move || if editing.get() { tr!(l(), ui.done) } else { tr!(l(), ui.edit) }}
                </button>
                <button
                    class="export"
                    class:hidden=move || !edited()
                    data-testid="code-reset"
                    on:click=reset
                >
                    {move || tr!(l(), ui.reset)}
                </button>
                <span class="code-note" data-testid="code-note">
                    {move || edited().then(|| tr!(l(), ui.edited_note))}
                </span>
                <span class="code-error" data-testid="code-error" role="alert">{problem}</span>
            </div>
            <textarea
                class="code code-editor"
                class:hidden=move || !editing.get()
                data-testid="code-editor"
                spellcheck="false"
                aria-label=move || tr!(l(), ui.code_label)
                rows=move || text().lines().count() + 2
                prop:value=text
                on:input=on_input
            ></textarea>
            <pre
                class="code"
                class:hidden=move || editing.get()
                data-testid="code"
                on:dblclick=move |_| editing.set(true)
            >
                <code>{highlighted}</code>
            </pre>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::spec::{Group, KnobDef, KnobKind};

    #[test]
    fn the_code_follows_the_knobs_and_falls_back_to_the_defaults() {
        let preset = PresetInfo {
            name: "cpu-threads".into(),
            group: Group::Threads,
            claim: String::new(),
            description: String::new(),
            python: "THREADS = 4".into(),
            python_template: "THREADS = {{threads}}".into(),
            knobs: vec![KnobDef {
                name: "threads".into(),
                description: String::new(),
                kind: KnobKind::Int {
                    min: 1,
                    max: 64,
                    default: 4,
                },
            }],
        };
        let texts = |v: &str| BTreeMap::from([("threads".to_string(), v.to_string())]);
        assert_eq!(python_for(Locale::en, &preset, &texts("8")), "THREADS = 8");
        assert_eq!(python_for(Locale::en, &preset, &texts("0")), "THREADS = 4");
        assert_eq!(
            python_for(Locale::en, &preset, &texts("many")),
            "THREADS = 4"
        );
    }
}
