//! The module import graph of each checked crate ([`CRATES`]) has no cycle, and the
//! layering rules below hold.
//!
//! The sources are parsed with `syn`, from `src/lib.rs` down through every `mod`
//! (file or inline, `#[cfg(test)]` ones included). An edge `a -> b` is any path written
//! in module `a` that names module `b` or an item defined in `b`:
//! - every `use` tree, expanded (`use crate::{a, b::{self as c, D}}`, renames, globs,
//!   also `use` inside function bodies);
//! - every path of two or more segments in types, expressions, patterns, trait bounds,
//!   attributes and impl headers: `crate::x::Y`, `self::x::f()`, `super::super::Z`, a
//!   bare child-module path such as `output::pipe()` or `process::Wake`, and a path
//!   through an imported name (`use crate::log; log::Severity::Info`);
//! - paths inside macro invocations (`format!("{}", crate::x::Y)`, read from the
//!   tokens) and in attribute strings (`#[serde(with = "super::hex")]`).
//!
//! Visibilities (`pub(in crate::x)`) and doc comments are no edges. An item re-exported
//! by `use`/`pub use` resolves to the module that defines it: a facade's re-export is an
//! alias, not a dependency of its user on the facade (the facade's own `use` is its edge).
//! A `mod x;` declaration is no edge either: a parent that declares a child depends on it
//! only if it also names something in it.
//!
//! A failure prints every cycle (one per strongly connected component) with, for each
//! hop, the file, line and path that makes it. To check another crate, add its directory
//! to [`CRATES`]; `LAYERS_SRC=/some/crate/src cargo test -p kea-runscript-core --test
//! layers -- --ignored` checks any source tree for cycles (e.g. an older revision).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// The crates checked, by directory in the workspace.
const CRATES: &[&str] = &[
    "kea-runscript-spawn",
    "kea-runscript-env",
    "kea-runscript-core",
    "kea-hook-sdk",
    "kea-runscript-hook",
];

/// A module is named by its path from the crate root: `""` (lib.rs), `"config"`,
/// `"runner::output"`.
type Module = String;

/// One name a `use` brings into a module.
#[derive(Debug)]
struct Import {
    /// The full path, as written from the importing module (`crate::a::b`, `super::x`).
    path: Vec<String>,
    /// The name it is known by here (the last segment, or the `as` name); `None` for a
    /// glob (`use a::*`).
    name: Option<String>,
    /// Where (line) and as written, for reports.
    line: usize,
}

/// A path of two or more segments written outside `use`.
#[derive(Debug)]
struct Ref {
    path: Vec<String>,
    line: usize,
}

#[derive(Debug, Default)]
struct ModuleInfo {
    /// The file the module's code is in (a parent's, for an inline module).
    file: PathBuf,
    children: BTreeSet<String>,
    /// Names of the items defined here (types, functions, constants, traits, macros).
    defined: BTreeSet<String>,
    imports: Vec<Import>,
    refs: Vec<Ref>,
}

/// A parsed crate: every module of it.
struct Crate {
    root: PathBuf,
    modules: BTreeMap<Module, ModuleInfo>,
}

/// Why an edge exists: the first path that makes it.
#[derive(Clone, Debug)]
struct Evidence {
    file: PathBuf,
    line: usize,
    path: String,
}

type Graph = BTreeMap<Module, BTreeMap<Module, Evidence>>;

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

fn show(module: &str) -> &str {
    if module.is_empty() {
        "crate"
    } else {
        module
    }
}

/// Expands one `use` tree into imports, `prefix` being the path so far.
fn expand(tree: &syn::UseTree, prefix: &mut Vec<String>, line: usize, out: &mut Vec<Import>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            expand(&p.tree, prefix, line, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => out.push(Import {
            path: prefix.clone(),
            name: prefix.last().cloned(),
            line,
        }),
        syn::UseTree::Name(n) => {
            let mut path = prefix.clone();
            path.push(n.ident.to_string());
            out.push(Import {
                path,
                name: Some(n.ident.to_string()),
                line,
            });
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push(Import {
                path,
                name: Some(r.rename.to_string()),
                line,
            });
        }
        syn::UseTree::Glob(_) => out.push(Import {
            path: prefix.clone(),
            name: None,
            line,
        }),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                expand(tree, prefix, line, out);
            }
        }
    }
}

