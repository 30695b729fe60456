//! A run's figures for people: which apply to a run, and how each is written. One presenter
//! for every place that shows them — the dashboard's cards, `gilscope run`'s table, the
//! browser test — so they never disagree. Plain functions of the [`Summary`].

use crate::decimal::fixed;
use crate::summary::Summary;
use crate::trace::State;

/// One card: a big value under a label, with a line of detail.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// Stable name, for `data-testid="card-<key>"`.
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub detail: String,
    /// The value as a number, for comparing two runs (`None` when the value is a word).
    pub amount: Option<f64>,
}

/// `1.97×`: the speedup as every view (and the browser test) writes it.
pub fn speedup(x: f64) -> String {
    fixed(x, 2) + "×"
}

/// Seconds for people: "830 ms", "1.25 s".
pub fn seconds(s: f64) -> String {
    if s < 1.0 {
        fixed(s * 1e3, 0) + " ms"
    } else {
        fixed(s, 2) + " s"
    }
}

/// Large counts and rates: 950, 12.3k, 4.5M.
pub fn count(x: f64) -> String {
    if x >= 1e6 {
        fixed(x / 1e6, 1) + "M"
    } else if x >= 1e4 {
        fixed(x / 1e3, 0) + "k"
    } else if x >= 1e3 {
        fixed(x / 1e3, 1) + "k"
    } else {
        fixed(x, 0)
    }
}

/// The cards that apply to this run, most telling first.
pub fn cards(s: &Summary, cores: Option<u32>) -> Vec<Card> {
    let mut out = Vec::new();
    if let Some(x) = s.speedup {
        out.push(Card {
            key: "speedup",
            label: "speedup",
            amount: Some(x),
            value: speedup(x),
            detail: s
                .baseline_wall_s
                .map(|b| format!("vs one worker: {}", seconds(b)))
                .unwrap_or_default(),
        });
    }
    if let (Some(expected), Some(fin)) = (s.figures.expected_count, s.figures.final_count) {
        out.push(Card {
            key: "lost",
            label: "lost updates",
            amount: Some((expected - fin) as f64),
            value: (expected - fin).to_string(),
            detail: format!("expected {expected}, final {fin}"),
        });
    }
    out.push(Card {
        key: "cores",
        label: "cores busy",
        amount: Some(s.cores_busy_mean),
        value: fixed(s.cores_busy_mean, 2),
        detail: cores.map(|c| format!("of {c}")).unwrap_or_default(),
    });
    if let Some(h) = s.gil_handoffs {
        out.push(Card {
            key: "handoffs",
            label: "GIL hand-offs",
            amount: Some(h as f64),
            value: count(h as f64),
            detail: s
                .gil_hold_ms_median
                .map(|m| format!("median hold {} ms", fixed(m, 2)))
                .unwrap_or_default(),
        });
    }
    process_cards(s, &mut out);
    if let Some(ops) = s.figures.ops_per_s {
        out.push(Card {
            key: "rate",
            label: "operations / s",
            amount: Some(ops),
            value: count(ops),
            detail: s
                .baseline_ops_per_s
                .map(|b| format!("one alone: {}", count(b)))
                .unwrap_or_default(),
        });
    }
    out.push(Card {
        key: "wall",
        label: "wall time",
        amount: Some(s.wall_s),
        value: seconds(s.wall_s),
        // A real program's wall time is all of it: the interpreter's start-up, and the
        // one-thread baseline the lesson's Python times itself — not only the experiment.
        detail: match s.engine {
            crate::spec::Engine::Cpython => {
                format!(
                    "{} · the whole program, start-up included",
                    s.end.describe()
                )
            }
            crate::spec::Engine::Emulated => s.end.describe(),
        },
    });
    out
}

