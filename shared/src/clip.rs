//! Untrusted text quoted back (in error answers and logs) at a bounded length: a 1 MB knob
//! name must not make a 1 MB error, nor an 8 KB header an 8 KB log line.

use std::borrow::Cow;

/// Characters of untrusted input an error message quotes at most.
pub const ECHO_CHARS: usize = 200;

/// `text` cut to at most `max` characters, `…` marking the cut.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// [`clip`] at [`ECHO_CHARS`]: for input quoted in a message.
pub fn echo(text: &str) -> Cow<'_, str> {
    clip(text, ECHO_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_on_a_char_boundary() {
        assert_eq!(clip("threads", 200), "threads");
        assert_eq!(clip("abcdef", 6), "abcdef");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("ééééé", 2), "éé…");
        assert_eq!(echo(&"x".repeat(1_000_000)).chars().count(), ECHO_CHARS + 1);
    }
}
