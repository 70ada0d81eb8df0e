//! 10,000 async launches leave no zombie, no stray child and no extra fd.
//! (Own test binary so that /proc shows only this test's children.)

mod common;

use common::{children, engine, js, script, wait_idle, zombie_children};
use kea_runscript_env::HookPoint;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn ten_thousand_async_launches_leave_no_zombies_or_fds() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "quick", "exit 0");
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "max-in-flight": 32, "max-queued": 20000}}"#,
        js(&s)
    ));
    let fds_before = open_fds();
    let launches = 10_000u64;
    let mut most_zombies = 0;
    for i in 0..launches {
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
        if i % 1000 == 999 {
            most_zombies = most_zombies.max(zombie_children().len());
        }
    }
    let c = wait_idle(&engine);
    assert_eq!(
        (c.events, c.started, c.exited, c.dropped, c.failed_to_start),
        (launches, launches, launches, 0, 0),
        "{c}"
    );
    assert_eq!(zombie_children(), Vec::<i32>::new());
    assert_eq!(children(), Vec::<i32>::new());
    assert_eq!(open_fds(), fds_before);
    // While running, zombies exist only between a child's exit and the reaper's
    // waitid: never more than the in-flight bound.
    assert!(most_zombies <= 32, "{most_zombies}");
    engine.shutdown();
    assert_eq!(zombie_children(), Vec::<i32>::new());
}
