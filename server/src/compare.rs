//! The same lesson on both engines, figure by figure: what the emulation measured against
//! what real CPython printed.
//!
//! Both sides are reduced to named numbers from their summaries — a CPython run's summary
//! holds the figures its program printed ([`crate::cpython::printed`]). A row is a name both
//! sides have: the lesson's own figures.

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
