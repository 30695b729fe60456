//! The setup a link reproduces: the lesson, its knobs as typed, projector mode. Read from and
//! written to the page's query string (`?lesson=cpu-threads&threads=4&projector=1`), and
//! validated with the shared [`KnobDef`], so the page says what the server would say.

use std::collections::BTreeMap;

use gilscope_shared::spec::{ExperimentSpec, KnobDef, KnobValue, PresetInfo};

use crate::lang::Locale;

/// What the query string asked for. Knob values stay text until validated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Setup {
    pub lesson: Option<String>,
    pub projector: bool,
    pub knobs: BTreeMap<String, String>,
    /// The dashboard's language (`en`, `zh`), when the link chooses one.
    pub lang: Option<String>,
    /// A past run to open (`?run=ID`): the server replays it.
    pub run: Option<gilscope_shared::protocol::RunId>,
}

/// Parses `?a=1&b=two` (leading `?` optional, `+` and `%XX` decoded).
pub fn parse_query(query: &str) -> Setup {
    let mut setup = Setup::default();
    for pair in query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        match k.as_str() {
            "lesson" => setup.lesson = Some(v),
            "projector" => setup.projector = matches!(v.as_str(), "1" | "true" | "on" | ""),
            "bench" => {}
            "lang" => setup.lang = Some(v),
            "run" => setup.run = v.trim().parse().ok().filter(|&id| id > 0),
            _ => {
                setup.knobs.insert(k, v);
            }
        }
    }
    setup
}

/// The query string for a setup: the lesson, then only the knobs that differ from their
/// defaults (short links), then the past run shown, then the projector flag.
pub fn to_query(setup: &Setup, preset: Option<&PresetInfo>) -> String {
    let mut parts = Vec::new();
    if let Some(lesson) = &setup.lesson {
        parts.push(format!("lesson={}", encode(lesson)));
    }
    for (name, text) in &setup.knobs {
        let default = preset
            .and_then(|p| p.knob(name))
            .map(|k| k.default_value().to_string());
        if default.as_deref() != Some(text.as_str()) {
            parts.push(format!("{}={}", encode(name), encode(text)));
        }
    }
    if let Some(run) = setup.run {
        parts.push(format!("run={run}"));
    }
    if setup.projector {
        parts.push("projector=1".into());
    }
    if let Some(lang) = &setup.lang {
        parts.push(format!("lang={}", encode(lang)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// The text a knob starts with: its default.
pub fn default_texts(preset: &PresetInfo) -> BTreeMap<String, String> {
    // Inserted one by one: `collect` into a map sorts with a sort of its own.
    let mut texts = BTreeMap::new();
    for k in &preset.knobs {
        texts.insert(k.name.clone(), k.default_value().to_string());
    }
    texts
}

/// Checks one knob's text: its typed value, or the error the server would give.
pub fn check(l: Locale, knob: &KnobDef, text: &str) -> Result<KnobValue, String> {
    knob.check(&KnobValue::Text(text.trim().to_string()))
        .map_err(|_| crate::lang::knob::refused(l, knob, text.trim()))
}

/// Errors per knob name, including names the preset does not have.
pub fn errors(
    l: Locale,
    preset: &PresetInfo,
    texts: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, text) in texts {
        match preset.knob(name) {
            Some(knob) => {
                if let Err(e) = check(l, knob, text) {
                    out.insert(name.clone(), e);
                }
            }
            None => {
                out.insert(name.clone(), crate::lang::knob::unknown(l, &preset.name));
            }
        }
    }
    out
}

/// The spec to send, or None while any knob is wrong.
pub fn spec(preset: &PresetInfo, texts: &BTreeMap<String, String>) -> Option<ExperimentSpec> {
    let mut knobs = BTreeMap::new();
    for knob in &preset.knobs {
        let value = match texts.get(&knob.name) {
            Some(text) => check(Locale::en, knob, text).ok()?,
            None => knob.default_value(),
        };
        knobs.insert(knob.name.clone(), value);
    }
    if texts.keys().any(|k| preset.knob(k).is_none()) {
        return None;
    }
    Some(ExperimentSpec {
        preset: preset.name.clone(),
        knobs,
        ..Default::default()
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::spec::{Group, KnobKind};

    fn preset() -> PresetInfo {
        PresetInfo {
            name: "cpu-threads".into(),
            group: Group::Threads,
            claim: String::new(),
            description: String::new(),
            python: String::new(),
            python_template: String::new(),
            knobs: vec![
                KnobDef {
                    name: "threads".into(),
                    description: String::new(),
                    kind: KnobKind::Int {
                        min: 1,
                        max: 64,
                        default: 4,
                    },
                },
                KnobDef {
                    name: "gil".into(),
                    description: String::new(),
                    kind: KnobKind::Choice {
                        options: vec!["current".into(), "none".into()],
                        default: "current".into(),
                    },
                },
            ],
        }
    }

    #[test]
    fn a_link_round_trips() {
        let setup = parse_query("?lesson=cpu-threads&threads=8&gil=none&projector=1");
        assert_eq!(setup.lesson.as_deref(), Some("cpu-threads"));
        assert!(setup.projector);
        assert_eq!(setup.knobs["threads"], "8");
        assert_eq!(
            to_query(&setup, Some(&preset())),
            "?lesson=cpu-threads&gil=none&threads=8&projector=1"
        );
        let mut defaults = setup.clone();
        defaults.knobs = default_texts(&preset());
        defaults.projector = false;
        assert_eq!(to_query(&defaults, Some(&preset())), "?lesson=cpu-threads");
        assert_eq!(parse_query("a=%41%2b+b&c=%zz&d=%4").knobs["a"], "A+ b");
        assert_eq!(parse_query("c=%zz").knobs["c"], "%zz");
        assert_eq!(parse_query("d=%4").knobs["d"], "%4");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(parse_query(""), Setup::default());
    }

    #[test]
    fn a_past_run_link_round_trips_and_is_no_knob() {
        let setup = parse_query("?lesson=cpu-threads&run=42");
        assert_eq!(setup.run, Some(42));
        assert!(!setup.knobs.contains_key("run"));
        assert_eq!(
            to_query(&setup, Some(&preset())),
            "?lesson=cpu-threads&run=42"
        );
        for bad in ["?run=0", "?run=x", "?run=-1"] {
            assert_eq!(parse_query(bad).run, None, "{bad}");
        }
    }

    #[test]
    fn bad_values_name_their_knob_and_send_nothing() {
        let p = preset();
        let mut texts = default_texts(&p);
        assert!(errors(Locale::en, &p, &texts).is_empty());
        assert_eq!(
            spec(&p, &texts).unwrap().knobs["threads"],
            KnobValue::Int(4)
        );
        texts.insert("threads".into(), "0".into());
        let errs = errors(Locale::en, &p, &texts);
        assert!(
            errs["threads"].contains("an integer from 1 to 64"),
            "{errs:?}"
        );
        assert_eq!(spec(&p, &texts), None);
        texts.insert("threads".into(), "lots".into());
        assert!(errors(Locale::en, &p, &texts)["threads"].contains("`lots` is not allowed"));
        texts.insert("threads".into(), " 2 ".into());
        texts.insert("thraeds".into(), "2".into());
        assert_eq!(
            errors(Locale::en, &p, &texts).keys().collect::<Vec<_>>(),
            ["thraeds"]
        );
        assert_eq!(spec(&p, &texts), None);
    }
}