/// The figures of the presets with worker processes.
fn process_cards(s: &Summary, out: &mut Vec<Card>) {
    let p = &s.figures;
    if let Some(exception) = &p.python_exception {
        out.push(Card {
            key: "exception",
            label: "CPython raises",
            amount: None,
            value: exception
                .split_once(':')
                .map_or(exception.as_str(), |(kind, _)| kind)
                .to_string(),
            detail: exception.clone(),
        });
    }
    if let Some(ways) = &p.messages_per_s_by_way {
        for (way, rate) in ways {
            let (key, label) = match way.as_str() {
                "queue" => ("way-queue", "Queue: messages / s"),
                "value_semaphores" => ("way-value-semaphores", "shared memory + 2 semaphores / s"),
                "value_polled" => ("way-value-polled", "shared memory polled / s"),
                _ => ("way-other", "messages / s"),
            };
            out.push(Card {
                key,
                label,
                amount: Some(*rate),
                value: count(*rate),
                detail: way.replace('_', " "),
            });
        }
    } else if let Some(rate) = p.messages_per_s {
        out.push(Card {
            key: "messages",
            label: "messages / s",
            amount: Some(rate),
            value: count(rate),
            detail: String::new(),
        });
    }
    if let Some(ways) = &p.return_ms_by_way {
        for (way, ms) in ways {
            let (key, label) = match way.as_str() {
                // "file": runs kept before the way was named as the Python prints it.
                "files" | "file" => ("return-file", "results via files"),
                "queue" => ("return-queue", "results via a Queue"),
                "pool" => ("return-pool", "results via Pool.map"),
                _ => ("return-other", "results"),
            };
            out.push(Card {
                key,
                label,
                amount: Some(*ms),
                value: seconds(ms / 1e3),
                detail: way.clone(),
            });
        }
    }
    if let Some(depth) = p.queue_depth_max {
        out.push(Card {
            key: "depth",
            label: "queue depth, most",
            amount: Some(depth),
            value: fixed(depth, 0),
            detail: p
                .queue_capacity
                .map(|c| format!("capacity {c}"))
                .unwrap_or_default(),
        });
    }
    if let (Some(wrong), Some(samples)) = (p.empty_mismatch_samples, p.queue_samples) {
        out.push(Card {
            key: "empty-wrong",
            label: "empty() said True wrongly",
            amount: Some(wrong as f64),
            value: count(wrong as f64),
            detail: format!(
                "of {} samples; qsize() off in {}",
                count(samples as f64),
                count(p.qsize_mismatch_samples.unwrap_or(0) as f64)
            ),
        });
    }
    if let Some(wrong) = p.full_wrong {
        out.push(Card {
            key: "full-wrong",
            label: "full() wrong about the put",
            amount: Some(wrong as f64),
            value: count(wrong as f64),
            detail: format!(
                "it said full {} times",
                count(p.full_said.unwrap_or(0) as f64)
            ),
        });
    }
    if let Some(ms) = p.process_start_ms_median {
        out.push(Card {
            key: "start",
            label: "process start",
            amount: Some(ms),
            value: fixed(ms, 1) + " ms",
            detail: p
                .processes_started
                .map(|n| format!("median of {n}"))
                .unwrap_or_default(),
        });
    }
}

/// Share of the total time in each state, largest first, leaving out states never met.
pub fn state_shares(s: &Summary) -> Vec<(State, f64)> {
    let total: f64 = s.time_per_state_s.values().sum();
    if total <= 0.0 {
        return Vec::new();
    }
    let mut shares: Vec<(State, f64)> = s
        .time_per_state_s
        .iter()
        .filter(|(state, t)| **t > 0.0 && **state != State::Done)
        .map(|(state, t)| (*state, t / total))
        .collect();
    crate::sort::sort_by(&mut shares, |a, b| a.1 > b.1);
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::EndReason;
    use std::collections::BTreeMap;

    fn summary() -> Summary {
        Summary {
            preset: "cpu-threads".into(),
            knobs: BTreeMap::new(),
            wall_s: 1.234,
            baseline_wall_s: Some(1.2),
            speedup: Some(0.9724),
            cores_busy_mean: 1.02,
            gil_handoffs: Some(812),
            gil_hold_ms_median: Some(5.01),
            gil_wait_ms_total: Some(3000.0),
            gil_drop_requests: Some(800),
            baseline_ops_per_s: None,
            ns_per_bytecode: 3.3,
            bytecodes: 1,
            time_per_state_s: BTreeMap::from([
                (State::Running, 1.0),
                (State::WaitGil, 3.0),
                (State::Done, 0.0),
            ]),
            end: EndReason::Finished,
            violations: vec![],
            invariants_ok: true,
            engine: crate::spec::Engine::Emulated,
            sampling_hz: None,
            output: None,
            figures: Default::default(),
        }
    }

    #[test]
    fn only_the_cards_that_apply() {
        let cards = cards(&summary(), Some(2));
        let keys: Vec<_> = cards.iter().map(|c| c.key).collect();
        assert_eq!(keys, ["speedup", "cores", "handoffs", "wall"]);
        assert_eq!(cards[0].value, "0.97×");
        assert_eq!(cards[1].detail, "of 2");
        assert_eq!(cards[2].detail, "median hold 5.01 ms");
        assert_eq!(cards[3].value, "1.23 s");

        let mut race = summary();
        race.speedup = None;
        race.gil_handoffs = None;
        race.figures.expected_count = Some(4000);
        race.figures.final_count = Some(3877);
        race.figures.ops_per_s = Some(323_456.0);
        race.figures.messages_per_s_by_way = Some(BTreeMap::from([
            ("queue".to_string(), 323_000.0),
            ("value_polled".to_string(), 570_000.0),
        ]));
        race.figures.python_exception = Some(
            "RuntimeError: Synchronized objects should only be shared between processes through inheritance".into(),
        );
        race.wall_s = 0.25;
        let cards = super::cards(&race, None);
        let keys: Vec<_> = cards.iter().map(|c| c.key).collect();
        assert_eq!(
            keys,
            [
                "lost",
                "cores",
                "exception",
                "way-queue",
                "way-value-polled",
                "rate",
                "wall"
            ]
        );
        assert_eq!(cards[0].value, "123");
        assert_eq!(cards[0].detail, "expected 4000, final 3877");
        assert_eq!(cards[2].value, "RuntimeError");
        assert_eq!(cards[4].value, "570k");
        assert_eq!(cards[5].value, "323k");
        assert_eq!(cards[6].value, "250 ms");
    }

    #[test]
    fn shares_are_fractions_largest_first() {
        assert_eq!(
            state_shares(&summary()),
            [(State::WaitGil, 0.75), (State::Running, 0.25)]
        );
        assert_eq!(count(950.0), "950");
        assert_eq!(count(1_500.0), "1.5k");
        assert_eq!(count(4_500_000.0), "4.5M");
    }
}
