//! The lesson's Python with its comments in the chosen language: the code stays Python, each
//! `# comment` of the template is replaced, in order, by the catalogue's.

use super::{catalogue, Locale};

/// Where a line's comment starts: the first `#` outside a string literal.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return Some(i),
            (None, _) => {}
        }
    }
    None
}

/// `template` with its comments in `locale`'s words (`{knob}` places back to the template's
/// `{{knob}}`). Unchanged when the catalogue has not as many comments as the template.
pub fn localize(locale: Locale, lesson: &str, template: &str) -> String {
    let words = catalogue::comments(locale, lesson);
    let found = template
        .lines()
        .filter(|l| comment_start(l).is_some_and(|at| l[at..].starts_with("# ")))
        .count();
    if found != words.len() {
        return template.to_string();
    }
    let mut words = words.into_iter();
    let mut out = String::with_capacity(template.len());
    for line in template.split_inclusive('\n') {
        match comment_start(line).filter(|at| line[*at..].starts_with("# ")) {
            Some(at) => {
                let text = words.next().unwrap_or_default();
                let text = text.replace('{', "{{").replace('}', "}}");
                out.push_str(&line[..at]);
                out.push_str("# ");
                out.push_str(&text);
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_found_outside_strings() {
        assert_eq!(comment_start("x = 1  # one"), Some(7));
        assert_eq!(comment_start("s = '# no'  # yes"), Some(12));
        assert_eq!(comment_start(r##"s = "a\"#b""##), None);
        assert_eq!(comment_start("print(f\"{x}\")"), None);
    }

    #[test]
    fn a_template_keeps_its_code_and_places() {
        let template = "THREADS = {{threads}}  # per thread\nx = '#'\n";
        assert_eq!(localize(Locale::zh, "no-such-lesson", template), template);
    }
}
