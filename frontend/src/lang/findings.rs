//! A finding's sentence in the chosen language: the rule's message from `finding.<rule>`
//! with its numbers (formatted as the shared English sentence formats them).

use gilscope_shared::decimal::fixed;
use gilscope_shared::figures::{count, speedup};
use gilscope_shared::findings::{ms, percent, Facts};

use super::{fill, tr, Locale};

/// The sentence for these facts.
pub fn sentence(locale: Locale, facts: &Facts) -> String {
    match *facts {
        Facts::LostUpdates { lost, expected } => fill(
            tr!(locale, finding.lost_updates),
            &[
                ("lost", &lost.to_string()),
                ("expected", &expected.to_string()),
            ],
        ),
        Facts::LockOverhead { slowdown, waits } => fill(
            tr!(locale, finding.lock_overhead),
            &[
                ("slowdown", &speedup(slowdown)),
                ("waits", &count(waits as f64)),
            ],
        ),
        Facts::GilBound {
            threads,
            cores_busy,
            handoffs,
        } => fill(
            tr!(locale, finding.gil_bound),
            &[
                ("threads", &threads.to_string()),
                ("cores_busy", &fixed(cores_busy, 1)),
                ("handoffs", &count(handoffs as f64)),
            ],
        ),
        Facts::Convoy {
            waits,
            median_wait_ms,
        } => fill(
            tr!(locale, finding.convoy),
            &[("wait", &ms(median_wait_ms)), ("waits", &waits.to_string())],
        ),
        Facts::QueueFull { share, producers } => fill(
            if producers == 1 {
                tr!(locale, finding.queue_full_one)
            } else {
                tr!(locale, finding.queue_full_many)
            },
            &[("share", &percent(share))],
        ),
        Facts::QueueEmpty { share, consumers } => fill(
            if consumers == 1 {
                tr!(locale, finding.queue_empty_one)
            } else {
                tr!(locale, finding.queue_empty_many)
            },
            &[("share", &percent(share))],
        ),
        Facts::QueueProbeWrong {
            qsize_wrong,
            empty_wrong,
            samples,
        } => fill(
            tr!(locale, finding.queue_probe_wrong),
            &[
                ("samples", &count(samples as f64)),
                ("qsize", &qsize_wrong.to_string()),
                ("empty", &empty_wrong.to_string()),
            ],
        ),
        Facts::StartUp {
            processes,
            ms: t,
            share,
        } => fill(
            if processes == 1 {
                tr!(locale, finding.start_up_one)
            } else {
                tr!(locale, finding.start_up_many)
            },
            &[
                ("processes", &processes.to_string()),
                ("ms", &ms(t)),
                ("share", &percent(share)),
            ],
        ),
        Facts::CoresLimit {
            speedup: s,
            cores,
            workers,
        } => fill(
            if cores == 1 {
                tr!(locale, finding.cores_limit_one)
            } else {
                tr!(locale, finding.cores_limit_many)
            },
            &[
                ("speedup", &speedup(s)),
                ("cores", &cores.to_string()),
                ("workers", &workers.to_string()),
            ],
        ),
        Facts::Chunking {
            tasks,
            chunksize,
            items,
        } => fill(
            if tasks == 1 {
                tr!(locale, finding.chunking_one)
            } else {
                tr!(locale, finding.chunking_many)
            },
            &[
                ("tasks", &tasks.to_string()),
                ("chunksize", &chunksize.to_string()),
                ("items", &items.to_string()),
            ],
        ),
    }
}
