//! I/O releases the GIL: io-threads scale with the thread count; the convoy effect.

mod common;
use common::{ensure, serial, summary, timing};

#[test]
fn io_threads_speed_up_about_k_times() {
    let _g = serial();
    for k in [2, 4, 8] {
        timing(&format!("k={k}"), || {
            let s = summary(
                "io-threads",
                &[
                    ("threads", &k.to_string()),
                    ("tasks", "32"),
                    ("io_ms", "10"),
                ],
            );
            assert_eq!(s.figures.results_in_order, Some(true));
            let speedup = s.speedup.unwrap();
            ensure(speedup >= 0.7 * k as f64, || {
                format!("speedup {speedup:.2}")
            })
        });
    }
}

#[test]
fn convoy_effect_collapses_round_trips_and_a_shorter_interval_helps() {
    let _g = serial();
    let at = |interval: &str| {
        let s = summary(
            "convoy-effect",
            &[("switch_interval_ms", interval), ("work", "60000000")],
        );
        (s.figures.ops_per_s.unwrap(), s.baseline_ops_per_s.unwrap())
    };
    timing("convoy effect", || {
        let (beside5, alone5) = at("5");
        let (beside05, _) = at("0.5");
        ensure(alone5 / beside5 > 10.0, || {
            format!("5 ms: {alone5:.0}/s alone, {beside5:.0}/s beside")
        })?;
        ensure(beside05 / beside5 >= 3.0, || {
            format!("0.5 ms: {beside05:.0}/s, 5 ms: {beside5:.0}/s")
        })
    });
}
