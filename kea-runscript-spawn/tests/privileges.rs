//! [`Privileges`]: the script runs as the given user and groups and under the given
//! resource limits, applied in its own process before `execve` (the host's credentials
//! and limits are untouched). Needs root (to switch ids); without it the test fails
//! under CI=true and says SKIP elsewhere.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use common::{is_root, limits};
use kea_runscript_spawn::{
    spawn, ExitStatus, FailedStep, Ids, Privileges, Program, Report, Resource, SpawnError,
};

mod common;

fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("krs-priv-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

fn run(dir: &std::path::Path, body: &str, privileges: Privileges) -> Result<Report, SpawnError> {
    let file = dir.join("script.sh");
    std::fs::write(&file, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let program = Program::new(
        CString::new(file.to_str().unwrap()).unwrap(),
        CString::new("test").unwrap(),
        vec![
            CString::new("PATH=/usr/bin:/bin").unwrap(),
            CString::new(format!("OUT={}", dir.display())).unwrap(),
        ],
    )
    .with_privileges(Arc::new(privileges));
    spawn(program, limits(Some(Duration::from_secs(30)), None))
        .unwrap()
        .wait()
}

#[test]
fn the_script_runs_as_the_user_with_its_groups_and_limits() {
    if !is_root("switching ids") {
        return;
    }
    let dir = open_dir();
    let privileges = Privileges::new(
        Some(Ids {
            uid: 65534,
            gid: 65533,
            groups: vec![65533, 100, 4242],
        }),
        &[
            (Resource::CpuSeconds, 7),
            (Resource::AddressSpace, 512 * 1024 * 1024),
            (Resource::OpenFiles, 33),
            (Resource::Processes, 77),
        ],
    );
    let report = run(
        dir.path(),
        "{ id -u; id -g; id -G; } > \"$OUT/ids\"; cat /proc/$$/limits > \"$OUT/limits\"",
        privileges,
    )
    .unwrap();
    assert_eq!(report.status, ExitStatus::Exited(0));
    let ids = std::fs::read_to_string(dir.path().join("ids")).unwrap();
    assert_eq!(
        ids.lines().collect::<Vec<_>>(),
        ["65534", "65533", "65533 100 4242"],
        "{ids}"
    );
    let limits = std::fs::read_to_string(dir.path().join("limits")).unwrap();
    for (name, value) in [
        ("Max cpu time", "7"),
        ("Max address space", "536870912"),
        ("Max open files", "33"),
        ("Max processes", "77"),
    ] {
        let line = limits
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {limits}"));
        let fields: Vec<&str> = line[name.len()..].split_whitespace().collect();
        assert_eq!(&fields[..2], [value, value], "{line}");
    }
    // The host's are as they were.
    // SAFETY: getuid() cannot fail.
    let uid = unsafe { libc::getuid() };
    // SAFETY: getgid() cannot fail.
    let gid = unsafe { libc::getgid() };
    assert_eq!((uid, gid), (0, 0));
}

#[test]
fn a_cpu_bound_script_is_stopped_by_its_cpu_limit() {
    if !is_root("switching ids") {
        return;
    }
    let dir = open_dir();
    let privileges = Privileges::new(None, &[(Resource::CpuSeconds, 1)]);
    let started = std::time::Instant::now();
    let report = run(dir.path(), "while :; do :; done", privileges).unwrap();
    assert!(!report.timed_out, "{report:?}");
    assert!(
        matches!(report.status, ExitStatus::Signaled(s) if s == libc::SIGXCPU || s == libc::SIGKILL),
        "{report:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_refused_switch_names_the_step() {
    if !is_root("switching ids") {
        return;
    }
    let dir = open_dir();
    // A limit above the hard limit of an unprivileged process: first drop to nobody in a
    // script run, here simply an impossible value for RLIMIT_NOFILE (above fs.nr_open).
    let privileges = Privileges::new(None, &[(Resource::OpenFiles, u64::MAX - 1)]);
    let err = run(dir.path(), "exit 0", privileges).unwrap_err();
    assert_eq!(err.step, FailedStep::Limits, "{err}");
    assert!(
        err.to_string().starts_with("setting the resource limits"),
        "{err}"
    );
}
