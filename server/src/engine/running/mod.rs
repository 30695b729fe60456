//! Running a lesson: the program API presets implement, the conductor that runs an experiment
//! within its caps (sampling the cores meanwhile) and summarises it, and the worker entry
//! point that runs a preset's program in a child process.

pub mod beat;
pub mod cores;
pub mod program;
pub mod run;
pub mod summarize;
pub mod worker;
