//! A card's detail line in the chosen language: the shared cards' English details
//! (`gilscope_shared::figures::cards`) written again from the summary with the catalogue's
//! `detail.*` and `end.*` messages. Keys without words of their own (the ways' names, an
//! exception CPython raised) keep the shared detail.

use gilscope_shared::decimal::fixed;
use gilscope_shared::figures::{count, seconds, Card};
use gilscope_shared::spec::Engine;
use gilscope_shared::summary::{Cap, EndReason, Summary};

use super::{fill, tr, Locale};

/// Why the run ended, in words.
pub fn end(l: Locale, end: &EndReason) -> String {
    match end {
        EndReason::Finished => tr!(l, end.finished).to_string(),
        EndReason::HitCap { cap, limit } => fill(
            match cap {
                Cap::Work => tr!(l, end.work_cap),
                Cap::Wall => tr!(l, end.wall_cap),
                Cap::Events => tr!(l, end.event_cap),
            },
            &[("limit", limit)],
        ),
        EndReason::Stopped => tr!(l, end.stopped).to_string(),
        EndReason::Failed { reason } => fill(tr!(l, end.failed), &[("reason", reason)]),
    }
}

/// The card's detail for this run.
pub fn detail(l: Locale, s: &Summary, card: &Card, cores: Option<u32>) -> String {
    let p = &s.figures;
    let words = match card.key {
        "speedup" => s
            .baseline_wall_s
            .map(|b| fill(tr!(l, detail.vs_one), &[("t", &seconds(b))])),
        "lost" => p.expected_count.zip(p.final_count).map(|(e, f)| {
            fill(
                tr!(l, detail.expected),
                &[("e", &e.to_string()), ("f", &f.to_string())],
            )
        }),
        "cores" => cores.map(|c| fill(tr!(l, detail.of_cores), &[("n", &c.to_string())])),
        "handoffs" => s
            .gil_hold_ms_median
            .map(|m| fill(tr!(l, detail.median_hold), &[("m", &fixed(m, 2))])),
        "rate" => s
            .baseline_ops_per_s
            .map(|b| fill(tr!(l, detail.one_alone), &[("n", &count(b))])),
        "wall" => Some(match s.engine {
            Engine::Cpython => fill(tr!(l, detail.whole_program), &[("end", &end(l, &s.end))]),
            Engine::Emulated => end(l, &s.end),
        }),
        "depth" => p
            .queue_capacity
            .map(|c| fill(tr!(l, detail.capacity), &[("c", &c.to_string())])),
        "empty-wrong" => p.queue_samples.map(|n| {
            fill(
                tr!(l, detail.empty_wrong),
                &[
                    ("n", &count(n as f64)),
                    ("q", &count(p.qsize_mismatch_samples.unwrap_or(0) as f64)),
                ],
            )
        }),
        "full-wrong" => p
            .full_said
            .map(|n| fill(tr!(l, detail.full_said), &[("n", &count(n as f64))])),
        "start" => p
            .processes_started
            .map(|n| fill(tr!(l, detail.median_of), &[("n", &n.to_string())])),
        // The way's name, said by the title already in other languages.
        k if k.starts_with("way-") || k.starts_with("return-") => {
            return if l == Locale::en {
                card.detail.clone()
            } else {
                String::new()
            };
        }
        _ => return card.detail.clone(),
    };
    words.unwrap_or_default()
}
