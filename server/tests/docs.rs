//! The docs and the comments point only at things the repository has.
//!
//! A clone of the repository is all a reader gets, so:
//!
//! - every repository path named in `README.md`, `docs/*.md`, and the comments of the
//!   `.rs`, `.toml`, `.css` and `.html` files under `server/`, `shared/`, `frontend/`,
//!   `static/` and `xtask/` must exist;
//! - nothing may point at the developers' notes that live beside the checkout (the strings in
//!   [`OUTSIDE`]): what the code relies on from them is restated in `docs/`.
//!
//! What counts as a path:
//!
//! - a token that starts with a top-level folder of the repository ([`TOP_DIRS`], e.g.
//!   `server/src/guard.rs`, `docs/`), resolved from the repository root. A glob or brace
//!   (`server/tests/engine_*`, `shared/src/{a,b}.rs`) is checked up to its folder;
//! - a root file named alone ([`ROOT_FILES`], e.g. `Cargo.toml`): it must exist in the
//!   mentioning file's folder or at the root;
//! - a markdown link target (`[engine](engine.md)`), resolved from the mentioning file's
//!   folder as a markdown viewer does; web addresses and `#anchors` are skipped;
//! - in markdown, a backticked bare `NAME.md`: in the file's folder or at the root.
//!
//! Other bare file names (`gil.rs`, `style.css`) name files by their context and are not
//! checked. In code only comments are read (string literals hold data, not references).

use std::path::{Component, Path, PathBuf};

/// Top-level folders: a token starting with one of these is a path from the root.
const TOP_DIRS: &[&str] = &[
    "server/",
    "shared/",
    "frontend/",
    "static/",
    "docs/",
    "xtask/",
    ".ci/",
];

/// Files at the root that are often named on their own.
const ROOT_FILES: &[&str] = &[
    "README.md",
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain.toml",
];

/// Folders whose code files are scanned (their comments), besides `README.md` and `docs/`.
const CODE_DIRS: &[&str] = &["server", "shared", "frontend", "static", "xtask"];

/// Extensions of the code files scanned.
const CODE_EXTS: &[&str] = &["rs", "toml", "css", "html"];

/// Names of material outside the repository, which a clone does not have. Only this file may
/// name them (to forbid them).
const OUTSIDE: &[&str] = &[
    "../shared",
    "shared/notes",
    "shared/seed",
    "notes/visual-design.md",
    "LESSONS.md",
    "DESIGN.md",
    "cpython-gil.md",
    "build-and-browser.md",
    "observing-real-cpython.md",
];

/// This file, relative to the root: the one place allowed to name [`OUTSIDE`].
const THIS_FILE: &str = "server/tests/docs.rs";

/// How a mentioned path is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    /// From the repository root.
    Root,
    /// From the mentioning file's folder.
    Folder,
    /// From the mentioning file's folder, or else from the root.
    FolderOrRoot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Mention {
    line: usize,
    path: String,
    base: Base,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the server crate sits in the workspace root")
        .to_path_buf()
}

/// `README.md`, `docs/*.md` and every code file under [`CODE_DIRS`] (not `target/`), relative
/// to `root`, sorted.
fn scanned_files(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            return;
        };
        for entry in entries {
            let entry = entry.expect("a directory entry");
            let name = entry.file_name();
            let rel = dir.join(&name);
            let file_type = entry.file_type().expect("a file type");
            if file_type.is_dir() {
                if name != "target" && !name.to_string_lossy().starts_with('.') {
                    walk(root, &rel, exts, out);
                }
            } else if rel
                .extension()
                .is_some_and(|e| exts.iter().any(|x| e == *x))
            {
                out.push(rel);
            }
        }
    }
    let mut files = vec![PathBuf::from("README.md")];
    walk(root, Path::new("docs"), &["md"], &mut files);
    for dir in CODE_DIRS {
        walk(root, Path::new(dir), CODE_EXTS, &mut files);
    }
    files.sort();
    files
}

/// The text that may mention paths: all of a markdown file; only the comments of a code
/// file. Everything else is blanked to spaces, newlines kept, so line numbers still hold.
fn readable_text(file: &Path, text: &str) -> String {
    match file.extension().and_then(|e| e.to_str()) {
        Some("md") => text.to_string(),
        Some("rs") => rust_comments(text),
        Some("css") => delimited_comments(text, "/*", "*/"),
        Some("html") => delimited_comments(text, "<!--", "-->"),
        Some("toml") => toml_comments(text),
        _ => blank(text),
    }
}

