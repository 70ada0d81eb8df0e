//! Engines leave no thread behind: shutdown (also run on drop) joins the reaper thread.
//!
//! Alone in its own test binary, and one test, so that no other test's threads come and
//! go meanwhile: the count after each drop must equal the count before, exactly. And the
//! drop must not return while the reaper thread still runs: a reaper that is only told
//! to stop and left to end by itself would also leave /proc soon after, so that is shown
//! with a reaper held busy in the log sink (see `unload_waits_for_the_reaper_thread`).

mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{engine, js, script, wait_until};
use kea_runscript_core::log::{self, LogSink, Severity};
use kea_runscript_core::Engine;
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
    counts_are_back_after_each_drop();
    unload_waits_for_the_reaper_thread();
}

fn counts_are_back_after_each_drop() {
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
        // Drop shuts down and joins the reaper. The join returns when the kernel clears
        // the thread's tid, a moment before it takes the task out of /proc (seen in a
        // loaded CI run): wait for it to go. That the drop joined it, rather than letting
        // it end by itself, is shown by `unload_waits_for_the_reaper_thread`.
        drop(engine);
        wait_until("the reaper thread gone from /proc", || threads() == before);
        assert_eq!(threads(), before, "round {round}: threads after the drop");
    }
}

/// Where the reaper thread is held, and what it saw there.
#[derive(Default)]
struct Hold {
    /// The reaper thread is in the sink.
    entered: bool,
    /// The engine's drop has returned.
    unloaded: bool,
    /// The reaper thread, still in the sink, saw the drop return.
    saw_unload: Option<bool>,
}

/// A log sink that holds the reaper thread when it logs a script's non-zero exit (which
/// it does after the run is accounted as ended, so the engine sees nothing in flight)
/// until the engine's drop returns, or a few seconds have passed.
#[derive(Default)]
struct HoldReaper(Mutex<Hold>, Condvar);

/// How long the held reaper waits to see whether the drop returns without it. Only how
/// long a broken unload has to show itself: a joining unload cannot return meanwhile.
const HOLD: Duration = Duration::from_secs(3);

impl LogSink for HoldReaper {
    fn log(&self, _severity: Severity, id: &'static str, text: &str) {
        eprintln!("{id} {text}");
        let on_reaper = std::thread::current().name() == Some("kea-runscript-reaper");
        if id != log::NONZERO_EXIT || !on_reaper {
            return;
        }
        let mut hold = self.0.lock().unwrap();
        hold.entered = true;
        self.1.notify_all();
        let (mut hold, _) = self
            .1
            .wait_timeout_while(hold, HOLD, |h| !h.unloaded)
            .unwrap();
        hold.saw_unload = Some(hold.unloaded);
    }
}

/// Unload joins the reaper: while the reaper thread is still busy (held in the log sink),
/// the drop does not return.
fn unload_waits_for_the_reaper_thread() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "fails", "exit 3");
    let sink = Arc::new(HoldReaper::default());
    let engine = Engine::from_json(&format!(r#"{{"name": {}}}"#, js(&s)), sink.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    wait_until("the reaper thread held in the sink", || {
        sink.0.lock().unwrap().entered
    });
    drop(engine);
    {
        let mut hold = sink.0.lock().unwrap();
        hold.unloaded = true;
        sink.1.notify_all();
    }
    wait_until("the reaper thread out of the sink", || {
        sink.0.lock().unwrap().saw_unload.is_some()
    });
    assert_eq!(
        sink.0.lock().unwrap().saw_unload,
        Some(false),
        "the engine's drop returned while its reaper thread was still running"
    );
}
