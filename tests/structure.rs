//! The structure the next issues build on, checked from the source (no daemon):
//!
//! - requests to Incus are built in one place: no string literal holding an API
//!   path (`/1.0`) in any source file under `tools/` outside
//!   `tools/golden/src/incus/` (comments may cite API paths);
//! - no import cycle between the top-level modules of any crate under `tools/`
//!   (each crate's `src/`; the crate root declares the modules, it is none);
//! - every source file of `golden-derive`, `golden-ls` and `golden-publish` has
//!   fewer than 300 lines;
//! - the daemon's words are read in one module of the client
//!   (`tools/golden/src/incus/kind.rs`, whose kinds the tools match on): no code
//!   elsewhere under `tools/` (tests aside) searches an error's text, nor searches
//!   any text for the words that module reads;
//! - no `.or_else(|_| ..)` (nor `.unwrap_or_else(|_| ..)`) swallows any error of a
//!   daemon call: a fallback names the kind it is for.
//!
//! `GOLDEN_SOURCE_ROOT` points the checks at another checkout (default: this one).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The folder that alone may hold Incus API paths (the Incus client module).
const INCUS_CLIENT: &str = "tools/golden/src/incus/";
const MAX_LINES: usize = 300;

fn root() -> PathBuf {
    match std::env::var_os("GOLDEN_SOURCE_ROOT") {
        Some(r) => PathBuf::from(r),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    }
}

/// Every `.rs` file under `dir`, as paths relative to `root`, sorted.
fn rust_files(root: &Path, dir: &str) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target") {
                    walk(root, &p, out);
                }
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(root).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &root.join(dir), &mut out);
    assert!(!out.is_empty(), "no .rs file under {dir}");
    out
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

// ---- a small Rust lexer: enough to tell code from comments and strings ------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    /// Any other punctuation, one character a token (`::` is [`Tok::PathSep`]).
    Punct(char),
}

/// Tokens with their line numbers; comments are dropped, string literals kept
/// whole (escapes not decoded), char literals and lifetimes skipped.
fn lex(src: &str) -> Vec<(Tok, usize)> {
    let s: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let newlines = |a: &[char]| a.iter().filter(|c| **c == '\n').count();
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let (start, mut depth) = (i, 0);
            while i < s.len() {
                if s[i] == '/' && s.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += newlines(&s[start..i.min(s.len())]);
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < s.len() && s[i] != '"' {
                i += if s[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(s.len());
            let text: String = s[start + 1..i.saturating_sub(1).max(start + 1)]
                .iter()
                .collect();
            out.push((Tok::Str(text), line));
            line += newlines(&s[start..i]);
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < s.len() && s[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if s.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                i += 1;
            }
            let word: String = s[start..i].iter().collect();
            // Raw strings: r"..", r#".."#, br#".."#.
            if (word == "r" || word == "br") && matches!(s.get(i), Some('"') | Some('#')) {
                let mut hashes = 0;
                while s.get(i) == Some(&'#') {
                    hashes += 1;
                    i += 1;
                }
                if s.get(i) == Some(&'"') {
                    let body = i + 1;
                    let mut j = body;
                    loop {
                        if j >= s.len() {
                            break;
                        }
                        if s[j] == '"' && (0..hashes).all(|k| s.get(j + 1 + k) == Some(&'#')) {
                            break;
                        }
                        j += 1;
                    }
                    let text: String = s[body..j.min(s.len())].iter().collect();
                    out.push((Tok::Str(text), line));
                    line += newlines(&s[start..j.min(s.len())]);
                    i = (j + 1 + hashes).min(s.len());
                    continue;
                }
                // r#ident: a raw identifier.
                let start = i;
                while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                    i += 1;
                }
                out.push((Tok::Ident(s[start..i].iter().collect()), line));
                continue;
            }
            out.push((Tok::Ident(word), line));
        } else if c.is_ascii_digit() {
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_' || s[i] == '.') {
                i += 1;
            }
        } else {
            let tok = match (c, next) {
                (':', Some(':')) => {
                    i += 1;
                    Tok::PathSep
                }
                ('{', _) => Tok::Open,
                ('}', _) => Tok::Close,
                (',', _) => Tok::Comma,
                ('*', _) => Tok::Star,
                _ => Tok::Punct(c),
            };
            out.push((tok, line));
            i += 1;
        }
    }
    out
}

