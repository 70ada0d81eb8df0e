//! The worker runner with real worker processes (Python and shell): protocol, order,
//! replay, restarts with backoff, bounds, sync verdicts and timeouts, unload.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{engine, js, script, vars, wait_until};
use kea_runscript_core::{log, Verdict};
use kea_runscript_env::HookPoint;
use serde_json::Value;

/// Prelude of every Python worker: read events, answer.
const PRELUDE: &str = r#"import json, os, signal, sys, time
def events():
    for line in sys.stdin:
        yield json.loads(line)
def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
"#;

/// Writes an executable Python worker `name` with `body` (after [`PRELUDE`]).
fn py(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/python3\n{PRELUDE}{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The JSON lines of a file a worker wrote (none if it does not exist yet).
fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn alive(pid: i32) -> bool {
    // A zombie is not alive: its /proc entry says state Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next());
            state != Some(Some('Z'))
        })
        .unwrap_or(false)
}

/// A value that is not UTF-8 reaches a Python worker as `\udcXX` escapes, and the documented
/// decode (`encode("utf-8", "surrogateescape")`) gives back the exact bytes.
#[test]
fn non_utf8_values_reach_a_python_worker_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let got = dir.path().join("bytes");
    let w = py(
        dir.path(),
        "w",
        &format!(
            r#"for ev in events():
    open({got:?}, "ab").write(ev["vars"]["H"].encode("utf-8", "surrogateescape") + b"\n")
    answer({{"seq": ev["seq"]}})
"#,
            got = got.to_str().unwrap()
        ),
    );
    let (engine, _) = engine(&format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&w)));
    let values: [&[u8]; 3] = [b"caf\xe9.\xff\xc3(\x80", "h\u{f6}st".as_bytes(), b"plain"];
    for value in values {
        engine.handle_vars(HookPoint::Lease4Renew, vec![("H".into(), value.into())]);
    }
    wait_until("every event acked", || engine.counters().acked == 3);
    let expected: Vec<u8> = values.iter().flat_map(|v| [*v, b"\n"].concat()).collect();
    assert_eq!(std::fs::read(&got).unwrap(), expected);
}

/// Records every event line and acks it.
fn recorder(dir: &Path, log: &Path) -> PathBuf {
    py(
        dir,
        "recorder",
        &format!(
            r#"out = open({log:?}, "a")
for ev in events():
    out.write(json.dumps(ev) + "\n"); out.flush()
    answer({{"seq": ev["seq"]}})
"#,
            log = log.to_str().unwrap()
        ),
    )
}

