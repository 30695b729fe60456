//! The catalogue: both languages have every message, English findings read as the shared
//! English sentences, Chinese ones fit one projector line, Chinese text has no English left.

use std::collections::BTreeSet;

use gilscope_shared::findings::{english, extreme_facts, Facts, MAX_SENTENCE};
use serde_json::Value;

use super::findings::sentence;
use super::{catalogue, fill, from_query, Locale};

fn locale_file(code: &str) -> Value {
    let path = format!("{}/locales/{code}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every message's key (`ui.run`, `lesson.join.claim`) and text.
fn messages(v: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                messages(v, &key, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => panic!("{prefix}: not a message: {other}"),
    }
}

fn all(code: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    messages(&locale_file(code), "", &mut out);
    out
}

/// `{name}` places of a message.
fn places(s: &str) -> BTreeSet<&str> {
    s.split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(name, _)| name))
        .collect()
}

#[test]
fn every_key_exists_in_both_languages_with_the_same_places() {
    let (en, zh) = (all("en"), all("zh"));
    let keys = |m: &[(String, String)]| m.iter().map(|(k, _)| k.clone()).collect::<BTreeSet<_>>();
    let (en_keys, zh_keys) = (keys(&en), keys(&zh));
    let missing_zh: Vec<_> = en_keys.difference(&zh_keys).collect();
    let missing_en: Vec<_> = zh_keys.difference(&en_keys).collect();
    assert!(
        missing_zh.is_empty() && missing_en.is_empty(),
        "missing in zh.json: {missing_zh:?}; missing in en.json: {missing_en:?}"
    );
    for ((key, e), (_, z)) in en.iter().zip(zh.iter()) {
        assert!(!z.trim().is_empty(), "{key}: empty in zh.json");
        assert_eq!(places(e), places(z), "{key}: different places");
    }
}

/// Facts at ordinary numbers, singulars included, beside the largest the lessons allow.
fn facts() -> Vec<Facts> {
    let mut out = extreme_facts();
    out.extend([
        Facts::LostUpdates {
            lost: 7,
            expected: 600,
        },
        Facts::QueueFull {
            share: 0.31,
            producers: 1,
        },
        Facts::QueueEmpty {
            share: 0.5,
            consumers: 1,
        },
        Facts::StartUp {
            processes: 1,
            ms: 3.25,
            share: 0.05,
        },
        Facts::CoresLimit {
            speedup: 0.98,
            cores: 1,
            workers: 2,
        },
        Facts::Chunking {
            tasks: 1,
            chunksize: 4,
            items: 4,
        },
        Facts::QueueProbeWrong {
            qsize_wrong: 0,
            empty_wrong: 1,
            samples: 12,
        },
    ]);
    out
}

#[test]
fn english_findings_are_the_shared_sentences() {
    for f in facts() {
        assert_eq!(sentence(Locale::en, &f), english(&f), "{f:?}");
    }
}

/// Columns a line takes: a CJK character or full-width punctuation is two Latin ones wide.
fn columns(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 })
        .sum()
}

#[test]
fn chinese_findings_fit_one_projector_line() {
    for f in facts() {
        let s = sentence(Locale::zh, &f);
        assert!(
            columns(&s) <= MAX_SENTENCE,
            "{} columns (at most {MAX_SENTENCE}): {s}",
            columns(&s)
        );
        assert!(!s.contains('{'), "a place left unfilled: {s}");
    }
}

/// Words allowed in Chinese text: code (Python names, knob values), names and units.
const NOT_ENGLISH: &[&str] = &[
    "A",
    "apply_async",
    "argument",
    "augmented",
    "C",
    "call",
    "chunksize",
    "consume_work",
    "counter",
    "CPU",
    "CPython",
    "current",
    "D",
    "divmod",
    "empty",
    "English",
    "Esc",
    // The key that follows the teacher again (classroom).
    "F",
    "f",
    "false",
    "fork",
    "full",
    "get",
    "get_lock",
    "GIL",
    "gil",
    "gilscope",
    "i",
    "init",
    "initializer",
    "IO",
    "items",
    "job",
    "join",
    "JSON",
    "KiB",
    "Linux",
    "Lock",
    "lock",
    "macOS",
    "Manager",
    "manager",
    "map",
    "maxsize",
    "messages_per_s_by_way",
    "ms",
    "n",
    "none",
    "NUL",
    "one",
    "P",
    "pickle",
    "PNG",
    "Pool",
    "pool",
    "print",
    "processes",
    "produce_work",
    "put",
    "Python",
    "qsize",
    "Queue",
    "queue",
    "return_ms_by_way",
    "RLock",
    "RuntimeError",
    "s",
    "S",
    "setcheckinterval",
    "setswitchinterval",
    "shared",
    "sleep",
    "spawn",
    "start_method",
    "sys",
    "t",
    "threading",
    "ticks",
    "time",
    "true",
    "True",
    "type",
    "v",
    "Value",
    "value",
    "W",
    "Windows",
    "x",
];

/// The English words left in `s`: runs of Latin letters that are not code, names or units.
fn english_words(s: &str) -> Vec<String> {
    // A run of ASCII holding `=`, `(` or `.` is code (`gil=none`, `q.put()`).
    let prose: String = s
        .split(|c: char| !c.is_ascii() || c == ' ')
        .filter(|t| !t.contains(['=', '(', '.']))
        .collect::<Vec<_>>()
        .join(" ");
    prose
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        .filter(|w| !NOT_ENGLISH.contains(w) && !w.chars().any(|c| c.is_ascii_digit()))
        // Python names: `LOAD_GLOBAL`, `check_every_bytecode`, constants such as `ITEMS`.
        .filter(|w| !w.contains('_'))
        .filter(|w| w.len() == 1 || w.chars().any(|c| !c.is_ascii_uppercase()))
        .map(str::to_string)
        .collect()
}

#[test]
fn chinese_messages_have_no_english_left() {
    for (key, text) in all("zh") {
        // `code` spans are code; `{places}` are numbers.
        let prose: String = text.split('`').step_by(2).collect();
        let prose: String = prose
            .split('{')
            .map(|p| p.split_once('}').map_or(p, |(_, rest)| rest))
            .collect();
        let left = english_words(&prose);
        assert!(left.is_empty(), "{key}: English left {left:?} in {text}");
    }
}

#[test]
fn every_lesson_and_knob_of_the_catalogue_has_its_text() {
    let en = locale_file("en");
    for (lesson, _) in en["lesson"].as_object().expect("lesson") {
        let name = lesson.replace('_', "-");
        for locale in [Locale::en, Locale::zh] {
            assert!(catalogue::lesson(locale, &name).is_some(), "{name}");
        }
        for (knob, _) in en["knob"][lesson].as_object().expect("knobs") {
            assert!(
                catalogue::knob(Locale::zh, &name, knob).is_some(),
                "{name} {knob}"
            );
        }
    }
}

#[test]
fn the_query_chooses_the_language() {
    assert_eq!(from_query("?lesson=join&lang=zh"), Some(Locale::zh));
    assert_eq!(from_query("?lang=zh-CN"), Some(Locale::zh));
    assert_eq!(from_query("?lang=en"), Some(Locale::en));
    assert_eq!(from_query("?lang=fr"), None);
    assert_eq!(from_query("?lesson=join"), None);
    assert_eq!(fill("{a} of {b}", &[("a", "1"), ("b", "2")]), "1 of 2");
}
