//! Answers with data from real processes: a spawned sync script's `KEA_…=` stdout lines
//! and a sync worker's answer fields become the decision's data; bad fields are logged,
//! counted and left out while the verdict applies; output is bounded.

mod common;

use std::time::{Duration, Instant};

use common::{engine, js, script, vars};
use kea_runscript_core::{log, Verdict};
use kea_runscript_env::HookPoint;

/// A sync spawned classifier: the MAC in `QUERY4_HWADDR` decides the class.
#[test]
fn a_spawned_scripts_class_lines_become_the_decisions_classes() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "classify",
        r#"echo "looking at $QUERY4_HWADDR"
case "$QUERY4_HWADDR" in
  aa:*) echo KEA_CLASS=quarantine; echo KEA_CLASS=iot ;;
esac"#,
    );
    let (engine, log) = engine(&format!(
        r#"{{"name": {}, "sync": true, "hook-points": ["pkt4_receive"], "log-output": true}}"#,
        js(&s)
    ));
    let quarantined = engine.decide_vars(
        HookPoint::Pkt4Receive,
        vars(&[("QUERY4_HWADDR", "aa:bb:cc:dd:ee:ff")]),
    );
    assert_eq!(quarantined.verdict, Verdict::Continue);
    assert_eq!(quarantined.data.classes, ["quarantine", "iot"]);
    let other = engine.decide_vars(
        HookPoint::Pkt4Receive,
        vars(&[("QUERY4_HWADDR", "02:bb:cc:dd:ee:ff")]),
    );
    assert!(other.data.is_empty(), "{other:?}");
    // The line that is no answer went to the log (`log-output`).
    assert!(
        log.logged(log::SCRIPT_OUTPUT, "looking at aa:bb:cc:dd:ee:ff"),
        "{:?}",
        log.with_id(log::SCRIPT_OUTPUT)
    );
    let counters = engine.counters();
    assert_eq!((counters.answers_with_data, counters.answer_errors), (1, 0));
    engine.shutdown();
}

/// The exit code still decides the verdict; bad lines are left out, counted, logged.
#[test]
fn bad_answer_lines_are_left_out_and_the_verdict_applies() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "bad",
        r#"echo 'KEA_CLASS=$(reboot)'; echo KEA_CLASS=KNOWN; echo KEA_HOSTNAME=pc-1; echo KEA_COLOUR=red; echo KEA_CLASS=ok; exit 4"#,
    );
    let (engine, log) = engine(&format!(
        r#"{{"name": {}, "sync": true, "hook-points": ["pkt4_receive"], "exit-codes": {{"4": "drop"}}}}"#,
        js(&s)
    ));
    let decision = engine.decide_vars(HookPoint::Pkt4Receive, vars(&[]));
    assert_eq!(decision.verdict, Verdict::Drop);
    assert_eq!(decision.data.classes, ["ok"]);
    assert_eq!(decision.data.hostname, None, "no host name at pkt4_receive");
    assert_eq!(engine.counters().answer_errors, 4);
    let logged = log.with_id(log::ANSWER_INVALID);
    assert_eq!(logged.len(), 1, "one line per answer: {logged:?}");
    assert!(logged[0].contains("KNOWN"), "{logged:?}");
    engine.shutdown();
}

/// Megabytes on stdout: the script is never blocked (it ends), at most `MAX_STDOUT`
/// bytes are read, and a class line within them still counts.
#[test]
fn a_flood_on_stdout_is_drained_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "flood",
        "echo KEA_CLASS=first; head -c 8000000 /dev/zero | tr '\\0' 'x'; echo; echo KEA_CLASS=late",
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "sync": true, "hook-points": ["pkt4_receive"], "timeout-ms": 20000}}"#,
        js(&s)
    ));
    let decision = engine.decide_vars(HookPoint::Pkt4Receive, vars(&[]));
    assert_eq!(decision.data.classes, ["first"]);
    let counters = engine.counters();
    assert_eq!((counters.timed_out, counters.exited), (0, 1));
    engine.shutdown();
}