#[test]
fn every_event_arrives_once_in_seq_order_with_its_vars_and_is_acked() {
    let dir = tempfile::tempdir().unwrap();
    let got = dir.path().join("events");
    let start = dir.path().join("start");
    let w = py(
        dir.path(),
        "w",
        &format!(
            r#"fds = sorted(os.listdir("/proc/self/fd"))
status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
json.dump({{"argv": sys.argv[1:], "fds": fds, "stdin": os.readlink("/proc/self/fd/0"),
           "stdout": os.readlink("/proc/self/fd/1"), "blocked": status["SigBlk"].strip(),
           "env": {{k: v for k, v in os.environ.items() if k != "LC_CTYPE"}}, "pgid_is_pid": os.getpgid(0) == os.getpid()}}, open({start:?}, "w"))
out = open({got:?}, "a")
for ev in events():
    out.write(json.dumps(ev) + "\n"); out.flush()
    answer({{"seq": ev["seq"]}})
"#,
            start = start.to_str().unwrap(),
            got = got.to_str().unwrap()
        ),
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "env": {{"EXTRA": "x y"}}, "hook-points": ["lease4_renew", "leases6_committed"]}}"#,
        js(&w)
    ));
    let n = 200;
    for i in 0..n {
        let hp = if i % 2 == 0 {
            HookPoint::Lease4Renew
        } else {
            HookPoint::Leases6Committed
        };
        let verdict = engine.handle_vars(
            hp,
            vars(&[("I", &i.to_string()), ("Q", "a\"b\\c\nd"), ("EMPTY", "")]),
        );
        assert_eq!(verdict, Verdict::Continue);
    }
    wait_until("every event acked", || engine.counters().acked == n);
    let lines = json_lines(&got);
    assert_eq!(lines.len(), n as usize);
    let instance = lines[0]["instance"].as_str().unwrap().to_owned();
    assert_eq!(instance.len(), 32, "{instance}");
    assert!(instance.bytes().all(|b| b.is_ascii_hexdigit()));
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["v"], 1);
        assert_eq!(line["instance"], instance.as_str());
        assert_eq!(line["seq"], i as u64 + 1, "{line}");
        assert_eq!(line["replay"], false);
        assert_eq!(line["reply"], "ack");
        let hp = if i % 2 == 0 {
            "lease4_renew"
        } else {
            "leases6_committed"
        };
        assert_eq!(line["hook_point"], hp);
        assert_eq!(
            line["vars"],
            serde_json::json!({"I": i.to_string(), "Q": "a\"b\\c\nd", "EMPTY": ""})
        );
    }
    // The vars keep the rendering order (checked on the raw text).
    let raw = std::fs::read_to_string(&got).unwrap();
    let first = raw.lines().next().unwrap();
    assert!(first.find("\"I\"").unwrap() < first.find("\"Q\"").unwrap());
    assert!(first.find("\"Q\"").unwrap() < first.find("\"EMPTY\"").unwrap());

    let start: Value = serde_json::from_str(&std::fs::read_to_string(&start).unwrap()).unwrap();
    assert_eq!(start["argv"], serde_json::json!(["worker"]));
    assert_eq!(
        start["env"],
        serde_json::json!({"EXTRA": "x y", "KEA_RUNSCRIPT_PROTOCOL": "1"}),
        "only the configured env and the protocol version"
    );
    // (Python itself sets LC_CTYPE, PEP 538; the test leaves it out.)
    // 0, 1, 2 and the directory listing's own fd.
    assert_eq!(start["fds"].as_array().unwrap().len(), 4, "{start}");
    assert!(start["stdin"].as_str().unwrap().starts_with("pipe:"));
    assert!(start["stdout"].as_str().unwrap().starts_with("pipe:"));
    assert_eq!(start["blocked"], "0000000000000000");
    assert_eq!(start["pgid_is_pid"], true);
    let c = engine.counters();
    assert_eq!(
        (c.events, c.acked, c.dropped, c.queued, c.worker_restarts),
        (n, n, 0, 0, 0),
        "{c}"
    );
}

