//! A student's edit of a lesson's code: kept in the browser's `localStorage` under one key per
//! lesson, so it survives a reload, and checked against what the server accepts
//! ([`MAX_SCRIPT_BYTES`]) before it is sent. An edit runs on CPython only.

use gilscope_shared::spec::MAX_SCRIPT_BYTES;

use crate::lang::{fill, tr, Locale};

/// The `localStorage` key of a lesson's edit.
pub fn storage_key(preset: &str) -> String {
    format!("gilscope.code.{preset}")
}

/// Why this code cannot be sent to run, if it cannot: the server's limits, said in advance.
pub fn script_error(l: Locale, code: &str) -> Option<String> {
    if code.len() > MAX_SCRIPT_BYTES {
        Some(fill(
            tr!(l, ui.too_long),
            &[
                ("n", &code.len().to_string()),
                ("max", &MAX_SCRIPT_BYTES.to_string()),
            ],
        ))
    } else if code.contains('\0') {
        Some(tr!(l, ui.nul).to_string())
    } else if code.trim().is_empty() {
        Some(tr!(l, ui.empty_code).to_string())
    } else {
        None
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The saved edit of a lesson's code, if any.
pub fn load(preset: &str) -> Option<String> {
    storage()?.get_item(&storage_key(preset)).ok()?
}

/// Saves a lesson's edit, or forgets it (`None`). A browser that refuses (storage full or
/// disabled) keeps the edit for this page only.
pub fn save(preset: &str, code: Option<&str>) {
    let Some(storage) = storage() else { return };
    let key = storage_key(preset);
    let _ = match code {
        Some(code) => storage.set_item(&key, code),
        None => storage.remove_item(&key),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_per_lesson() {
        assert_eq!(storage_key("cpu-threads"), "gilscope.code.cpu-threads");
        assert_ne!(storage_key("cpu-threads"), storage_key("io-threads"));
    }

    #[test]
    fn code_within_the_servers_limits_passes() {
        assert_eq!(script_error(Locale::en, "print('hi')"), None);
        let at_limit = "#".repeat(MAX_SCRIPT_BYTES);
        assert_eq!(script_error(Locale::en, &at_limit), None);
        let over = "#".repeat(MAX_SCRIPT_BYTES + 1);
        let err = script_error(Locale::en, &over).unwrap_or_default();
        assert!(
            err.contains("65537 bytes") && err.contains("65536"),
            "{err}"
        );
        assert!(script_error(Locale::en, "a\0b").is_some());
        assert!(script_error(Locale::en, "  \n").is_some());
    }
}
