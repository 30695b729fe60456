//! The findings' sentences in English: one function of a finding's facts, so a catalogue
//! in another language is one more function beside it.

use super::Facts;
use crate::figures::{count, speedup};

/// `0.42` → `42 %`.
fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// `1.23 ms`, `45 ms`.
fn ms(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.1} ms")
    } else {
        format!("{x:.0} ms")
    }
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The sentence for these facts, number first, then what it means.
pub fn english(facts: &Facts) -> String {
    match *facts {
        Facts::LostUpdates { lost, expected } => format!(
            "{lost} of {expected} increments were lost: a thread was switched out between reading the counter and writing it back."
        ),
        Facts::GilBound {
            threads,
            cores_busy,
            handoffs,
        } => format!(
            "{threads} threads kept about {cores_busy:.1} core busy: they took turns on the GIL {} times. Try processes, or gil=none.",
            count(handoffs as f64)
        ),
        Facts::Convoy {
            waits,
            median_wait_ms,
        } => format!(
            "After its I/O, the I/O thread waited a median of {} for the GIL ({}).",
            ms(median_wait_ms),
            plural(waits, "time", "times")
        ),
        Facts::QueueFull { share, producers } => format!(
            "The queue was full {} of the time: {} waited for the consumer.",
            percent(share),
            if producers == 1 { "the producer" } else { "producers" }
        ),
        Facts::QueueEmpty { share, consumers } => format!(
            "The queue was empty {} of the time: {} waited for the producer.",
            percent(share),
            if consumers == 1 { "the consumer" } else { "consumers" }
        ),
        Facts::QueueProbeWrong {
            qsize_wrong,
            empty_wrong,
            samples,
        } => {
            let qsize = format!(
                "qsize() disagreed with the true depth {}",
                plural(qsize_wrong, "time", "times")
            );
            let empty = format!("empty() was wrong {}", plural(empty_wrong, "time", "times"));
            let what = match (qsize_wrong, empty_wrong) {
                (0, _) => empty,
                (_, 0) => qsize,
                _ => format!("{qsize} and {empty}"),
            };
            format!("{what}, in {} samples.", count(samples as f64))
        }
        Facts::StartUp {
            processes,
            ms: t,
            share,
        } => format!(
            "Starting {} took {}, {} of the run.",
            plural(processes, "process", "processes"),
            ms(t),
            percent(share)
        ),
        Facts::CoresLimit {
            speedup: s,
            cores,
            workers,
        } => format!(
            "Speed-up {} on {}: {workers} workers cannot beat the core count.",
            speedup(s),
            plural(cores, "core", "cores")
        ),
        Facts::Chunking {
            tasks,
            chunksize,
            items,
        } => format!(
            "map sent {} of {chunksize} items (chunksize) for {items} items.",
            plural(tasks, "task", "tasks")
        ),
    }
}
