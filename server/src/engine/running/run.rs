//! Running a spec: build the preset's experiment, run it on std threads while the collector
//! gathers its events, run the one-thread baseline, and summarise.
//!
//! ```text
//! let run = engine::start(preset, knobs)?;      // returns at once; the run goes on in the background
//! let delta = run.drain();              // non-blocking: what is new since the last drain
//! run.stop();                           // ends it promptly (every wait in the engine is bounded)
//! let RunOutcome { trace, summary } = run.wait();
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gilscope_shared::spec::Knobs;
use gilscope_shared::summary::{Cap, EndReason, Summary};
use gilscope_shared::trace::{CounterKind, Lane, Sample, Trace, TraceDelta};

use crate::engine::interpreter::clock::Epoch;
use crate::engine::interpreter::collector::Collector;
use crate::engine::interpreter::interp::{Budget, EngineError, Ids, RunEnv};
use crate::engine::interpreter::recorder::{EventSink, LaneStatus};
use crate::engine::interpreter::stop::StopFlag;
use crate::engine::running::beat;
use crate::engine::running::cores::{
    CoreSampler, CoreTracks, Sampler, WatchedThreads, MAX_WATCHED_THREADS,
};
use crate::engine::running::program::{Experiment, Figures, Preset};
use crate::engine::running::summarize::{summarize, Timings};

/// The limits no run can pass, whatever its knobs.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    /// Bytecodes executed by all threads of the experiment (and again of its baseline).
    pub max_bytecodes: u64,
    /// Wall time of the whole run, baseline included.
    pub max_wall: Duration,
    /// Events (spans, marks, samples) recorded by the experiment, all processes together:
    /// what bounds a run's memory (about 40 bytes each in the trace).
    pub max_events: u64,
}

pub const CAPS: Caps = Caps {
    max_bytecodes: 20_000_000_000,
    max_wall: Duration::from_secs(60),
    max_events: 4_000_000,
};

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub trace: Trace,
    pub summary: Summary,
}

/// Why a run could not start (its spec was validated where it entered: only the machine can
/// refuse now).
#[derive(thiserror::Error, Debug)]
pub enum StartError {
    #[error("could not start the run's conductor thread: {0}")]
    Io(#[from] std::io::Error),
}

/// A run in progress.
pub struct RunHandle {
    pub preset: String,
    pub knobs: Knobs,
    collector: Arc<Mutex<Collector>>,
    user_stop: Arc<AtomicBool>,
    conductor: JoinHandle<RunOutcome>,
}

/// Stops a run; cheap to clone.
#[derive(Clone, Debug)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Starts running `preset` with `knobs` (resolved: every knob present and within its
/// bounds) on std threads, within [`CAPS`]; returns at once.
pub fn start(preset: &'static dyn Preset, knobs: Knobs) -> Result<RunHandle, StartError> {
    start_with_caps(preset, knobs, CAPS)
}

/// [`start`] within other caps (tests use small ones to reach them quickly).
pub fn start_with_caps(
    preset: &'static dyn Preset,
    knobs: Knobs,
    caps: Caps,
) -> Result<RunHandle, StartError> {
    RunHandle::spawn(
        preset.name(),
        knobs.clone(),
        caps,
        move |epoch, collector, stop| conduct(preset, knobs, caps, epoch, collector, stop),
    )
}

impl RunHandle {
    /// Runs `conduct` on a conductor thread of its own, recording into a fresh collector
    /// (within `caps.max_events`) and asked to stop through the flag it is given: the one
    /// lifecycle every kind of run shares (the emulation here, real CPython elsewhere).
    pub fn spawn(
        name: &str,
        knobs: Knobs,
        caps: Caps,
        conduct: impl FnOnce(Epoch, &Mutex<Collector>, &AtomicBool) -> RunOutcome + Send + 'static,
    ) -> Result<RunHandle, StartError> {
        let epoch = Epoch::now();
        let collector = Arc::new(Mutex::new(Collector::new(epoch, caps.max_events)));
        let user_stop = Arc::new(AtomicBool::new(false));
        let conductor = {
            let (collector, user_stop) = (collector.clone(), user_stop.clone());
            std::thread::Builder::new()
                .name("gil-conductor".into())
                .spawn(move || conduct(epoch, &collector, &user_stop))?
        };
        Ok(RunHandle {
            preset: name.to_string(),
            knobs,
            collector,
            user_stop,
            conductor,
        })
    }
}

impl RunHandle {
    /// What is new since the last drain (never blocks for long: the collector's lock is only
    /// held by other drains and by the conductor while it finishes).
    pub fn drain(&self) -> TraceDelta {
        self.collector
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
    }