/// Whether `tokens[at]` and `tokens[at + 1]` are a `::`.
fn colons_at(tokens: &[TokenTree], at: usize) -> bool {
    matches!(
        (tokens.get(at), tokens.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

/// A string literal's content, if it is a path of two or more segments
/// (`with = "super::hex"`).
fn string_path(lit: &proc_macro2::Literal) -> Option<Ref> {
    let syn::Lit::Str(s) = syn::parse_str::<syn::Lit>(&lit.to_string()).ok()? else {
        return None;
    };
    let path = syn::parse_str::<syn::Path>(&s.value()).ok()?;
    (path.segments.len() > 1 && path.leading_colon.is_none()).then(|| Ref {
        path: path.segments.iter().map(|s| s.ident.to_string()).collect(),
        line: lit.span().start().line,
    })
}

/// Paths (`a::b::c`, two or more segments) in a token stream: a macro's input, or an
/// attribute's (`strings`: also string literals that are paths). `$crate::…` (a macro's
/// own crate) and `::other_crate::…` are skipped.
fn token_paths(tokens: TokenStream, strings: bool, out: &mut Vec<Ref>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => token_paths(g.stream(), strings, out),
            TokenTree::Literal(lit) if strings => out.extend(string_path(lit)),
            TokenTree::Ident(first) => {
                let after_dollar =
                    i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
                let after_colons = i >= 2 && colons_at(&tokens, i - 2);
                let mut path = vec![first.to_string()];
                let mut j = i + 1;
                while colons_at(&tokens, j) {
                    let Some(TokenTree::Ident(next)) = tokens.get(j + 2) else {
                        break;
                    };
                    path.push(next.to_string());
                    j += 3;
                }
                if path.len() > 1 && !after_dollar && !after_colons {
                    out.push(Ref {
                        path,
                        line: first.span().start().line,
                    });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// Collects what one module's items define, import and name (not descending into
/// nested modules, which are modules of their own).
struct Collector<'a> {
    info: &'a mut ModuleInfo,
    /// Nesting depth in items: only depth-0 items are the module's own definitions.
    depth: usize,
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if self.depth == 0 {
            let name = match item {
                syn::Item::Const(i) => Some(&i.ident),
                syn::Item::Enum(i) => Some(&i.ident),
                syn::Item::Fn(i) => Some(&i.sig.ident),
                syn::Item::Macro(i) => i.ident.as_ref(),
                syn::Item::Static(i) => Some(&i.ident),
                syn::Item::Struct(i) => Some(&i.ident),
                syn::Item::Trait(i) => Some(&i.ident),
                syn::Item::TraitAlias(i) => Some(&i.ident),
                syn::Item::Type(i) => Some(&i.ident),
                syn::Item::Union(i) => Some(&i.ident),
                _ => None,
            };
            if let Some(name) = name {
                self.info.defined.insert(name.to_string());
            }
        }
        if let syn::Item::Mod(_) = item {
            return; // a module of its own (see `load_items`)
        }
        self.depth += 1;
        visit::visit_item(self, item);
        self.depth -= 1;
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        if item.leading_colon.is_some() {
            return; // `use ::other_crate::…`
        }
        let line = item.span().start().line;
        expand(&item.tree, &mut Vec::new(), line, &mut self.info.imports);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.len() > 1 && path.leading_colon.is_none() {
            self.info.refs.push(Ref {
                path: path.segments.iter().map(|s| s.ident.to_string()).collect(),
                line: path.span().start().line,
            });
        }
        visit::visit_path(self, path);
    }

    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {
        // `pub(in crate::x)` limits who sees an item; it imports nothing.
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        token_paths(mac.tokens.clone(), false, &mut self.info.refs);
        visit::visit_macro(self, mac);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        if attr.path().is_ident("doc") {
            return;
        }
        match &attr.meta {
            syn::Meta::List(list) => token_paths(list.tokens.clone(), true, &mut self.info.refs),
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }),
                ..
            }) => self.info.refs.extend(string_path(&s.token())),
            _ => {}
        }
        visit::visit_attribute(self, attr);
    }
}

impl Crate {
    /// Reads every module of the crate rooted at `src/lib.rs`.
    fn load(src: &Path) -> Crate {
        let mut krate = Crate {
            root: src.to_owned(),
            modules: BTreeMap::new(),
        };
        krate.load_file(String::new(), &src.join("lib.rs"), src.to_owned());
        krate
    }

