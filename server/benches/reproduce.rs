//! The reproduction table of the engine issue, measured: `cargo bench -p gilscope-server
//! --bench reproduce`. Prints Markdown (pasted into docs/engine.md).

use std::collections::BTreeMap;

use gilscope_server::engine::interpreter::bytecode::calibration;
use gilscope_server::program::start;
use gilscope_shared::spec::{ExperimentSpec, KnobValue};
use gilscope_shared::summary::Summary;

fn run(preset: &str, knobs: &[(&str, &str)]) -> Summary {
    let spec = ExperimentSpec {
        preset: preset.into(),
        knobs: knobs
            .iter()
            .map(|(k, v)| (k.to_string(), KnobValue::Text(v.to_string())))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    };
    let s = start(&spec).expect("valid spec").wait().summary;
    assert!(
        s.invariants_ok,
        "{preset} {knobs:?}: {:?} {:?}",
        s.end, s.violations
    );
    s
}

fn f(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.2}"))
}

fn main() {
    let cal = calibration();
    println!(
        "calibration: {:.2} ns per bytecode ({:.2} work units of {:.2} ns)\n",
        cal.ns_per_bytecode, cal.units_per_bytecode, cal.ns_per_unit
    );

    println!("| cpu-threads (30M bytecodes/thread) | threads | speedup | cores busy | hand-offs | hold median ms |");
    println!("|---|---|---|---|---|---|");
    for gil in ["current", "none", "ticks"] {
        for threads in ["2", "4", "8"] {
            let s = run(
                "cpu-threads",
                &[("gil", gil), ("threads", threads), ("work", "30000000")],
            );
            println!(
                "| gil={gil} | {threads} | {} | {:.2} | {} | {} |",
                f(s.speedup),
                s.cores_busy_mean,
                s.gil_handoffs.map_or("-".into(), |h| h.to_string()),
                f(s.gil_hold_ms_median)
            );
        }
    }

    println!("\n| switch interval ms | hold median ms (2 threads) | error |");
    println!("|---|---|---|");
    for (interval, work) in [("1", "30000000"), ("5", "60000000"), ("20", "150000000")] {
        let s = run(
            "cpu-threads",
            &[
                ("threads", "2"),
                ("switch_interval_ms", interval),
                ("work", work),
            ],
        );
        let want: f64 = interval.parse().unwrap();
        let hold = s.gil_hold_ms_median.unwrap();
        println!(
            "| {interval} | {hold:.2} | {:+.0} % |",
            (hold - want) / want * 100.0
        );
    }

    println!("\n| io-threads (32 tasks of 10 ms) | threads | speedup | cores busy |");
    println!("|---|---|---|---|");
    for threads in ["2", "4", "8"] {
        let s = run(
            "io-threads",
            &[("threads", threads), ("tasks", "32"), ("io_ms", "10")],
        );
        println!(
            "| | {threads} | {} | {:.2} |",
            f(s.speedup),
            s.cores_busy_mean
        );
    }

    println!("\n| convoy-effect | round trips/s alone | beside a CPU thread | collapse |");
    println!("|---|---|---|---|");
    let mut beside = Vec::new();
    for interval in ["5", "0.5"] {
        let s = run(
            "convoy-effect",
            &[("switch_interval_ms", interval), ("work", "100000000")],
        );
        let (b, a) = (s.figures.ops_per_s.unwrap(), s.baseline_ops_per_s.unwrap());
        beside.push(b);
        println!("| {interval} ms | {a:.0} | {b:.0} | {:.1}x |", a / b);
    }
    println!(
        "\n0.5 ms against 5 ms: {:.1}x more round trips\n",
        beside[1] / beside[0]
    );

    println!("| counter-race 4 x 1M | check points | lock | lost of 4M | wall s |");
    println!("|---|---|---|---|---|");
    for (form, every, lock) in [
        ("augmented", "false", "false"),
        ("call", "false", "false"),
        ("augmented", "true", "false"),
        ("call", "true", "false"),
        ("augmented", "false", "true"),
        ("call", "true", "true"),
    ] {
        let s = run(
            "counter-race",
            &[
                ("threads", "4"),
                ("increments", "1000000"),
                ("form", form),
                ("check_every_bytecode", every),
                ("lock", lock),
            ],
        );
        let checks = if every == "true" {
            "every bytecode (<=3.9)"
        } else {
            "3.10+"
        };
        println!(
            "| {form} | {checks} | {lock} | {} | {:.3} |",
            s.figures.lost_updates.unwrap(),
            s.wall_s
        );
    }
}