    /// Asks the run to stop; it ends within tens of ms with reason `stopped`.
    pub fn stop(&self) {
        self.user_stop.store(true, Ordering::SeqCst);
    }

    /// A handle that stops this run from elsewhere (the run manager keeps one while the
    /// handle itself is busy draining).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.user_stop.clone())
    }

    pub fn is_finished(&self) -> bool {
        self.conductor.is_finished()
    }

    /// Blocks until the run is over; its whole trace and summary.
    pub fn wait(self) -> RunOutcome {
        match self.conductor.join() {
            Ok(outcome) => outcome,
            Err(panic) => {
                let reason = format!(
                    "the run's conductor panicked (an engine bug): {}",
                    panic_message(panic.as_ref())
                );
                let mut collector = self.collector.lock().unwrap_or_else(|e| e.into_inner());
                let trace = collector.finish(0);
                let summary = summarize(
                    &self.preset,
                    &self.knobs,
                    &trace,
                    &Timings::default(),
                    &Figures::default(),
                    EndReason::Failed { reason },
                );
                RunOutcome { trace, summary }
            }
        }
    }
}

/// How one phase went.
#[derive(Default)]
struct Phase {
    wall_s: f64,
    cpu_s: f64,
    bytecodes: u64,
    figures: Figures,
    end: Option<EndReason>,
}