    /// Parses `file` as module `module`, whose child module files live in `dir`.
    fn load_file(&mut self, module: Module, file: &Path, dir: PathBuf) {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        self.load_items(module, file, dir, &parsed.attrs, &parsed.items);
    }

    fn load_items(
        &mut self,
        module: Module,
        file: &Path,
        dir: PathBuf,
        attrs: &[syn::Attribute],
        items: &[syn::Item],
    ) {
        let mut info = ModuleInfo {
            file: file.to_owned(),
            ..ModuleInfo::default()
        };
        let mut collector = Collector {
            info: &mut info,
            depth: 0,
        };
        for attr in attrs {
            collector.visit_attribute(attr);
        }
        for item in items {
            collector.visit_item(item);
        }
        let mut nested = Vec::new();
        for item in items {
            if let syn::Item::Mod(m) = item {
                let name = m.ident.to_string();
                info.children.insert(name.clone());
                nested.push((name, m));
            }
        }
        self.modules.insert(module.clone(), info);
        for (name, m) in nested {
            let child = join(&module, &name);
            // The attributes of `mod x;` may carry paths too (`#[cfg_attr(…)]`): read
            // them as the child's.
            match &m.content {
                Some((_, items)) => {
                    self.load_items(child, file, dir.join(&name), &m.attrs, items);
                }
                None => {
                    let explicit = m.attrs.iter().find_map(|a| match &a.meta {
                        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
                            syn::Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(s),
                                ..
                            }) => Some(dir.join(s.value())),
                            _ => None,
                        },
                        _ => None,
                    });
                    let found = explicit.into_iter().chain([
                        dir.join(format!("{name}.rs")),
                        dir.join(&name).join("mod.rs"),
                    ]);
                    let path = found.into_iter().find(|f| f.exists()).unwrap_or_else(|| {
                        panic!("module {child} has no file under {}", dir.display())
                    });
                    let child_dir = if path.file_name().is_some_and(|n| n == "mod.rs") {
                        path.parent().unwrap().to_owned()
                    } else {
                        path.with_extension("")
                    };
                    self.load_file(child, &path, child_dir);
                }
            }
        }
    }

    /// The module a path written in `module` names (the module itself, or the one
    /// defining the item it names); `None` for another crate's item or a local name
    /// (a variable, a type parameter, `Self`).
    fn resolve_from(&self, module: &str, path: &[String], depth: usize) -> Option<Module> {
        assert!(depth < 64, "import loop resolving {path:?} in {module}");
        let (first, rest) = path.split_first()?;
        let info = &self.modules[module];
        match first.as_str() {
            "crate" => Some(self.resolve_in(String::new(), rest, depth + 1)?),
            "self" => Some(self.resolve_in(module.to_owned(), rest, depth + 1)?),
            "super" => {
                let mut base = parent_of(module);
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    base = parent_of(&base);
                    rest = &rest[1..];
                }
                self.resolve_in(base, rest, depth + 1)
            }
            _ if info.children.contains(first) => {
                self.resolve_in(module.to_owned(), path, depth + 1)
            }
            // An item of this module (also a `macro_rules!` it re-exports by `use`).
            _ if info.defined.contains(first) => Some(module.to_owned()),
            _ => {
                // A name this module imports: the path goes on from the import's target
                // (`use serde;`, naming itself, is another crate).
                let import = info
                    .imports
                    .iter()
                    .find(|i| i.name.as_deref() == Some(first.as_str()))
                    .filter(|i| i.path.len() > 1)?;
                let mut full = import.path.clone();
                full.extend_from_slice(rest);
                self.resolve_from(module, &full, depth + 1)
            }
        }
    }

    /// The module that defines what `segments` name starting at module `base`,
    /// following child modules down and imports (re-exports) across.
    fn resolve_in(&self, base: Module, segments: &[String], depth: usize) -> Option<Module> {
        assert!(depth < 64, "import loop resolving {segments:?} in {base}");
        let Some((first, rest)) = segments.split_first() else {
            return Some(base);
        };
        let info = &self.modules[&base];
        if info.children.contains(first) {
            return self.resolve_in(join(&base, first), rest, depth + 1);
        }
        if info.defined.contains(first) {
            return Some(base);
        }
        if let Some(import) = info
            .imports
            .iter()
            .find(|i| i.name.as_deref() == Some(first.as_str()) && i.path.len() > 1)
        {
            // Re-exported (or imported, which a child's `super::` path may name) here:
            // an alias of the item in the module it comes from, or of another crate's.
            let mut full = import.path.clone();
            full.extend_from_slice(rest);
            return self.resolve_from(&base, &full, depth + 1);
        }
        for glob in info.imports.iter().filter(|i| i.name.is_none()) {
            let Some(source) = self.resolve_from(&base, &glob.path, depth + 1) else {
                continue;
            };
            let source_info = &self.modules[&source];
            let there = source_info.defined.contains(first)
                || source_info.children.contains(first)
                || source_info
                    .imports
                    .iter()
                    .any(|i| i.name.as_deref() == Some(first.as_str()));
            if there && source != base {
                return self.resolve_in(source, segments, depth + 1);
            }
        }
        // An enum variant, an associated item, or something a macro defines: here.
        Some(base)
    }

    /// Module → modules it imports, each with the first path that makes the edge.
    fn graph(&self) -> Graph {
        let mut graph = Graph::new();
        for (module, info) in &self.modules {
            let mut targets = BTreeMap::new();
            let uses = info.imports.iter().map(|i| (&i.path, i.line));
            let refs = info.refs.iter().map(|r| (&r.path, r.line));
            for (path, line) in uses.chain(refs) {
                let Some(target) = self.resolve_from(module, path, 0) else {
                    continue;
                };
                if &target != module {
                    targets.entry(target).or_insert_with(|| Evidence {
                        file: info.file.clone(),
                        line,
                        path: path.join("::"),
                    });
                }
            }
            graph.insert(module.clone(), targets);
        }
        graph
    }

    fn relative<'a>(&self, file: &'a Path) -> &'a Path {
        file.strip_prefix(&self.root).unwrap_or(file)
    }
}

