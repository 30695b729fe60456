//! What a knob takes and why a typed value is refused, in the chosen language (the shared
//! spec's English words, `KnobDef::allowed` and its refusals, said with the catalogue's).

use gilscope_shared::clip::echo;
use gilscope_shared::decimal::shortest;
use gilscope_shared::spec::{KnobDef, KnobKind};

use super::{fill, tr, Locale};

/// What a knob takes, as the text before its options, the options (a choice's, as code) and
/// the text after them.
pub fn allowed_parts(l: Locale, knob: &KnobDef) -> (String, Option<String>, String) {
    // Bounds as text already: a float's `to_string` would link std's float formatting
    // (`decimal::shortest` writes the same).
    let range =
        |template: &str, min: String, max: String| fill(template, &[("min", &min), ("max", &max)]);
    match &knob.kind {
        KnobKind::Int { min, max, .. } => (
            range(tr!(l, ui.allowed_int), min.to_string(), max.to_string()),
            None,
            String::new(),
        ),
        KnobKind::Float { min, max, .. } => (
            range(tr!(l, ui.allowed_float), shortest(*min), shortest(*max)),
            None,
            String::new(),
        ),
        KnobKind::Bool { .. } => (tr!(l, ui.allowed_bool).to_string(), None, String::new()),
        KnobKind::Choice { options, .. } => {
            let template = tr!(l, ui.allowed_choice);
            let (before, after) = template.split_once("{options}").unwrap_or((template, ""));
            (
                before.to_string(),
                Some(options.join(", ")),
                after.to_string(),
            )
        }
    }
}

/// Why `text` is refused for this knob: "`lots` is not allowed; expected an integer from 1
/// to 64".
pub fn refused(l: Locale, knob: &KnobDef, text: &str) -> String {
    let (before, options, after) = allowed_parts(l, knob);
    let allowed = format!("{before}{}{after}", options.unwrap_or_default());
    fill(
        tr!(l, ui.not_allowed),
        &[("value", &echo(text)), ("allowed", &allowed)],
    )
}

/// Why a name in the link is no knob of the lesson.
pub fn unknown(l: Locale, lesson: &str) -> String {
    fill(tr!(l, ui.no_such_knob), &[("lesson", lesson)])
}