// ---- (a) API paths only in the Incus client ----------------------------------

#[test]
fn only_the_incus_client_holds_incus_api_paths() {
    let root = root();
    let mut found = Vec::new();
    for rel in rust_files(&root, "tools") {
        if rel.starts_with(INCUS_CLIENT) {
            continue;
        }
        for (tok, line) in lex(&read(&root, &rel)) {
            if let Tok::Str(text) = tok {
                if text.contains("/1.0") {
                    found.push(format!("{rel}:{line}: \"{text}\""));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "Incus API paths outside {INCUS_CLIENT} (requests are built by the Incus client \
         only: add a typed method there):\n  {}",
        found.join("\n  ")
    );
}

// ---- (b) no import cycle between the modules of any tool crate --------------

/// The crates whose modules are checked: every folder under `tools/`.
const TOOLS: &str = "tools";

/// The module path of a source file under src/ (`a.rs` and `a/mod.rs`: [a];
/// `a/b.rs`: [a, b]); lib.rs and main.rs are the crate root ([]).
fn module_of(rel_to_src: &str) -> Vec<String> {
    let path = rel_to_src.trim_end_matches(".rs");
    let mut parts: Vec<String> = path.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The top-level modules a file's code names through `crate::` or `super::`
/// paths (including `use crate::{a, b::c}` groups), with the line of each
/// mention. `module` is the file's module path; inline `mod x { .. }` blocks
/// are followed, so `super::` in `mod tests` is the file's own module.
fn mentions(src: &str, module: &[String]) -> Vec<(String, usize)> {
    let toks = lex(src);
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let is = |k: usize, t: &Tok| toks.get(k).map(|(x, _)| x) == Some(t);
    let mut out = Vec::new();
    // Inline modules: (brace depth they opened at, name).
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut k = 0;
    while k < toks.len() {
        match &toks[k].0 {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(name), true) = (ident(k + 1), is(k + 2, &Tok::Open)) {
                    inline.push((depth, name.to_string()));
                }
            }
            Tok::Ident(w) if (w == "crate" || w == "super") && is(k + 1, &Tok::PathSep) => {
                // Preceded by `::` it is not the start of a path (`$crate` is).
                if k > 0 && is(k - 1, &Tok::PathSep) {
                    k += 1;
                    continue;
                }
                let line = toks[k].1;
                let mut base: Vec<String> = if w == "crate" {
                    Vec::new()
                } else {
                    let mut here: Vec<String> = module.to_vec();
                    here.extend(inline.iter().map(|(_, n)| n.clone()));
                    here
                };
                let mut j = k;
                if w == "super" {
                    while ident(j) == Some("super") && is(j + 1, &Tok::PathSep) {
                        base.pop();
                        j += 2;
                    }
                } else {
                    j += 2;
                }
                // What follows the prefix: a name, a `{..}` group, or `*`.
                let mut firsts = Vec::new();
                if let Some(name) = ident(j) {
                    firsts.push(name.to_string());
                } else if is(j, &Tok::Open) {
                    let (mut d, mut m, mut item_start) = (0usize, j, true);
                    while m < toks.len() {
                        match &toks[m].0 {
                            Tok::Open => {
                                d += 1;
                                item_start = d == 1;
                            }
                            Tok::Close => {
                                d -= 1;
                                if d == 0 {
                                    break;
                                }
                            }
                            Tok::Comma if d == 1 => item_start = true,
                            Tok::Ident(n) if d == 1 && item_start => {
                                firsts.push(n.clone());
                                item_start = false;
                            }
                            _ => {}
                        }
                        m += 1;
                    }
                }
                for first in firsts {
                    let top = match base.first() {
                        Some(top) => top.clone(),
                        None if first == "self" => continue,
                        None => first,
                    };
                    out.push((top, line));
                }
                k = j;
                continue;
            }
            _ => {}
        }
        k += 1;
    }
    out
}

/// Edges between top-level modules: from -> to -> where (file:line).
type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The `src/` folder of every crate under `tools/`, as paths relative to
/// `root` with a trailing slash, sorted.
fn tool_crates(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root.join(TOOLS))
        .unwrap_or_else(|e| panic!("{TOOLS}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file() && p.join("src").is_dir())
        .map(|p| format!("{TOOLS}/{}/src/", p.file_name().unwrap().to_string_lossy()))
        .collect();
    out.sort();
    out
}

/// The graph of the top-level modules of the crate whose sources are in `src`.
fn module_graph(root: &Path, src: &str) -> Graph {
    let files = rust_files(root, src);
    let rel_src = |f: &str| f.strip_prefix(src).unwrap().to_string();
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_of(&rel_src(f)).first().cloned())
        .collect();
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeMap::new()))
        .collect();
    for f in &files {
        let module = module_of(&rel_src(f));
        let Some(from) = module.first() else {
            continue; // the crate root declares modules, it is not one
        };
        for (to, line) in mentions(&read(root, f), &module) {
            if &to != from && modules.contains(&to) {
                graph
                    .get_mut(from)
                    .unwrap()
                    .entry(to)
                    .or_default()
                    .push(format!("{f}:{line}"));
            }
        }
    }
    graph
}

