//! The modules CPython imports the first time a program uses a part of `multiprocessing`.
//!
//! `import multiprocessing` loads little: its first `Process.start()` imports
//! `multiprocessing.util` (with `subprocess`, `weakref`, `contextlib`, `locale`...) and
//! `popen_fork`, its first `Queue()` `multiprocessing.queues` (with `connection`,
//! `synchronize`...), its first `Pool()` `multiprocessing.pool`, its first `Value()`
//! `multiprocessing.sharedctypes`. Each is milliseconds of Python run with the GIL held, once
//! per interpreter, and inside whatever the program times around it (the first way of
//! `return-values` pays the first start's). A forked child has its parent's modules already;
//! a spawned one imports its own as part of its start-up.
//!
//! Costs: CPython 3.11.7 here, `python3 -E -s -S` (how gilscope runs CPython), each group
//! timed after the groups it needs (`-X importtime` and the calls themselves timed, first
//! against later; docs/processes.md).

use std::sync::atomic::{AtomicU32, Ordering};

/// A group of modules imported together on first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Import {
    /// `multiprocessing.util` and what it imports: 2.7 ms.
    Util,
    /// `multiprocessing.popen_fork`, on the first `Process.start()`: 0.1 ms after `Util`.
    PopenFork,
    /// `multiprocessing.queues`, on the first `Queue()`: 4.0 ms after `Util`.
    Queues,
    /// `multiprocessing.pool`, on the first `Pool()`: 3.0 ms after `Queues`.
    Pool,
    /// `multiprocessing.sharedctypes` with `ctypes`, and the shared heap's first arena, on the
    /// first `Value()` or `Array()`: 3.0 ms after the others (7.3–7.7 ms for a `Value()`
    /// before anything else, 2 ms less than these groups' sum: they share modules).
    SharedCtypes,
}

impl Import {
    /// What importing the group costs, in bytecodes, once what it needs is imported.
    pub fn bytecodes(self) -> u64 {
        match self {
            Import::Util => 820_000,
            Import::PopenFork => 30_000,
            Import::Queues => 1_200_000,
            Import::Pool => 900_000,
            Import::SharedCtypes => 900_000,
        }
    }

    /// The groups this one imports first.
    pub fn needs(self) -> &'static [Import] {
        match self {
            Import::Util => &[],
            Import::PopenFork | Import::Queues => &[Import::Util],
            Import::Pool | Import::SharedCtypes => &[Import::Util, Import::Queues],
        }
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The groups an interpreter has imported.
#[derive(Default, Debug)]
pub struct Imported(AtomicU32);

impl Imported {
    /// Adds the groups of a set [`Imported::bits`] gave (a forked child's, from its parent).
    pub fn inherit(&self, bits: u32) {
        self.0.fetch_or(bits, Ordering::Relaxed);
    }

    /// The set, to hand to a forked child.
    pub fn bits(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Marks `import` imported; true if it was not yet (the caller pays for it).
    pub fn first(&self, import: Import) -> bool {
        self.0.fetch_or(import.bit(), Ordering::Relaxed) & import.bit() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_is_imported_once_and_a_child_inherits_the_set() {
        let parent = Imported::default();
        assert!(parent.first(Import::Util));
        assert!(!parent.first(Import::Util));
        assert!(parent.first(Import::Queues));
        let child = Imported::default();
        child.inherit(parent.bits());
        assert!(!child.first(Import::Util));
        assert!(!child.first(Import::Queues));
        assert!(child.first(Import::Pool));
        assert!(parent.first(Import::Pool), "the child's import is its own");
    }
}
