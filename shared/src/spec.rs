//! What to run: a preset and its knobs, described (for the CLI, the API and the dashboard)
//! and validated in one place, so every entry point gives the same error for the same input.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::clip::echo;

/// A request to run a preset. Knobs left out take their defaults. An unknown field (`knob`
/// for `knobs`) and a knob given twice are refused, not ignored.
///
/// With `engine: "cpython"` the machine's own `python3` runs the lesson's Python (rendered
/// with the knobs), or `script` in its place: a student's edit of the lesson's code, or any
/// program (then `preset` may be left out; the run is labelled [`SCRIPT_PRESET`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    #[serde(default)]
    pub preset: String,
    #[serde(default, deserialize_with = "unique_knobs")]
    pub knobs: BTreeMap<String, KnobValue>,
    /// Emulated when left out, unless a script is given (a script runs on CPython).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Python source to run on CPython instead of the lesson's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

/// What a run's label is when it runs a script of no lesson.
pub const SCRIPT_PRESET: &str = "script";

/// The longest script accepted, in bytes.
pub const MAX_SCRIPT_BYTES: usize = 64 * 1024;

/// What runs a spec: gilscope's emulated interpreter, or the machine's own CPython, observed
/// from outside.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    #[default]
    Emulated,
    Cpython,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Emulated => "emulated",
            Engine::Cpython => "cpython",
        }
    }
}

impl ExperimentSpec {
    /// What runs it: as given, else CPython for a script and the emulation otherwise.
    pub fn engine(&self) -> Engine {
        self.engine.unwrap_or(if self.script.is_some() {
            Engine::Cpython
        } else {
            Engine::Emulated
        })
    }

    /// Checks what can be checked without the presets: a script only on CPython, within
    /// [`MAX_SCRIPT_BYTES`]; a preset or a script.
    pub fn check_shape(&self) -> Result<(), SpecError> {
        match (&self.script, self.engine()) {
            (Some(_), Engine::Emulated) => Err(SpecError::new(
                "script",
                "a script runs on CPython only: give \"engine\": \"cpython\"",
            )),
            (Some(script), _) if script.len() > MAX_SCRIPT_BYTES => Err(SpecError::new(
                "script",
                format!(
                    "is {} bytes; at most {MAX_SCRIPT_BYTES} bytes are accepted",
                    script.len()
                ),
            )),
            (Some(script), _) if script.contains('\0') => Err(SpecError::new(
                "script",
                "contains a NUL byte, which Python source cannot",
            )),
            (None, _) if self.preset.is_empty() => Err(SpecError::new(
                "preset",
                "is missing: name a preset (or give a script to run on CPython)",
            )),
            _ => Ok(()),
        }
    }
}

/// A knob's value as it arrives from JSON; [`KnobDef::check`] turns it into the knob's type.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum KnobValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// By hand rather than `untagged`: a value of no knob type (`null`, a list, an object) gets
/// an error saying what is allowed, and the decoder's path to it names the knob.
impl<'de> Deserialize<'de> for KnobValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KnobVisitor;
        impl<'de> Visitor<'de> for KnobVisitor {
            type Value = KnobValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false, a number or text")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<KnobValue, E> {
                Ok(KnobValue::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<KnobValue, E> {
                Ok(KnobValue::Int(i))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<KnobValue, E> {
                Ok(i64::try_from(u).map_or(KnobValue::Float(u as f64), KnobValue::Int))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<KnobValue, E> {
                Ok(KnobValue::Float(x))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<KnobValue, E> {
                Ok(KnobValue::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<KnobValue, E> {
                Ok(KnobValue::Text(s))
            }
        }
        deserializer.deserialize_any(KnobVisitor)
    }
}

/// The knobs of a spec, refusing a knob given twice (JSON and MessagePack maps may repeat a
/// key; a plain map would keep the last silently). The refusal is raised while decoding the
/// repeated knob's value, so the decoder's path names the knob.
pub(crate) fn unique_knobs<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, KnobValue>, D::Error> {
    struct Twice<'a>(&'a str);
    impl<'de> DeserializeSeed<'de> for Twice<'_> {
        type Value = KnobValue;
        fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<KnobValue, D::Error> {
            Err(de::Error::custom(format_args!(
                "knob `{}` is given more than once",
                echo(self.0)
            )))
        }
    }
    struct KnobsVisitor;
    impl<'de> Visitor<'de> for KnobsVisitor {
        type Value = BTreeMap<String, KnobValue>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of knob names to values")
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
            let mut knobs = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                let value = if knobs.contains_key(&name) {
                    map.next_value_seed(Twice(&name))?
                } else {
                    map.next_value()?
                };
                knobs.insert(name, value);
            }
            Ok(knobs)
        }
    }
    deserializer.deserialize_map(KnobsVisitor)
}