/// The cycles a depth-first search meets (each as a closed path a, b, .., a).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    fn visit(
        n: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut cycle = path[at..].to_vec();
            cycle.push(n.to_string());
            found.push(cycle);
            return;
        }
        if done.contains(n) {
            return;
        }
        path.push(n.to_string());
        for next in graph.get(n).into_iter().flat_map(|e| e.keys()) {
            visit(next, graph, done, path, found);
        }
        path.pop();
        done.insert(n.to_string());
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for n in graph.keys() {
        visit(n, graph, &mut done, &mut Vec::new(), &mut found);
    }
    found
}

#[test]
fn no_tool_crate_has_an_import_cycle_between_its_modules() {
    let root = root();
    let crates = tool_crates(&root);
    // Every tool is checked: a crate left out would pass unseen.
    let tools = [
        "golden",
        "golden-create",
        "golden-derive",
        "golden-ls",
        "golden-publish",
        "golden-refresh",
        "golden-identity",
        "golden-revoke",
        "golden-retire",
    ];
    for name in tools {
        assert!(
            crates.contains(&format!("{TOOLS}/{name}/src/")),
            "{name} not found among {crates:?}"
        );
    }
    let mut report = Vec::new();
    for src in &crates {
        let graph = module_graph(&root, src);
        let explain = |cycle: &Vec<String>| {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    format!(
                        "    {} -> {}: {}",
                        w[0],
                        w[1],
                        graph[&w[0]][&w[1]].join(", ")
                    )
                })
                .collect();
            format!("  {}\n{}", cycle.join(" -> "), steps.join("\n"))
        };
        for cycle in cycles(&graph) {
            report.push(format!("{src}:\n{}", explain(&cycle)));
        }
    }
    assert!(
        report.is_empty(),
        "import cycles between the modules of a crate (let the phases flow one way, \
         shared types in a module that imports none of them):\n{}",
        report.join("\n")
    );
}

// ---- (c) golden-derive, golden-ls, golden-publish in files of fewer than 300 lines

/// The files of `dir` of MAX_LINES lines or more.
fn long_files(dir: &str) -> Vec<String> {
    let root = root();
    rust_files(&root, dir)
        .into_iter()
        .filter_map(|f| {
            let n = read(&root, &f).lines().count();
            (n >= MAX_LINES).then(|| format!("{f}: {n} lines"))
        })
        .collect()
}

