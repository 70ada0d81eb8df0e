//! Engines leave no thread behind: shutdown (also run on drop) joins the reaper thread.
//!
//! Alone in its own test binary, so that no other test's threads come and go meanwhile:
//! the count after each drop must equal the count before, exactly.

mod common;

use std::time::{Duration, Instant};

use common::{engine, js, script, wait_until};
use kea_runscript_env::HookPoint;

/// The reaper thread's name ("kea-runscript-reaper") as the kernel keeps it: 15 bytes.
const REAPER_COMM: &str = "kea-runscript-r";

/// This process's threads, and how many of them are reapers (by name).
fn threads() -> (usize, usize) {
    let mut all = 0;
    let mut reapers = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        all += 1;
        let comm = std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
        if comm.trim_end() == REAPER_COMM {
            reapers += 1;
        }
    }
    (all, reapers)
}

#[test]
fn dropping_engines_leaves_no_reaper_thread() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "ok", "exit 0");
    let json = format!(r#"{{"name": {}}}"#, js(&s));
    let before = threads();
    assert_eq!(before.1, 0, "a reaper before any engine");
    for round in 0..30 {
        let (engine, _) = engine(&json);
        // The new thread names itself once it runs: wait for that, not for a time.
        wait_until("the reaper thread named", || threads().1 == 1);
        assert_eq!(
            threads(),
            (before.0 + 1, 1),
            "round {round}: one reaper per engine"
        );
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
        drop(engine); // Drop shuts down and joins the reaper.
                      // The join returns when the kernel clears the thread's tid, a moment before it
                      // takes the task out of /proc (seen in a loaded CI run): allow that moment, no more.
        let deadline = Instant::now() + Duration::from_secs(2);
        while threads() != before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(threads(), before, "round {round}: threads after the drop");
    }
}
