//! `user`, `group` and `limits` with real processes (issue 23): a script (spawned and as a
//! worker) reports the uid, groups and limits it runs with; a CPU-bound script is stopped
//! by its CPU limit and counted as killed by a signal; a script the user cannot read is
//! refused at load. Switching ids needs root: without it the tests fail under CI=true and
//! say SKIP elsewhere.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{engine, is_root, js, script, wait_until};
use kea_runscript_core::{Config, Verdict};
use kea_runscript_env::{HookPoint, Text};

fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("krs-priv-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

/// nobody's uid, nogroup's gid, and nobody's groups from the group database with nogroup
/// as the primary group (what `initgroups` gives), sorted.
fn expected_ids() -> (u32, u32, Vec<u32>) {
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let nogroup = nix::unistd::Group::from_name("nogroup").unwrap().unwrap();
    let mut groups: Vec<u32> = nix::unistd::getgrouplist(c"nobody", nogroup.gid)
        .unwrap()
        .into_iter()
        .map(|g| g.as_raw())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    (nobody.uid.as_raw(), nogroup.gid.as_raw(), groups)
}

/// Checks one record: `id -u`, `id -g`, `id -G` lines, then `/proc/$$/limits`.
fn assert_view(record: &Path) {
    let text = std::fs::read_to_string(record).unwrap();
    let (uid, gid, groups) = expected_ids();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(uid.to_string().as_str()), "{text}");
    assert_eq!(lines.next(), Some(gid.to_string().as_str()), "{text}");
    let mut seen: Vec<u32> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, groups, "{text}");
    for (name, value) in [
        ("Max cpu time", "30"),
        ("Max address space", "1073741824"),
        ("Max open files", "40"),
        ("Max processes", "500"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        let fields: Vec<&str> = line[name.len()..].split_whitespace().collect();
        assert_eq!(&fields[..2], [value, value], "{line}");
    }
}

const VIEW: &str = "{ id -u; id -g; id -G; cat /proc/$$/limits; } > \"$OUT/$1.tmp\" && mv \"$OUT/$1.tmp\" \"$OUT/$1\"";
const PRIVILEGES: &str = r#""user": "nobody", "group": "nogroup",
    "limits": {"cpu-seconds": 30, "address-space": 1073741824, "open-files": 40, "processes": 500}"#;

#[test]
fn spawned_scripts_and_workers_run_as_the_user_with_its_groups_and_limits() {
    if !is_root("spawned_scripts_and_workers_run_as_the_user_with_its_groups_and_limits") {
        return;
    }
    let dir = open_dir();
    let out = dir.path().join("out");
    let spawned = script(dir.path(), "view.sh", VIEW);
    let worker = script(
        dir.path(),
        "worker.sh",
        &format!("{}\ncat > /dev/null", VIEW.replace("$1", "worker")),
    );
    let (engine, sink) = engine(&format!(
        r#"{{"scripts": [
            {{"name": {}, "sync": true, "env": {{"OUT": {}}}, {PRIVILEGES}}},
            {{"name": {}, "mode": "worker", "env": {{"OUT": {}}}, {PRIVILEGES}}}
        ]}}"#,
        js(&spawned),
        js(&out),
        js(&worker),
        js(&out)
    ));
    let verdict = engine.handle_vars(HookPoint::Lease4Renew, Vec::<(String, Text)>::new());
    assert_eq!(verdict, Verdict::Continue);
    let c = engine.counters();
    assert_eq!(
        (c.exited, c.non_zero_exits, c.failed_to_start),
        (1, 0, 0),
        "{c:?}"
    );
    assert_view(&out.join("lease4_renew"));
    wait_until("the worker's record", || out.join("worker").exists());
    assert_view(&out.join("worker"));
    // The load summary says who the scripts run as.
    let (uid, gid, _) = expected_ids();
    assert!(
        sink.0
            .lock()
            .unwrap()
            .iter()
            .any(|(_, _, l)| l.contains(&format!("runs as uid {uid} gid {gid}"))),
        "{:?}",
        sink.0.lock().unwrap()
    );
    engine.shutdown();
}

#[test]
fn a_cpu_bound_script_is_stopped_by_its_cpu_limit_and_counted() {
    if !is_root("a_cpu_bound_script_is_stopped_by_its_cpu_limit_and_counted") {
        return;
    }
    let dir = open_dir();
    let spin = script(dir.path(), "spin.sh", "while :; do :; done");
    let (engine, _sink) = engine(&format!(
        r#"{{"name": {}, "sync": true, "timeout-ms": 60000, "on-signal": "drop",
             "user": "nobody", "limits": {{"cpu-seconds": 1}}}}"#,
        js(&spin)
    ));
    let started = std::time::Instant::now();
    let verdict = engine.handle_vars(HookPoint::Lease4Renew, Vec::<(String, Text)>::new());
    assert_eq!(verdict, Verdict::Drop, "ended by a signal: on-signal");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let c = engine.counters();
    assert_eq!(
        (c.started, c.killed_by_signal, c.timed_out),
        (1, 1, 0),
        "{c:?}"
    );
    engine.shutdown();
}

#[test]
fn a_script_the_user_cannot_read_is_refused_at_load() {
    if !is_root("a_script_the_user_cannot_read_is_refused_at_load") {
        return;
    }
    let dir = open_dir();
    let s = script(dir.path(), "private.sh", "exit 0");
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o700)).unwrap();
    let json = |user: &str| format!(r#"{{"name": {}, "user": {user}}}"#, js(&s));
    let err = Config::load(&json("\"nobody\"")).unwrap_err();
    assert_eq!(err.path, "name");
    let uid = nix::unistd::User::from_name("nobody").unwrap().unwrap().uid;
    assert_eq!(
        err.message,
        format!(
            "\"{}\" is not readable and executable by user \"nobody\" (uid {uid}) (mode 0700, \
             owner 0:0); make it so (e.g. chmod o+rx, or a group of the user) or choose \
             another user",
            s.display()
        )
    );
    // Root (by id) may; and so may nobody once the file is readable by others.
    Config::load(&json("0")).unwrap();
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).unwrap();
    Config::load(&json("\"nobody\"")).unwrap();
    // A directory above it that the user cannot enter.
    let private = dir.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let inner = script(&private, "inner.sh", "exit 0");
    let err =
        Config::load(&format!(r#"{{"name": {}, "user": "nobody"}}"#, js(&inner))).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "is out of reach of user \"nobody\" (uid {uid}): it cannot enter directory \"{}\"",
            private.display()
        )),
        "{err}"
    );
}
