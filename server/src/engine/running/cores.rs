//! Figures the machine while a run is live: how busy each core is (`/proc/stat`) and, for the
//! run's threads, their CPU time and the core they last ran on
//! (`/proc/<pid>/task/<tid>/{stat,schedstat}`), read with the `procfs` crate.
//!
//! `/proc/stat` counts in kernel ticks (usually 100 per second) and `schedstat` advances at the
//! scheduler tick, so a single 20 ms sample is coarse; views average over a few of them.

use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use gilscope_shared::trace::{CounterId, Nanos, Sample};
use procfs::{CurrentSI, KernelStats};

use crate::engine::running::beat;

/// Why a sample could not be taken.
#[derive(thiserror::Error, Debug)]
pub enum SamplerError {
    #[error("cannot read /proc: {0}")]
    Proc(#[from] procfs::ProcError),
    #[error("the machine reports no cores in /proc/stat")]
    NoCores,
}

/// Per-core busy fractions between consecutive reads of `/proc/stat`.
pub struct CoreSampler {
    previous: Vec<procfs::CpuTime>,
}

impl CoreSampler {
    pub fn new() -> Result<Self, SamplerError> {
        let previous = KernelStats::current()?.cpu_time;
        if previous.is_empty() {
            return Err(SamplerError::NoCores);
        }
        Ok(CoreSampler { previous })
    }

    pub fn cores(&self) -> usize {
        self.previous.len()
    }

    /// The busy fraction (0..=1) of each core since the previous call.
    pub fn sample(&mut self) -> Result<Vec<f64>, SamplerError> {
        let now = KernelStats::current()?.cpu_time;
        let busy = self
            .previous
            .iter()
            .zip(&now)
            .map(|(before, after)| busy_fraction(before, after))
            .collect();
        self.previous = now;
        Ok(busy)
    }
}

/// Ticks a core spent doing anything but idling or waiting for I/O.
fn busy_ticks(t: &procfs::CpuTime) -> u64 {
    t.user + t.nice + t.system + t.irq.unwrap_or(0) + t.softirq.unwrap_or(0) + t.steal.unwrap_or(0)
}

fn total_ticks(t: &procfs::CpuTime) -> u64 {
    busy_ticks(t) + t.idle + t.iowait.unwrap_or(0)
}

fn busy_fraction(before: &procfs::CpuTime, after: &procfs::CpuTime) -> f64 {
    let total = total_ticks(after).saturating_sub(total_ticks(before));
    if total == 0 {
        return 0.0;
    }
    let busy = busy_ticks(after).saturating_sub(busy_ticks(before));
    (busy as f64 / total as f64).clamp(0.0, 1.0)
}

/// What the kernel says about one thread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadCpu {
    /// Nanoseconds spent on a CPU since the thread started.
    pub cpu_ns: u64,
    /// The core it last ran on.
    pub last_core: Option<u32>,
}

/// Reads one thread's CPU time and last core, through `/proc/<tid>`, which names a thread of
/// any process (worker processes' threads too). Fails once the thread has exited.
pub fn thread_cpu(tid: u32) -> Result<ThreadCpu, SamplerError> {
    let thread = procfs::process::Process::new(tid as i32)?;
    let cpu_ns = thread.schedstat()?.sum_exec_runtime;
    let last_core = thread.stat()?.processor.and_then(|c| u32::try_from(c).ok());
    Ok(ThreadCpu { cpu_ns, last_core })
}

/// The threads whose last core is recorded, each with its counter track (value: the core's
/// number); the run adds lanes as they start.
pub type WatchedThreads = Arc<Mutex<Vec<(u32, CounterId)>>>;

/// At most this many threads are watched: reading one costs about 15 µs, every period.
pub const MAX_WATCHED_THREADS: usize = 16;

/// The counter tracks a [`Sampler`] writes into: one per core, and the machine's mean.
#[derive(Debug, Clone)]
pub struct CoreTracks {
    pub per_core: Vec<CounterId>,
    pub busy_cores: CounterId,
}

