//! `log-output` for spawned scripts, with real processes: stdout and stderr lines become
//! log lines naming the script, the hook point and the stream; a line without a newline
//! of about a hundred megabytes is cut without growing the host; lines are rate-limited and
//! the suppressed ones counted; async and sync alike.

mod common;

use common::{engine, js, script, wait_idle, wait_until};
use kea_runscript_core::log;
use kea_runscript_env::HookPoint;

/// The host's peak resident memory in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn stdout_and_stderr_lines_are_logged_with_script_and_hook_point() {
    let dir = tempfile::tempdir().unwrap();
    let talk = script(
        dir.path(),
        "talk.sh",
        "echo \"out $1\"; echo 'err line' >&2; printf 'no newline at end'",
    );
    for sync in [false, true] {
        let (engine, sink) = engine(&format!(
            r#"{{"name": {}, "sync": {sync}, "log-output": true, "hook-points": ["lease4_renew"]}}"#,
            js(&talk)
        ));
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
        wait_idle(&engine);
        wait_until("three lines", || {
            sink.with_id(log::SCRIPT_OUTPUT).len() >= 3
        });
        engine.shutdown();
        let lines = sink.with_id(log::SCRIPT_OUTPUT);
        let label = talk.display().to_string();
        for expected in [
            format!("script {label} at lease4_renew (stdout): out lease4_renew"),
            format!("script {label} at lease4_renew (stderr): err line"),
            format!("script {label} at lease4_renew (stdout): no newline at end"),
        ] {
            assert!(
                lines.contains(&expected),
                "sync={sync}: {expected:?} not in {lines:?}"
            );
        }
        assert_eq!(lines.len(), 3, "sync={sync}: {lines:?}");
    }
}

#[test]
fn a_huge_line_without_newline_is_cut_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 96 MiB without a newline, then a normal line (async: no timeout cuts it short).
    let flood = script(
        dir.path(),
        "flood.sh",
        "head -c 100663296 /dev/zero | tr '\\0' x; echo; echo after",
    );
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "log-output": true, "hook-points": ["lease4_renew"]}}"#,
        js(&flood)
    ));
    let before = peak_rss_kib();
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    wait_until("the line after the flood", || {
        sink.with_id(log::SCRIPT_OUTPUT)
            .iter()
            .any(|l| l.ends_with("(stdout): after"))
    });
    let grown = peak_rss_kib().saturating_sub(before);
    engine.shutdown();
    let lines = sink.with_id(log::SCRIPT_OUTPUT);
    assert_eq!(
        lines.len(),
        2,
        "{:?}",
        lines.iter().map(|l| l.len()).collect::<Vec<_>>()
    );
    assert!(
        lines[0].ends_with("[line cut at 2048 bytes]"),
        "{}",
        &lines[0][..100]
    );
    assert!(lines[0].len() < 2048 + 200);
    // Far below the 96 MiB the script wrote: the host kept one cut line.
    assert!(grown < 32 * 1024, "peak RSS grew by {grown} KiB");
}

#[test]
fn output_lines_are_rate_limited_and_the_suppressed_ones_counted() {
    let dir = tempfile::tempdir().unwrap();
    let chatty = script(dir.path(), "chatty.sh", "seq 1 1000; sleep 1.2; echo last");
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "log-output": true, "hook-points": ["lease4_renew"]}}"#,
        js(&chatty)
    ));
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    wait_until("the last line", || {
        sink.logged(log::SCRIPT_OUTPUT, "(stdout): last")
    });
    wait_idle(&engine);
    engine.shutdown();
    let lines = sink.with_id(log::SCRIPT_OUTPUT);
    assert!(lines.len() < 1001, "{} lines logged", lines.len());
    let last = lines.last().unwrap();
    assert!(last.contains("lines not logged before this one"), "{last}");
}
