//! `log-output` for spawned scripts, with real processes: stdout and stderr lines become
//! log lines naming the script, the hook point and the stream; a line without a newline
//! of about a hundred megabytes is cut without growing the host; lines are rate-limited and
//! the suppressed ones counted; async and sync alike.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{engine, js, script, wait_idle, wait_until};
use kea_runscript_core::log::{self, LogSink, Severity};
use kea_runscript_core::Engine;
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

/// A log sink that keeps every line with the moment it arrived.
#[derive(Default)]
struct Timed(Mutex<Vec<(Instant, &'static str, String)>>);

impl LogSink for Timed {
    fn log(&self, _severity: Severity, id: &'static str, text: &str) {
        let now = Instant::now();
        self.0.lock().unwrap().push((now, id, text.to_owned()));
    }
}

impl Timed {
    fn output(&self) -> Vec<(Instant, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, id, _)| *id == log::SCRIPT_OUTPUT)
            .map(|(t, _, text)| (*t, text.clone()))
            .collect()
    }
}

#[test]
fn output_lines_are_rate_limited_and_the_suppressed_ones_counted() {
    const WRITTEN: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    // 1000 numbered lines at once, then, in a later window, one more.
    let chatty = script(
        dir.path(),
        "chatty.sh",
        &format!("seq 1 {WRITTEN}; sleep 1.2; echo {}", WRITTEN + 1),
    );
    let sink = Arc::new(Timed::default());
    let engine = Engine::from_json(
        &format!(
            r#"{{"name": {}, "log-output": true, "hook-points": ["lease4_renew"]}}"#,
            js(&chatty)
        ),
        sink.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    let last_line = format!("(stdout): {}", WRITTEN + 1);
    wait_until("the last line", || {
        sink.output().iter().any(|(_, l)| l.contains(&last_line))
    });
    wait_idle(&engine);
    engine.shutdown();
    let logged = sink.output();
    // The limiter's promise (`OUTPUT_LINES_PER_SECOND` in src/runner/output.rs).
    let limit = 100;
    let prefix = format!("script {} at lease4_renew (stdout): ", chatty.display());
    // Each logged line: the number the script wrote and the count of lines said to be
    // suppressed before it.
    let parsed: Vec<(Instant, usize, usize)> = logged
        .iter()
        .map(|(t, l)| {
            let rest = l
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("not a line of the script: {l}"));
            let (number, suppressed) = match rest.split_once(" (") {
                Some((n, note)) => {
                    let count = note
                        .strip_suffix(" lines not logged before this one)")
                        .unwrap_or_else(|| panic!("unknown note in {l}"));
                    (n, count.parse::<usize>().unwrap())
                }
                None => (rest, 0),
            };
            (*t, number.parse::<usize>().unwrap(), suppressed)
        })
        .collect();
    // Every line the script wrote is either logged or counted in the note of the next
    // one logged, exactly: the note says how many were skipped since the one before.
    let mut previous = 0;
    for &(_, number, suppressed) in &parsed {
        assert_eq!(
            number - previous - 1,
            suppressed,
            "line {number} says {suppressed} lines were not logged since line {previous}"
        );
        previous = number;
    }
    assert_eq!(previous, WRITTEN + 1, "the last line written is logged");
    let reported: usize = parsed.iter().map(|&(_, _, s)| s).sum();
    assert_eq!(
        parsed.len() + reported,
        WRITTEN + 1,
        "logged + reported suppressed == lines written"
    );
    // At most `limit` lines per window. A window starts with the first line, with a
    // line that reports suppressed ones (the window before was full), and with the first
    // line a second or more after its start.
    let mut windows: Vec<(Instant, usize)> = Vec::new();
    for &(t, _, suppressed) in &parsed {
        match windows.last_mut() {
            Some((start, n))
                if suppressed == 0 && t.duration_since(*start) < Duration::from_secs(1) =>
            {
                *n += 1
            }
            _ => windows.push((t, 1)),
        }
    }
    for (i, &(_, n)) in windows.iter().enumerate() {
        assert!(
            n <= limit,
            "window {i}: {n} lines logged (limit {limit} a second)"
        );
    }
    // The burst was limited: the first window logged the limit, and the rest of the
    // burst was suppressed (reported with the line after the pause).
    assert_eq!(windows[0].1, limit, "the first window logs up to the limit");
    assert!(
        reported > 0,
        "nothing suppressed of {WRITTEN} lines at once"
    );
}
