//! Kea as Debian runs it: user `_kea`, holding only the ambient capabilities of Debian's
//! kea-dhcp4-server.service (CAP_NET_BIND_SERVICE, CAP_NET_RAW), the same unit in Kea 2.2,
//! 2.6 and 3.0. Scripts run as `_kea` and hold what Kea holds: a script that changes routes
//! (`ip route add`, as examples/routes.sh does) is refused, until the operator grants Kea
//! CAP_NET_ADMIN (the systemd drop-in in README.md, "Running as _kea") — then the script
//! adds its route without sudo. And when `_kea` runs out of processes (RLIMIT_NPROC), a
//! script that cannot start is logged and counted, Kea keeps serving, and scripts start
//! again once processes free up.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::kea::{
    as_user, async_script_hook, nproc_limit, perfdhcp, Family, Kea, KeaUser, Lib, Settings,
    DEBIAN_UNIT_CAPS,
};
use common::procs::descendants;
use common::testbed::Testbed;
use common::{require_prereqs, set_mode, wait_for, HeavySlot, Scratch};

/// Records, per call, the hook point, the script's uid, its ambient capabilities and whether
/// `ip route add` in Kea's network namespace worked. Kea's hook passes no PATH, hence the
/// absolute paths.
const SCRIPT: &str = r#"#!/bin/sh
dir=$(/usr/bin/dirname "$0")
[ "$1" = leases4_committed ] || exit 0
for ip in /usr/sbin/ip /sbin/ip /usr/bin/ip /bin/ip; do [ -x "$ip" ] && break; done
if "$ip" route add 203.0.113.$(( $$ % 250 ))/32 dev lo 2>/dev/null; then route=added; else route=refused; fi
amb=$(/usr/bin/sed -n 's/^CapAmb:[[:space:]]*//p' /proc/self/status)
echo "$1 uid=$(/usr/bin/id -u) amb=$amb route=$route" >>"$dir/records"
"#;

/// `_kea`, or a skip (a failure under CI) naming the package that creates it.
fn require_kea_user() -> Option<KeaUser> {
    let user = KeaUser::debian();
    if user.is_none() {
        common::missing_prereq("user _kea (Debian package kea-common)");
    }
    user
}

/// A scratch directory handed to `_kea` (Kea writes its log, pid and lock files there, the
/// script its records), holding `script/<name>` with `body`, and settings that run it
/// asynchronously at leases4_committed in a DHCPv4 Kea: returns them, the script's
/// directory and a test bed.
fn kea_user_setup(tag: &str, name: &str, body: &str) -> (Scratch, PathBuf, Testbed, Settings) {
    let scratch = Scratch::for_other_users(tag);
    let dir = scratch.join("script");
    std::fs::create_dir_all(&dir).expect("script dir");
    set_mode(&dir, 0o755);
    let script = dir.join(name);
    std::fs::write(&script, body).expect("write script");
    set_mode(&script, 0o755);
    let status = Command::new("chown")
        .args(["-R", "_kea:_kea"])
        .arg(&scratch.path)
        .status()
        .expect("chown");
    assert!(status.success(), "chown -R _kea {}", scratch.path.display());
    let tb = Testbed::new();
    let settings = Settings::new(
        Family::V4,
        false,
        vec![async_script_hook(
            Lib::Ours,
            &script,
            &["leases4_committed"],
        )],
    );
    (scratch, dir, tb, settings)
}

/// Runs Kea as `_kea` with `caps`, drives DHCPv4 traffic, returns the script's records.
fn run(user: &KeaUser, caps: &[&'static str]) -> Vec<String> {
    let _slot = HeavySlot::acquire();
    let (scratch, dir, tb, mut settings) = kea_user_setup("keauser", "route.sh", SCRIPT);
    settings.wrapper = as_user(user, caps);
    let mut server = Kea::start(&tb, &scratch, &settings);
    let (_, out) = perfdhcp(
        &tb,
        &["-4", "-l", &tb.cli_if, "-r", "2", "-R", "2", "-n", "2"],
        Duration::from_secs(20),
    );
    assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
    let records = dir.join("records");
    let lines = wait_for(Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&records).ok()?;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        (!lines.is_empty()).then_some(lines)
    })
    .unwrap_or_else(|| panic!("no script ran as _kea:\n{}", server.log_text()));
    server.assert_healthy();
    lines
}