/// Every cycle: one per strongly connected component of more than one module (Tarjan),
/// as a path `a -> b -> … -> a`, with all the component's modules.
fn cycles(graph: &Graph) -> Vec<(Vec<Module>, Vec<Module>)> {
    struct Tarjan<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        components: Vec<Vec<&'g str>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, node: &'g str) {
            let at = self.index.len();
            self.index.insert(node, at);
            self.low.insert(node, at);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flat_map(|t| t.keys()) {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                loop {
                    let top = self.stack.pop().unwrap();
                    self.on_stack.remove(top);
                    component.push(top);
                    if top == node {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.visit(node);
        }
    }
    let mut found = Vec::new();
    for component in tarjan.components.into_iter().filter(|c| c.len() > 1) {
        let members: BTreeSet<&str> = component.iter().copied().collect();
        let start = *members.iter().next().unwrap();
        // Shortest way from `start` back to itself inside the component.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        'search: while let Some(node) = queue.pop_front() {
            for next in graph[node].keys().map(String::as_str) {
                if !members.contains(next) {
                    continue;
                }
                if next == start {
                    came_from.insert(start, node);
                    break 'search;
                }
                if !came_from.contains_key(next) {
                    came_from.insert(next, node);
                    queue.push_back(next);
                }
            }
        }
        let mut cycle = vec![start.to_owned()];
        let mut node = came_from[start];
        while node != start {
            cycle.push(node.to_owned());
            node = came_from[node];
        }
        cycle.push(start.to_owned());
        cycle.reverse();
        found.push((cycle, members.iter().map(|m| m.to_string()).collect()));
    }
    found
}

/// The cycles of a crate, described hop by hop (empty: none).
fn describe_cycles(krate: &Crate, graph: &Graph) -> Vec<String> {
    cycles(graph)
        .into_iter()
        .map(|(cycle, members)| {
            let shown: Vec<&str> = cycle.iter().map(|m| show(m)).collect();
            let caught: Vec<&str> = members.iter().map(|m| show(m)).collect();
            let hops: Vec<String> = cycle
                .windows(2)
                .map(|hop| {
                    let e = &graph[&hop[0]][&hop[1]];
                    format!(
                        "    {} -> {}: `{}` ({}:{})",
                        show(&hop[0]),
                        show(&hop[1]),
                        e.path,
                        krate.relative(&e.file).display(),
                        e.line
                    )
                })
                .collect();
            format!(
                "cycle {}\n{}\n    (modules caught in cycles with these: {})",
                shown.join(" -> "),
                hops.join("\n"),
                caught.join(", ")
            )
        })
        .collect()
}