#[test]
fn golden_derive_files_are_under_300_lines() {
    let long = long_files("tools/golden-derive/src");
    assert!(
        long.is_empty(),
        "golden-derive files of {MAX_LINES} lines or more (split by phase):\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn golden_ls_files_are_under_300_lines() {
    let long = long_files("tools/golden-ls/src");
    assert!(
        long.is_empty(),
        "golden-ls files of {MAX_LINES} lines or more (split by responsibility):\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn golden_publish_files_are_under_300_lines() {
    let long = long_files("tools/golden-publish/src");
    assert!(
        long.is_empty(),
        "golden-publish files of {MAX_LINES} lines or more (split by phase):\n  {}",
        long.join("\n  ")
    );
}

// ---- (d) the daemon's words read in one module of the client ------------------

/// The one module that reads Incus's words (each case a kind).
const WORDS_MODULE: &str = "tools/golden/src/incus/kind.rs";

/// Methods that search a text.
const TEXT_SEARCHES: &[&str] = &[
    "contains",
    "starts_with",
    "ends_with",
    "find",
    "rfind",
    "split_once",
    "rsplit_once",
    "strip_prefix",
    "strip_suffix",
    "matches",
    "match_indices",
    "eq_ignore_ascii_case",
];

/// Is this file test code (a `tests.rs`, or under a `tests/` folder of a crate's src)?
fn is_test_file(rel: &str) -> bool {
    rel.ends_with("/tests.rs") || rel.contains("/tests/")
}

/// The tokens of a file's code, `#[cfg(test)] mod x { .. }` blocks left out.
fn code_tokens(src: &str) -> Vec<(Tok, usize)> {
    let toks = lex(src);
    let mut out = Vec::new();
    let mut k = 0;
    let p = |k: usize, c: char| matches!(toks.get(k), Some((Tok::Punct(x), _)) if *x == c);
    let id = |k: usize, w: &str| matches!(toks.get(k), Some((Tok::Ident(x), _)) if x == w);
    while k < toks.len() {
        let cfg_test = p(k, '#')
            && p(k + 1, '[')
            && id(k + 2, "cfg")
            && p(k + 3, '(')
            && id(k + 4, "test")
            && p(k + 5, ')')
            && p(k + 6, ']');
        if cfg_test && id(k + 7, "mod") && matches!(toks.get(k + 9), Some((Tok::Open, _))) {
            let mut depth = 0;
            k += 9;
            while k < toks.len() {
                match toks[k].0 {
                    Tok::Open => depth += 1,
                    Tok::Close => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            k += 1;
            continue;
        }
        out.push(toks[k].clone());
        k += 1;
    }
    out
}

/// The index of the token opening the group that `close` (a `)` or `]`) closes.
fn group_start(toks: &[(Tok, usize)], close: usize) -> Option<usize> {
    let (open, shut) = match toks[close].0 {
        Tok::Punct(')') => ('(', ')'),
        Tok::Punct(']') => ('[', ']'),
        _ => return None,
    };
    let mut depth = 0;
    let mut k = close;
    loop {
        match toks[k].0 {
            Tok::Punct(c) if c == shut => depth += 1,
            Tok::Punct(c) if c == open => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
        k = k.checked_sub(1)?;
    }
}

/// The receiver of the method called at `dot` (`a.b(c)?.d` before `.method(`):
/// the tokens of the postfix expression it ends, walked back from the dot.
fn receiver(toks: &[(Tok, usize)], dot: usize) -> &[(Tok, usize)] {
    let mut k = dot;
    while k > 0 {
        let prev = k - 1;
        match &toks[prev].0 {
            Tok::Ident(_) | Tok::Str(_) | Tok::PathSep => k = prev,
            Tok::Punct('.') | Tok::Punct('?') | Tok::Punct('!') => k = prev,
            Tok::Punct(')') | Tok::Punct(']') => match group_start(toks, prev) {
                Some(open) => k = open,
                None => break,
            },
            _ => break,
        }
    }
    &toks[k..dot]
}

/// The bodies of the functions of a file, as token ranges (nested ones too).
fn fn_bodies(toks: &[(Tok, usize)]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for (k, (t, _)) in toks.iter().enumerate() {
        if *t != Tok::Ident("fn".into()) {
            continue;
        }
        // The body is the first brace after the signature (a `;` first: no body).
        let Some(open) = toks[k..]
            .iter()
            .position(|(t, _)| matches!(t, Tok::Open | Tok::Punct(';')))
            .map(|p| k + p)
            .filter(|o| toks[*o].0 == Tok::Open)
        else {
            continue;
        };
        let mut depth = 0;
        for (j, (t, _)) in toks.iter().enumerate().skip(open) {
            match t {
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        // From `fn`: the parameters are the function's too.
                        out.push(k..j + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The names that hold an error, or an error's text, in one function: bound by
/// `Err(x)`, `Error::Variant(x)`, `|x|` of `map_err`/`or_else`/`unwrap_or_else`/
/// `inspect_err`, a parameter typed `Error`/`ApiError`/`Refusal`, `let x =
/// ..unwrap_err()`, and `let y = ..` of an expression naming one of those.
fn error_names(toks: &[(Tok, usize)]) -> BTreeSet<String> {
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let p = |k: usize, c: char| matches!(toks.get(k), Some((Tok::Punct(x), _)) if *x == c);
    // `x` or `ref x` or `mut x` at k: the name.
    let binding = |k: usize| match ident(k) {
        Some("ref") | Some("mut") => ident(k + 1),
        other => other,
    };
    let mut names = BTreeSet::new();
    for k in 0..toks.len() {
        let Some(w) = ident(k) else { continue };
        // Err(x)
        if w == "Err" && p(k + 1, '(') && (p(k + 3, ')') || p(k + 4, ')')) {
            names.extend(binding(k + 2).map(str::to_string));
        }
        // Error::Variant(x)
        if (w == "Error" || w == "ApiError")
            && toks.get(k + 1).map(|t| &t.0) == Some(&Tok::PathSep)
            && p(k + 3, '(')
            && (p(k + 5, ')') || p(k + 6, ')'))
        {
            names.extend(binding(k + 4).map(str::to_string));
        }
        // map_err(|x| ..) and friends
        if ["map_err", "or_else", "unwrap_or_else", "inspect_err"].contains(&w)
            && p(k + 1, '(')
            && p(k + 2, '|')
            && p(k + 4, '|')
        {
            names.extend(binding(k + 3).map(str::to_string));
        }
        // x: &Error, x: golden::Error, x: ApiError
        if p(k + 1, ':') && !p(k + 2, ':') {
            let mut j = k + 2;
            while p(j, '&') || ident(j) == Some("mut") {
                j += 1;
            }
            while ident(j).is_some() && toks.get(j + 1).map(|t| &t.0) == Some(&Tok::PathSep) {
                j += 2;
            }
            if matches!(ident(j), Some("Error" | "ApiError" | "Refusal"))
                && (toks.get(j + 1).map(|t| &t.0) == Some(&Tok::Comma) || p(j + 1, ')'))
            {
                names.insert(w.to_string());
            }
        }
    }
    // let y = <expression naming an error or its text, or ..unwrap_err()>;
    loop {
        let before = names.len();
        for k in 0..toks.len() {
            if ident(k) != Some("let") {
                continue;
            }
            let Some(name) = binding(k + 1) else { continue };
            let eq = if ident(k + 1) == Some("mut") {
                k + 3
            } else {
                k + 2
            };
            if !p(eq, '=') {
                continue;
            }
            // Up to its `;`, blocks inside (a `loop`, a `match`) left out: what
            // they bind is theirs.
            let mut depth = 0usize;
            let mut names_one = false;
            for (t, _) in &toks[eq..] {
                match t {
                    Tok::Open => depth += 1,
                    Tok::Close if depth == 0 => break,
                    Tok::Close => depth -= 1,
                    Tok::Punct(';') if depth == 0 => break,
                    Tok::Ident(i) if depth == 0 => {
                        names_one |= names.contains(i) || i == "unwrap_err";
                    }
                    _ => {}
                }
            }
            if names_one {
                names.insert(name.to_string());
            }
        }
        if names.len() == before {
            break names;
        }
    }
}

/// Does this receiver stand for an error's text: does it name an error (or
/// its text), its `message`/`words` field, or one inside `format!("{e}")`?
fn is_error_text(recv: &[(Tok, usize)], errors: &BTreeSet<String>) -> bool {
    recv.iter().any(|(t, _)| match t {
        Tok::Ident(i) => errors.contains(i) || i == "message" || i == "words",
        Tok::Str(s) => errors.iter().any(|e| s.contains(&format!("{{{e}}}"))),
        _ => false,
    })
}

/// The words the one module reads: its string literals searched for (the
/// first argument of a text search, or listed in an array it searches).
fn words_read(root: &Path) -> BTreeSet<String> {
    let toks = code_tokens(&read(root, WORDS_MODULE));
    let mut words = BTreeSet::new();
    for (k, (t, _)) in toks.iter().enumerate() {
        if let Tok::Str(s) = t {
            let after_search = k >= 2
                && toks[k - 1].0 == Tok::Punct('(')
                && matches!(&toks[k - 2].0, Tok::Ident(m) if TEXT_SEARCHES.contains(&m.as_str()));
            let listed = k >= 1 && matches!(toks[k - 1].0, Tok::Punct('[') | Tok::Comma);
            if (after_search || listed) && s.len() >= 6 {
                words.insert(s.to_lowercase());
            }
        }
    }
    words
}

/// Every text search in `src` that reads the daemon's words: on an error's text
/// (whatever it looks for), or for one of `words` (whatever it searches).
fn wording_tests(src: &str, words: &BTreeSet<String>) -> Vec<(usize, String)> {
    let toks = code_tokens(src);
    let mut found = BTreeMap::new();
    for body in fn_bodies(&toks) {
        let toks = &toks[body];
        let errors = error_names(toks);
        for k in 1..toks.len() {
            let Tok::Ident(m) = &toks[k].0 else { continue };
            if toks[k - 1].0 != Tok::Punct('.')
                || !TEXT_SEARCHES.contains(&m.as_str())
                || toks.get(k + 1).map(|t| &t.0) != Some(&Tok::Punct('('))
            {
                continue;
            }
            let recv = receiver(toks, k - 1);
            let arg = match toks.get(k + 2) {
                Some((Tok::Str(s), _)) => s.to_lowercase(),
                _ => String::new(),
            };
            let why = if is_error_text(recv, &errors) {
                Some(format!("searches an error's text with .{m}()"))
            } else {
                words
                    .iter()
                    .find(|w| arg.len() >= 6 && (arg.contains(*w) || w.contains(&arg)))
                    .map(|w| format!(".{m}() for the daemon's words {w:?}"))
            };
            if let Some(why) = why {
                found.insert(toks[k].1, why);
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn the_daemons_words_are_read_in_one_module_of_the_client() {
    let root = root();
    let words = words_read(&root);
    assert!(
        words.iter().any(|w| w.contains("isn't ready yet")),
        "{WORDS_MODULE} reads no word: {words:?}"
    );
    let mut found = Vec::new();
    for rel in rust_files(&root, "tools") {
        if rel == WORDS_MODULE || is_test_file(&rel) {
            continue;
        }
        for (line, why) in wording_tests(&read(&root, &rel), &words) {
            found.push(format!("{rel}:{line}: {why}"));
        }
    }
    assert!(
        found.is_empty(),
        "the daemon's words tested outside {WORDS_MODULE} (give the case a kind there, \
         with the Incus version it was seen on, and match on golden::incus::Kind):\n  {}",
        found.join("\n  ")
    );
}

// ---- (e) no error of a daemon call swallowed whole ---------------------------

/// Every `.or_else(|_| ..)` or `.unwrap_or_else(|_| ..)` whose receiver calls
/// the daemon (names an `incus` client or `Incus`).
fn swallowed(src: &str) -> Vec<usize> {
    let toks = lex(src);
    let p = |k: usize, c: char| matches!(toks.get(k), Some((Tok::Punct(x), _)) if *x == c);
    let mut found = Vec::new();
    for k in 1..toks.len() {
        let Tok::Ident(m) = &toks[k].0 else { continue };
        let blind = (m == "or_else" || m == "unwrap_or_else")
            && p(k - 1, '.')
            && p(k + 1, '(')
            && p(k + 2, '|')
            && toks.get(k + 3).map(|t| &t.0) == Some(&Tok::Ident("_".into()))
            && p(k + 4, '|');
        let daemon = || {
            receiver(&toks, k - 1)
                .iter()
                .any(|(t, _)| matches!(t, Tok::Ident(i) if i.eq_ignore_ascii_case("incus")))
        };
        if blind && daemon() {
            found.push(toks[k].1);
        }
    }
    found
}

#[test]
fn no_error_of_a_daemon_call_is_swallowed_whole() {
    let root = root();
    let mut found = Vec::new();
    for rel in rust_files(&root, "tools") {
        for line in swallowed(&read(&root, &rel)) {
            found.push(format!("{rel}:{line}"));
        }
    }
    assert!(
        found.is_empty(),
        "a daemon call's every error swallowed by `|_|` (match the kind the fallback is \
         for, e.g. Kind::Forbidden, and let the others through):\n  {}",
        found.join("\n  ")
    );
}

// ---- the checks themselves ----------------------------------------------------

#[test]
fn the_lexer_keeps_strings_and_drops_comments() {
    let src = "// \"/1.0\" in a comment\n/* /* nested \"/1.0\" */ */ let a = \"/1.0/x\";\n\
               let b = r#\"raw \"/1.0\" \"#; let c = '\"'; fn f<'a>(x: &'a str) {}\n\
               let d = \"esc \\\" /1.0/y\";";
    let strs: Vec<(String, usize)> = lex(src)
        .into_iter()
        .filter_map(|(t, l)| match t {
            Tok::Str(s) => Some((s, l)),
            _ => None,
        })
        .collect();
    assert_eq!(
        strs,
        [
            ("/1.0/x".to_string(), 2),
            ("raw \"/1.0\" ".to_string(), 3),
            ("esc \\\" /1.0/y".to_string(), 4),
        ]
    );
}

#[test]
fn mentions_follow_crate_super_groups_and_inline_modules() {
    let src = "use crate::error::{Error, Result};\n\
               use crate::{incus::Incus, model, self};\n\
               // use crate::commented::Out;\n\
               fn f() { crate::cli::x(); let s = \"crate::instring\"; }\n\
               mod tests { use super::*; use super::super::record::R; }\n\
               macro_rules! m { () => { $crate::output::w() } }";
    let mut got: Vec<(String, usize)> = mentions(src, &["swap".to_string()]);
    got.sort();
    let want: Vec<(String, usize)> = [
        ("cli", 4),
        ("error", 1),
        ("incus", 2),
        ("model", 2),
        ("output", 6),
        ("record", 5),
    ]
    .iter()
    .map(|(m, l)| (m.to_string(), *l))
    .collect();
    assert_eq!(got, want);
    // In a sub-module file, super:: is the parent: incus/client.rs -> incus.
    let sub = mentions(
        "use super::api::Instance; use super::super::swap::S;",
        &["incus".to_string(), "client".to_string()],
    );
    assert_eq!(sub, [("incus".to_string(), 1), ("swap".to_string(), 1)]);
}

#[test]
fn a_cycle_is_found_and_a_tree_is_not() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g = Graph::new();
        for (a, b) in edges {
            g.entry(a.to_string())
                .or_default()
                .insert(b.to_string(), vec![]);
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert!(cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    assert_eq!(
        cycles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])),
        [["a", "b", "c", "a"]]
    );
}

#[test]
fn wording_tests_are_found_and_other_text_searches_are_not() {
    let words: BTreeSet<String> = ["device or resource busy", "isn't ready yet"]
        .map(String::from)
        .into();
    let src = "fn busy(e: &Error) -> bool {\n\
                   e.to_string().contains(\"device or resource busy\")\n\
               }\n\
               fn lease(r: Result<()>) -> Result<()> {\n\
                   match r {\n\
                       Err(Error::Incus(m)) if m.to_lowercase().contains(\"restricted\") => Ok(()),\n\
                       Err(e) if e.to_string().starts_with(\"x\") => Ok(()),\n\
                       other => other,\n\
                   }\n\
               }\n\
               fn taken(e: Error, p: &str) -> bool {\n\
                   let m = e.to_string();\n\
                   let lower = m.to_lowercase();\n\
                   [\"a\", \"b\"].iter().any(|t| lower.contains(t))\n\
               }\n\
               fn text(x: &str) -> bool { x.contains(\"Server isn't ready yet\") }\n\
               fn api(r: std::result::Result<(), ApiError>) -> bool {\n\
                   r.map_err(|e| e.message.contains(\"gone\")).is_err()\n\
               }\n\
               fn fine(name: &str, e: &Error) -> bool {\n\
                   name.contains(\"{n}\") || name.starts_with('-') || Kind::of(e) == Kind::NotFound\n\
               }\n\
               #[cfg(test)]\n\
               mod tests { fn t(e: Error) { assert!(e.to_string().contains(\"x\")); } }\n";
    let lines: Vec<usize> = wording_tests(src, &words)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(lines, [2, 6, 7, 14, 16, 18]);
}

#[test]
fn a_swallowed_daemon_error_is_found() {
    let src = "let a = incus.instances(&Scope::All).or_else(|_| incus.instances(s));\n\
               let b = t.incus().pool(n).unwrap_or_else(|_| Pool::default());\n\
               let c = parse(x).or_else(|_| parse(y));\n\
               let d = incus.instances(s).or_else(|e| fallback(e));\n";
    assert_eq!(swallowed(src), [1, 2]);
}
