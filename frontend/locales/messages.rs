//! A catalogue file's messages in the one order both build scripts use: the frontend's
//! (`frontend/build.rs`: a `Key` per message, its index in this order) and the server's
//! (`server/build.rs`: `lang/<code>.txt`, the texts one per line in this order, which the
//! dashboard fetches). Included by both with `#[path]`; not part of any crate's code.

/// Every message of a catalogue (`{"ui": {"run": "Run ▶"}}`) as (dotted key, text), sorted by
/// key. Fails on anything but objects of texts, and on a text holding a line break (the
/// served form is one text per line).
pub fn messages(json: &str) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    walk(&value, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(
    value: &serde_json::Value,
    prefix: &str,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                walk(value, &key, out)?;
            }
            Ok(())
        }
        serde_json::Value::String(text) if text.contains(['\n', '\r']) => {
            Err(format!("{prefix}: a message holds a line break"))
        }
        serde_json::Value::String(text) => {
            out.push((prefix.to_string(), text.clone()));
            Ok(())
        }
        other => Err(format!("{prefix}: not a message: {other}")),
    }
}

/// The served form of a catalogue: its texts, one per line, in key order.
pub fn lines(messages: &[(String, String)]) -> String {
    let texts: Vec<&str> = messages.iter().map(|(_, text)| text.as_str()).collect();
    texts.join("\n")
}