#[test]
fn sync_answers_map_to_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    // Answers with the JSON found in the event's ANSWER variable (plus its seq).
    let w = py(
        dir.path(),
        "w",
        r#"for ev in events():
    a = json.loads(ev["vars"]["ANSWER"]); a["seq"] = ev["seq"]
    assert ev["reply"] == "verdict"
    answer(a)
"#,
    );
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "sync": true, "exit-codes": {{"3": "skip", "4": "drop"}}}}"#,
        js(&w)
    ));
    let table = [
        (r#"{}"#, Verdict::Continue),
        (r#"{"verdict": "continue"}"#, Verdict::Continue),
        (r#"{"verdict": "skip"}"#, Verdict::Skip),
        (r#"{"verdict": "drop"}"#, Verdict::Drop),
        (r#"{"code": 0}"#, Verdict::Continue),
        (r#"{"code": 3}"#, Verdict::Skip),
        (r#"{"code": 4}"#, Verdict::Drop),
        (r#"{"code": 77}"#, Verdict::Continue),
    ];
    for (answer, expected) in table {
        let got = engine.handle_vars(HookPoint::Lease4Renew, vars(&[("ANSWER", answer)]));
        assert_eq!(got, expected, "{answer}");
    }
    assert!(sink.logged(log::EXIT_CODE_UNMAPPED, "code 77"));
    assert_eq!(engine.counters().protocol_errors, 0);
}

#[test]
fn answers_in_any_order_reach_the_right_waiters() {
    let dir = tempfile::tempdir().unwrap();
    // Holds events until it has four, then answers them newest first, each with the
    // verdict its WANT variable names.
    let w = py(
        dir.path(),
        "w",
        r#"held = []
for ev in events():
    held.append(ev)
    if len(held) == 4:
        for e in reversed(held):
            answer({"seq": e["seq"], "verdict": e["vars"]["WANT"]})
        held = []
"#,
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "sync": true, "timeout-ms": 60000}}"#,
        js(&w)
    ));
    let engine = Arc::new(engine);
    let wants = ["continue", "skip", "drop", "skip"];
    for _round in 0..5 {
        let threads: Vec<_> = wants
            .iter()
            .map(|&want| {
                let engine = Arc::clone(&engine);
                std::thread::spawn(move || {
                    let v = engine.handle_vars(HookPoint::Lease4Renew, vars(&[("WANT", want)]));
                    (want, v)
                })
            })
            .collect();
        for t in threads {
            let (want, v) = t.join().unwrap();
            assert_eq!(v.name(), want);
        }
    }
    assert_eq!(engine.counters().acked, 20);
}

#[test]
fn a_crash_replays_the_unanswered_event_with_its_seq_and_replay_true() {
    let dir = tempfile::tempdir().unwrap();
    let got = dir.path().join("events");
    let crashed = dir.path().join("crashed");
    // Records every line; on the event with CRASH set, the first worker dies without
    // answering (SIGKILL of itself); the next one answers everything.
    let w = py(
        dir.path(),
        "w",
        &format!(
            r#"out = open({got:?}, "a")
for ev in events():
    out.write(json.dumps(ev) + "\n"); out.flush()
    if ev["vars"].get("CRASH") and not os.path.exists({crashed:?}):
        open({crashed:?}, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    answer({{"seq": ev["seq"]}})
"#,
            got = got.to_str().unwrap(),
            crashed = crashed.to_str().unwrap()
        ),
    );
    let (engine, sink) = engine(&format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&w)));
    engine.handle_vars(HookPoint::Lease4Renew, vars(&[("N", "1")]));
    engine.handle_vars(HookPoint::Lease4Renew, vars(&[("N", "2"), ("CRASH", "1")]));
    engine.handle_vars(HookPoint::Lease4Renew, vars(&[("N", "3")]));
    wait_until("all acked", || engine.counters().acked == 3);
    let lines = json_lines(&got);
    let seen: Vec<(u64, bool)> = lines
        .iter()
        .map(|l| (l["seq"].as_u64().unwrap(), l["replay"].as_bool().unwrap()))
        .collect();
    // seq 2 was seen by the first worker (not answered), then replayed; seq 3 may or
    // may not have reached the first worker's pipe before it died.
    assert_eq!(seen[0], (1, false));
    assert_eq!(seen[1], (2, false));
    let second: Vec<&(u64, bool)> = seen.iter().skip(2).collect();
    assert_eq!(second[0], &(2, true), "{seen:?}");
    assert_eq!(second.last().unwrap().0, 3, "{seen:?}");
    assert_eq!(
        seen.iter().filter(|(s, _)| *s == 1).count(),
        1,
        "acked: never again"
    );
    let c = engine.counters();
    assert_eq!(c.worker_restarts, 1, "{c}");
    assert!(sink
        .with_id(log::WORKER_EXITED)
        .iter()
        .any(|l| l.contains("SIGKILL") && l.contains("restarting")));
}

#[test]
fn protocol_errors_restart_the_worker_and_its_events_are_delivered_again() {
    // (what the first worker prints instead of a good answer, what the log must say)
    let table = [
        ("not json", "not an answer"),
        (r#"{"seq": 999999}"#, "never sent"),
        (
            r#"{"seq": 1, "verdict": "maybe"}"#,
            "not continue, skip or drop",
        ),
        (r#"{"seq": "1"}"#, "not an event number"),
        (r#"{"seq": 1, "code": 300}"#, "not 0 to 255"),
    ];
    for (bad, says) in table {
        let dir = tempfile::tempdir().unwrap();
        let once = dir.path().join("once");
        let w = py(
            dir.path(),
            "w",
            &format!(
                r#"for ev in events():
    if not os.path.exists({once:?}):
        open({once:?}, "w").close()
        sys.stdout.write({bad:?} + "\n"); sys.stdout.flush()
        time.sleep(60)
    answer({{"seq": ev["seq"]}})
"#,
                once = once.to_str().unwrap()
            ),
        );
        let (engine, sink) = engine(&format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&w)));
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
        wait_until("acked after the restart", || engine.counters().acked == 1);
        let c = engine.counters();
        assert_eq!((c.protocol_errors, c.worker_restarts), (1, 1), "{bad}: {c}");
        let errors = sink.with_id(log::WORKER_PROTOCOL_ERROR);
        assert!(errors.iter().any(|l| l.contains(says)), "{bad}: {errors:?}");
    }
}

#[test]
fn a_late_or_repeated_answer_is_ignored_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let w = py(
        dir.path(),
        "w",
        r#"for ev in events():
    answer({"seq": ev["seq"]})
    answer({"seq": ev["seq"]})
"#,
    );
    let (engine, _) = engine(&format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&w)));
    for _ in 0..10 {
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    }
    wait_until("acked", || engine.counters().acked == 10);
    engine.shutdown();
    let c = engine.counters();
    assert_eq!((c.protocol_errors, c.worker_restarts), (0, 0), "{c}");
}

/// Resident memory of this process in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_ten_megabyte_answer_line_is_a_protocol_error_read_no_further() {
    let dir = tempfile::tempdir().unwrap();
    let once = dir.path().join("once");
    let w = py(
        dir.path(),
        "w",
        &format!(
            r#"for ev in events():
    if not os.path.exists({once:?}):
        open({once:?}, "w").close()
        sys.stdout.write("x" * (10 * 1024 * 1024)); sys.stdout.flush()
        time.sleep(60)
    answer({{"seq": ev["seq"]}})
"#,
            once = once.to_str().unwrap()
        ),
    );
    let (engine, sink) = engine(&format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&w)));
    let before = rss_kib();
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    wait_until("acked after the restart", || engine.counters().acked == 1);
    let grew = rss_kib().saturating_sub(before);
    assert!(grew < 4 * 1024, "the hook grew by {grew} KiB");
    assert_eq!(engine.counters().protocol_errors, 1);
    assert!(sink.logged(log::WORKER_PROTOCOL_ERROR, "longer than"));
}

