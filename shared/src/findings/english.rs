//! The findings' sentences in English: one function of a finding's facts, so a catalogue
//! in another language is one more function beside it.

use super::Facts;
use crate::decimal::fixed;
use crate::figures::{count, speedup};

/// `0.42` → `42 %`.
pub fn percent(share: f64) -> String {
    format!("{} %", fixed(share * 100.0, 0))
}

/// `1.23 ms`, `45 ms`.
pub fn ms(x: f64) -> String {
    if x < 10.0 {
        format!("{} ms", fixed(x, 1))
    } else {
        format!("{} ms", fixed(x, 0))
    }
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The longest a sentence may be, in characters: one line on a projector at 1280 px and 24 px
/// type (the dashboard's top finding; the browser test measures it).
pub const MAX_SENTENCE: usize = 80;

/// The sentence for these facts, number first, then what it means. At most
/// [`MAX_SENTENCE`] characters for the largest numbers the lessons allow.
pub fn english(facts: &Facts) -> String {
    match *facts {
        Facts::LostUpdates { lost, expected } => {
            format!("{lost} of {expected} updates lost: a GIL switch came between read and write.")
        }
        Facts::LockOverhead { slowdown, waits } => format!(
            "The lock lost no update but made the loop {} slower ({} waits for it).",
            speedup(slowdown),
            count(waits as f64)
        ),
        Facts::GilBound {
            threads,
            cores_busy,
            handoffs,
        } => format!(
            "{threads} threads, about {} core busy ({} GIL turns): try processes or gil=none.",
            fixed(cores_busy, 1),
            count(handoffs as f64)
        ),
        Facts::Convoy {
            waits,
            median_wait_ms,
        } => format!(
            "Back from I/O, a thread waited a median of {} for the GIL ({}).",
            ms(median_wait_ms),
            plural(waits, "time", "times")
        ),
        Facts::QueueFull { share, producers } => format!(
            "The queue was full {} of the time: {} waited for the consumer.",
            percent(share),
            if producers == 1 {
                "the producer"
            } else {
                "producers"
            }
        ),
        Facts::QueueEmpty { share, consumers } => format!(
            "The queue was empty {} of the time: {} waited for the producer.",
            percent(share),
            if consumers == 1 {
                "the consumer"
            } else {
                "consumers"
            }
        ),
        Facts::QueueProbeWrong {
            qsize_wrong,
            empty_wrong,
            samples,
        } => {
            let samples = count(samples as f64);
            format!(
                "Wrong answers in {samples} samples: qsize() {qsize_wrong}, empty() {empty_wrong}."
            )
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

/// Each rule with the largest numbers the lessons allow (64 threads of 10 million
/// increments, ...): the longest sentences, for the tests of their length on one line.
pub fn extreme_facts() -> Vec<Facts> {
    vec![
        Facts::LostUpdates {
            lost: 639_999_999,
            expected: 640_000_000,
        },
        Facts::LockOverhead {
            slowdown: 999.9,
            waits: 99_999_999,
        },
        Facts::GilBound {
            threads: 64,
            cores_busy: 1.49,
            handoffs: 99_999_999,
        },
        Facts::Convoy {
            waits: 99_999,
            median_wait_ms: 999.0,
        },
        Facts::QueueFull {
            share: 1.0,
            producers: 64,
        },
        Facts::QueueEmpty {
            share: 1.0,
            consumers: 64,
        },
        Facts::QueueProbeWrong {
            qsize_wrong: 99_999,
            empty_wrong: 99_999,
            samples: 999_999,
        },
        Facts::StartUp {
            processes: 64,
            ms: 99_999.0,
            share: 1.0,
        },
        Facts::CoresLimit {
            speedup: 99.9,
            cores: 256,
            workers: 1024,
        },
        Facts::Chunking {
            tasks: 9_999_999,
            chunksize: 9_999_999,
            items: 99_999_999,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentence_fits_one_projector_line() {
        for facts in extreme_facts() {
            let s = english(&facts);
            assert!(
                s.chars().count() <= MAX_SENTENCE,
                "{} characters: {s}",
                s.chars().count()
            );
        }
    }
}
