//! The knobs shared by presets: the same name means the same thing (and has the same bounds)
//! everywhere. Also: knobs as a typed struct, and the knobs the harness reads itself (the
//! interpreter's configuration, the start method).

use std::time::Duration;

use gilscope_shared::spec::{KnobDef, KnobKind, Knobs};
use gilscope_shared::trace::GilFlavour;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::engine::interpreter::interp::InterpConfig;
use crate::engine::multiprocessing::process::StartMethod;

fn int(name: &str, description: &str, min: i64, max: i64, default: i64) -> KnobDef {
    KnobDef {
        name: name.into(),
        description: description.into(),
        kind: KnobKind::Int { min, max, default },
    }
}

fn float(name: &str, description: &str, min: f64, max: f64, default: f64) -> KnobDef {
    KnobDef {
        name: name.into(),
        description: description.into(),
        kind: KnobKind::Float { min, max, default },
    }
}

fn boolean(name: &str, description: &str, default: bool) -> KnobDef {
    KnobDef {
        name: name.into(),
        description: description.into(),
        kind: KnobKind::Bool { default },
    }
}

fn choice(name: &str, description: &str, options: &[&str], default: &str) -> KnobDef {
    KnobDef {
        name: name.into(),
        description: description.into(),
        kind: KnobKind::Choice {
            options: options.iter().map(|o| o.to_string()).collect(),
            default: default.into(),
        },
    }
}

pub fn threads(default: i64) -> KnobDef {
    int(
        "threads",
        "number of threads started by the main thread",
        1,
        64,
        default,
    )
}

pub fn work(default: i64) -> KnobDef {
    int(
        "work",
        "bytecodes each worker executes (about 3.3 ns each)",
        1_000,
        2_000_000_000,
        default,
    )
}

pub fn gil(default: &str) -> KnobDef {
    choice(
        "gil",
        "GIL flavour: current (3.2+), ticks (Python 2), none (free-threaded 3.13t)",
        &["current", "ticks", "none"],
        default,
    )
}

pub fn switch_interval_ms() -> KnobDef {
    float(
        "switch_interval_ms",
        "sys.setswitchinterval, in ms (current GIL)",
        0.1,
        100.0,
        SWITCH_INTERVAL_MS,
    )
}

pub fn check_ticks() -> KnobDef {
    int(
        "check_ticks",
        "sys.setcheckinterval: bytecodes between releases (ticks GIL)",
        1,
        10_000,
        CHECK_TICKS as i64,
    )
}

pub fn check_every_bytecode() -> KnobDef {
    boolean(
        "check_every_bytecode",
        "check for a GIL drop request after every bytecode (CPython <= 3.9) instead of at back-edges and calls (3.10+)",
        false,
    )
}

pub fn lock() -> KnobDef {
    boolean("lock", "guard the update with a threading.Lock", false)
}

pub fn form() -> KnobDef {
    choice(
        "form",
        "augmented: counter += 1; call: counter = counter + one()",
        &["augmented", "call"],
        "augmented",
    )
}

pub fn increments(default: i64) -> KnobDef {
    int(
        "increments",
        "increments per thread",
        1,
        10_000_000,
        default,
    )
}

pub fn pool_size(default: i64) -> KnobDef {
    int("pool_size", "worker threads in the pool", 1, 64, default)
}

pub fn tasks(default: i64) -> KnobDef {
    int(
        "tasks",
        "number of tasks (items mapped)",
        1,
        10_000,
        default,
    )
}

pub fn io_ms(description: &str, default: f64) -> KnobDef {
    float("io_ms", description, 0.0, 1_000.0, default)
}

pub fn api() -> KnobDef {
    choice(
        "api",
        "map: pool.map(f, items); apply_async: one pool.apply_async(f, (x,)) per item, then .get()",
        &["map", "apply_async"],
        "map",
    )
}

pub fn processes(default: i64) -> KnobDef {
    int(
        "processes",
        "worker processes started (each with its own interpreter and GIL)",
        1,
        64,
        default,
    )
}

pub fn producers(default: i64) -> KnobDef {
    int(
        "producers",
        "processes putting items into the queue",
        1,
        64,
        default,
    )
}

pub fn consumers(default: i64) -> KnobDef {
    int(
        "consumers",
        "processes getting items from the queue",
        1,
        64,
        default,
    )
}

pub fn items(description: &str, default: i64) -> KnobDef {
    int("items", description, 1, 10_000_000, default)
}

pub fn message_bytes() -> KnobDef {
    int(
        "message_bytes",
        "bytes in each message (bytes(n) through the Queue; an Array of n bytes in shared memory)",
        8,
        crate::engine::multiprocessing::mp_queue::MAX_PAYLOAD as i64,
        8,
    )
}

pub fn pairs() -> KnobDef {
    int(
        "pairs",
        "producer -> consumer pairs of processes per way, all at once (one Queue for all; a slot of shared memory each)",
        1,
        8,
        1,
    )
}

pub fn capacity(default: i64) -> KnobDef {
    int(
        "capacity",
        "the queue's maxsize: put blocks while this many items are in it",
        1,
        1_000_000,
        default,
    )
}

pub fn chunksize() -> KnobDef {
    int(
        "chunksize",
        "items per task sent to a pool worker; 0: CPython's default, divmod(items, 4 * processes) rounded up",
        0,
        10_000_000,
        0,
    )
}

/// Bytecodes a queue lesson's process computes per item (`produce_work`, `consume_work`).
pub fn per_item_work(name: &str, description: &str, default: i64) -> KnobDef {
    int(name, description, 0, 100_000_000, default)
}

pub fn start_method() -> KnobDef {
    choice(
        "start_method",
        "how a process starts: fork (Linux default up to 3.13) or spawn (a fresh interpreter, Windows and macOS)",
        &["fork", "spawn"],
        "fork",
    )
}

pub fn process_lock(description: &str) -> KnobDef {
    boolean("lock", description, false)
}

/// The knobs the harness reads itself: the interpreter's (the run's worker processes build the
/// same) and how processes start. A lesson without one gets CPython's default.
#[derive(Deserialize)]
pub struct RunKnobs {
    #[serde(default)]
    gil: GilFlavour,
    #[serde(default = "default_switch_interval_ms")]
    switch_interval_ms: f64,
    #[serde(default = "default_check_ticks")]
    check_ticks: u32,
    #[serde(default)]
    check_every_bytecode: bool,
    #[serde(default)]
    pub start_method: StartMethod,
}

/// CPython's defaults: `sys.getswitchinterval()` (3.2+) and Python 2's check interval, the
/// knobs' defaults and what a lesson without those knobs runs with.
const SWITCH_INTERVAL_MS: f64 = 5.0;
const CHECK_TICKS: u32 = 100;

fn default_switch_interval_ms() -> f64 {
    SWITCH_INTERVAL_MS
}

fn default_check_ticks() -> u32 {
    CHECK_TICKS
}

/// `knobs` as a struct with a field for each knob it reads (serde's names and types).
pub fn typed<T: DeserializeOwned>(knobs: &Knobs) -> Result<T, serde_json::Error> {
    serde_json::to_value(&knobs.0).and_then(serde_json::from_value)
}

impl RunKnobs {
    /// The interpreter they configure.
    pub fn interp_config(&self) -> InterpConfig {
        InterpConfig {
            name: "MainProcess".into(),
            gil: self.gil,
            switch_interval: Duration::from_secs_f64(self.switch_interval_ms / 1e3),
            check_ticks: self.check_ticks,
            check_every_bytecode: self.check_every_bytecode,
        }
    }
}