#[test]
fn a_worker_that_never_reads_fills_the_bound_then_events_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let w = script(dir.path(), "deaf", "exec sleep 600");
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "max-queued": 100, "overflow": "drop"}}"#,
        js(&w)
    ));
    for i in 0..5000 {
        // Large enough to fill the pipe too: the writer must not block anyone.
        let big = "v".repeat(1000 + i % 7);
        assert_eq!(
            engine.handle_vars(HookPoint::Lease4Renew, vars(&[("BIG", &big)])),
            Verdict::Continue
        );
    }
    let c = engine.counters();
    assert_eq!((c.events, c.queued, c.dropped), (5000, 100, 4900), "{c}");
    assert!(!sink.with_id(log::EVENT_DROPPED).is_empty());
    engine.shutdown();
    let c = engine.counters();
    // At unload the 100 held ones are given up too, and said so.
    assert_eq!((c.queued, c.dropped), (0, 5000), "{c}");
    assert!(sink.logged(log::WORKER_STOPPED, "100 events were never answered"));
}

#[test]
fn a_worker_that_exits_at_once_is_restarted_with_doubling_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let starts = dir.path().join("starts");
    let w = script(
        dir.path(),
        "quitter",
        &format!("date +%s.%N >> '{}'\nexit 3", starts.display()),
    );
    let (engine, _) = engine(&format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&w)));
    wait_until("six starts", || {
        std::fs::read_to_string(&starts)
            .map(|s| s.lines().count() >= 6)
            .unwrap_or(false)
    });
    // Kea keeps serving meanwhile: events are buffered, not blocking.
    assert_eq!(
        engine.handle_vars(HookPoint::Lease4Renew, vec![]),
        Verdict::Continue
    );
    engine.shutdown();
    let times: Vec<f64> = std::fs::read_to_string(&starts)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    // Each pause is at least the backoff: 0.1 s doubling (a lower bound only).
    for (i, pair) in times.windows(2).take(5).enumerate() {
        let gap = pair[1] - pair[0];
        let backoff = 0.1 * f64::from(1u32 << i);
        assert!(
            gap >= backoff * 0.95,
            "pause {i}: {gap:.3} s < {backoff} s ({times:?})"
        );
    }
    assert!(engine.counters().worker_restarts >= 5);
}

#[test]
fn at_unload_a_worker_ignoring_sigterm_and_eof_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid = dir.path().join("pid");
    let w = py(
        dir.path(),
        "stubborn",
        &format!(
            r#"signal.signal(signal.SIGTERM, signal.SIG_IGN)
open({pid:?}, "w").write(str(os.getpid()))
for ev in events():
    answer({{"seq": ev["seq"]}})
while True:
    time.sleep(1)
"#,
            pid = pid.to_str().unwrap()
        ),
    );
    let (engine, sink) = engine(&format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&w)));
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    wait_until("acked", || engine.counters().acked == 1);
    let pid = read_pid(&pid);
    assert!(alive(pid));
    engine.shutdown();
    assert!(!alive(pid), "the worker must be gone after unload");
    let exited = sink.with_id(log::WORKER_EXITED);
    assert!(
        exited
            .iter()
            .any(|l| l.contains("unload grace") && l.contains("SIGKILL")),
        "{exited:?}"
    );
}