impl fmt::Display for KnobValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KnobValue::Bool(b) => write!(f, "{b}"),
            KnobValue::Int(i) => write!(f, "{i}"),
            KnobValue::Float(x) => f.write_str(&crate::decimal::shortest(*x)),
            KnobValue::Text(s) => write!(f, "{s}"),
        }
    }
}

/// The type, bounds and default of a knob.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KnobKind {
    Int {
        min: i64,
        max: i64,
        default: i64,
    },
    Float {
        min: f64,
        max: f64,
        default: f64,
    },
    Bool {
        default: bool,
    },
    Choice {
        options: Vec<String>,
        default: String,
    },
}

/// One knob of a preset. The same name means the same thing in every preset.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KnobDef {
    pub name: String,
    /// One line, for the CLI and the dashboard.
    pub description: String,
    pub kind: KnobKind,
}

/// The sidebar group of a preset, as in docs/lessons.md.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Threads,
    Processes,
    Caveats,
    Beyond,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Threads => "Threads",
            Group::Processes => "Processes",
            Group::Caveats => "Caveats",
            Group::Beyond => "Beyond",
        }
    }
}

/// Everything a viewer needs to offer a preset: its claim, knobs and the Python it mirrors.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PresetInfo {
    pub name: String,
    pub group: Group,
    /// The claim of the notes this preset tests, one line.
    pub claim: String,
    /// What to look at, one or two sentences.
    pub description: String,
    /// Correct, runnable Python that the experiment mirrors, with the knobs at their defaults.
    pub python: String,
    /// The same Python with a `{{knob}}` where each knob's value goes: [`render_python`]
    /// fills it in for any setting of the knobs.
    #[serde(default)]
    pub python_template: String,
    pub knobs: Vec<KnobDef>,
}

/// A spec that cannot run, naming the field at fault and what it allows.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// `preset`, or the knob's name.
    pub field: String,
    pub message: String,
}

impl SpecError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl KnobDef {
    pub fn default_value(&self) -> KnobValue {
        match &self.kind {
            KnobKind::Int { default, .. } => KnobValue::Int(*default),
            KnobKind::Float { default, .. } => KnobValue::Float(*default),
            KnobKind::Bool { default } => KnobValue::Bool(*default),
            KnobKind::Choice { default, .. } => KnobValue::Text(default.clone()),
        }
    }

    /// What the knob accepts, in words: "an integer from 1 to 64".
    pub fn allowed(&self) -> String {
        match &self.kind {
            KnobKind::Int { min, max, .. } => format!("an integer from {min} to {max}"),
            KnobKind::Float { min, max, .. } => {
                let [min, max] = [min, max].map(|x| crate::decimal::shortest(*x));
                format!("a number from {min} to {max}")
            }
            KnobKind::Bool { .. } => "true or false".to_string(),
            KnobKind::Choice { options, .. } => format!("one of {}", options.join(", ")),
        }
    }

    fn reject(&self, value: &dyn fmt::Display) -> SpecError {
        SpecError::new(
            &self.name,
            format!(
                "`{}` is not allowed; expected {}",
                echo(&value.to_string()),
                self.allowed()
            ),
        )
    }

