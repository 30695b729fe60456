//! The same lesson on both engines, figure by figure: what the emulation measured against
//! what real CPython printed (and what the observer saw of it).
//!
//! Both sides are reduced to named numbers: the emulated run's summary, and the lines the
//! lesson's Python prints on CPython (`speedup 0.86`, `lost 1234`, `Queue: 328,000
//! messages/s`, `files: 9.0 ms`). A row is a name both sides have: the lesson's own figures.

use std::collections::BTreeMap;

use gilscope_shared::summary::Summary;

/// One compared figure: the median of each side's runs, and their ratio.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    pub figure: String,
    pub emulated: f64,
    pub cpython: f64,
    /// emulated / CPython.
    pub ratio: Option<f64>,
}

/// A summary's figures under the names the lessons print them with.
pub fn summary_figures(s: &Summary) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if let Some(speedup) = s.speedup {
        out.insert("speedup".into(), speedup);
    }
    if let Some(lost) = s.figures.lost_updates {
        out.insert("lost".into(), lost as f64);
    }
    for (way, rate) in s.figures.messages_per_s_by_way.iter().flatten() {
        out.insert(format!("{way} messages/s"), *rate);
    }
    for (way, ms) in s.figures.return_ms_by_way.iter().flatten() {
        out.insert(format!("{way} ms"), *ms);
    }
    out
}

/// A CPython run's figures: what its program printed. (Not the observed GIL hold median: the
/// two engines' medians count different things when holds are shorter than the sampling
/// period or a GIL is uncontended; the observer's holds are checked against the program's own
/// record instead, in its tests and bench.)
pub fn cpython_figures(s: &Summary) -> BTreeMap<String, f64> {
    s.output
        .as_ref()
        .map(|o| printed_figures(&o.stdout))
        .unwrap_or_default()
}

/// `1,234.5` / `1_234` / `0.86,` -> the number.
fn number(token: &str) -> Option<f64> {
    let cleaned: String = token
        .trim_end_matches([',', ';', '.', ')'])
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    cleaned.parse().ok()
}

/// The named numbers a lesson's Python prints: `WAY: N messages/s` and `WAY: N ms` lines,
/// and `speedup N`, `lost N` anywhere.
pub fn printed_figures(stdout: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((way, rest)) = line.split_once(": ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let [value, unit] = words[..] {
                if let (Some(v), "messages/s" | "ms") = (number(value), unit) {
                    out.insert(format!("{} {unit}", way.trim()), v);
                }
            }
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        for pair in tokens.windows(2) {
            let name = pair[0].trim_end_matches([':', ',']);
            if matches!(name, "speedup" | "lost") {
                if let Some(v) = number(pair[1]) {
                    out.insert(name.to_string(), v);
                }
            }
        }
    }
    out
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The rows for figures both sides have, from each side's runs (medians).
pub fn rows(emulated: &[BTreeMap<String, f64>], cpython: &[BTreeMap<String, f64>]) -> Vec<Row> {
    let names: std::collections::BTreeSet<&String> =
        emulated.iter().flat_map(|m| m.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let mut e: Vec<f64> = emulated
            .iter()
            .filter_map(|m| m.get(name).copied())
            .collect();
        let mut c: Vec<f64> = cpython
            .iter()
            .filter_map(|m| m.get(name).copied())
            .collect();
        if let (Some(e), Some(c)) = (median(&mut e), median(&mut c)) {
            out.push(Row {
                figure: name.clone(),
                emulated: e,
                cpython: c,
                ratio: (c != 0.0).then(|| e / c),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lessons_printed_figures_are_read() {
        let cpu = printed_figures("2 threads: 0.243 s, one thread: 0.210 s, speedup 0.86\n");
        assert_eq!(cpu.get("speedup"), Some(&0.86));
        let race = printed_figures("expected 400000, got 130351, lost 269649\n");
        assert_eq!(race.get("lost"), Some(&269_649.0));
        let ways = printed_figures("Queue: 328,512 messages/s\nfiles: 9.0 ms\n");
        assert_eq!(ways.get("Queue messages/s"), Some(&328_512.0));
        assert_eq!(ways.get("files ms"), Some(&9.0));
    }

    #[test]
    fn rows_are_medians_of_the_figures_both_sides_have() {
        let side = |v: f64| BTreeMap::from([("speedup".to_string(), v)]);
        let only_emulated = BTreeMap::from([("lost".to_string(), 1.0)]);
        let rows = rows(
            &[side(1.0), side(0.9), side(2.0), only_emulated],
            &[side(0.5), side(0.4), side(0.6)],
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].emulated, 1.0);
        assert_eq!(rows[0].cpython, 0.5);
        assert_eq!(rows[0].ratio, Some(2.0));
    }
}
