//! The Python the lesson mirrors, syntax-highlighted.

use std::collections::BTreeMap;

use gilscope_shared::spec::{render_python, PresetInfo};
use leptos::prelude::*;

use crate::dash::Dash;
use crate::highlight::highlight;
use crate::setup;

/// The preset's Python with the knobs as set; with the defaults while a knob is invalid.
fn python_for(preset: &PresetInfo, texts: &BTreeMap<String, String>) -> String {
    let knobs = setup::spec(preset, texts).and_then(|spec| preset.resolve(&spec.knobs).ok());
    match knobs {
        Some(knobs) if !preset.python_template.is_empty() => {
            render_python(&preset.python_template, &knobs)
        }
        _ => preset.python.clone(),
    }
}

#[component]
pub fn Code(dash: Dash) -> impl IntoView {
    let code = move || {
        let python = dash
            .preset()
            .map(|p| dash.knobs.with(|texts| python_for(&p, texts)))
            .unwrap_or_default();
        highlight(&python)
            .into_iter()
            .map(|(tok, text)| view! { <span class=tok.class()>{text.to_string()}</span> })
            .collect_view()
    };
    view! {
        <details class="code-panel" open>
            <summary>"The Python it mirrors"</summary>
            <pre class="code" data-testid="code"><code>{code}</code></pre>
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
        assert_eq!(python_for(&preset, &texts("8")), "THREADS = 8");
        assert_eq!(python_for(&preset, &texts("0")), "THREADS = 4");
        assert_eq!(python_for(&preset, &texts("many")), "THREADS = 4");
    }
}
