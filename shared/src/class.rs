//! The teacher's shared state ([`ClassState`]) checked where it enters, like a run's spec:
//! every field within its bounds, each error naming the field.

use crate::protocol::{ClassState, Window};
use crate::spec::{find_preset, PresetInfo, SpecError, MAX_SCRIPT_BYTES};
use crate::trace::Nanos;

/// The longest time window a class may share: a day, in nanoseconds (runs are capped far
/// below it).
pub const MAX_WINDOW_NS: Nanos = 24 * 3600 * 1_000_000_000;

impl ClassState {
    /// Checks every field against `presets`: the lesson exists, its knobs are its own and
    /// within their bounds, the code is at most [`MAX_SCRIPT_BYTES`], the window is
    /// `0 <= t0 < t1 <= MAX_WINDOW_NS`.
    pub fn check(&self, presets: &[PresetInfo]) -> Result<(), SpecError> {
        let preset = find_preset(presets, &self.preset)?;
        preset.resolve(&self.knobs)?;
        if let Some(code) = &self.code {
            if code.len() > MAX_SCRIPT_BYTES {
                return Err(SpecError::new(
                    "code",
                    format!(
                        "is {} bytes; at most {MAX_SCRIPT_BYTES} bytes are shared",
                        code.len()
                    ),
                ));
            }
        }
        if let Some(Window { t0, t1 }) = self.window {
            if t0 >= t1 || t1 > MAX_WINDOW_NS {
                return Err(SpecError::new(
                    "window",
                    format!(
                        "t0 {t0} and t1 {t1} must satisfy 0 <= t0 < t1 <= {MAX_WINDOW_NS} \
                         (nanoseconds from the run's start)"
                    ),
                ));
            }
        }
        for (field, id) in [("run", self.run), ("pinned", self.pinned)] {
            if id == Some(0) {
                return Err(SpecError::new(
                    field,
                    "a run id is a whole number from 1 up",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Group, KnobDef, KnobKind, KnobValue};

    fn presets() -> Vec<PresetInfo> {
        vec![PresetInfo {
            name: "cpu-threads".into(),
            group: Group::Threads,
            claim: String::new(),
            description: String::new(),
            python: String::new(),
            python_template: String::new(),
            knobs: vec![KnobDef {
                name: "threads".into(),
                description: String::new(),
                kind: KnobKind::Int {
                    default: 4,
                    min: 1,
                    max: 64,
                },
            }],
        }]
    }

    fn class() -> ClassState {
        ClassState {
            preset: "cpu-threads".into(),
            knobs: [("threads".to_string(), KnobValue::Int(8))].into(),
            window: Some(Window { t0: 5, t1: 10 }),
            run: Some(3),
            ..Default::default()
        }
    }

    fn field(class: ClassState) -> String {
        class.check(&presets()).unwrap_err().field
    }

    #[test]
    fn a_class_within_bounds_passes() {
        class().check(&presets()).unwrap();
    }

    #[test]
    fn each_field_out_of_bounds_is_named() {
        let mut c = class();
        c.preset = "nope".into();
        assert_eq!(field(c), "preset");
        let mut c = class();
        c.knobs.insert("threads".into(), KnobValue::Int(65));
        assert_eq!(field(c), "threads");
        let mut c = class();
        c.knobs.insert("thread".into(), KnobValue::Int(2));
        assert_eq!(field(c), "thread");
        let mut c = class();
        c.code = Some("x".repeat(MAX_SCRIPT_BYTES + 1));
        assert_eq!(field(c), "code");
        for (t0, t1) in [(10, 10), (11, 10), (0, MAX_WINDOW_NS + 1)] {
            let mut c = class();
            c.window = Some(Window { t0, t1 });
            assert_eq!(field(c), "window", "{t0} {t1}");
        }
        let mut c = class();
        c.pinned = Some(0);
        assert_eq!(field(c), "pinned");
    }
}
