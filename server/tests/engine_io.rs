//! I/O releases the GIL: io-threads scale with the thread count; the convoy effect.

mod common;
use common::{serial, summary};

#[test]
fn io_threads_speed_up_about_k_times() {
    let _g = serial();
    for k in [2, 4, 8] {
        let s = summary(
            "io-threads",
            &[
                ("threads", &k.to_string()),
                ("tasks", "32"),
                ("io_ms", "10"),
            ],
        );
        let speedup = s.speedup.unwrap();
        assert!(speedup >= 0.7 * k as f64, "k={k}: speedup {speedup}");
        assert_eq!(s.results_in_order, Some(true));
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
        (s.ops_per_s.unwrap(), s.baseline_ops_per_s.unwrap())
    };
    let (beside5, alone5) = at("5");
    let (beside05, _) = at("0.5");
    assert!(
        alone5 / beside5 > 10.0,
        "5 ms: {alone5:.0}/s alone, {beside5:.0}/s beside"
    );
    assert!(
        beside05 / beside5 >= 3.0,
        "0.5 ms: {beside05:.0}/s, 5 ms: {beside5:.0}/s"
    );
}
