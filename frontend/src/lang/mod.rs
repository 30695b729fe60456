//! The dashboard's two languages. Every sentence it shows comes from `frontend/locales/en.json`
//! or `zh.json`: `tr!(locale, ui.run)` says the message `ui.run` (a key checked at compile
//! time, [`texts`]); a message with numbers holds `{name}` places that [`fill`] fills. The
//! browser fetches only the language it shows ([`texts::load`]). The language: `?lang=en|zh`,
//! else the browser's first of the two in `navigator.languages`, else English; the header's
//! switch changes it. The dashboard keeps the language in a signal of its own.

pub mod cards;
pub mod catalogue;
pub mod comments;
pub mod findings;
pub mod knob;
pub mod texts;

pub use texts::{keys, text, Key};

/// A language of the dashboard, named as its catalogue file.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Locale {
    #[default]
    en,
    zh,
}

/// The message a key names, in a language: `tr!(locale, ui.run)` is
/// `text(locale, keys::ui::run)`.
macro_rules! tr {
    ($locale:expr, $($key:ident).+) => {
        $crate::lang::text($locale, $crate::lang::keys::$($key)::+)
    };
}
pub(crate) use tr;

/// `{name}` in `template` replaced by each value; the places the catalogue's messages hold.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The language a `?lang=` value names (`zh`, `zh-CN`, `en-GB`, ...).
pub fn parse(tag: &str) -> Option<Locale> {
    let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
    match primary.as_str() {
        "en" => Some(Locale::en),
        "zh" => Some(Locale::zh),
        _ => None,
    }
}

/// The browser's language: the first of `navigator.languages` we speak, else English.
pub fn browser() -> Locale {
    let Some(window) = web_sys::window() else {
        return Locale::en;
    };
    window
        .navigator()
        .languages()
        .iter()
        .filter_map(|tag| tag.as_string())
        .find_map(|tag| parse(&tag))
        .unwrap_or(Locale::en)
}

/// The `lang` of a URL's query (`?lesson=...&lang=zh`).
pub fn from_query(query: &str) -> Option<Locale> {
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(parse)
}

/// The query's code for a language (`en`, `zh`).
pub fn code(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "en",
        Locale::zh => "zh",
    }
}

#[cfg(test)]
mod tests;
