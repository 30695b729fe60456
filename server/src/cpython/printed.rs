//! The figures a lesson's Python prints on CPython, read back into the run's summary so the
//! cards (and `gilscope compare`) show CPython's own values beside the emulation's.
//!
//! The lessons print them in a few shapes: `speedup 0.86`, `expected 600`, `got 590` and
//! `lost 10` anywhere on a line, `WAY: 328,512 messages/s` and `WAY: 9.0 ms` one per line,
//! `... in 12 of 200 tries` (queue-qsize-unreliable's wrong `empty()` answers), `round
//! trips/s alone 25302, beside a CPU-bound thread 749` (convoy-effect), `I/O thread woke 85
//! times/s` (gil-flavours) and `full() said full 12 times, wrong 0 times, of 1000 tries`
//! (queue-qsize-unreliable). With them the
//! findings that read these figures (lost updates, `qsize()`/`empty()` wrong) hold for CPython
//! runs too.

use std::collections::BTreeMap;

use gilscope_shared::summary::Summary;

/// `1,234.5` / `1_234` / `0.86,` -> the number.
fn number(token: &str) -> Option<f64> {
    let cleaned: String = token
        .trim_end_matches([',', ';', '.', ')'])
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    cleaned.parse().ok()
}

/// What a program printed, as figures.
#[derive(Debug, Default, PartialEq)]
pub struct Printed {
    pub speedup: Option<f64>,
    pub lost: Option<f64>,
    pub expected: Option<f64>,
    pub got: Option<f64>,
    /// `in W of N tries`: W wrong answers of N.
    pub wrong_of: Option<(f64, f64)>,
    pub messages_per_s_by_way: BTreeMap<String, f64>,
    /// convoy-effect's round trips per second, alone and beside the CPU-bound thread.
    pub alone_per_s: Option<f64>,
    pub beside_per_s: Option<f64>,
    /// gil-flavours' wake-ups per second of the I/O thread.
    pub wakeups_per_s: Option<f64>,
    pub ms_by_way: BTreeMap<String, f64>,
    /// queue-qsize-unreliable's `full()`: how often it said full, how often it was wrong.
    pub full_said: Option<f64>,
    pub full_wrong: Option<f64>,
}

/// Reads the figures out of `stdout`.
pub fn read(stdout: &str) -> Printed {
    let mut out = Printed::default();
    for line in stdout.lines() {
        if let Some((way, rest)) = line.split_once(": ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let [value, unit] = words[..] {
                match (number(value), unit) {
                    (Some(v), "messages/s") => {
                        out.messages_per_s_by_way.insert(way.trim().to_string(), v);
                    }
                    (Some(v), "ms") => {
                        out.ms_by_way.insert(way.trim().to_string(), v);
                    }
                    _ => {}
                }
            }
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.first() == Some(&"full()") {
            for pair in tokens.windows(2) {
                match (pair[0], number(pair[1])) {
                    ("full", Some(v)) => out.full_said = Some(v),
                    ("wrong", Some(v)) => out.full_wrong = Some(v),
                    _ => {}
                }
            }
            continue;
        }
        for pair in tokens.windows(2) {
            match (pair[0].trim_end_matches([':', ',']), number(pair[1])) {
                ("speedup", Some(v)) => out.speedup = Some(v),
                ("lost", Some(v)) => out.lost = Some(v),
                ("expected", Some(v)) => out.expected = Some(v),
                ("got", Some(v)) => out.got = Some(v),
                ("alone", Some(v)) => out.alone_per_s = Some(v),
                ("woke", Some(v)) => out.wakeups_per_s = Some(v),
                _ => {}
            }
        }
        for w in tokens.windows(5) {
            if let ["beside", "a", "CPU-bound", "thread", rate] = w {
                out.beside_per_s = number(rate);
            }
            if let ["in", wrong, "of", all, "tries"] = w {
                if let (Some(wrong), Some(all)) = (number(wrong), number(all)) {
                    out.wrong_of = Some((wrong, all));
                }
            }
        }
    }
    out
}

/// Puts what the program printed into `summary`'s figures.
pub fn apply(printed: Printed, summary: &mut Summary) {
    summary.speedup = printed.speedup.or(summary.speedup);
    if let Some(lost) = printed.lost {
        summary.figures.lost_updates = Some(lost as i64);
    }
    if let Some(expected) = printed.expected {
        summary.figures.expected_count = Some(expected as i64);
    }
    if let Some(got) = printed.got {
        summary.figures.final_count = Some(got as i64);
    }
    if let Some((wrong, all)) = printed.wrong_of {
        summary.figures.empty_while_qsize_positive = Some(wrong as u64);
        summary.figures.queue_samples = Some(all as u64);
    }
    if let Some(said) = printed.full_said {
        summary.figures.full_said = Some(said as u64);
    }
    if let Some(wrong) = printed.full_wrong {
        summary.figures.full_wrong = Some(wrong as u64);
    }
    if !printed.messages_per_s_by_way.is_empty() {
        summary.figures.messages_per_s_by_way = Some(printed.messages_per_s_by_way);
    }
    if let Some(alone) = printed.alone_per_s {
        summary.baseline_ops_per_s = Some(alone);
    }
    if let Some(rate) = printed.beside_per_s.or(printed.wakeups_per_s) {
        summary.figures.ops_per_s = Some(rate);
    }
    if !printed.ms_by_way.is_empty() {
        summary.figures.return_ms_by_way = Some(printed.ms_by_way);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lessons_printed_figures_are_read() {
        let cpu = read("2 threads: 0.243 s, one thread: 0.210 s, speedup 0.86\n");
        assert_eq!(cpu.speedup, Some(0.86));
        let race = read("expected 400000, got 130351, lost 269649\n");
        assert_eq!(race.lost, Some(269_649.0));
        assert_eq!(
            (race.expected, race.got),
            (Some(400_000.0), Some(130_351.0))
        );
        let probe = read(
            "empty() was True while qsize() >= 1 in 12 of 2000 tries\n\
             full() said full 1,588 times, wrong 3 times, of 2000 tries\n",
        );
        assert_eq!(probe.wrong_of, Some((12.0, 2000.0)));
        assert_eq!(
            (probe.full_said, probe.full_wrong),
            (Some(1588.0), Some(3.0))
        );
        let ways = read("Queue: 328,512 messages/s\nfiles: 9.0 ms\n");
        assert_eq!(ways.messages_per_s_by_way.get("Queue"), Some(&328_512.0));
        assert_eq!(ways.ms_by_way.get("files"), Some(&9.0));
        let convoy = read("round trips/s alone 25302, beside a CPU-bound thread 749, 34x fewer\n");
        assert_eq!(
            (convoy.alone_per_s, convoy.beside_per_s),
            (Some(25_302.0), Some(749.0))
        );
        let wakes = read("0.095 s, I/O thread woke 85 times/s (alone: 1000/s)\n");
        assert_eq!(wakes.wakeups_per_s, Some(85.0));
        assert_eq!(read("nothing here 12\n"), Printed::default());
    }
}
