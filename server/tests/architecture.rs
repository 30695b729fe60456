//! The server's module structure, checked from its source: dependencies go one way.
//!
//! - The engine is a library: nothing under `src/engine/` names a module outside it (not the
//!   presets, not the run manager, not the HTTP edge).
//! - No import loop between the crate's top-level modules (the crate root counts as a module
//!   for the items it defines, such as `AppState`).
//! - The engine's layers — os, interpreter, threading, multiprocessing, running — each use
//!   only the layers before them.
//!
//! A reference is any `crate::NAME` path (also inside `use crate::{..}` groups) and, in a
//! top-level module's own file, `super::NAME`. Comments and string literals are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate root's name in the graph.
const ROOT: &str = "(crate root)";

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/engine/run.rs` -> `engine`; `src/api.rs` -> `api`; `src/lib.rs` -> the root.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => ROOT.to_string(),
        Some(stem) => stem.to_string(),
        None => first,
    }
}

/// The code without comments and without the contents of string and char literals.
fn strip(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            'r' if matches!(chars.peek(), Some('#') | Some('"')) => {
                // A raw string: r#"..."#, with any number of hashes.
                let mut hashes = 0;
                while chars.peek() == Some(&'#') {
                    chars.next();
                    hashes += 1;
                }
                if chars.peek() != Some(&'"') {
                    out.push('r');
                    continue;
                }
                chars.next();
                let closing: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let mut body = String::new();
                for c in chars.by_ref() {
                    body.push(c);
                    if body.ends_with(&closing) {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            '\'' => {
                // A char literal ('x', '\n', '\'') or a lifetime ('a): skip only the former.
                let rest: String = chars.clone().take(3).collect();
                let is_char = rest.starts_with('\\') || rest.chars().nth(1) == Some('\'');
                if is_char {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        if escaped {
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == '\'' {
                            break;
                        }
                    }
                    out.push_str("' '");
                } else {
                    out.push('\'');
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of every `PREFIX::` path in `code` (`crate::` or `super::`),
/// looking inside `{..}` groups.
fn references(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // `foo_crate::`, `a::super::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut start_of_item = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => start_of_item = true,
                    c if c.is_whitespace() => {}
                    _ if start_of_item && depth == 1 => {
                        let name = ident_at(&group[i..]);
                        if !name.is_empty() {
                            found.insert(name.to_string());
                        }
                        start_of_item = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident_at(rest);
            if !name.is_empty() {
                found.insert(name.to_string());
            }
        }
    }
    found
}

/// Whether `code` has a path starting with `name::` (not `other_name::` nor `a::name::`).
fn mentions_path(code: &str, name: &str) -> bool {
    let needle = format!("{name}::");
    code.match_indices(&needle).any(|(at, _)| {
        !code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

/// Top-level module -> the top-level modules it refers to (itself excluded).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    // `main.rs` is the binary, a crate of its own that uses this one.
    files.retain(|f| f != &src.join("main.rs"));
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| top_module(&src, f))
        .filter(|m| m != ROOT)
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = top_module(&src, file);
        let code = strip(&std::fs::read_to_string(file).expect("a readable source file"));
        let depth = file
            .strip_prefix(&src)
            .expect("under src")
            .components()
            .count();
        // The top-level module's own file: `src/x.rs` or `src/x/mod.rs` (a deeper `mod.rs`
        // is a submodule, whose `super::` is its parent, not the root).
        let own_file =
            depth == 1 || (depth == 2 && file.file_name().is_some_and(|n| n == "mod.rs"));
        let mut names = references(&code, "crate::");
        if own_file && module != ROOT {
            // `super::` means the crate root only in the file's own top-level `use`s (inside
            // a nested `mod tests` it means the file's module).
            let top_level_uses: String = code
                .lines()
                .filter(|l| l.starts_with("use super::") || l.starts_with("pub use super::"))
                .collect::<Vec<_>>()
                .join("\n");
            names.extend(references(&top_level_uses, "super::"));
        }
        if module == ROOT {
            // The root names its modules without `crate::` (`api::create`).
            for name in &modules {
                if mentions_path(&code, name) {
                    names.insert(name.clone());
                }
            }
        }
        let edges = graph.entry(module.clone()).or_default();
        for name in names {
            let target = if modules.contains(&name) {
                name
            } else {
                ROOT.to_string()
            };
            if target != module {
                edges.insert(target);
            }
        }
    }
    graph
}

/// One cycle of `graph`, if any, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|n| n == next).expect("on the path");
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, path) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn the_engine_depends_on_nothing_else_in_the_server() {
    let graph = graph();
    let outside = &graph["engine"];
    assert!(
        outside.is_empty(),
        "src/engine/ refers to {outside:?}: the engine is a library; presets and the \
         application depend on it, never the reverse"
    );
}

#[test]
fn no_import_loop_between_the_servers_modules() {
    let graph = graph();
    // The root declares every module; that is not an import.
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import loop: {} (whole graph: {graph:#?})",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_checker_sees_references_and_loops() {
    let code = strip(
        "use crate::{engine::{self, Preset}, runs};\n// crate::api in a comment\n\
         let s = \"crate::ws\"; let c = '\"'; let t = crate::frames::X;\nfn f<'a>() {}",
    );
    let found = references(&code, "crate::");
    let expected: BTreeSet<String> = ["engine", "runs", "frames"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, expected);
    let mut looped: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    looped.entry("a".into()).or_default().insert("b".into());
    looped.entry("b".into()).or_default().insert("a".into());
    assert!(find_cycle(&looped).is_some());
    looped.get_mut("b").expect("b").clear();
    assert!(find_cycle(&looped).is_none());
}

/// The engine's layers, lowest first (`os` is one file: the system calls).
const LAYERS: [&str; 5] = [
    "os",
    "interpreter",
    "threading",
    "multiprocessing",
    "running",
];

#[test]
fn each_engine_layer_uses_only_the_layers_before_it() {
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut files = Vec::new();
    source_files(&engine, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&engine).expect("under src/engine");
        let Some(layer) = LAYERS.iter().position(|l| rel.starts_with(l)) else {
            continue; // engine/mod.rs: the facade re-exports from every layer
        };
        let code = strip(&std::fs::read_to_string(&file).expect("a readable source file"));
        for name in references(&code, "crate::engine::") {
            if let Some(used) = LAYERS.iter().position(|l| *l == name) {
                if used > layer {
                    wrong.push(format!("{} uses {name}", rel.display()));
                }
            } else {
                wrong.push(format!(
                    "{} uses engine::{name}, which is no layer",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "upward dependencies in the engine: {wrong:#?}"
    );
}