/// A script that leaves a background process holding stdout open is not waited for
/// beyond its own end.
#[test]
fn a_background_process_holding_stdout_does_not_hold_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "bg",
        "echo KEA_CLASS=mine; (sleep 30 &) ; exit 0",
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "sync": true, "hook-points": ["pkt4_receive"]}}"#,
        js(&s)
    ));
    let started = Instant::now();
    let decision = engine.decide_vars(HookPoint::Pkt4Receive, vars(&[]));
    assert_eq!(decision.data.classes, ["mine"]);
    // Not a timing assertion of speed: only that the 30 s sleeper was not waited for.
    assert!(started.elapsed() < Duration::from_secs(25));
    engine.shutdown();
}

/// A script timed out gives `on-timeout` and no data, even if it printed some.
#[test]
fn a_timed_out_script_gives_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "slow", "echo KEA_CLASS=early; sleep 10");
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "sync": true, "hook-points": ["pkt4_receive"], "timeout-ms": 200, "on-timeout": "skip"}}"#,
        js(&s)
    ));
    let decision = engine.decide_vars(HookPoint::Pkt4Receive, vars(&[]));
    assert_eq!(decision.verdict, Verdict::Skip);
    assert!(decision.data.is_empty(), "{decision:?}");
    engine.shutdown();
}

/// At a hook point that takes no data, stdout stays Kea's (not read): parity with Kea's
/// hook, whose scripts write to Kea's stdout.
#[test]
fn where_no_data_is_taken_stdout_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "renew", "echo KEA_CLASS=x");
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "sync": true, "hook-points": ["lease4_renew"]}}"#,
        js(&s)
    ));
    let decision = engine.decide_vars(HookPoint::Lease4Renew, vars(&[]));
    assert!(decision.data.is_empty());
    assert_eq!(engine.counters().answer_errors, 0);
    engine.shutdown();
}

/// A sync worker's answer fields; several scripts combine in configuration order.
#[test]
fn worker_answers_carry_classes_and_scripts_combine_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w");
    std::fs::write(
        &w,
        r#"#!/usr/bin/python3
import json, sys
for line in sys.stdin:
    ev = json.loads(line)
    mac = ev["vars"].get("QUERY4_HWADDR", "")
    answer = {"seq": ev["seq"]}
    if mac.startswith("aa:"):
        answer["classes"] = ["quarantine", "bad name"]
        answer["colour"] = "red"
    if mac.startswith("dd:"):
        answer["verdict"] = "drop"
    sys.stdout.write(json.dumps(answer) + "\n"); sys.stdout.flush()
"#,
    )
    .unwrap();
    std::fs::set_permissions(&w, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let s = script(
        dir.path(),
        "second",
        "echo KEA_CLASS=guest; echo KEA_CLASS=quarantine",
    );
    let (engine, log) = engine(&format!(
        r#"{{"scripts": [{{"name": {}, "mode": "worker", "sync": true, "hook-points": ["pkt4_receive"]}},
            {{"name": {}, "sync": true, "hook-points": ["pkt4_receive"]}}]}}"#,
        js(&w),
        js(&s)
    ));
    let decision = engine.decide_vars(
        HookPoint::Pkt4Receive,
        vars(&[("QUERY4_HWADDR", "aa:00:00:00:00:01")]),
    );
    assert_eq!(decision.verdict, Verdict::Continue);
    assert_eq!(decision.data.classes, ["quarantine", "guest"]);
    assert_eq!(engine.counters().answer_errors, 2);
    assert!(log.logged(log::ANSWER_INVALID, "colour"));
    let dropped = engine.decide_vars(
        HookPoint::Pkt4Receive,
        vars(&[("QUERY4_HWADDR", "dd:00:00:00:00:01")]),
    );
    assert_eq!(dropped.verdict, Verdict::Drop);
    assert_eq!(dropped.data.classes, ["guest", "quarantine"]);
    // The same through the callback path (parked queries), in configuration order.
    let (tx, rx) = std::sync::mpsc::channel();
    engine.decide_adding_with(
        kea_runscript_env::Event::new(HookPoint::Pkt4Receive),
        &|_| Vec::new(),
        Box::new(move |d| tx.send(d).unwrap()),
    );
    let decision = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(decision.data.classes, ["guest", "quarantine"]);
    engine.shutdown();
}