/// Runs one phase to its end: starts its main thread, samples probes, enforces the caps and
/// the stop request, then makes sure every thread of it has ended.
fn run_phase(
    experiment: Experiment,
    env: &RunEnv,
    caps: &Caps,
    deadline: Instant,
    user_stop: &AtomicBool,
) -> Phase {
    let sample_probes = || {
        for (counter, probe) in &experiment.probes {
            env.sink.deliver(Trace {
                samples: vec![Sample {
                    counter: *counter,
                    t: env.epoch.elapsed(),
                    value: probe(),
                }],
                ..Trace::default()
            });
        }
    };
    sample_probes();
    let started = Instant::now();
    experiment.main.start_now();
    let mut end = None;
    // On the run's beat: sample the probes, look at the stop flag, the caps and the clock.
    while !experiment
        .main
        .wait_done(beat::until_next(env.epoch.elapsed()))
    {
        sample_probes();
        let reason = if user_stop.load(Ordering::SeqCst) {
            Some(EndReason::Stopped)
        } else if env.sink.over_cap() {
            Some(EndReason::HitCap {
                cap: Cap::Events,
                limit: format!("{} events", caps.max_events),
            })
        } else if env.budget.exceeded() {
            Some(EndReason::HitCap {
                cap: Cap::Work,
                limit: format!("{} bytecodes", caps.max_bytecodes),
            })
        } else if Instant::now() >= deadline {
            Some(EndReason::HitCap {
                cap: Cap::Wall,
                limit: format!("{} s", caps.max_wall.as_secs()),
            })
        } else {
            None
        };
        if let Some(reason) = reason {
            end.get_or_insert(reason);
            experiment.interps.iter().for_each(|i| i.stop());
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    sample_probes();
    if env.budget.exceeded() {
        end = Some(EndReason::HitCap {
            cap: Cap::Work,
            limit: format!("{} bytecodes", caps.max_bytecodes),
        });
    }
    if let Some(reason) = experiment.interps.iter().find_map(|i| i.failure()) {
        end = Some(EndReason::Failed { reason });
    }
    // The main thread is done: whatever still runs (echo peers, threads never joined) ends now.
    for interp in &experiment.interps {
        interp.stop();
    }
    for interp in &experiment.interps {
        interp.join_os_threads();
    }
    let figures = experiment
        .figures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Phase {
        wall_s,
        cpu_s: experiment.interps.iter().map(|i| i.cpu_ns()).sum::<u64>() as f64 / 1e9,
        // Every process of the run charges the one budget, killed children included.
        bytecodes: env.budget.used(),
        figures,
        end,
    }
}

/// A run's environment: fresh ids, stop flag and budget, recording into `sink`.
pub fn fresh_env(epoch: Epoch, sink: Arc<dyn EventSink>, caps: &Caps) -> RunEnv {
    RunEnv {
        epoch,
        sink,
        ids: Arc::new(Ids::default()),
        stop: Arc::new(StopFlag::default()),
        budget: Arc::new(Budget::new(caps.max_bytecodes)),
    }
}

/// The run's own thread: experiment, then baseline, then summary.
fn conduct(
    preset: &'static dyn Preset,
    knobs: Knobs,
    caps: Caps,
    epoch: Epoch,
    collector: &Mutex<Collector>,
    user_stop: &AtomicBool,
) -> RunOutcome {
    let deadline = Instant::now() + caps.max_wall;
    let sink = collector.lock().unwrap_or_else(|e| e.into_inner()).sink();
    let mut env = fresh_env(epoch, sink, &caps);
    let cores = watch_cores(&env);
    if let Some((_, watching)) = &cores {
        env.sink = watching.clone();
    }
    let phase = match preset.build(&knobs, &env) {
        Ok(experiment) => run_phase(experiment, &env, &caps, deadline, user_stop),
        Err(e) => Phase {
            end: Some(failed(e)),
            ..Phase::default()
        },
    };
    drop(cores);
    let end = phase.end.clone().unwrap_or(EndReason::Finished);
    let (mut baseline_wall_s, mut baseline_ops_per_s) = (None, None);
    if end.is_finished() {
        let env = fresh_env(Epoch::now(), Arc::new(NullSink), &caps);
        match preset.baseline(&knobs, &env) {
            Ok(Some(experiment)) => {
                let base = run_phase(experiment, &env, &caps, deadline, user_stop);
                if base.end.is_none() {
                    baseline_wall_s = Some(base.wall_s);
                    baseline_ops_per_s = base.figures.ops_per_s;
                }
            }
            Ok(None) => {}
            Err(e) => {
                let _ = failed(e);
            }
        }
    }
    let end_ns = epoch.elapsed();
    let trace = collector
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .finish(end_ns);
    let timings = Timings {
        wall_s: phase.wall_s,
        cpu_s: phase.cpu_s,
        bytecodes: phase.bytecodes,
        baseline_wall_s: if preset.baseline_is_same_work() {
            baseline_wall_s
        } else {
            None
        },
        baseline_ops_per_s,
    };
    let summary = summarize(preset.name(), &knobs, &trace, &timings, &phase.figures, end);
    RunOutcome { trace, summary }
}

/// Samples every core's usage, and the core each lane last ran on, into counter tracks of
/// the run until dropped; `None` where /proc cannot be read (the run goes on without them).
/// Lanes are watched as they open, through the sink this returns in place of `env`'s.
pub fn watch_cores(env: &RunEnv) -> Option<(Sampler, Arc<dyn EventSink>)> {
    let cores = CoreSampler::new().ok()?.cores() as u32;
    let tracks = CoreTracks {
        per_core: (0..cores)
            .map(|core| env.new_counter(&format!("cpu{core}"), CounterKind::CoreUsage { core }))
            .collect(),
        busy_cores: env.new_counter("cores busy", CounterKind::CoresBusy),
    };
    let watched = WatchedThreads::default();
    let sink: Arc<dyn EventSink> = Arc::new(WatchLanes {
        env: env.clone(),
        watched: watched.clone(),
    });
    let (epoch, inner) = (env.epoch, env.sink.clone());
    let deliver = move |sample| {
        inner.deliver(Trace {
            samples: vec![sample],
            ..Trace::default()
        })
    };
    let sampler = Sampler::spawn(tracks, watched, move || epoch.elapsed(), deliver).ok()?;
    Some((sampler, sink))
}

/// A sink that passes everything on and gives each new lane (up to
/// [`MAX_WATCHED_THREADS`]) a counter track of the core its thread last ran on.
struct WatchLanes {
    env: RunEnv,
    watched: WatchedThreads,
}

impl EventSink for WatchLanes {
    fn open_lane(&self, lane: Lane) -> Arc<LaneStatus> {
        if let (Some(tid), Ok(mut watched)) = (lane.tid, self.watched.lock()) {
            if watched.len() < MAX_WATCHED_THREADS {
                let name = format!("{} core", lane.name);
                let counter = self
                    .env
                    .new_counter(&name, CounterKind::LaneCore { lane: lane.id });
                watched.push((tid, counter));
            }
        }
        self.env.sink.open_lane(lane)
    }

    fn deliver(&self, batch: Trace) {
        self.env.sink.deliver(batch)
    }

    fn over_cap(&self) -> bool {
        self.env.sink.over_cap()
    }
}

fn failed(e: EngineError) -> EndReason {
    EndReason::Failed {
        reason: e.to_string(),
    }
}

/// Where the baseline records: nowhere (only its timings matter).
struct NullSink;

impl EventSink for NullSink {
    fn open_lane(&self, _lane: Lane) -> Arc<LaneStatus> {
        Arc::default()
    }
    fn deliver(&self, _batch: Trace) {}
}

/// What a panic said (`panic!("...")` payloads are a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}