    /// Checks a value's type and bounds, converting where that loses nothing (1 → 1.0).
    pub fn check(&self, value: &KnobValue) -> Result<KnobValue, SpecError> {
        match (&self.kind, value) {
            (KnobKind::Int { min, max, .. }, KnobValue::Int(i)) if (min..=max).contains(&i) => {
                Ok(KnobValue::Int(*i))
            }
            (KnobKind::Int { min, max, .. }, KnobValue::Float(x))
                if x.fract() == 0.0 && (*min as f64..=*max as f64).contains(x) =>
            {
                Ok(KnobValue::Int(*x as i64))
            }
            (KnobKind::Float { min, max, .. }, KnobValue::Float(x)) if (min..=max).contains(&x) => {
                Ok(KnobValue::Float(*x))
            }
            (KnobKind::Float { min, max, .. }, KnobValue::Int(i))
                if (*min..=*max).contains(&(*i as f64)) =>
            {
                Ok(KnobValue::Float(*i as f64))
            }
            (KnobKind::Bool { .. }, KnobValue::Bool(b)) => Ok(KnobValue::Bool(*b)),
            (KnobKind::Choice { options, .. }, KnobValue::Text(s)) if options.contains(s) => {
                Ok(KnobValue::Text(s.clone()))
            }
            // Text from a command line or a URL: parse it as the knob's type.
            (kind, KnobValue::Text(s)) if !matches!(kind, KnobKind::Choice { .. }) => {
                self.check(&self.parse(s)?)
            }
            _ => Err(self.reject(value)),
        }
    }

    /// Parses text (`--set threads=4`, `?threads=4`) into a value of the knob's type.
    pub fn parse(&self, text: &str) -> Result<KnobValue, SpecError> {
        let text = text.trim();
        let parsed = match &self.kind {
            KnobKind::Int { .. } => text.parse().ok().map(KnobValue::Int),
            // As `str::parse::<f64>`, without its tables in the dashboard's wasm.
            KnobKind::Float { .. } => crate::decimal::parse(text)
                .filter(|x| x.is_finite())
                .map(KnobValue::Float),
            KnobKind::Bool { .. } => match text {
                "true" | "1" | "on" | "yes" => Some(KnobValue::Bool(true)),
                "false" | "0" | "off" | "no" => Some(KnobValue::Bool(false)),
                _ => None,
            },
            KnobKind::Choice { .. } => Some(KnobValue::Text(text.to_string())),
        };
        parsed.ok_or_else(|| self.reject(&text))
    }
}

/// A preset's knobs, every one present, typed and in bounds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Knobs(pub BTreeMap<String, KnobValue>);

impl Knobs {
    /// An integer knob. Panics if the preset has no such integer knob: a bug, not bad input.
    pub fn int(&self, name: &str) -> i64 {
        match self.0.get(name) {
            Some(KnobValue::Int(i)) => *i,
            other => panic!("knob {name} is not an integer knob of this preset: {other:?}"),
        }
    }

    pub fn float(&self, name: &str) -> f64 {
        match self.0.get(name) {
            Some(KnobValue::Float(x)) => *x,
            Some(KnobValue::Int(i)) => *i as f64,
            other => panic!("knob {name} is not a number knob of this preset: {other:?}"),
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        match self.0.get(name) {
            Some(KnobValue::Bool(b)) => *b,
            other => panic!("knob {name} is not a true/false knob of this preset: {other:?}"),
        }
    }

    pub fn choice(&self, name: &str) -> &str {
        match self.0.get(name) {
            Some(KnobValue::Text(s)) => s,
            other => panic!("knob {name} is not a choice knob of this preset: {other:?}"),
        }
    }
}

impl PresetInfo {
    pub fn knob(&self, name: &str) -> Option<&KnobDef> {
        self.knobs.iter().find(|k| k.name == name)
    }