fn blank(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect()
}

/// Keeps `//` and (nested) `/* */` comments of Rust code; blanks code, string, raw string and
/// char literals.
fn rust_comments(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out: Vec<char> = chars
        .iter()
        .map(|&c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                out[i] = chars[i];
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out[i] = '/';
                    out[i + 1] = '*';
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out[i] = '*';
                    out[i + 1] = '/';
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out[i] = chars[i];
                    i += 1;
                }
            }
        } else if c == 'r' && (at(i + 1) == '"' || at(i + 1) == '#') && !ident_char(prev(&chars, i))
        {
            // A raw string: r"..." or r#"..."#, with any number of #.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < chars.len() {
                if chars[j] == '"' && (0..hashes).all(|k| at(j + 1 + k) == '#') {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '"') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out.into_iter().collect()
}

fn prev(chars: &[char], i: usize) -> char {
    if i == 0 {
        '\0'
    } else {
        chars[i - 1]
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Keeps what lies between `open` and `close` (CSS and HTML comments).
fn delimited_comments(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&blank(&rest[..start]));
        let after = &rest[start..];
        let end = after.find(close).map_or(after.len(), |e| e + close.len());
        out.push_str(&after[..end]);
        rest = &after[end..];
    }
    out.push_str(&blank(rest));
    out
}

/// Keeps `#` comments of TOML, outside quoted strings.
fn toml_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut quote = None;
        let mut comment_at = None;
        for (i, c) in line.char_indices() {
            match (quote, c) {
                (None, '#') => {
                    comment_at = Some(i);
                    break;
                }
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), _) if c == q => quote = None,
                _ => {}
            }
        }
        match comment_at {
            Some(i) => {
                out.push_str(&blank(&line[..i]));
                out.push_str(&line[i..]);
            }
            None => out.push_str(&blank(line)),
        }
    }
    out
}

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Characters that, right before a top-level folder's name, make it part of something else
/// (`../shared`, `gilscope-shared/`, `$OUT_DIR/bundle`, `crate::...`, a web address).
fn glued(c: char) -> bool {
    path_char(c) || matches!(c, '$' | ':' | '~' | '@')
}

/// The paths `text` (already reduced by [`readable_text`]) mentions; `markdown` adds link
/// targets and backticked `NAME.md`.
fn mentions(text: &str, markdown: bool) -> Vec<Mention> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for (k, &(i, c)) in chars.iter().enumerate() {
            let before = if k == 0 { '\0' } else { chars[k - 1].1 };
            // A folder's or a root file's name must start a token of its own.
            let free = !glued(before);
            let rest = &line[i..];
            if free && TOP_DIRS.iter().any(|d| rest.starts_with(d)) {
                let len = rest.find(|c: char| !path_char(c)).unwrap_or(rest.len());
                let mut path = &rest[..len];
                // A glob or brace: check the folder it is in.
                if matches!(rest[len..].chars().next(), Some('*' | '{' | '<')) {
                    path = &path[..path.rfind('/').map_or(0, |p| p + 1)];
                }
                let path = path.trim_end_matches(['.', ',', ':', ';']);
                found.push(Mention {
                    line: line_no,
                    path: path.to_string(),
                    base: Base::Root,
                });
            } else if let Some(name) = ROOT_FILES.iter().find(|f| free && rest.starts_with(*f)) {
                let after = rest[name.len()..].chars().next().unwrap_or(' ');
                // `Cargo.toml` but not `Cargo.tomlx`; a sentence's full stop is fine.
                if !path_char(after)
                    || (after == '.'
                        && !rest[name.len() + 1..].starts_with(|c: char| c.is_ascii_alphanumeric()))
                {
                    found.push(Mention {
                        line: line_no,
                        path: name.to_string(),
                        base: Base::FolderOrRoot,
                    });
                }
            } else if markdown && c == ']' && rest.starts_with("](") {
                let target = &rest[2..];
                let end = target.find([')', ' ']).unwrap_or(target.len());
                let target = &target[..end];
                let target = target.split('#').next().unwrap_or("");
                let external = target.contains("://") || target.starts_with("mailto:");
                if !target.is_empty() && !external && !target.contains("::") {
                    found.push(Mention {
                        line: line_no,
                        path: target.to_string(),
                        base: Base::Folder,
                    });
                }
            } else if markdown && c == '`' {
                let inner = &rest[1..];
                if let Some(end) = inner.find('`') {
                    let token = &inner[..end];
                    if token.ends_with(".md")
                        && !token.contains('/')
                        && token.chars().all(path_char)
                        && !ROOT_FILES.contains(&token)
                    {
                        found.push(Mention {
                            line: line_no,
                            path: token.to_string(),
                            base: Base::FolderOrRoot,
                        });
                    }
                }
            }
        }
    }
    found
}

