//! The teacher's secret: random (192 bits from the OS) or chosen, compared in constant time,
//! never printed by `Debug`.

use subtle::ConstantTimeEq;

/// Bytes of a random token: 192 bits (the issue asks for at least 128), 48 hex digits.
const RANDOM_BYTES: usize = 24;
/// Characters of a chosen token at least (with base64's 6 bits each, 96 bits; a random one
/// has 48) and at most.
pub const MIN_CHARS: usize = 16;
pub const MAX_CHARS: usize = 256;

/// The teacher's token. Its `Debug` says `Token(..)`: it cannot reach a log by accident.
#[derive(Clone)]
pub struct Token(String);

/// Why a chosen token was refused, naming the flag.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error(
        "--token (or GILSCOPE_TOKEN) must be {MIN_CHARS} to {MAX_CHARS} characters of \
         A-Z a-z 0-9 - _ . ~ (it goes into a URL as it is); the one given has {len} characters{bad}"
    )]
    Invalid { len: usize, bad: &'static str },
    #[error("cannot draw a random token from the operating system: {0}")]
    Random(String),
}

impl Token {
    /// A fresh random token from the operating system's generator.
    pub fn random() -> Result<Token, TokenError> {
        let mut bytes = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// A token the teacher chose: [`MIN_CHARS`]..=[`MAX_CHARS`] URL-safe characters.
    pub fn parse(text: &str) -> Result<Token, TokenError> {
        let len = text.chars().count();
        let url_safe = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
        if !url_safe {
            return Err(TokenError::Invalid {
                len,
                bad: ", some of them not allowed",
            });
        }
        if !(MIN_CHARS..=MAX_CHARS).contains(&len) {
            return Err(TokenError::Invalid { len, bad: "" });
        }
        Ok(Token(text.to_string()))
    }

    /// Whether `offered` is this token, in time that does not depend on where they differ.
    pub fn matches(&self, offered: &str) -> bool {
        // Lengths may differ in time (a token's length is no secret worth keeping).
        self.0.as_bytes().ct_eq(offered.as_bytes()).into()
    }

    /// The token itself, for the teacher's URL printed once at start.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_long_distinct_and_hidden_from_debug() {
        let (a, b) = (Token::random().unwrap(), Token::random().unwrap());
        assert_eq!(a.reveal().len(), 2 * RANDOM_BYTES);
        const { assert!(RANDOM_BYTES * 8 >= 128) };
        assert_ne!(a.reveal(), b.reveal());
        assert!(a.matches(a.reveal()));
        assert!(!a.matches(b.reveal()));
        assert!(!a.matches(""));
        assert!(!a.matches(&a.reveal()[1..]));
        assert!(!format!("{a:?}").contains(a.reveal()));
        Token::parse(a.reveal()).unwrap();
    }

    #[test]
    fn chosen_tokens_are_checked() {
        assert!(Token::parse("correct-horse-battery").is_ok());
        for bad in [
            "short",
            "",
            "spaces are not allowed here",
            "ünïcödé-ünïcödé-x",
        ] {
            let err = Token::parse(bad).unwrap_err();
            assert!(err.to_string().contains("--token"), "{bad}: {err}");
        }
        assert!(Token::parse(&"a".repeat(MAX_CHARS)).is_ok());
        assert!(Token::parse(&"a".repeat(MAX_CHARS + 1)).is_err());
    }
}
