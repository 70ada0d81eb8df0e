//! The launch failure paths, forced by the kernel: under `RLIMIT_NPROC` a non-root user
//! cannot create more processes (or threads), so creating a keeper fails (`EAGAIN`), and
//! with room for exactly one more task the keeper starts but its `clone` of the script
//! fails. Each failure is counted (`failed-to-start`) and logged, a sync event gets
//! `continue`, queued async events that cannot start are counted instead of lost, the
//! engine keeps accepting events, and once the limit is lifted the next events run.
//!
//! The test re-runs itself as a child process with an otherwise unused uid (root cannot be
//! limited: `CAP_SYS_RESOURCE` ignores `RLIMIT_NPROC`), so it needs root to switch users.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use common::{
    assert_first_launch_fails, assert_queued_events_fail_to_start, assert_recovered, engine, js,
    lines_of, make_gate, script, AsOtherUser,
};
use kea_runscript_core::log;
use kea_runscript_core::Verdict;
use kea_runscript_env::HookPoint;

const LIMITED: AsOtherUser = AsOtherUser {
    child_env: "KEA_RUNSCRIPT_FAULTS_DIR",
    test_name: "process_limit_failures_are_counted_logged_and_recovered",
};

#[test]
fn process_limit_failures_are_counted_logged_and_recovered() {
    if let Some(dir) = LIMITED.child_dir() {
        return limited_user(&dir);
    }
    if !LIMITED.can_run(&[]) {
        return;
    }
    let uid = LIMITED.uid();
    // Scripts in a root-owned directory the user can read (the trust check passes),
    // records in one the user owns.
    let (dir, out) = LIMITED.work_dir(uid);
    script(dir.path(), "record.sh", "echo \"$1\" >> \"$OUT/ran\"");
    // Waits on a FIFO with shell builtins only: under the limit it cannot fork.
    script(
        dir.path(),
        "gated.sh",
        "read -r line < \"$OUT/gate\"; echo gated >> \"$OUT/ran\"",
    );
    make_gate(&out.join("gate"));
    std::os::unix::fs::chown(out.join("gate"), Some(uid), Some(uid)).unwrap();

    LIMITED.run(uid, dir.path(), |exe| {
        let mut command = std::process::Command::new(exe);
        command.uid(uid).gid(uid);
        command
    });
}

/// This user's tasks (processes and threads) system-wide: what `RLIMIT_NPROC` counts.
fn my_tasks() -> u64 {
    // SAFETY: getuid() cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut tasks = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        // Processes only (/proc/self and /proc/thread-self would count this one again).
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if field("Uid:") == Some(u64::from(uid)) {
            tasks += field("Threads:").unwrap_or(1);
        }
    }
    tasks
}

fn nproc() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut limit) };
    assert_eq!(rc, 0, "getrlimit");
    limit
}

fn set_nproc(soft: libc::rlim_t) {
    let mut limit = nproc();
    limit.rlim_cur = soft.min(limit.rlim_max);
    // SAFETY: setrlimit reads the struct we pass.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &limit) };
    assert_eq!(rc, 0, "setrlimit");
}

fn hard_nproc() -> libc::rlim_t {
    nproc().rlim_max
}

/// The part that runs as the limited user.
fn limited_user(dir: &Path) {
    let out: PathBuf = dir.join("out");
    let env = format!(r#""env": {{"OUT": {}}}"#, js(&out));
    let record = js(&dir.join("record.sh"));
    let (sync, sync_log) = engine(&format!(
        r#"{{"name": {record}, "sync": true, "exit-codes": {{"0": "skip"}}, {env}}}"#
    ));
    let (queue, queue_log) = engine(&format!(
        r#"{{"name": {}, "max-in-flight": 1, "max-queued": 4, {env}}}"#,
        js(&dir.join("gated.sh"))
    ));
    let restore = hard_nproc();

    // 1. No room for any new task: the keeper cannot be created.
    set_nproc(1);
    assert_first_launch_fails(&sync, &sync_log, "Resource temporarily unavailable");

    // 2. Room for exactly one more task: the keeper starts, its clone of the script fails.
    set_nproc(my_tasks() + 1);
    assert_eq!(
        sync.handle_vars(HookPoint::Lease4Renew, vec![]),
        Verdict::Continue
    );
    let c = sync.counters();
    assert_eq!((c.events, c.started, c.failed_to_start), (2, 1, 2), "{c}");
    let lines = sync_log.with_id(log::SPAWN_FAILED);
    assert!(
        lines[1].contains("clone failed") && lines[1].contains("Resource temporarily unavailable"),
        "{lines:?}"
    );
    assert!(
        lines_of(&out.join("ran")).is_empty(),
        "a script ran under the limit"
    );

    // 3. Queued async events whose turn comes while no process can be created: one run
    // holds the only slot (started before the limit), three wait; the limit goes on, the
    // run ends, and each queued event fails to start, counted and logged, none lost.
    set_nproc(restore);
    assert_queued_events_fail_to_start(&queue, &out.join("gate"), || set_nproc(1));
    assert!(!queue_log.with_id(log::SPAWN_FAILED).is_empty());

    // 4. The limit lifted: the same engines run their scripts again.
    set_nproc(restore);
    assert_recovered(&sync, &queue, (3, 2, 1, 2), &out.join("ran"));
}
