//! The GIL's three flavours reproduce CPython's figures (bounds generous for a noisy 2-core
//! machine). One test at a time: they measure cores.

mod common;
use common::{serial, summary};

#[test]
fn current_gil_gives_no_speedup_and_about_one_core() {
    let _g = serial();
    for threads in ["2", "4"] {
        let s = summary("cpu-threads", &[("threads", threads), ("work", "20000000")]);
        let speedup = s.speedup.unwrap();
        assert!(speedup <= 1.3, "speedup {speedup}");
        assert!(s.cores_busy_mean <= 1.3, "cores {}", s.cores_busy_mean);
        assert!(s.gil_handoffs.unwrap() > 5);
    }
}

#[test]
fn no_gil_runs_threads_in_parallel() {
    let _g = serial();
    let s = summary(
        "cpu-threads",
        &[("threads", "2"), ("gil", "none"), ("work", "60000000")],
    );
    assert!(s.speedup.unwrap() >= 1.5, "speedup {:?}", s.speedup);
    assert!(s.cores_busy_mean >= 1.5, "cores {}", s.cores_busy_mean);
    assert_eq!(s.gil_handoffs, None);
}

#[test]
fn ticks_gil_with_two_threads_is_slower_than_one() {
    let _g = serial();
    let s = summary(
        "cpu-threads",
        &[("threads", "2"), ("gil", "ticks"), ("work", "20000000")],
    );
    assert!(s.speedup.unwrap() < 1.0, "speedup {:?}", s.speedup);
}

#[test]
fn hold_time_follows_the_switch_interval() {
    let _g = serial();
    for (interval, work) in [("1", "20000000"), ("5", "30000000"), ("20", "80000000")] {
        let s = summary(
            "cpu-threads",
            &[
                ("threads", "2"),
                ("switch_interval_ms", interval),
                ("work", work),
            ],
        );
        let hold = s.gil_hold_ms_median.unwrap();
        let want: f64 = interval.parse().unwrap();
        assert!(
            (hold - want).abs() <= 0.35 * want,
            "interval {want} ms: median hold {hold} ms"
        );
    }
}
