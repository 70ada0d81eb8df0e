//! The module import graph of kea-runscript-core and kea-runscript-env has no circles:
//! no two modules import each other, directly or through others. Read from the
//! sources: every `use` and every `crate::`/`super::` path outside comments and
//! `#[cfg(test)]` modules is an edge to the module that defines the item, following
//! `pub use` re-exports (a facade's re-export is an alias, not a dependency of its
//! user on the facade). A failure prints the circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module is named by its path from the crate root: `""` (lib.rs), `"config"`,
/// `"spawn::arch::reg"`.
type Module = String;

struct Crate {
    /// Module → its source text (comments and test modules removed).
    sources: BTreeMap<Module, String>,
}

fn join(parent: &str, child: &str) -> Module {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}::{child}")
    }
}

fn parent_of(module: &str) -> Module {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_owned())
}

/// Drops `//` comments (also doc comments) and everything from a `#[cfg(test)]`
/// module on (test modules sit at the end of a file by this workspace's convention).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        let code = match line.find("//") {
            // Not inside a string literal: an even number of quotes before it.
            Some(at) if line[..at].matches('"').count() % 2 == 0 => &line[..at],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Reads every module file of the crate rooted at `src/lib.rs`.
fn load(src: &Path) -> Crate {
    let mut sources = BTreeMap::new();
    let mut todo = vec![(String::new(), src.join("lib.rs"))];
    while let Some((module, file)) = todo.pop() {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let code = code_of(&text);
        // Where this module's children live: next to lib.rs / mod.rs, else in a
        // directory named after the file.
        let dir: PathBuf = match file.file_name().and_then(|n| n.to_str()) {
            Some("lib.rs") | Some("mod.rs") => file.parent().unwrap().to_owned(),
            _ => file.with_extension(""),
        };
        for line in code.lines() {
            let words: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || c == ';')
                .filter(|w| !w.is_empty())
                .collect();
            let Some(at) = words.iter().position(|w| *w == "mod") else {
                continue;
            };
            // `mod name;` (any visibility before it), not an inline `mod name {`.
            if !line.trim_end().ends_with(';') || at + 1 >= words.len() {
                continue;
            }
            let name = words[at + 1];
            let child = join(&module, name);
            let file = [
                dir.join(format!("{name}.rs")),
                dir.join(name).join("mod.rs"),
            ]
            .into_iter()
            .find(|f| f.exists())
            .unwrap_or_else(|| panic!("module {child} has no file under {}", dir.display()));
            todo.push((child, file));
        }
        sources.insert(module, code);
    }
    Crate { sources }
}

/// Expands one `use` tree (`a::{b, c::{self, D}}`) into full paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap().trim();
        return vec![path.trim_end_matches("::self").to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::").trim();
    let inner = &tree[open + 1..tree.rfind('}').expect("balanced use braces")];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" || prefix.is_empty() {
                if p == "self" {
                    prefix.to_owned()
                } else {
                    p
                }
            } else {
                format!("{prefix}::{p}")
            }
        })
        .collect()
}

/// Every path a module names: its `use` trees and inline `crate::`/`super::` paths
/// (also the ones in attribute strings such as `#[serde(with = "super::hex_bytes")]`).
fn paths_of(code: &str) -> Vec<(bool, String)> {
    let mut paths = Vec::new();
    // `use` statements: a line starting with `use` or `pub(...) use`, up to its `;`.
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let (is_pub, after_vis) = match trimmed.strip_prefix("pub") {
            Some(rest) if rest.starts_with('(') => {
                (true, &rest[rest.find(')').map_or(0, |i| i + 1)..])
            }
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let Some(tree) = after_vis.trim_start().strip_prefix("use ") else {
            continue;
        };
        let tree_start = start + line.len() - tree.len();
        let end = code[tree_start..]
            .find(';')
            .map_or(code.len(), |i| tree_start + i);
        for path in expand(&code[tree_start..end]) {
            paths.push((is_pub, path));
        }
    }
    for anchor in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(anchor) {
            let start = from + at;
            from = start + anchor.len();
            // Part of a longer path, or a visibility (`pub(in crate::spawn)`).
            if code[..start]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                || code[..start].ends_with("(in ")
            {
                continue;
            }
            let path: String = code[start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let path = path.trim_end_matches(':');
            // `crate::{...}` is a `use` group, read above.
            if path.contains("::") {
                paths.push((false, path.to_owned()));
            }
        }
    }
    paths
}

impl Crate {
    /// The module a path written in `module` points into, as segments after it.
    fn absolute(&self, module: &str, path: &str) -> Option<(Module, Vec<String>)> {
        let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let mut base = module.to_owned();
        match segments.first().copied() {
            Some("crate") => {
                base = String::new();
                segments.remove(0);
            }
            Some("self") => {
                segments.remove(0);
            }
            Some("super") => {
                while segments.first() == Some(&"super") {
                    base = parent_of(&base);
                    segments.remove(0);
                }
            }
            // A relative path: it starts at a child module of this one, or it names
            // another crate (std, serde, ...), which is no edge.
            Some(first) if self.sources.contains_key(&join(module, first)) => {}
            _ => return None,
        }
        Some((base, segments.into_iter().map(str::to_owned).collect()))
    }

