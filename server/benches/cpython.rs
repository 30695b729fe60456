//! What observing real CPython costs: the program's slowdown under the 1 kHz sampler, the
//! sampler's CPU, how closely the observed GIL holds match the program's own record, and the
//! live lag from a sample to the frame that carries it.
//!
//! `cargo bench -p gilscope-server --bench cpython` (a quiet machine; it waits for one).

use std::process::Command;
use std::time::Instant;

use gilscope_server::program::start;
use gilscope_shared::spec::{Engine, ExperimentSpec};

const ROUNDS: usize = 5;

/// Four CPU-bound threads; prints its own wall time and its median GIL hold.
const PROGRAM: &str = r#"
import threading, time
log = []
def work(k):
    n = 0
    for i in range(3_000_000):
        n += i
        if i % 200 == 0:
            log.append((time.perf_counter(), k))
t0 = time.perf_counter()
threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
wall = time.perf_counter() - t0
holds, current, since = [], None, None
for t, k in log:
    if k != current:
        if current is not None:
            holds.append(t - since)
        current, since = k, t
holds.sort()
print(f"{wall:.4f} {1000 * holds[len(holds) // 2]:.3f} {len(holds) / wall:.1f}")
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn parse(stdout: &str) -> (f64, f64, f64) {
    let f: Vec<f64> = stdout
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    (f[0], f[1], f[2])
}

fn cpu_self() -> f64 {
    // SAFETY: `rusage` is plain data; `getrusage` fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a local.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn main() {
    std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope"));
    let dir = std::env::temp_dir().join(format!("gilscope-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cpu4.py");
    std::fs::write(&path, PROGRAM).unwrap();
    let (mut bare, mut observed, mut own_hold, mut seen_hold, mut cost, mut rate) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut lags: Vec<f64> = vec![];
    for _ in 0..ROUNDS {
        let out = Command::new("python3").arg(&path).output().unwrap();
        bare.push(parse(&String::from_utf8_lossy(&out.stdout)).0);

        let spec = ExperimentSpec {
            engine: Some(Engine::Cpython),
            script: Some(PROGRAM.to_string()),
            ..Default::default()
        };
        let (cpu0, t0) = (cpu_self(), Instant::now());
        let handle = start(&spec).unwrap();
        // Drained as the run manager does, every 33 ms: how long after the sample that ended
        // a span does the span reach the viewers' frame.
        while !handle.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(33));
            let delta = handle.drain();
            lags.extend(
                delta
                    .added
                    .spans
                    .iter()
                    .map(|span| delta.added.end.saturating_sub(span.t1) as f64 / 1e6),
            );
        }
        let s = handle.wait().summary;
        cost.push((cpu_self() - cpu0) / t0.elapsed().as_secs_f64());
        let (wall, hold, _) = parse(&s.output.as_ref().unwrap().stdout);
        observed.push(wall);
        own_hold.push(hold);
        seen_hold.push(s.gil_hold_ms_median.unwrap_or(f64::NAN));
        rate.push(s.sampling_hz.unwrap_or(0.0));
    }
    let (bare, observed) = (median(bare), median(observed));
    println!(
        "load average at the end: {}",
        std::fs::read_to_string("/proc/loadavg").unwrap().trim()
    );
    println!("program wall, unobserved      {bare:.3} s (median of {ROUNDS})");
    println!(
        "program wall, observed        {observed:.3} s ({:+.1} %)",
        (observed / bare - 1.0) * 100.0
    );
    println!(
        "gilscope CPU while observing  {:.1} % of one core",
        median(cost) * 100.0
    );
    println!("sampling rate                 {:.0} Hz", median(rate));
    lags.sort_by(f64::total_cmp);
    println!(
        "live lag, sample to frame     median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} spans)",
        lags[lags.len() / 2],
        lags[lags.len() * 95 / 100],
        lags[lags.len() - 1],
        lags.len()
    );
    println!(
        "GIL hold median: observed {:.2} ms, the program's own {:.2} ms (ratio {:.2})",
        median(seen_hold.clone()),
        median(own_hold.clone()),
        median(seen_hold) / median(own_hold)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
