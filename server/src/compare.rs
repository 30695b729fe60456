//! The same lesson on both engines, figure by figure: what the emulation measured against
//! what real CPython printed.
//!
//! Both sides are reduced to named numbers from their summaries — a CPython run's summary
//! holds the figures its program printed ([`crate::cpython::printed`]). A row is a name both
//! sides have: the lesson's own figures.

use std::collections::BTreeMap;

use gilscope_shared::spec::KnobValue;
use gilscope_shared::summary::Summary;

/// One compared figure: the median of each side's runs, and their ratio.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    pub figure: String,
    pub emulated: f64,
    pub cpython: f64,
    /// emulated / CPython.
    pub ratio: Option<f64>,
    /// Each side's spread over its runs: (largest − smallest) / median.
    pub emulated_spread: Option<f64>,
    pub cpython_spread: Option<f64>,
}

/// (largest − smallest) / median of `values` (sorted).
fn spread(sorted: &[f64], median: f64) -> Option<f64> {
    match (sorted.first(), sorted.last()) {
        (Some(lo), Some(hi)) if median != 0.0 => Some((hi - lo) / median.abs()),
        _ => None,
    }
}

/// A summary's figures under the names the lessons print them with. Counts that depend on
/// the knobs are compared as shares: updates lost of those expected, wrong `empty()` answers
/// of the tries.
pub fn summary_figures(s: &Summary) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if let Some(speedup) = s.speedup {
        out.insert("speedup".into(), speedup);
    }
    match (s.figures.lost_updates, s.figures.expected_count) {
        (Some(lost), Some(expected)) if expected > 0 => {
            out.insert("lost share".into(), lost as f64 / expected as f64);
        }
        (Some(lost), _) => {
            out.insert("lost".into(), lost as f64);
        }
        _ => {}
    }
    // queue-qsize-unreliable's wrong answers, as shares of its tries (one per item).
    if let Some(KnobValue::Int(tries @ 1..)) = s.knobs.get("items") {
        for (name, wrong) in [
            ("empty() wrong share", s.figures.empty_while_qsize_positive),
            ("full() wrong share", s.figures.full_wrong),
        ] {
            if let Some(wrong) = wrong {
                out.insert(name.into(), wrong as f64 / *tries as f64);
            }
        }
    }
    let (alone, rate) = match s.preset.as_str() {
        "convoy-effect" => ("round trips/s alone", "round trips/s beside"),
        "gil-flavours" => ("", "I/O wake-ups/s"),
        _ => ("", ""),
    };
    if let (false, Some(v)) = (alone.is_empty(), s.baseline_ops_per_s) {
        out.insert(alone.into(), v);
    }
    if let (false, Some(v)) = (rate.is_empty(), s.figures.ops_per_s) {
        out.insert(rate.into(), v);
    }
    for (way, rate) in s.figures.messages_per_s_by_way.iter().flatten() {
        out.insert(format!("{way} messages/s"), *rate);
    }
    for (way, ms) in s.figures.return_ms_by_way.iter().flatten() {
        out.insert(format!("{way} ms"), *ms);
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
        if let (Some(em), Some(cm)) = (median(&mut e), median(&mut c)) {
            out.push(Row {
                figure: name.clone(),
                emulated: em,
                cpython: cm,
                ratio: (cm != 0.0).then(|| em / cm),
                emulated_spread: spread(&e, em),
                cpython_spread: spread(&c, cm),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(rows[0].emulated_spread, Some(1.1));
        assert!((rows[0].cpython_spread.unwrap() - 0.4).abs() < 1e-9);
    }

    fn summary(preset: &str) -> Summary {
        Summary::empty(preset, gilscope_shared::spec::Engine::Emulated)
    }

    #[test]
    fn counts_are_shares_and_rates_are_named_for_their_lesson() {
        let mut s = summary("convoy-effect");
        s.baseline_ops_per_s = Some(13_500.0);
        s.figures.ops_per_s = Some(577.0);
        let f = summary_figures(&s);
        assert_eq!(f.get("round trips/s alone"), Some(&13_500.0));
        assert_eq!(f.get("round trips/s beside"), Some(&577.0));

        let mut race = summary("counter-race");
        race.figures.lost_updates = Some(100);
        race.figures.expected_count = Some(400);
        race.figures.ops_per_s = Some(1.0); // not a compared figure of this lesson
        assert_eq!(
            summary_figures(&race),
            BTreeMap::from([("lost share".to_string(), 0.25)])
        );

        let mut probe = summary("queue-qsize-unreliable");
        probe.figures.empty_while_qsize_positive = Some(30);
        probe.knobs.insert("items".into(), KnobValue::Int(1_000));
        assert_eq!(
            summary_figures(&probe).get("empty() wrong share"),
            Some(&0.03)
        );
        probe.figures.full_wrong = Some(5);
        assert_eq!(
            summary_figures(&probe).get("full() wrong share"),
            Some(&0.005)
        );
    }
}
