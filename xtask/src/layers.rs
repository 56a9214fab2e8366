//! `cargo xtask lint`'s layering checks: what each crate may link (read from
//! `cargo tree`, default features, normal dependencies), and that the modules
//! of the core import one another in one direction only.
//!
//! The rules are ARCHITECTURE.md's "Rules per crate" in executable form:
//! change one, change the other.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cargo;

/// What one crate may depend on.
struct Rule {
    krate: &'static str,
    /// Crates of ours (named `checkin-…`) it may depend on.
    ours: &'static [&'static str],
    /// Other crates it must not link.
    banned: &'static [&'static str],
    /// Pure: no network or UI stack either ([`IO_STACKS`]).
    no_io: bool,
}

/// The heavy trades the central server must never link: the PDF engine, the
/// QR decoder and the spreadsheet reader and writer.
const DESK_ONLY: &[&str] = &["krilla", "rustybuzz", "rxing", "calamine", "rust_xlsxwriter"];

/// Network and UI crates the pure libraries must never link.
const IO_STACKS: &[&str] = &["reqwest", "axum", "hyper", "tokio", "tauri", "mdns-sd"];

const CORE: &[&str] = &["checkin-core", "checkin-search"];

const RULES: &[Rule] = &[
    Rule {
        krate: "checkin-search",
        ours: &[],
        banned: DESK_ONLY,
        no_io: true,
    },
    Rule {
        krate: "checkin-scan",
        ours: &[],
        banned: &["krilla", "rustybuzz", "calamine", "rust_xlsxwriter", "rusqlite"],
        no_io: true,
    },
    Rule {
        krate: "checkin-core",
        ours: &["checkin-search"],
        banned: DESK_ONLY,
        no_io: true,
    },
    Rule {
        krate: "checkin-pdf",
        ours: CORE,
        banned: &["rxing", "calamine", "rust_xlsxwriter"],
        no_io: true,
    },
    Rule {
        krate: "checkin-tables",
        ours: CORE,
        banned: &["krilla", "rustybuzz", "rxing"],
        no_io: true,
    },
    Rule {
        krate: "checkin-sync",
        ours: CORE,
        banned: DESK_ONLY,
        no_io: false,
    },
    Rule {
        krate: "checkin-server",
        ours: &["checkin-core", "checkin-search", "checkin-sync"],
        banned: DESK_ONLY,
        no_io: false,
    },
];