#[test]
fn at_unload_a_worker_gets_eof_answers_what_it_has_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    // Answers only at EOF: everything sent must still be answered within the grace.
    let ready = dir.path().join("ready");
    let w = py(
        dir.path(),
        "batcher",
        &format!(
            r#"open({ready:?}, "w").close()
seqs = [ev["seq"] for ev in events()]
for s in seqs:
    answer({{"seq": s}})
"#,
            ready = ready.to_str().unwrap()
        ),
    );
    let (engine, sink) = engine(&format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&w)));
    for _ in 0..50 {
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    }
    // (Python's start-up on a loaded machine is not what this test is about.)
    wait_until("the worker runs", || ready.exists());
    engine.shutdown();
    let c = engine.counters();
    assert_eq!((c.acked, c.dropped), (50, 0), "{c}");
    assert!(sink.logged(log::WORKER_STOPPED, " 0 events were never answered"));
}

#[test]
fn sync_without_an_answer_gets_on_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let w = script(dir.path(), "silent", "exec cat > /dev/null");
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "sync": true, "timeout-ms": 200, "on-timeout": "drop"}}"#,
        js(&w)
    ));
    let start = Instant::now();
    assert_eq!(
        engine.handle_vars(HookPoint::Lease4Renew, vec![]),
        Verdict::Drop
    );
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(engine.counters().timed_out, 1);
    assert!(!sink.with_id(log::TIMEOUT).is_empty());
}

#[test]
fn a_sync_event_waiting_through_a_restart_gets_the_next_workers_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = dir.path().join("crashed");
    let w = py(
        dir.path(),
        "w",
        &format!(
            r#"for ev in events():
    if not os.path.exists({crashed:?}):
        open({crashed:?}, "w").close()
        os._exit(1)
    assert ev["replay"] is True
    answer({{"seq": ev["seq"], "verdict": "skip"}})
"#,
            crashed = crashed.to_str().unwrap()
        ),
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "sync": true, "timeout-ms": 60000, "on-timeout": "drop"}}"#,
        js(&w)
    ));
    assert_eq!(
        engine.handle_vars(HookPoint::Lease4Renew, vec![]),
        Verdict::Skip
    );
    assert_eq!(engine.counters().worker_restarts, 1);
}

#[test]
fn stderr_lines_go_to_the_log_cut_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 100 MB without a newline, then a normal line; then answers.
    let w = py(
        dir.path(),
        "chatty",
        r#"sys.stderr.write("first line\n"); sys.stderr.flush()
chunk = "y" * (1024 * 1024)
for _ in range(100):
    sys.stderr.write(chunk)
sys.stderr.write("\nafter the flood\n"); sys.stderr.flush()
for ev in events():
    answer({"seq": ev["seq"]})
"#,
    );
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "log-output": true}}"#,
        js(&w)
    ));
    let before = rss_kib();
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    wait_until("acked", || engine.counters().acked == 1);
    wait_until("the flood logged", || {
        sink.logged(log::SCRIPT_OUTPUT, "after the flood")
    });
    let grew = rss_kib().saturating_sub(before);
    assert!(grew < 16 * 1024, "the hook grew by {grew} KiB");
    let lines = sink.with_id(log::SCRIPT_OUTPUT);
    assert!(lines[0].ends_with(": first line"), "{lines:?}");
    assert!(
        lines[1].contains("[line cut at 2048 bytes]"),
        "{:?}",
        &lines[1][..100]
    );
    assert!(lines[1].len() < 2048 + 200);
    assert_eq!(lines.len(), 3, "the flood is one cut line");
}

#[test]
fn spawn_and_worker_scripts_run_side_by_side_and_verdicts_combine() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("spawned");
    let got = dir.path().join("events");
    let spawned = script(
        dir.path(),
        "spawned",
        &format!("touch '{}'", marker.display()),
    );
    let rec = recorder(dir.path(), &got);
    let judge = py(
        dir.path(),
        "judge",
        r#"for ev in events():
    answer({"seq": ev["seq"], "verdict": "skip"})
"#,
    );
    let (engine, _) = engine(&format!(
        r#"{{"scripts": [
            {{"name": {}, "sync": true, "hook-points": ["pkt4_receive"]}},
            {{"name": {}, "mode": "worker", "hook-points": ["pkt4_receive"]}},
            {{"name": {}, "mode": "worker", "sync": true, "hook-points": ["pkt4_receive"]}}
        ]}}"#,
        js(&spawned),
        js(&rec),
        js(&judge)
    ));
    assert_eq!(
        engine.handle_vars(HookPoint::Pkt4Receive, vec![]),
        Verdict::Skip
    );
    assert!(marker.exists());
    wait_until("both workers answered", || engine.counters().acked == 2);
    assert_eq!(json_lines(&got).len(), 1);
}

