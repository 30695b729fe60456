//! The dashboard's two languages. Every sentence it shows comes from `frontend/locales/en.json`
//! or `zh.json`, compiled in by leptos_i18n (no parser or ICU data in the wasm); a message
//! with numbers holds `{name}` places that [`fill`] fills. The language: `?lang=en|zh`, else
//! the browser's first of the two in `navigator.languages`, else English; the header's switch
//! changes it. The dashboard keeps the language in a signal of its own and calls
//! `td_string!` with it: leptos_i18n's context (cookies, locale matching) is not linked in.

pub mod cards;
pub mod catalogue;
pub mod comments;
pub mod findings;
pub mod knob;

leptos_i18n_macro::load_locales!();

pub use i18n::{td_string, Locale};

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