    /// Validates the given knobs against this preset and fills in the defaults.
    pub fn resolve(&self, given: &BTreeMap<String, KnobValue>) -> Result<Knobs, SpecError> {
        if let Some(unknown) = given.keys().find(|name| self.knob(name).is_none()) {
            let names: Vec<_> = self.knobs.iter().map(|k| k.name.as_str()).collect();
            return Err(SpecError::new(
                echo(unknown),
                format!(
                    "no such knob for preset {}; it has: {}",
                    self.name,
                    names.join(", ")
                ),
            ));
        }
        // Inserted one by one: `collect` into a map sorts with a sort of its own, which the
        // dashboard's wasm would carry.
        let mut knobs = BTreeMap::new();
        for knob in &self.knobs {
            let value = match given.get(&knob.name) {
                Some(value) => knob.check(value)?,
                None => knob.default_value(),
            };
            knobs.insert(knob.name.clone(), value);
        }
        Ok(Knobs(knobs))
    }
}

/// A knob value as a Python literal.
pub fn python_literal(value: &KnobValue) -> String {
    match value {
        KnobValue::Bool(true) => "True".into(),
        KnobValue::Bool(false) => "False".into(),
        KnobValue::Int(i) => {
            // 30000000 -> 30_000_000, as a person would write it.
            let digits = i.abs().to_string();
            let mut out = String::new();
            for (n, c) in digits.chars().enumerate() {
                if n > 0 && (digits.len() - n) % 3 == 0 {
                    out.push('_');
                }
                out.push(c);
            }
            if *i < 0 {
                out.insert(0, '-');
            }
            out
        }
        KnobValue::Float(x) => crate::decimal::debug(*x),
        KnobValue::Text(s) => python_str(s),
    }
}

/// A Python string literal: quotes, backslashes and control characters escaped (`\n`,
/// `\x07`), everything else as it is. (`format!("{s:?}")` wrote the same for printable text,
/// but Rust's `\u{..}` escapes, which Python does not read, for the rest.)
fn python_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || c == '\u{7f}' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as u8;
                out.push_str("\\x");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Replaces each `{{knob}}` in `template` with the knob's value as Python.
pub fn render_python(template: &str, knobs: &Knobs) -> String {
    let mut out = template.to_string();
    for (name, value) in &knobs.0 {
        out = out.replace(&format!("{{{{{name}}}}}"), &python_literal(value));
    }
    out
}

/// Finds a preset by name, or says which ones exist.
pub fn find_preset<'a>(presets: &'a [PresetInfo], name: &str) -> Result<&'a PresetInfo, SpecError> {
    presets.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<_> = presets.iter().map(|p| p.name.as_str()).collect();
        SpecError::new(
            "preset",
            format!(
                "no preset named `{}`; there are: {}",
                echo(name),
                names.join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_knobs_become_python_string_literals() {
        for text in [
            "current",
            "a \"quoted\" \\ path",
            "two\nlines\tand\r",
            "é ✓",
        ] {
            assert_eq!(python_str(text), format!("{text:?}"), "{text}");
        }
        assert_eq!(python_str("\u{7}\u{7f}\u{0}"), r#""\x07\x7f\x00""#);
        assert_eq!(python_str("zero\u{200b}width"), "\"zero\u{200b}width\"");
    }

    fn preset() -> PresetInfo {
        PresetInfo {
            name: "cpu-threads".into(),
            group: Group::Threads,
            claim: "threads do not speed up CPU-bound work".into(),
            description: String::new(),
            python: String::new(),
            python_template: String::new(),
            knobs: vec![
                KnobDef {
                    name: "threads".into(),
                    description: "threads".into(),
                    kind: KnobKind::Int {
                        min: 1,
                        max: 64,
                        default: 4,
                    },
                },
                KnobDef {
                    name: "switch_interval_ms".into(),
                    description: "interval".into(),
                    kind: KnobKind::Float {
                        min: 0.1,
                        max: 100.0,
                        default: 5.0,
                    },
                },
                KnobDef {
                    name: "gil".into(),
                    description: "flavour".into(),
                    kind: KnobKind::Choice {
                        options: vec!["current".into(), "ticks".into(), "none".into()],
                        default: "current".into(),
                    },
                },
                KnobDef {
                    name: "lock".into(),
                    description: "lock".into(),
                    kind: KnobKind::Bool { default: false },
                },
            ],
        }
    }

    fn given(pairs: &[(&str, KnobValue)]) -> BTreeMap<String, KnobValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn defaults_fill_what_is_missing_and_text_is_parsed() {
        let knobs = preset()
            .resolve(&given(&[
                ("threads", KnobValue::Text("8".into())),
                ("lock", KnobValue::Text("true".into())),
                ("switch_interval_ms", KnobValue::Int(1)),
            ]))
            .unwrap();
        assert_eq!(knobs.int("threads"), 8);
        assert!(knobs.bool("lock"));
        assert_eq!(knobs.float("switch_interval_ms"), 1.0);
        assert_eq!(knobs.choice("gil"), "current");
    }

    #[test]
    fn errors_name_the_knob_and_its_range() {
        let p = preset();
        let err = p
            .resolve(&given(&[("threads", KnobValue::Int(0))]))
            .unwrap_err();
        assert_eq!(err.field, "threads");
        assert!(err.to_string().contains("an integer from 1 to 64"), "{err}");

        let err = p
            .resolve(&given(&[("gil", KnobValue::Text("maybe".into()))]))
            .unwrap_err();
        assert!(
            err.to_string().contains("one of current, ticks, none"),
            "{err}"
        );

        let err = p
            .resolve(&given(&[(
                "switch_interval_ms",
                KnobValue::Text("NaN".into()),
            )]))
            .unwrap_err();
        assert_eq!(err.field, "switch_interval_ms");

        let err = p
            .resolve(&given(&[("thread", KnobValue::Int(2))]))
            .unwrap_err();
        assert_eq!(err.field, "thread");
        assert!(err.message.contains("threads"), "{err}");

        let err = p
            .resolve(&given(&[("lock", KnobValue::Int(1))]))
            .unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");

        let err = find_preset(std::slice::from_ref(&p), "nope").unwrap_err();
        assert_eq!(err.field, "preset");
    }

    #[test]
    fn json_values_deserialize_into_knob_values() {
        let spec: ExperimentSpec =
            serde_json::from_str(r#"{"preset":"cpu-threads","knobs":{"threads":2,"gil":"none","switch_interval_ms":0.5,"lock":true}}"#)
                .unwrap();
        let knobs = preset().resolve(&spec.knobs).unwrap();
        assert_eq!(knobs.int("threads"), 2);
        assert_eq!(knobs.float("switch_interval_ms"), 0.5);
    }

    #[test]
    fn echoed_input_is_clipped() {
        let p = preset();
        let long = "t".repeat(1_000_000);
        let err = p
            .resolve(&given(&[(long.as_str(), KnobValue::Int(1))]))
            .unwrap_err();
        assert!(err.field.len() < 1_000 && err.field.ends_with('…'));
        assert!(err.to_string().len() < 2_000, "{}", err.to_string().len());
        let err = p
            .resolve(&given(&[("gil", KnobValue::Text(long.clone()))]))
            .unwrap_err();
        assert!(err.to_string().len() < 1_000);
        let err = find_preset(std::slice::from_ref(&p), &long).unwrap_err();
        assert!(err.to_string().len() < 1_000);
    }

    #[test]
    fn python_literals_and_templates() {
        assert_eq!(python_literal(&KnobValue::Int(30_000_000)), "30_000_000");
        assert_eq!(python_literal(&KnobValue::Int(-1000)), "-1_000");
        assert_eq!(python_literal(&KnobValue::Int(100)), "100");
        assert_eq!(python_literal(&KnobValue::Float(5.0)), "5.0");
        assert_eq!(python_literal(&KnobValue::Bool(true)), "True");
        assert_eq!(python_literal(&KnobValue::Text("call".into())), "\"call\"");
        let knobs = preset()
            .resolve(&given(&[("threads", KnobValue::Int(8))]))
            .unwrap();
        assert_eq!(
            render_python("N = {{threads}}  # {{lock}}", &knobs),
            "N = 8  # False"
        );
    }
}