fn crate_src(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(dir)
        .join("src")
}

/// `module`'s imports outside the modules `allowed` (by prefix).
fn imports_outside(graph: &Graph, module: &str, allowed: &[&str]) -> Vec<String> {
    graph[module]
        .keys()
        .filter(|m| {
            !allowed
                .iter()
                .any(|a| m.as_str() == *a || m.starts_with(&format!("{a}::")))
        })
        .cloned()
        .collect()
}

/// The layering rules of one crate (beyond "no cycle"): what a low module may import.
fn layering(dir: &str, graph: &Graph) -> Vec<String> {
    let mut broken = Vec::new();
    let mut only = |module: &str, allowed: &[&str]| {
        let outside = imports_outside(graph, module, allowed);
        if !outside.is_empty() {
            broken.push(format!(
                "{dir}: {module} may import only {allowed:?}, imports {outside:?}"
            ));
        }
    };
    match dir {
        "kea-runscript-spawn" => {
            // The raw layers know nothing above them.
            for module in graph.keys().filter(|m| m.starts_with("arch")) {
                only(module, &["arch"]);
            }
            only("sys", &["arch"]);
            only("keeper", &["sys", "arch"]);
        }
        "kea-runscript-core" => {
            // Leaves: the fd plumbing and the shared leaf types know nothing above them.
            for low in ["fdio", "answer", "log", "counters"] {
                only(low, &[low]);
            }
            // A decision is a verdict and an answer's data.
            only("verdict", &["verdict", "answer"]);
            if graph["runner::reaper"].contains_key("runner::spawn_async") {
                broken.push("runner::reaper imports runner::spawn_async".into());
            }
        }
        "kea-runscript-env" => {
            // Models know only models; the text formats know no renderer.
            for module in graph.keys().filter(|m| m.starts_with("model")) {
                only(module, &["model"]);
            }
            only("format", &["model"]);
        }
        _ => {}
    }
    broken
}