/// A background thread that samples the cores every `period` until it is dropped.
pub struct Sampler {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling. `now` gives the run's clock; `emit` receives each sample.
    pub fn spawn(
        tracks: CoreTracks,
        threads: WatchedThreads,
        now: impl Fn() -> Nanos + Send + 'static,
        mut emit: impl FnMut(Sample) + Send + 'static,
    ) -> Result<Sampler, SamplerError> {
        let mut cores = CoreSampler::new()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name("core-sampler".into())
            .spawn(move || {
                // The stop channel doubles as the clock: a timeout is a tick (on the run's
                // beat), a message or a hang-up is the end.
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(beat::until_next(now()))
                {
                    let Ok(busy) = cores.sample() else { continue };
                    let t = now();
                    for (&counter, &value) in tracks.per_core.iter().zip(&busy) {
                        emit(Sample { counter, t, value });
                    }
                    emit(Sample {
                        counter: tracks.busy_cores,
                        t,
                        value: busy.iter().sum(),
                    });
                    let watched = threads.lock().map(|w| w.clone()).unwrap_or_default();
                    for (tid, counter) in watched {
                        if let Ok(ThreadCpu {
                            last_core: Some(core),
                            ..
                        }) = thread_cpu(tid)
                        {
                            let value = f64::from(core);
                            emit(Sample { counter, t, value });
                        }
                    }
                }
            })
            .expect("spawning the core sampler thread");
        Ok(Sampler {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The number of logical cores the kernel lists, for the hello message and the views.
pub fn logical_cores() -> usize {
    CoreSampler::new().map(|s| s.cores()).unwrap_or_else(|_| {
        thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    /// Keeps one core busy until dropped.
    struct Spinner(Arc<AtomicBool>, Option<thread::JoinHandle<u32>>);
    impl Spinner {
        fn start() -> Spinner {
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            let handle = thread::spawn(move || {
                let tid = current_tid();
                while !flag.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
                tid
            });
            Spinner(stop, Some(handle))
        }
    }
    impl Drop for Spinner {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
            let _ = self.1.take().map(|h| h.join());
        }
    }

    fn current_tid() -> u32 {
        std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name()?.to_str()?.parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn a_spinning_thread_shows_as_about_one_busy_core() {
        let mut cores = CoreSampler::new().unwrap();
        let _spin = Spinner::start();
        cores.sample().unwrap();
        let started = Instant::now();
        let mut total = 0.0;
        let mut n = 0;
        while started.elapsed() < Duration::from_millis(300) {
            thread::sleep(Duration::from_millis(50));
            total += cores.sample().unwrap().iter().sum::<f64>();
            n += 1;
        }
        let busy = total / n as f64;
        assert!(
            busy >= 0.7,
            "one spinning thread, yet only {busy:.2} cores busy"
        );
    }

    #[test]
    fn thread_cpu_advances_for_a_busy_thread() {
        let tid = current_tid();
        let before = thread_cpu(tid).unwrap();
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let after = thread_cpu(tid).unwrap();
        assert!(after.cpu_ns > before.cpu_ns);
        assert!(after.last_core.is_some());
        assert!(thread_cpu(u32::MAX >> 2).is_err());
    }

    #[test]
    fn the_sampler_emits_every_track_and_stops_when_dropped() {
        let (sink, samples) = mpsc::channel();
        let cores = logical_cores();
        let tracks = CoreTracks {
            per_core: (0..cores as u32).map(CounterId).collect(),
            busy_cores: CounterId(cores as u32),
        };
        let origin = Instant::now();
        let me = CounterId(cores as u32 + 1);
        let watched: WatchedThreads = Arc::new(Mutex::new(vec![(current_tid(), me)]));
        let sampler = Sampler::spawn(
            tracks,
            watched,
            move || origin.elapsed().as_nanos() as Nanos,
            move |s| {
                let _ = sink.send(s);
            },
        )
        .unwrap();
        let mut got = Vec::new();
        while got.len() < 3 * (cores + 1) {
            got.push(samples.recv_timeout(Duration::from_secs(5)).unwrap());
        }
        drop(sampler);
        got.extend(samples.try_iter());
        assert_eq!(
            got.len() % (cores + 1),
            0,
            "a tick emits every track at once"
        );
        assert!(got.iter().all(|s| (0.0..=cores as f64).contains(&s.value)));
        assert!(got.windows(2).all(|w| w[0].t <= w[1].t));
        assert!(
            matches!(samples.try_recv(), Err(mpsc::TryRecvError::Disconnected)),
            "the sampler thread ended and dropped its sink"
        );
    }
}
