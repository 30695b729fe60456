//! Decoding untrusted JSON and MessagePack into the protocol's types, naming the field at
//! fault: `{"knobs":{"threads":null}}` is wrong in `threads`, `{"knob":{}}` in `knob`.
//! Quoted input is clipped ([`crate::clip`]).

use serde::de::DeserializeOwned;
use serde_path_to_error::{Path, Segment};

use crate::clip::echo;

/// Why untrusted input could not be decoded: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    /// The innermost named field at fault (a knob, `preset`, `knobs`, an unknown field);
    /// None when the input as a whole is wrong (not JSON, not an object, cut short).
    pub field: Option<String>,
    /// What is wrong, as the decoder says it.
    pub message: String,
    /// The named fields from the outside in (`["spec", "knobs", "threads"]`).
    pub path: Vec<String>,
}

impl InputError {
    fn new<E: std::fmt::Display>(error: &E, path: Option<&Path>) -> Self {
        let path: Vec<String> = path
            .map(|path| {
                path.iter()
                    .filter_map(|segment| match segment {
                        Segment::Map { key } => Some(echo(key).into_owned()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        InputError {
            field: path.last().cloned(),
            message: echo_all(&error.to_string()),
            path,
        }
    }
}

/// A decoder's message quotes the input (`unknown field `…``, `invalid type: string "…"`):
/// clip each quoted part, and the whole.
fn echo_all(message: &str) -> String {
    const WHOLE: usize = 4 * crate::clip::ECHO_CHARS;
    let mut out = String::new();
    for (n, part) in message.split('`').enumerate() {
        if n > 0 {
            out.push('`');
        }
        out.push_str(&echo(part));
    }
    crate::clip::clip(&out, WHOLE).into_owned()
}

/// Decodes one JSON document (nothing may follow it). Broken JSON (cut short, bad syntax) is
/// wrong as a whole, whatever the decoder was reading; a value of the wrong kind is wrong
/// where it is.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InputError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let at = err.inner().is_data().then(|| err.path());
        InputError::new(err.inner(), at)
    })?;
    de.end().map_err(|err| InputError::new(&err, None))?;
    Ok(value)
}

/// Decodes one MessagePack value.
pub fn from_msgpack<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InputError> {
    use rmp_serde::decode::Error;
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let broken = matches!(
            err.inner(),
            Error::InvalidMarkerRead(_) | Error::InvalidDataRead(_) | Error::DepthLimitExceeded
        );
        InputError::new(err.inner(), (!broken).then(|| err.path()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ExperimentSpec;

    fn field(json: &str) -> Option<String> {
        from_json::<ExperimentSpec>(json.as_bytes())
            .unwrap_err()
            .field
    }

    #[test]
    fn errors_name_the_innermost_field() {
        assert_eq!(
            field(r#"{"preset":"x","knobs":{"threads":null}}"#).as_deref(),
            Some("threads")
        );
        assert_eq!(
            field(r#"{"preset":"x","knobs":{"gil":[1]}}"#).as_deref(),
            Some("gil")
        );
        assert_eq!(
            field(r#"{"preset":"x","knobs":{"lock":{}}}"#).as_deref(),
            Some("lock")
        );
        assert_eq!(
            field(r#"{"preset":"x","knobs":[]}"#).as_deref(),
            Some("knobs")
        );
        assert_eq!(field(r#"{"preset":5}"#).as_deref(), Some("preset"));
        assert_eq!(
            field(r#"{"preset":"x","knob":{}}"#).as_deref(),
            Some("knob")
        );
        assert_eq!(
            field(r#"{"preset":"x","knobs":{"threads":1,"threads":2}}"#).as_deref(),
            Some("threads")
        );
        assert_eq!(field(r#"{"preset":"#), None);
        assert_eq!(field(r#"[1]"#), None);
        assert_eq!(field(r#"{"preset":"x"} trailing"#), None);
    }

    #[test]
    fn quoted_input_is_clipped() {
        let name = "k".repeat(100_000);
        let json = format!(r#"{{"preset":"x","{name}":1}}"#);
        let err = from_json::<ExperimentSpec>(json.as_bytes()).unwrap_err();
        assert!(err.message.len() < 1_000, "{}", err.message.len());
        assert!(err.field.unwrap().ends_with('…'));
    }
}