/// Every rule of [`RULES`] against `cargo tree`.
pub fn check_crates() -> Result<()> {
    let mut problems = Vec::new();
    for rule in RULES {
        let krate = rule.krate;
        let out = cargo()
            .args([
                "tree", "-q", "-p", krate, "-e", "normal", "--prefix", "none", "--format", "{p}",
            ])
            .output()
            .with_context(|| format!("running cargo tree -p {krate}"))?;
        if !out.status.success() {
            bail!(
                "cargo tree -p {krate} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let names: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
        for name in &names {
            if name == krate {
                continue;
            }
            if name.starts_with("checkin-") && !rule.ours.contains(&name.as_str()) {
                problems.push(format!(
                    "{krate} depends on {name}, which sits above it or beside it"
                ));
            }
            if rule.banned.contains(&name.as_str()) || (rule.no_io && IO_STACKS.contains(&name.as_str())) {
                problems.push(format!("{krate} links {name}, which is not its trade"));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "crate layering broken (see ARCHITECTURE.md, \"Rules per crate\"):\n  {}",
            problems.join("\n  ")
        );
    }
    eprintln!("    crate layering: {} crates checked", RULES.len());
    Ok(())
}

/// The core's modules import one another in one direction: no loop among
/// its top-level modules (a folder counts as one module with everything in
/// it), nor among the files of one folder (a folder's `mod.rs` is its front
/// and may use its own files, and they it).
pub fn check_core_modules(root: &Path) -> Result<()> {
    let src = root.join("crates/checkin-core/src");
    let graph = module_graph(&src)?;
    for (level, g) in levels(&graph) {
        if let Some(cycle) = find_cycle(&g) {
            bail!(
                "checkin-core's modules import each other in a loop ({level}): {}. A file imports only from \
                 files below it (see ARCHITECTURE.md): move what both need into the lower one",
                cycle.join(" → ")
            );
        }
    }
    eprintln!("    core modules: {} modules, no import loop", graph.len());
    Ok(())
}

/// The graphs whose loops count: the top-level modules (every module folded
/// into its first segment), then each folder's files among themselves.
fn levels(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, BTreeMap<String, BTreeSet<String>>)> {
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_string();
    let parent = |m: &str| m.rsplit_once("::").map(|(p, _)| p.to_string());
    let mut out = Vec::new();
    let mut folded: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, deps) in graph {
        let entry = folded.entry(top(m)).or_default();
        entry.extend(deps.iter().map(|d| top(d)).filter(|d| *d != top(m)));
    }
    out.push(("top-level modules".to_string(), folded));
    let folders: BTreeSet<String> = graph.keys().filter_map(|m| parent(m)).collect();
    for folder in folders {
        let siblings: BTreeMap<String, BTreeSet<String>> = graph
            .iter()
            .filter(|(m, _)| parent(m).as_deref() == Some(folder.as_str()))
            .map(|(m, deps)| {
                let deps = deps
                    .iter()
                    .filter(|d| parent(d).as_deref() == Some(folder.as_str()))
                    .cloned()
                    .collect();
                (m.clone(), deps)
            })
            .collect();
        out.push((format!("the files of {folder}/"), siblings));
    }
    out
}

/// Module (`engine`, `store::changes`, `store` for `store/mod.rs`) → the
/// modules it imports, tests left out. A file's own parent is not an edge
/// (a child may use its folder's front), nor is the parent's use of its child.
fn module_graph(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    collect_rs(src, &mut files)?;
    let mut modules = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(src).expect("under src").with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts.last().map(String::as_str) == Some("mod") {
            parts.pop();
        }
        if parts == ["lib"] {
            continue;
        }
        modules.insert(parts.join("::"), f.clone());
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (name, file) in &modules {
        let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let code = without_tests(&without_comments(&text));
        let here: Vec<&str> = name.split("::").collect();
        // `super` of a file in a folder is the folder's module; of a folder's
        // `mod.rs`, the folder above.
        let is_front = file.file_name().is_some_and(|f| f == "mod.rs");
        let parent: Vec<&str> = here[..here.len() - 1].to_vec();
        let own: Vec<&str> = if is_front { here.clone() } else { parent.clone() };
        let mut deps = BTreeSet::new();
        for path in referenced_paths(&code) {
            let full: Vec<String> = match path.first().map(String::as_str) {
                Some("crate") => path[1..].to_vec(),
                Some("super") => parent
                    .iter()
                    .map(|s| s.to_string())
                    .chain(path[1..].iter().cloned())
                    .collect(),
                Some("self") => own
                    .iter()
                    .map(|s| s.to_string())
                    .chain(path[1..].iter().cloned())
                    .collect(),
                _ => continue,
            };
            if let Some(target) = longest_module(&full, &names)
                && target != *name
                && !is_ancestor(&target, name)
                && !is_ancestor(name, &target)
            {
                deps.insert(target);
            }
        }
        graph.insert(name.clone(), deps);
    }
    Ok(graph)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn is_ancestor(a: &str, b: &str) -> bool {
    b.starts_with(&format!("{a}::"))
}

fn longest_module(path: &[String], names: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|k| path[..k].join("::"))
        .find(|cand| names.contains(cand))
}

fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text before the first `#[cfg(test)]` module (tests sit at the end of
/// a file and may use anything).
fn without_tests(text: &str) -> String {
    match text.find("#[cfg(test)]\nmod ") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}

/// Every path that starts with `crate`, `super` or `self`, with `use` groups
/// (`crate::{a, b::c}`) expanded one level: `[crate, a]`, `[crate, b, c]`.
fn referenced_paths(code: &str) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let head = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|h| rest.starts_with(h));
        let boundary =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        let Some(head) = head.filter(|_| boundary) else {
            i += 1;
            continue;
        };
        let (path, used) = read_path(&rest[head.len()..]);
        let start: Vec<String> = std::iter::once(head.trim_end_matches(':').to_string())
            .chain(path.iter().cloned())
            .collect();
        let after = &rest[head.len() + used..];
        if after.starts_with('{') {
            let end = matching_brace(after).unwrap_or(after.len());
            for item in split_top_level(&after[1..end]) {
                let (p, _) = read_path(item.trim());
                if !p.is_empty() {
                    out.push(start.iter().cloned().chain(p).collect());
                }
            }
        } else {
            out.push(start);
        }
        i += head.len() + used;
    }
    out
}

