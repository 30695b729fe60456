//! The lessons: one file each (its [`Lesson`](crate::engine::Lesson) data, its knobs struct,
//! its process roles and the programs it builds, as a [`harness::Program`]), listed once in
//! [`ALL`]. This registry is what the application layer —
//! the run manager, the CLI, the worker entry point — resolves names against; the engine
//! itself only ever sees a [`Preset`].

use std::sync::OnceLock;

use gilscope_shared::spec::{find_preset, ExperimentSpec, Knobs, PresetInfo, SpecError};

pub use crate::engine::running::program::Preset;

pub mod common;
pub mod harness;
pub mod knobs;
pub mod role;

/// Declares each lesson's module and lists its preset in [`ALL`]: adding a lesson is its file
/// plus one line here. Its tests type every lesson's knobs and check its roles.
///
/// `cargo fmt` does not see modules declared inside a macro: `cargo xtask fmt` formats the
/// lesson files too (and `cargo xtask test` checks them).
macro_rules! lessons {
    ($($module:ident :: $preset:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every lesson, in the order the dashboard lists them.
        pub static ALL: &[&dyn Preset] = &[$(&$module::$preset),*];

        #[cfg(test)]
        #[test]
        fn every_lessons_knobs_struct_fits_its_defaults_and_small_knobs() {
            $(tests::knobs_struct_fits(&$module::$preset);)*
        }

        #[cfg(test)]
        #[test]
        fn every_lessons_roles_have_distinct_wire_names() {
            $(tests::roles_are_distinct(&$module::$preset);)*
        }
    };
}

lessons! {
    cpu_threads::CpuThreads,
    io_threads::IoThreads,
    join::Join,
    counter_race::CounterRace,
    thread_pool_map::ThreadPoolMap,
    convoy_effect::ConvoyEffect,
    gil_flavours::GilFlavours,
    cpu_processes::CpuProcesses,
    shared_value::SharedValuePreset,
    queue_producer_consumer::QueueProducerConsumer,
    queue_qsize_unreliable::QueueQsizeUnreliable,
    process_pool_map::ProcessPoolMap,
    apply_async::ApplyAsync,
    queue_vs_shared_memory::QueueVsSharedMemory,
    return_values::ReturnValues,
}

pub fn all() -> &'static [&'static dyn Preset] {
    ALL
}

/// The lesson called `name` (the engine's [`crate::engine::Registry`]).
pub fn find(name: &str) -> Option<&'static dyn Preset> {
    ALL.iter().copied().find(|p| p.name() == name)
}

/// Every preset's description (computed once).
pub fn infos() -> Vec<PresetInfo> {
    static INFOS: OnceLock<Vec<PresetInfo>> = OnceLock::new();
    INFOS
        .get_or_init(|| ALL.iter().map(|p| p.info()).collect())
        .clone()
}

/// Validates `spec` against the registry: the preset it names and its knobs, every one
/// present and within bounds. This is where a spec is validated, once.
pub fn resolve(spec: &ExperimentSpec) -> Result<(&'static dyn Preset, Knobs), SpecError> {
    resolve_in(ALL, &infos(), spec)
}

/// [`resolve`] against another list of presets (`infos` are theirs, in the same order).
pub fn resolve_in(
    presets: &[&'static dyn Preset],
    infos: &[PresetInfo],
    spec: &ExperimentSpec,
) -> Result<(&'static dyn Preset, Knobs), SpecError> {
    let info = find_preset(infos, &spec.preset)?;
    let knobs = info.resolve(&spec.knobs)?;
    let preset = presets
        .iter()
        .copied()
        .find(|p| p.name() == spec.preset)
        .expect("every listed preset has a description");
    Ok((preset, knobs))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use gilscope_shared::spec::{KnobKind, KnobValue};

    use super::harness::{typed_knobs, Program};
    use super::role::Role;
    use super::Preset;

    /// `P`'s knobs struct types its defaults and its small knobs: a field the lesson's knob
    /// list lacks (or types differently) fails here, not at a student's run.
    pub fn knobs_struct_fits<P: Program>(lesson: &P) {
        let info = Preset::info(lesson);
        let small = P::LESSON
            .small
            .iter()
            .map(|(k, v)| (k.to_string(), KnobValue::Text(v.to_string())))
            .collect();
        for given in [BTreeMap::new(), small] {
            let knobs = info
                .resolve(&given)
                .expect("the lesson's own knobs are valid");
            if let Err(e) = typed_knobs::<P>(&knobs) {
                panic!("{e} (given {given:?})");
            }
        }
    }

    pub fn roles_are_distinct<P: Program>(_: &P) {
        let mut wires: Vec<&str> = P::Role::ALL.iter().map(|r| r.wire()).collect();
        wires.sort_unstable();
        let before = wires.len();
        wires.dedup();
        let name = P::LESSON.name;
        assert_eq!(before, wires.len(), "{name}: two roles share a wire name");
    }

    /// A knob's kind and bounds, without its default (which each lesson chooses).
    fn bounds(kind: &KnobKind) -> String {
        match kind {
            KnobKind::Int { min, max, .. } => format!("int {min}..={max}"),
            KnobKind::Float { min, max, .. } => format!("float {min}..={max}"),
            KnobKind::Bool { .. } => "bool".to_string(),
            KnobKind::Choice { options, .. } => format!("one of {options:?}"),
        }
    }

    #[test]
    fn knobs_with_the_same_name_have_the_same_bounds_in_every_lesson() {
        let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
        for info in super::infos() {
            for knob in &info.knobs {
                let here = bounds(&knob.kind);
                match seen.get(&knob.name) {
                    Some((first, there)) => assert_eq!(
                        &here, there,
                        "knob {} is {here} in {} but {there} in {first}",
                        knob.name, info.name
                    ),
                    None => {
                        seen.insert(knob.name.clone(), (info.name.clone(), here));
                    }
                }
            }
        }
    }

    #[test]
    fn lesson_names_are_unique() {
        let mut names: Vec<&str> = super::ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "two lessons share a name");
    }
}
