//! Launch failures the kernel cannot be made to produce on demand (`ENOMEM` from `clone`),
//! through the `fault-injection` test seam (`kea_runscript_core::fault`): each failure is
//! counted (`failed-to-start`) and logged with the OS error, a sync event gets `continue`,
//! queued async events whose turn comes during the failures are counted instead of lost,
//! the engine keeps accepting events, and once launches succeed again the next events run.
//! Alone in its test binary: the seam is process-wide.

mod common;

use common::{
    assert_first_launch_fails, assert_queued_events_fail_to_start, assert_recovered, engine, js,
    make_gate, script,
};
use kea_runscript_core::{fault, log};

#[test]
fn enomem_launch_failures_are_counted_logged_and_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ran");
    let record = script(
        dir.path(),
        "record",
        &format!("echo \"$1\" >> {}", js(&out)),
    );
    let gate = dir.path().join("gate");
    make_gate(&gate);
    let gated = script(
        dir.path(),
        "gated",
        &format!("read -r line < {}; echo gated >> {}", js(&gate), js(&out)),
    );
    let (sync, sync_log) = engine(&format!(
        r#"{{"name": {}, "sync": true, "exit-codes": {{"0": "skip"}}}}"#,
        js(&record)
    ));
    let (queue, queue_log) = engine(&format!(
        r#"{{"name": {}, "max-in-flight": 1, "max-queued": 4}}"#,
        js(&gated)
    ));

    // 1. A sync event whose launch fails: continue (not the mapped skip), counted, logged.
    fault::fail_next_spawns(1, libc::ENOMEM);
    assert_first_launch_fails(&sync, &sync_log, "Cannot allocate memory");
    let lines = sync_log.with_id(log::SPAWN_FAILED);
    assert_eq!(lines.len(), 1, "{lines:?}");

    // 2. Queued async events whose turn comes while launches fail: one run holds the only
    // slot, three wait; launches start failing, the run ends, and each queued event fails
    // to start, counted and logged, none lost or left queued.
    assert_queued_events_fail_to_start(&queue, &gate, || fault::fail_next_spawns(3, libc::ENOMEM));
    let lines = queue_log.with_id(log::SPAWN_FAILED);
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.contains("Cannot allocate memory")),
        "{lines:?}"
    );

    // 3. Launches succeed again: the same engines run their scripts.
    assert_recovered(&sync, &queue, (2, 1, 1, 1), &out);
}
