//! ARCHITECTURE.md names only what exists: every path it quotes is a file or directory of the
//! workspace, every crate of the workspace has a row in its crate table (and every row is a
//! crate or directory), and every test it cites as a check is a test function, a test, bench
//! or fuzz target file of the workspace. A renamed file or test fails here until the map is
//! updated.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is inside the workspace")
        .to_path_buf()
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md")
}

/// The text between backticks in `text`, in order.
fn quoted(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Whether `span` is written as a path: a directory or a file with a source or doc extension.
fn looks_like_path(span: &str) -> bool {
    !span.contains(' ')
        && !span.contains("::")
        && !span.starts_with('-')
        && (span.contains('/')
            || [".rs", ".cc", ".h", ".md", ".toml", ".sh"]
                .iter()
                .any(|ext| span.ends_with(ext)))
}

/// Every file and directory of the workspace (not build output), relative to the root.
fn workspace_entries() -> Vec<PathBuf> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            out.push(
                path.strip_prefix(base)
                    .expect("under the root")
                    .to_path_buf(),
            );
            if path.is_dir() {
                walk(&path, base, out);
            }
        }
    }
    let root = root();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

/// Whether `span` names an existing path: from the root, or from any directory of the
/// workspace (the map abbreviates inside a crate's row: `src/lib.rs`, `worker/queue.rs`).
fn exists(span: &str, entries: &[PathBuf]) -> bool {
    let wanted = Path::new(span.trim_end_matches('/'));
    entries.iter().any(|entry| entry.ends_with(wanted))
}

#[test]
fn every_quoted_path_exists() {
    let entries = workspace_entries();
    let text = architecture();
    let missing: Vec<&str> = quoted(&text)
        .into_iter()
        .filter(|span| looks_like_path(span) && !span.contains('*') && !span.contains('<'))
        .filter(|span| !exists(span, &entries))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

/// The section of `text` under `## <title>`.
fn section<'a>(text: &'a str, title: &str) -> &'a str {
    text.split("\n## ")
        .find(|s| s.starts_with(title))
        .unwrap_or_else(|| panic!("a \"## {title}\" section"))
}

/// The first cell of each row of the table under `## Crates`.
fn crate_table_rows(text: &str) -> Vec<String> {
    section(text, "Crates")
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| quoted(line).first().map(|s| s.to_string()))
        .collect()
}

/// The workspace members of the root Cargo.toml.
fn members() -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let list = manifest
        .split("members = [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("a members list");
    list.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .flat_map(|line| line.split(','))
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

#[test]
fn the_crate_table_lists_every_workspace_crate() {
    let rows: BTreeSet<String> = crate_table_rows(&architecture())
        .into_iter()
        .map(|row| row.trim_end_matches('/').to_string())
        .collect();
    let members = members();
    assert!(members.len() >= 5, "members parsed: {members:?}");
    for member in &members {
        assert!(
            rows.contains(member),
            "workspace crate {member} has no row in ARCHITECTURE.md's crate table"
        );
    }
    for row in &rows {
        assert!(
            root().join(row).exists(),
            "ARCHITECTURE.md's crate table names {row}, which does not exist"
        );
    }
}

/// Every `fn` name in the workspace's Rust sources.
fn function_names(entries: &[PathBuf]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in entries
        .iter()
        .filter(|e| e.extension().is_some_and(|x| x == "rs"))
    {
        let Ok(text) = std::fs::read_to_string(root().join(entry)) else {
            continue;
        };
        for piece in text.split("fn ").skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// The third cell of each row of the invariants table: what checks each invariant.
fn checked_by_cells(text: &str) -> Vec<String> {
    section(text, "Where each invariant is kept")
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| invariant"))
        .filter_map(|line| line.split('|').nth(3).map(str::to_string))
        .collect()
}

#[test]
fn every_cited_check_exists() {
    let entries = workspace_entries();
    let functions = function_names(&entries);
    let stems: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut missing = Vec::new();
    for cell in checked_by_cells(&architecture()) {
        for span in quoted(&cell) {
            // Commands, settings and Kea's library are not names of checks.
            if span.contains(' ') || span.contains('=') || span.ends_with(".so") {
                continue;
            }
            let stem = span.trim_end_matches(".rs");
            if !functions.contains(span) && !stems.contains(stem) {
                missing.push(span.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md cites checks that do not exist: {missing:?}"
    );
}

#[test]
fn the_checks_see_a_wrong_map() {
    let entries = workspace_entries();
    assert!(exists("kea-hook-sdk/src/loaded.rs", &entries));
    assert!(exists("worker/queue.rs", &entries));
    assert!(!exists("kea-runscript-hook/src/bridge.rs", &entries));
    assert!(!looks_like_path("cargo clippy"));
    let functions = function_names(&entries);
    assert!(functions.contains("every_cited_check_exists"));
    assert!(!functions.contains("a_callout_is_exported_for_every_hook_point"));
    let rows = crate_table_rows("# Map\n## Crates\n\n| `a/` | x |\n| `b` | y |\n");
    assert_eq!(rows, ["a/", "b"]);
}