    /// The module that defines what `segments` name starting at `base`, following
    /// modules down and `pub use` re-exports across.
    fn resolve(&self, base: Module, segments: &[String], depth: usize) -> Module {
        assert!(depth < 32, "re-export loop at {base}::{segments:?}");
        let Some((first, rest)) = segments.split_first() else {
            return base;
        };
        let child = join(&base, first);
        if self.sources.contains_key(&child) {
            return self.resolve(child, rest, depth + 1);
        }
        // An item of `base`: defined there, or re-exported by it.
        for (is_pub, path) in paths_of(&self.sources[&base]) {
            let last = path.rsplit("::").next().unwrap_or_default();
            if is_pub && (last == first || last == "*") {
                if let Some((target, segs)) = self.absolute(&base, &path) {
                    let target =
                        self.resolve(target, &segs[..segs.len().saturating_sub(1)], depth + 1);
                    if last == first || self.defines(&target, first) {
                        // Follow the item on into the module re-exported from.
                        return self.resolve(target, std::slice::from_ref(first), depth + 1);
                    }
                }
            }
        }
        base
    }

    /// Whether `module` declares an item called `name` (for `pub use m::*`).
    fn defines(&self, module: &str, name: &str) -> bool {
        let code = &self.sources[module];
        ["struct", "enum", "fn", "trait", "type", "const", "static"]
            .iter()
            .any(|kind| {
                code.contains(&format!("{kind} {name} "))
                    || code.contains(&format!("{kind} {name}("))
                    || code.contains(&format!("{kind} {name}<"))
                    || code.contains(&format!("{kind} {name}:"))
            })
    }

    /// Module → modules it imports.
    fn edges(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut edges = BTreeMap::new();
        for (module, code) in &self.sources {
            let mut targets = BTreeSet::new();
            for (_, path) in paths_of(code) {
                if let Some((base, segments)) = self.absolute(module, &path) {
                    let target = self.resolve(base, &segments, 0);
                    if &target != module {
                        targets.insert(target);
                    }
                }
            }
            edges.insert(module.clone(), targets);
        }
        edges
    }
}

/// A circle in the graph, if there is one (depth-first search).
fn find_circle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        node: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        stack: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = stack.iter().position(|m| m == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node.clone());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

fn show(module: &str) -> &str {
    if module.is_empty() {
        "crate"
    } else {
        module
    }
}

fn check(crate_dir: &str) -> BTreeMap<Module, BTreeSet<Module>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir);
    let edges = load(&root.join("src")).edges();
    if let Some(circle) = find_circle(&edges) {
        let shown: Vec<&str> = circle.iter().map(|m| show(m)).collect();
        let imports: Vec<String> = circle
            .iter()
            .map(|m| format!("  {} imports {:?}", show(m), edges[m]))
            .collect();
        panic!(
            "{crate_dir}: import circle {}\n{}",
            shown.join(" -> "),
            imports.join("\n")
        );
    }
    edges
}

#[test]
fn core_modules_import_no_circle() {
    let edges = check("kea-runscript-core");
    // Layering: the launcher and the shared leaf types know nothing above them.
    for low in ["fdio", "verdict", "log", "counters"] {
        assert!(
            edges[low]
                .iter()
                .all(|m| m.starts_with(&format!("{low}::"))),
            "{low} imports {:?}",
            edges[low]
        );
    }
    assert!(!edges["runner::reaper"].contains("runner::spawn_async"));
}

#[test]
fn env_modules_import_no_circle() {
    let edges = check("kea-runscript-env");
    // Layering: models know only models; the text formats know no renderer.
    for (module, imports) in &edges {
        if module.starts_with("model") {
            assert!(
                imports.iter().all(|m| m.starts_with("model")),
                "{module} imports {imports:?}"
            );
        }
    }
    assert!(edges["format"].iter().all(|m| m.starts_with("model")));
}

#[test]
fn the_checker_finds_a_circle() {
    // Self-test on a made-up crate: a -> b -> a.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::B;\npub struct A;\n").unwrap();
    std::fs::write(src.join("b.rs"), "pub struct B(crate::A);\n").unwrap();
    // `crate::A` is not re-exported: it resolves to the root, which imports nothing.
    assert!(find_circle(&load(src).edges()).is_none());
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\npub use a::A;\n").unwrap();
    let circle = find_circle(&load(src).edges()).expect("a -> b -> a");
    assert!(circle.contains(&"a".to_owned()) && circle.contains(&"b".to_owned()));
}