/// `a::b::c` (identifiers joined by `::`) at the start of `s`, and how many
/// bytes it took (a trailing `::` before a `{` group included).
fn read_path(s: &str) -> (Vec<String>, usize) {
    let mut parts = Vec::new();
    let mut pos = 0;
    loop {
        let ident: String = s[pos..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        pos += ident.len();
        parts.push(ident);
        if s[pos..].starts_with("::") {
            pos += 2;
        } else {
            break;
        }
    }
    (parts, pos)
}

fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// One cycle of `graph`, as the modules along it, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(n.to_string(), Mark::Open);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match marks.get(m).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let from = stack
                        .iter()
                        .position(|s| s == m)
                        .expect("open nodes are on the stack");
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(m, graph, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(n.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in graph.keys() {
        if marks.get(n).copied().unwrap_or(Mark::New) == Mark::New
            && let Some(c) = visit(n, graph, &mut marks, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(a, bs)| (a.to_string(), bs.iter().map(|b| b.to_string()).collect()))
            .collect()
    }

    #[test]
    fn paths_and_groups_are_read() {
        let code = "use crate::store::{Store, changes::Change};\nuse super::facts;\nlet x = crate::stats::fact_bytes(c);";
        assert_eq!(
            referenced_paths(code),
            vec![
                vec!["crate", "store", "Store"],
                vec!["crate", "store", "changes", "Change"],
                vec!["super", "facts"],
                vec!["crate", "stats", "fact_bytes"],
            ]
        );
    }

    #[test]
    fn a_loop_is_found_and_a_chain_is_not() {
        let chain = graph(&[
            ("engine", &["store"]),
            ("stats", &["engine", "store"]),
            ("store", &[]),
        ]);
        assert_eq!(find_cycle(&chain), None);
        // The loop this check was written for: the store's change log packed
        // facts with a function of the statistics, which read rows with one
        // of the engine, which uses the store.
        let looped = graph(&[
            ("engine", &["store"]),
            ("stats", &["engine"]),
            ("store", &[]),
            ("store::changes", &["stats"]),
        ]);
        let (_, top) = levels(&looped).remove(0);
        let cycle = find_cycle(&top).expect("a loop");
        assert_eq!(cycle.first(), cycle.last());
        assert!(cycle.contains(&"stats".to_string()) && cycle.contains(&"store".to_string()));
        let siblings = graph(&[
            ("store::a", &["store::b"]),
            ("store::b", &["store::a"]),
            ("store", &[]),
        ]);
        assert!(levels(&siblings).iter().any(|(_, g)| find_cycle(g).is_some()));
    }

    #[test]
    fn the_core_as_it_is_has_no_loop() {
        let root = crate::project_root();
        let g = module_graph(&root.join("crates/checkin-core/src")).unwrap();
        assert!(g.contains_key("store::changes") && g.contains_key("engine"));
        for (level, g) in levels(&g) {
            assert_eq!(find_cycle(&g), None, "{level}");
        }
    }
}
