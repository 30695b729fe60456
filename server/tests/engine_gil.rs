//! The GIL's three flavours reproduce CPython's figures (bounds generous for a noisy 2-core
//! machine; each check gets three attempts, see `common::timing`). One test at a time: they
//! measure cores.

mod common;
use common::{ensure, serial, summary, timing};

#[test]
fn current_gil_gives_no_speedup_and_about_one_core() {
    let _g = serial();
    for threads in ["2", "4"] {
        timing(&format!("{threads} threads"), || {
            let s = summary("cpu-threads", &[("threads", threads), ("work", "20000000")]);
            let speedup = s.speedup.unwrap();
            ensure(speedup <= 1.3, || format!("speedup {speedup:.2}"))?;
            ensure(s.cores_busy_mean <= 1.3, || {
                format!("cores {:.2}", s.cores_busy_mean)
            })?;
            ensure(s.gil_handoffs.unwrap() > 5, || {
                format!("hand-offs {:?}", s.gil_handoffs)
            })
        });
    }
}

#[test]
fn no_gil_runs_threads_in_parallel() {
    let _g = serial();
    timing("no GIL", || {
        let s = summary(
            "cpu-threads",
            &[("threads", "2"), ("gil", "none"), ("work", "60000000")],
        );
        assert_eq!(s.gil_handoffs, None);
        ensure(s.speedup.unwrap() >= 1.5, || {
            format!("speedup {:?}", s.speedup)
        })?;
        ensure(s.cores_busy_mean >= 1.5, || {
            format!("cores {:.2}", s.cores_busy_mean)
        })
    });
}

#[test]
fn ticks_gil_with_two_threads_is_slower_than_one() {
    let _g = serial();
    timing("ticks GIL", || {
        let s = summary(
            "cpu-threads",
            &[("threads", "2"), ("gil", "ticks"), ("work", "20000000")],
        );
        ensure(s.speedup.unwrap() < 1.0, || {
            format!("speedup {:?}", s.speedup)
        })
    });
}

#[test]
fn hold_time_follows_the_switch_interval() {
    let _g = serial();
    for (interval, work) in [("1", "20000000"), ("5", "30000000"), ("20", "80000000")] {
        timing(&format!("interval {interval} ms"), || {
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
            ensure((hold - want).abs() <= 0.35 * want, || {
                format!("median hold {hold:.2} ms")
            })
        });
    }
}