#[test]
fn a_worker_that_cannot_be_executed_is_logged_and_retried_while_events_wait() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken");
    std::fs::write(&path, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "max-queued": 3, "overflow": "drop"}}"#,
        js(&path)
    ));
    for _ in 0..5 {
        assert_eq!(
            engine.handle_vars(HookPoint::Lease4Renew, vec![]),
            Verdict::Continue
        );
    }
    wait_until("a retry", || engine.counters().worker_restarts >= 2);
    let exited = sink.with_id(log::WORKER_EXITED);
    assert!(
        exited.iter().any(|l| l.contains("execve failed")),
        "{exited:?}"
    );
    let c = engine.counters();
    assert_eq!((c.queued, c.dropped, c.acked), (3, 2, 0), "{c}");
}

#[test]
fn handle_with_combines_the_verdicts_of_workers_and_spawned_scripts_through_a_callback() {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    // A sync worker that answers skip only once `go` exists; another that answers
    // drop at once; an async spawned script; an async worker.
    let slow = py(
        dir.path(),
        "slow",
        &format!(
            r#"for ev in events():
    while not os.path.exists({go:?}):
        time.sleep(0.01)
    answer({{"seq": ev["seq"], "verdict": "skip"}})
"#,
            go = go.to_str().unwrap()
        ),
    );
    let quick = py(
        dir.path(),
        "quick",
        r#"for ev in events():
    answer({"seq": ev["seq"], "verdict": ev["vars"]["QUICK"]})
"#,
    );
    let spawned = script(dir.path(), "spawned", "exit 0");
    let got = dir.path().join("events");
    let rec = recorder(dir.path(), &got);
    let (engine, _) = engine(&format!(
        r#"{{"scripts": [
            {{"name": {}, "mode": "worker", "sync": true, "timeout-ms": 60000, "hook-points": ["pkt4_receive"]}},
            {{"name": {}, "mode": "worker", "sync": true, "hook-points": ["pkt4_receive"]}},
            {{"name": {}, "hook-points": ["pkt4_receive"]}},
            {{"name": {}, "mode": "worker", "hook-points": ["pkt4_receive"]}}
        ]}}"#,
        js(&slow),
        js(&quick),
        js(&spawned),
        js(&rec)
    ));
    let (tx, rx) = std::sync::mpsc::channel();
    let send = move |v| tx.send(v).unwrap();
    engine.handle_vars_with(
        HookPoint::Pkt4Receive,
        vars(&[("QUICK", "continue")]),
        Box::new(send.clone()),
    );
    // Returned without the slow worker's verdict (it cannot answer yet).
    assert!(rx.try_recv().is_err());
    std::fs::write(&go, "").unwrap();
    assert_eq!(
        rx.recv().unwrap(),
        Verdict::Skip,
        "the most severe of continue, skip"
    );
    engine.handle_vars_with(
        HookPoint::Pkt4Receive,
        vars(&[("QUICK", "drop")]),
        Box::new(send),
    );
    assert_eq!(rx.recv().unwrap(), Verdict::Drop);
    // Not selected: continue at once.
    let (tx, rx) = std::sync::mpsc::channel();
    engine.handle_vars_with(
        HookPoint::Pkt6Send,
        vec![],
        Box::new(move |v| tx.send(v).unwrap()),
    );
    assert_eq!(rx.try_recv().unwrap(), Verdict::Continue);
    wait_until("recorded", || json_lines(&got).len() == 2);
}

#[test]
fn handle_with_renders_the_event_for_a_sync_worker_and_calls_back() {
    let dir = tempfile::tempdir().unwrap();
    let w = py(
        dir.path(),
        "judge",
        r#"for ev in events():
    verdict = "drop" if ev["hook_point"] == "lease4_renew" else "continue"
    answer({"seq": ev["seq"], "verdict": verdict})
"#,
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "mode": "worker", "sync": true, "hook-points": ["lease4_renew"]}}"#,
        js(&w)
    ));
    let (tx, rx) = std::sync::mpsc::channel();
    engine.handle_with(
        kea_runscript_env::Event::new(HookPoint::Lease4Renew),
        Box::new(move |v| tx.send(v).unwrap()),
    );
    assert_eq!(rx.recv().unwrap(), Verdict::Drop);
    assert_eq!(engine.counters().events, 1);
}