#[test]
fn no_module_cycle_and_layering_holds_in_every_crate() {
    let mut problems = Vec::new();
    for dir in CRATES {
        let krate = Crate::load(&crate_src(dir));
        let graph = krate.graph();
        assert!(graph.len() > 1, "{dir}: no modules read");
        if *dir == "kea-runscript-core" {
            // The parse sees bare child paths in the real tree (`output::OutputCollector`
            // in a field of runner's ScriptTarget, no `use`).
            assert!(graph["runner"].contains_key("runner::output"), "{graph:#?}");
        }
        for cycle in describe_cycles(&krate, &graph) {
            problems.push(format!("{dir}: {cycle}"));
        }
        problems.extend(layering(dir, &graph));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Any source tree given by `LAYERS_SRC` (a crate's `src`), for cycles: how the check
/// was shown to fail on core before the fd plumbing left `worker/process.rs`.
#[test]
#[ignore = "needs LAYERS_SRC"]
fn no_module_cycle_in_layers_src() {
    let src = std::env::var("LAYERS_SRC").expect("LAYERS_SRC=<a crate's src directory>");
    let krate = Crate::load(Path::new(&src));
    let found = describe_cycles(&krate, &krate.graph());
    assert!(found.is_empty(), "{src}:\n{}", found.join("\n"));
}

/// The checker's own tests, on small crates written to a temporary directory.
mod checker {
    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> (tempfile::TempDir, Crate) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let krate = Crate::load(dir.path());
        (dir, krate)
    }

    fn found(files: &[(&str, &str)]) -> Vec<String> {
        let (_dir, krate) = crate_of(files);
        describe_cycles(&krate, &krate.graph())
    }

    #[test]
    fn a_bare_child_path_and_a_grouped_renamed_use_make_a_cycle() {
        // The shape of the cycle core had: the parent calls `output::pipe()` (a bare
        // child path, no `use`), the child takes the parent's type through a grouped,
        // renamed `use super::{…}`.
        let files = [
            ("lib.rs", "pub mod runner;\n"),
            (
                "runner/mod.rs",
                "pub mod output;\npub struct Context;\npub fn start() {\n    let _ = output::pipe();\n}\n",
            ),
            (
                "runner/output.rs",
                "use super::{Context as Ctx, *};\npub fn pipe() -> Option<Ctx> {\n    None\n}\n",
            ),
        ];
        let cycles = found(&files);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        let report = &cycles[0];
        assert!(
            report.starts_with("cycle runner -> runner::output -> runner"),
            "{report}"
        );
        assert!(
            report.contains("`output::pipe` (runner/mod.rs:4)"),
            "{report}"
        );
        assert!(
            report.contains("`super::Context` (runner/output.rs:1)"),
            "{report}"
        );
        // Without the bare path, no cycle.
        let files = [
            files[0],
            ("runner/mod.rs", "pub mod output;\npub struct Context;\n"),
            files[2],
        ];
        assert!(found(&files).is_empty());
    }

    #[test]
    fn nested_groups_self_and_super_paths_and_types_make_a_cycle() {
        // a -> b (`use crate::{b::{self as bee}}`, then `bee::B`), b -> c (a type in a
        // signature through `self::`/`crate::`), c -> a (`super::a::A` in a field).
        let cycles = found(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            (
                "a.rs",
                "use crate::{b::{self as bee}};\npub struct A;\npub fn f(_: bee::B) {}\n",
            ),
            (
                "b.rs",
                "pub struct B;\npub fn g() -> crate::c::C {\n    todo!()\n}\n",
            ),
            ("c.rs", "pub struct C(super::a::A);\n"),
        ]);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert!(
            cycles[0].starts_with("cycle a -> b -> c -> a"),
            "{}",
            cycles[0]
        );
    }

    #[test]
    fn paths_in_macros_attributes_and_function_bodies_count() {
        for b in [
            // In a macro's tokens.
            "pub fn g() -> String {\n    format!(\"{:?}\", crate::a::A)\n}\n",
            // In an attribute string.
            "#[derive(serde::Deserialize)]\npub struct B {\n    #[serde(with = \"crate::a::hex\")]\n    x: u8,\n}\n",
            // A `use` inside a function body.
            "pub fn g() {\n    use crate::a::A;\n    let _ = A;\n}\n",
        ] {
            let cycles = found(&[
                ("lib.rs", "mod a;\nmod b;\n"),
                ("a.rs", "#[derive(Debug)]\npub struct A;\npub fn f() {\n    crate::b::g();\n}\n"),
                ("b.rs", b),
            ]);
            assert_eq!(cycles.len(), 1, "{b}: {cycles:?}");
        }
    }

    #[test]
    fn re_exports_are_aliases_and_visibilities_and_docs_are_no_edges() {
        // b names `crate::A`, re-exported by the root from a: the edge is b -> a, and
        // a -> b closes a cycle; the root's re-export is the root's edge only.
        let cycles = found(&[
            ("lib.rs", "mod a;\nmod b;\npub use a::A;\n"),
            (
                "a.rs",
                "pub struct A;\npub fn f() {\n    crate::b::g();\n}\n",
            ),
            ("b.rs", "pub fn g() -> Option<crate::A> {\n    None\n}\n"),
        ]);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert!(cycles[0].starts_with("cycle a -> b -> a"), "{}", cycles[0]);
        // A restricted visibility and a doc link name a module without importing it.
        assert!(found(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                "pub(in crate::a) struct A;\npub fn f() {\n    crate::b::g();\n}\n"
            ),
            ("b.rs", "/// Not [`crate::a::A`].\npub fn g() {}\n"),
        ])
        .is_empty());
    }

    #[test]
    fn layering_rules_see_a_leaf_importing_upwards() {
        let (_dir, krate) = crate_of(&[
            (
                "lib.rs",
                "mod fdio;\nmod runner;\nmod verdict;\nmod answer;\nmod log;\nmod counters;\n",
            ),
            (
                "fdio/mod.rs",
                "mod lines;\npub fn f(_: crate::runner::R) {}\n",
            ),
            ("fdio/lines.rs", "pub struct L;\n"),
            (
                "runner/mod.rs",
                "pub mod reaper;\npub mod spawn_async;\npub struct R;\n",
            ),
            ("runner/reaper.rs", ""),
            ("runner/spawn_async.rs", ""),
            ("verdict.rs", ""),
            ("answer.rs", ""),
            ("log.rs", ""),
            ("counters.rs", ""),
        ]);
        let broken = layering("kea-runscript-core", &krate.graph());
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(broken[0].contains("fdio may import only"), "{}", broken[0]);
    }
}
