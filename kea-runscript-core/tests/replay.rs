//! Replayed events (`lease4_replay`) with real processes: paced by the script's bounds,
//! never dropped, never taking the queue places of live events.

mod common;

use std::net::Ipv4Addr;

use common::{engine, js, script, wait_idle};
use kea_runscript_env::{Event, HookPoint, Lease4};

fn replay_event(i: u32) -> Event {
    let mut event = Event::new(HookPoint::Lease4Replay);
    event.lease4 = Some(Lease4::new(Ipv4Addr::from(0x0a00_0000 + i)));
    event
}

#[test]
fn a_replay_waits_for_room_instead_of_dropping() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seen");
    // Slow enough that 200 events overrun one slot and no queue many times over.
    let s = script(
        dir.path(),
        "record",
        &format!(
            "echo \"$1 $LEASE4_ADDRESS\" >> {}; sleep 0.01",
            out.display()
        ),
    );
    let (engine, _sink) = engine(&format!(
        r#"{{"name": {}, "replay-leases": true, "max-in-flight": 1, "max-queued": 0}}"#,
        js(&s)
    ));
    for i in 0..200 {
        assert!(engine.replay(replay_event(i)), "engine running");
    }
    let counters = wait_idle(&engine);
    assert_eq!(counters.dropped, 0, "{counters:?}");
    assert_eq!(counters.started, 200, "{counters:?}");
    let seen = std::fs::read_to_string(&out).unwrap();
    let mut lines: Vec<&str> = seen.lines().collect();
    lines.sort_unstable();
    let mut expected: Vec<String> = (0..200)
        .map(|i| format!("lease4_replay {}", Ipv4Addr::from(0x0a00_0000 + i)))
        .collect();
    expected.sort_unstable();
    assert_eq!(lines, expected);
    engine.shutdown();
    assert!(
        !engine.replay(replay_event(0)),
        "a stopped engine ends the replay"
    );
}

#[test]
fn a_script_without_replay_leases_gets_no_replay() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seen");
    let s = script(
        dir.path(),
        "record",
        &format!("echo \"$1\" >> {}", out.display()),
    );
    let (engine, _sink) = engine(&format!(r#"{{"name": {}}}"#, js(&s)));
    assert!(!engine.wants(HookPoint::Lease4Replay));
    assert!(engine.replay(replay_event(1)));
    wait_idle(&engine);
    assert!(!out.exists(), "nothing ran");
}

#[test]
fn sync_scripts_are_waited_for_and_expressions_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seen");
    let s = script(
        dir.path(),
        "record",
        &format!(
            "echo \"$1 $LEASE4_ADDRESS [${{VENDOR-unset}}]\" >> {}; exit 4",
            out.display()
        ),
    );
    let (engine, _sink) = engine(&format!(
        r#"{{"name": {}, "sync": true, "replay-leases": true, "exit-codes": {{"4": "drop"}},
            "expressions": {{"VENDOR": "option[60].text"}}}}"#,
        js(&s)
    ));
    for i in 0..5 {
        assert!(engine.replay(replay_event(i)));
    }
    let seen = std::fs::read_to_string(&out).unwrap();
    assert_eq!(seen.lines().count(), 5, "each waited for: {seen}");
    assert!(seen.lines().all(|l| l.ends_with(" []")), "{seen}");
}