/// `a/b/../c` -> `a/c`; `None` when it climbs out of the root.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Whether `mention`, found in `file` (relative to `root`), names something that exists.
fn exists(root: &Path, file: &Path, mention: &Mention) -> bool {
    let folder = file.parent().unwrap_or(Path::new(""));
    let candidates: Vec<PathBuf> = match mention.base {
        Base::Root => vec![PathBuf::from(&mention.path)],
        Base::Folder => vec![folder.join(&mention.path)],
        Base::FolderOrRoot => vec![folder.join(&mention.path), PathBuf::from(&mention.path)],
    };
    candidates
        .iter()
        .filter_map(|c| normalise(c))
        .any(|c| root.join(c).exists())
}

/// Every problem of one file: missing paths and names of material outside the repository.
fn problems(root: &Path, file: &Path, text: &str) -> Vec<String> {
    let shown = file.display();
    let mut out = Vec::new();
    let markdown = file.extension().is_some_and(|e| e == "md");
    for m in mentions(&readable_text(file, text), markdown) {
        if !exists(root, file, &m) {
            out.push(format!(
                "{shown}:{}: `{}` does not exist in the repository",
                m.line, m.path
            ));
        }
    }
    if file != Path::new(THIS_FILE) {
        for (n, line) in text.lines().enumerate() {
            for name in OUTSIDE.iter().filter(|name| line.contains(*name)) {
                out.push(format!(
                    "{shown}:{}: names `{name}`, which is outside the repository; point at docs/ instead",
                    n + 1
                ));
            }
        }
    }
    out
}

#[test]
fn every_path_named_in_docs_and_comments_exists() {
    let root = root();
    let files = scanned_files(&root);
    assert!(
        files.len() > 50 && files.iter().any(|f| f.starts_with("docs")),
        "the scan found too few files: {files:?}"
    );
    let mut all = Vec::new();
    let mut count = 0;
    for file in &files {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let markdown = file.extension().is_some_and(|e| e == "md");
        count += mentions(&readable_text(file, &text), markdown).len();
        all.extend(problems(&root, file, &text));
    }
    assert!(
        count > 100,
        "only {count} paths found in {} files: is the extractor broken?",
        files.len()
    );
    assert!(
        all.is_empty(),
        "{} problem(s) in the docs and comments:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn the_extractor_reports_a_path_that_does_not_exist() {
    let root = root();
    let md = "See `server/src/no_such_file.rs` and [the engine](engine.md#the-gil), \
              [gone](gone.md), server/tests/docs.rs, `shared/src/{trace,spec}.rs`,\n\
              `xtask/` and https://example.com/server/x.rs and `Cargo.toml`.\n";
    let found = mentions(md, true);
    let paths: Vec<&str> = found.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "server/src/no_such_file.rs",
            "engine.md",
            "gone.md",
            "server/tests/docs.rs",
            "shared/src/",
            "xtask/",
            "Cargo.toml"
        ]
    );
    let reported = problems(&root, Path::new("docs/example.md"), md);
    assert_eq!(reported.len(), 2, "{reported:#?}");
    assert!(reported[0].contains("docs/example.md:1: `server/src/no_such_file.rs`"));
    assert!(reported[1].contains("`gone.md`"));

    // In code only comments count: the string literal's path is data.
    let rs = "let p = \"docs/no_such.md\"; // see docs/missing.md\n\
              let c = '\"'; /* static/gone.css */ let r = r#\"server/x.rs\"#;\n";
    let found = mentions(&readable_text(Path::new("server/src/x.rs"), rs), false);
    let paths: Vec<&str> = found.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["docs/missing.md", "static/gone.css"]);
    let toml = "a = \"docs/no.md\" # docs/also-no.md\n";
    let found = mentions(&readable_text(Path::new("x/Cargo.toml"), toml), false);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path, "docs/also-no.md");

    // Material beside the checkout is refused by name, wherever it appears.
    let outside = "//! see ../shared/notes/x.md\n";
    let reported = problems(&root, Path::new("server/src/x.rs"), outside);
    assert!(
        reported
            .iter()
            .any(|p| p.contains("outside the repository")),
        "{reported:#?}"
    );
}
