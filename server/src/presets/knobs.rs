//! The knobs shared by presets: the same name means the same thing (and has the same bounds)
//! everywhere. Also: turning knobs into an interpreter's configuration.

use std::time::Duration;

use gilscope_shared::spec::{KnobDef, KnobKind, KnobValue, Knobs};
use gilscope_shared::trace::GilFlavour;

use crate::engine::interpreter::interp::InterpConfig;

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
        5.0,
    )
}

pub fn check_ticks() -> KnobDef {
    int(
        "check_ticks",
        "sys.setcheckinterval: bytecodes between releases (ticks GIL)",
        1,
        10_000,
        100,
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

fn get_f64(knobs: &Knobs, name: &str, default: f64) -> f64 {
    match knobs.0.get(name) {
        Some(KnobValue::Float(x)) => *x,
        Some(KnobValue::Int(i)) => *i as f64,
        _ => default,
    }
}

/// The interpreter a preset's knobs ask for (knobs a preset lacks take CPython's defaults).
pub fn interp_config(knobs: &Knobs) -> InterpConfig {
    let gil = match knobs.0.get("gil") {
        Some(KnobValue::Text(t)) if t == "ticks" => GilFlavour::Ticks,
        Some(KnobValue::Text(t)) if t == "none" => GilFlavour::None,
        _ => GilFlavour::Current,
    };
    InterpConfig {
        name: "MainProcess".into(),
        gil,
        switch_interval: Duration::from_secs_f64(get_f64(knobs, "switch_interval_ms", 5.0) / 1e3),
        check_ticks: get_f64(knobs, "check_ticks", 100.0) as u32,
        check_every_bytecode: matches!(
            knobs.0.get("check_every_bytecode"),
            Some(KnobValue::Bool(true))
        ),
    }
}
