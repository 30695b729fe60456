//! A tiny Python highlighter for the code panel: keywords, built-ins, strings, comments and
//! numbers. Enough for the presets' short, plain programs; not a Python lexer.

/// What a piece of source is, which is also its CSS class (`tok-kw`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Plain,
    Keyword,
    Builtin,
    Str,
    Comment,
    Number,
}

impl Tok {
    pub fn class(self) -> &'static str {
        match self {
            Tok::Plain => "",
            Tok::Keyword => "tok-kw",
            Tok::Builtin => "tok-bi",
            Tok::Str => "tok-str",
            Tok::Comment => "tok-com",
            Tok::Number => "tok-num",
        }
    }
}

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

const BUILTINS: &[&str] = &[
    "print",
    "range",
    "len",
    "list",
    "sum",
    "int",
    "str",
    "sorted",
    "enumerate",
    "map",
    "zip",
    "self",
    "__name__",
];

/// Splits `src` into pieces, each with its kind; concatenated they give `src` back.
pub fn highlight<'a>(src: &'a str) -> Vec<(Tok, &'a str)> {
    let mut out: Vec<(Tok, &str)> = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut plain = 0;
    let push = |out: &mut Vec<(Tok, &'a str)>, plain: &mut usize, start: usize, end: usize, tok| {
        if *plain < start {
            out.push((Tok::Plain, &src[*plain..start]));
        }
        out.push((tok, &src[start..end]));
        *plain = end;
    };
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c == b'#' {
            i = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
            push(&mut out, &mut plain, start, i, Tok::Comment);
        } else if c == b'"' || c == b'\'' {
            let triple = src[i..].starts_with(if c == b'"' { "\"\"\"" } else { "'''" });
            let quote = if triple { 3 } else { 1 };
            i += quote;
            let close = &src[start..start + quote];
            while i < bytes.len() {
                if src[i..].starts_with(close) {
                    i += quote;
                    break;
                }
                if bytes[i] == b'\n' && !triple {
                    break;
                }
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += src[i.min(bytes.len())..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
            }
            i = i.min(bytes.len());
            push(&mut out, &mut plain, start, i, Tok::Str);
        } else if c.is_ascii_digit() && (i == 0 || !is_ident(bytes[i - 1])) {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            push(&mut out, &mut plain, start, i, Tok::Number);
        } else if is_ident(c) {
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            let word = &src[start..i];
            // String prefixes: f"...", r'...'.
            if i < bytes.len()
                && (bytes[i] == b'"' || bytes[i] == b'\'')
                && word.len() <= 2
                && word.chars().all(|ch| "fFrRbBuU".contains(ch))
            {
                i = start + word.len();
                let rest = highlight(&src[i..]);
                if let Some((Tok::Str, s)) = rest.first() {
                    i += s.len();
                    push(&mut out, &mut plain, start, i, Tok::Str);
                    continue;
                }
            }
            let prev_dot = start > 0 && bytes[start - 1] == b'.';
            if KEYWORDS.contains(&word) {
                push(&mut out, &mut plain, start, i, Tok::Keyword);
            } else if BUILTINS.contains(&word) && !prev_dot {
                push(&mut out, &mut plain, start, i, Tok::Builtin);
            }
        } else {
            // Skip a whole UTF-8 character.
            i += src[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if plain < src.len() {
        out.push((Tok::Plain, &src[plain..]));
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Tok, &str)> {
        highlight(src)
            .into_iter()
            .filter(|(t, _)| *t != Tok::Plain)
            .collect()
    }

    #[test]
    fn pieces_give_the_source_back() {
        let src = "from threading import Thread\n\ndef count(n):  # busy\n    while n > 0:\n        n -= 1\nt = Thread(target=count, args=(10_000,))\nprint(f\"done {t}\", 'x\\'y', \"\"\"doc\nstring\"\"\")\n# ünïcode\n";
        let joined: String = highlight(src).iter().map(|(_, s)| *s).collect();
        assert_eq!(joined, src);
    }

    #[test]
    fn keywords_strings_comments_numbers() {
        assert_eq!(
            kinds("def f(n):  # loop\n    return n + 1.5"),
            [
                (Tok::Keyword, "def"),
                (Tok::Comment, "# loop"),
                (Tok::Keyword, "return"),
                (Tok::Number, "1.5"),
            ]
        );
        assert_eq!(kinds("x = 'a#b'"), [(Tok::Str, "'a#b'")]);
        assert_eq!(
            kinds("print(f\"{x}\")"),
            [(Tok::Builtin, "print"), (Tok::Str, "f\"{x}\"")]
        );
        assert_eq!(kinds("thread1 = q.print"), []);
        assert_eq!(kinds("s = '''a\nb'''"), [(Tok::Str, "'''a\nb'''")]);
        assert_eq!(kinds("s = 'unterminated\nx"), [(Tok::Str, "'unterminated")]);
    }
}
