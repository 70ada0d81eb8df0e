//! Hostile bytes through every example script: host names (client-controlled) and
//! interface names holding `$(...)`, backticks, `;`, `|`, newlines that imitate log lines,
//! `../`, quotes and globs, 255 bytes, and bytes that are not UTF-8, set byte for byte in
//! the environment of every hook point's variables (rendered from `fixtures/events/`).
//! Nothing is executed (a canary file that each payload would create stays absent), every
//! script ends normally, and no log line is forged: `debug.sh` writes one header and one
//! escaped line per variable, the dry-run logs of `routes.sh` and `nft-set.sh` hold only
//! their commands, one per line.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use kea_runscript_env::{render, Event};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The hostile values; `{canary}` is replaced by a path each payload would create.
fn payloads(canary: &Path) -> Vec<Vec<u8>> {
    let c = canary.display();
    let mut list: Vec<Vec<u8>> = [
        format!("$(touch {c})"),
        format!("`touch {c}`"),
        format!("a; touch {c}"),
        format!("a | touch {c}"),
        format!("a && touch {c} #"),
        "x\n=== 2026-01-01T00:00:00.000Z leases4_committed (pid 1)\n    LEASE4_ADDRESS=6.6.6.6\nforged".to_owned(),
        "../../../../etc/passwd".to_owned(),
        "'\"$IFS*?[a-z]{x,y}~\\".to_owned(),
        format!("a\rforged\x1b[2J\x07{}", "\u{202e}"),
        "h".repeat(255),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    list.push(vec![
        0xff, 0xfe, b'a', 0x80, 0xc3, 0x28, b'\n', b'f', b'o', b'r', b'g', b'e', b'd',
    ]);
    list
}

/// Every hook point's variables (all fields set), with each host name and interface name
/// replaced by `payload`, byte for byte.
fn events(payload: &[u8]) -> Vec<(String, Vec<(String, OsString)>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo().join("fixtures/events")).unwrap() {
        let path = entry.unwrap().path();
        let event: Event = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let vars = render(&event)
            .into_iter()
            .map(|(name, value)| {
                let value = if name.ends_with("_HOSTNAME") || name.ends_with("_IFACE_NAME") {
                    OsString::from_vec(payload.to_vec())
                } else {
                    OsString::from(value)
                };
                (name, value)
            })
            .collect();
        out.push((event.hook_point.name().to_owned(), vars));
    }
    out
}

fn run(script: &str, hook: &str, vars: &[(String, OsString)], settings: &[(&str, &Path)]) {
    let out = Command::new(repo().join("examples").join(script))
        .arg(hook)
        .env_clear()
        .envs(vars.iter().map(|(n, v)| (n.as_str(), v.as_os_str())))
        .envs(settings.iter().map(|(n, v)| (*n, v.as_os_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {hook}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hostile_names_execute_nothing_and_forge_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let debug_log = dir.path().join("debug.log");
    let dry_log = dir.path().join("dry-run.log");
    let list = dir.path().join("blocklist");
    std::fs::write(&list, "00:00:5e:00:53:01\n").unwrap();
    let mut calls = 0;
    let mut lines_expected = 0;
    for payload in payloads(&canary) {
        for (hook, vars) in events(&payload) {
            calls += 1;
            lines_expected += 1 + vars.len();
            run(
                "debug.sh",
                &hook,
                &vars,
                &[("KEA_RUNSCRIPT_DEBUG_LOG", &debug_log)],
            );
            let dry = [
                ("DRY_RUN", Path::new("1")),
                ("ROUTES_LOG", &dry_log),
                ("NFT_LOG", &dry_log),
            ];
            run("routes.sh", &hook, &vars, &dry);
            run("nft-set.sh", &hook, &vars, &dry);
            run("blocklist.sh", &hook, &vars, &[("BLOCKLIST_FILE", &list)]);
            assert!(!canary.exists(), "a payload ran at {hook}: {payload:?}");
        }
    }

    // debug.sh: one header per call, then exactly one indented NAME=value line per
    // variable; the newlines of the payloads are escaped, never line breaks.
    let log = std::fs::read(&debug_log).unwrap();
    let lines: Vec<&[u8]> = log
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let headers = lines.iter().filter(|l| l.starts_with(b"=== ")).count();
    assert_eq!(headers, calls, "records in debug.sh's log");
    assert_eq!(lines.len(), lines_expected, "lines in debug.sh's log");
    for line in &lines {
        let var = line.strip_prefix(b"    ").map(|rest| {
            let name_len = rest.iter().position(|&b| b == b'=').unwrap_or(0);
            name_len > 0
                && rest[..name_len]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
        });
        assert!(
            line.starts_with(b"=== ") || var == Some(true),
            "forged line in debug.sh's log: {:?}",
            String::from_utf8_lossy(line)
        );
        assert!(
            !line.iter().any(|b| b.is_ascii_control()),
            "control byte: {line:?}"
        );
    }
    // The payload bytes are all there, escaped or as they are (not replaced by U+FFFD).
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains("=== 2026-01-01T00:00:00.000Z leases4_committed (pid 1)\\n"));
    assert!(
        log.windows(4).any(|w| w == [0xff, 0xfe, b'a', 0x80]),
        "raw bytes kept"
    );

    // Dry runs: only the commands, one per line.
    let dry = std::fs::read(&dry_log).unwrap_or_default();
    for line in dry.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(
            line.starts_with(b"ip ")
                || line.starts_with(b"nft ")
                || line.starts_with(b"routes.sh "),
            "unexpected line in the dry-run log: {:?}",
            String::from_utf8_lossy(line)
        );
    }
}
