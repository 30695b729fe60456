//! What a thread is doing at an instant: the states of the trace model, their words and
//! colours, and their compact encoding on the wire.

use serde::{Deserialize, Serialize};

/// What a thread is doing. One colour per state, the same in every view.
///
/// In JSON a state is its snake_case name (`"wait_gil"`); in MessagePack (the worker pipe)
/// and on the websocket (`protocol/types.rs`) its index in [`State::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Running Python bytecode: holding the GIL, or free-threaded / in its own interpreter.
    Running,
    /// Runnable but waiting to take the GIL.
    WaitGil,
    /// Blocked in I/O (sleep, socket, pipe); the GIL is released.
    Io,
    /// Waiting to acquire a `threading.Lock` (or a process-shared lock).
    WaitLock,
    /// Blocked in `put` because the queue is full.
    BlockedPut,
    /// Blocked in `get` because the queue is empty.
    BlockedGet,
    /// Waiting in `join` for another thread or process.
    Join,
    /// Alive but with nothing to do (a pool worker between tasks, not yet started).
    Idle,
    /// Finished. The last span of a lane may be `Done` with `t0 == t1`.
    Done,
    /// A process starting up: from `p.start()` in the parent until its interpreter runs.
    Starting,
}

impl State {
    pub const ALL: [State; 10] = [
        State::Running,
        State::WaitGil,
        State::Io,
        State::WaitLock,
        State::BlockedPut,
        State::BlockedGet,
        State::Join,
        State::Idle,
        State::Done,
        State::Starting,
    ];

    /// The name in JSON and in the API.
    pub fn name(self) -> &'static str {
        match self {
            State::Running => "running",
            State::WaitGil => "wait_gil",
            State::Io => "io",
            State::WaitLock => "wait_lock",
            State::BlockedPut => "blocked_put",
            State::BlockedGet => "blocked_get",
            State::Join => "join",
            State::Idle => "idle",
            State::Done => "done",
            State::Starting => "starting",
        }
    }

    /// The words a Python programmer would use, for legends and tooltips.
    pub fn label(self) -> &'static str {
        match self {
            State::Running => "running (holds the GIL)",
            State::WaitGil => "waiting for the GIL",
            State::Io => "blocked on I/O",
            State::WaitLock => "waiting for a lock",
            State::BlockedPut => "blocked in put (queue full)",
            State::BlockedGet => "blocked in get (queue empty)",
            State::Join => "waiting in join",
            State::Idle => "idle",
            State::Done => "done",
            State::Starting => "starting (process start-up)",
        }
    }

    /// The Okabe–Ito colour of this state (see docs/visual-design.md).
    pub fn colour(self) -> &'static str {
        match self {
            State::Running => "#009E73",
            State::WaitGil => "#D55E00",
            State::Io => "#56B4E9",
            State::WaitLock => "#CC79A7",
            State::BlockedPut => "#E69F00",
            State::BlockedGet => "#F0E442",
            State::Join => "#0072B2",
            State::Idle | State::Done => "#DDDDDD",
            State::Starting => "#999999",
        }
    }
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        if out.is_human_readable() {
            out.serialize_str(self.name())
        } else {
            out.serialize_u8(*self as u8)
        }
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: serde::Deserializer<'de>>(input: D) -> Result<State, D::Error> {
        struct NameOrIndex;
        impl serde::de::Visitor<'_> for NameOrIndex {
            type Value = State;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a thread state (a name such as \"running\", or its index)")
            }
            fn visit_u64<E: serde::de::Error>(self, index: u64) -> Result<State, E> {
                State::ALL
                    .get(index as usize)
                    .copied()
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(index), &self))
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<State, E> {
                State::ALL
                    .into_iter()
                    .find(|s| s.name() == name)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(name), &self))
            }
        }
        input.deserialize_any(NameOrIndex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_its_name_in_json_and_its_index_in_messagepack() {
        for (index, state) in State::ALL.into_iter().enumerate() {
            assert_eq!(state as usize, index, "State::ALL is in declaration order");
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.name()));
            assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
            let packed = rmp_serde::to_vec(&state).unwrap();
            assert_eq!(packed, [index as u8], "a positive fixint");
            assert_eq!(rmp_serde::from_slice::<State>(&packed).unwrap(), state);
        }
        assert!(serde_json::from_str::<State>("\"sleeping\"").is_err());
        assert!(rmp_serde::from_slice::<State>(&[200]).is_err());
    }
}