#[test]
fn scripts_run_as_kea_with_keas_capabilities() {
    if !require_prereqs() {
        return;
    }
    let Some(user) = require_kea_user() else {
        return;
    };
    let uid = user.uid;
    // Debian's unit: the script runs as _kea, holds Kea's two capabilities, and is refused.
    for line in run(&user, DEBIAN_UNIT_CAPS) {
        assert!(
            line.contains(&format!("uid={uid} ")),
            "not run as _kea: {line}"
        );
        assert!(
            line.contains("amb=0000000000002400"),
            "not the unit's caps: {line}"
        );
        assert!(
            line.ends_with("route=refused"),
            "route without CAP_NET_ADMIN: {line}"
        );
    }
    // With the drop-in granting CAP_NET_ADMIN, the script adds its route.
    let granted = [DEBIAN_UNIT_CAPS, &["net_admin"]].concat();
    for line in run(&user, &granted) {
        assert!(
            line.contains(&format!("uid={uid} ")),
            "not run as _kea: {line}"
        );
        assert!(
            line.contains("amb=0000000000003400"),
            "not Kea's caps: {line}"
        );
        assert!(
            line.ends_with("route=added"),
            "route with CAP_NET_ADMIN: {line}"
        );
    }
}

/// Records each call, then holds its process for 2 s.
const SLOW_SCRIPT: &str = r#"#!/bin/sh
echo "$1" >>"$(/usr/bin/dirname "$0")/records"
/usr/bin/sleep 2
"#;

/// Tasks (threads) of `pid`, from /proc.
fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Tasks of every process of user `uid` (what RLIMIT_NPROC counts).
fn user_tasks(uid: u32) -> usize {
    let out = Command::new("ps")
        .args(["-L", "-o", "lwp=", "-u", &uid.to_string()])
        .output()
        .expect("ps");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Waits until no process is left under Kea (every script ended and was reaped); a generous
/// deadline, since under load a 2 s script can take much longer.
fn wait_scripts_ended(server: &Kea) {
    let ended = wait_for(Duration::from_secs(60), || {
        descendants(server.pid).is_empty().then_some(())
    });
    assert!(
        ended.is_some(),
        "scripts still under Kea after 60 s: {:?}",
        descendants(server.pid)
    );
}

#[test]
fn process_exhaustion_is_logged_counted_and_recovered() {
    if !require_prereqs() {
        return;
    }
    let Some(user) = require_kea_user() else {
        return;
    };
    let _slot = HeavySlot::acquire();
    let (scratch, dir, tb, mut settings) = kea_user_setup("nproc", "slow.sh", SLOW_SCRIPT);
    settings.wrapper = as_user(&user, DEBIAN_UNIT_CAPS);
    // What Kea itself needs: its tasks once it serves, measured in a first run (RLIMIT_NPROC
    // can only be set as Kea starts: this sandbox lacks CAP_SYS_RESOURCE for prlimit --pid).
    let kea_tasks = {
        let server = Kea::start(&tb, &scratch, &settings);
        threads(server.pid)
    };
    assert!(kea_tasks > 0, "Kea's tasks");
    // Room for a few runs (each a keeper and the script) beyond Kea and what else _kea
    // runs: the burst below starts far more at once.
    let limit = user_tasks(user.uid) + kea_tasks + 6;
    settings.wrapper = [nproc_limit(limit), as_user(&user, DEBIAN_UNIT_CAPS)].concat();
    let mut server = Kea::start(&tb, &scratch, &settings);
    let burst = |n: &str| {
        let (_, out) = perfdhcp(
            &tb,
            &[
                "-4", "-l", &tb.cli_if, "-r", "10", "-R", "20", "-n", n, "-p", "3",
            ],
            Duration::from_secs(20),
        );
        assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
        out
    };
    let out = burst("20");
    let failed = wait_for(Duration::from_secs(10), || {
        server
            .log_text()
            .contains("KEA_RUNSCRIPT_SPAWN_FAILED")
            .then_some(())
    });
    assert!(
        failed.is_some(),
        "no spawn failure logged at RLIMIT_NPROC={limit}:\n{out}\n{}",
        server.log_text()
    );
    // Kea runs on (scripts are still ending here; zombies are checked once they have).
    assert!(server.alive(), "Kea exited:\n{}", server.log_text());
    // Kea served the burst although scripts could not start.
    assert!(
        !out.contains("received packets: 0"),
        "Kea stopped answering:\n{out}"
    );
    // Processes free up (the 2 s sleeps end and are reaped): scripts start again.
    wait_scripts_ended(&server);
    let records = dir.join("records");
    let before = std::fs::read_to_string(&records)
        .unwrap_or_default()
        .lines()
        .count();
    burst("2");
    let after = wait_for(Duration::from_secs(10), || {
        let now = std::fs::read_to_string(&records).ok()?.lines().count();
        (now > before).then_some(now)
    });
    assert!(
        after.is_some(),
        "no script ran after processes freed up:\n{}",
        server.log_text()
    );
    // The recovered runs end (2 s each); then no zombie may be left.
    wait_scripts_ended(&server);
    server.assert_healthy();
    assert!(server.stop(), "Kea did not stop on SIGTERM");
    let log = server.log_text();
    let counted = log
        .split("failed-to-start=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        counted.is_some_and(|n| n > 0),
        "the unload counters must count the failures:\n{log}"
    );
}
