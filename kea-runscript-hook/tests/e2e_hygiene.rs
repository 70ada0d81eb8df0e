//! Process hygiene in the real Kea: after bursts of async scripts (one per lease event),
//! Kea has no zombie children, no script process left, and its open fd count is back where
//! it was — it does not grow with the number of events. And when Kea stops (unload) with
//! scripts still running, it stops promptly and leaves none of them behind.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::dhcp4::{Client4, Path4};
use common::dump::Dump;
use common::kea::{hook, perfdhcp, Family, Kea, Settings};
use common::procs::{self, descendants, fd_count, zombies_after_reaping};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, started_runs, wait_for, HeavySlot, Scratch};
use serde_json::json;

/// Open fds Kea may gain besides ours (e.g. a lazily opened socket or timer).
const FD_SLACK: usize = 2;

/// Runs one perfdhcp burst of `clients` DORAs and waits until every script call it caused
/// has finished (records stable, no child of Kea left); returns the number of records.
fn burst(tb: &Testbed, kea: &Kea, dump: &Dump, clients: &str, base_mac: &str) -> usize {
    let args = [
        "-4", "-l", &tb.cli_if, "-r", "50", "-R", clients, "-n", clients, "-b", base_mac, "-W",
        "500000",
    ];
    let (_, out) = perfdhcp(tb, &args, Duration::from_secs(30));
    assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
    let mut last = usize::MAX;
    let mut stable = 0;
    wait_for(Duration::from_secs(20), || {
        let n = dump.records().len();
        stable = if n == last { stable + 1 } else { 0 };
        last = n;
        (stable >= 10 && descendants(kea.pid).is_empty()).then_some(())
    })
    .unwrap_or_else(|| panic!("scripts still running: {:?}", descendants(kea.pid)));
    last
}

/// Small bursts until scripts have run (Kea may lose the very first queries while it
/// settles), so the baseline is taken with our library's runner already started.
fn warm_up(tb: &Testbed, kea: &Kea, dump: &Dump, base_mac: &str) -> usize {
    for _ in 0..5 {
        let calls = burst(tb, kea, dump, "5", base_mac);
        if calls >= 5 {
            return calls;
        }
        // Worth knowing when it happens: did Kea lease, and did scripts not run?
        let leases = kea.log_text().matches("DHCP4_LEASE_ALLOC").count();
        println!("warm-up retry: {calls} script calls, {leases} leases allocated so far");
    }
    panic!(
        "no script calls after 5 warm-up bursts:\n{}",
        kea.log_text()
    );
}

fn hygiene(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("hygiene");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let parameters = json!({"name": dump.script, "sync": false});
    let settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);

    // Warm-up: Kea's and our library's steady state (threads, sockets) after first events.
    let warm = warm_up(&tb, &kea, &dump, "mac=00:0c:01:00:00:00");
    let base = fd_count(kea.pid);
    let first = burst(&tb, &kea, &dump, "40", "mac=00:0c:02:00:00:00");
    let after_first = fd_count(kea.pid);
    let second = burst(&tb, &kea, &dump, "40", "mac=00:0c:03:00:00:00");
    let after_second = fd_count(kea.pid);
    println!(
        "events: warm-up {warm}, +{} , +{}; Kea's open fds: {base} → {after_first} → {after_second}",
        first - warm,
        second - first
    );
    assert!(
        second - first >= 30 && first - warm >= 30,
        "too few script calls to judge"
    );
    assert!(
        after_first <= base + FD_SLACK && after_second <= after_first,
        "Kea's open fds grew with script events: {base} → {after_first} → {after_second}"
    );
    let zombies = zombies_after_reaping(kea.pid);
    assert!(zombies.is_empty(), "zombie children of Kea: {zombies:?}");
    assert!(kea.alive(), "Kea died:\n{}", kea.log_text());
    assert!(kea.stop(), "Kea did not stop on SIGTERM");
}

both_threading_modes!(hygiene => no_zombies_no_fd_growth, no_zombies_no_fd_growth_multi_threaded);

/// Scripts still running at unload are ended: Kea exits on SIGTERM within the runner's
/// grace periods and no script process survives it.
fn unload_with_scripts_running(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("unload");
    let (dir, script) = scratch.script_dir("slow", "slow.sh");
    let tb = Testbed::new();
    let parameters = json!({"name": script, "sync": false});
    let settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    let kea = Kea::start(&tb, &scratch, &settings);
    let bound = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        (0..4u8)
            .filter_map(|i| client.dora([0x02, 0x30, 0, 0, 0, i], 0x7000 + 0x10 * u32::from(i)))
            .count()
    });
    assert_eq!(bound, 4, "async scripts must not hold clients up");
    let started = || started_runs(&dir);
    wait_for(Duration::from_secs(5), || (started() >= 4).then_some(()))
        .unwrap_or_else(|| panic!("only {} script runs started", started()));
    let running = descendants(kea.pid).len();
    assert!(
        running >= 4,
        "the slow scripts should still run before the stop: {running}"
    );
    stop_with_scripts_running(kea, &tb);
}

both_threading_modes!(unload_with_scripts_running => unload_ends_running_scripts, unload_ends_running_scripts_multi_threaded);

/// Stops Kea while scripts run: it must end on SIGTERM and leave no process behind.
fn stop_with_scripts_running(mut kea: Kea, tb: &Testbed) {
    let pid = kea.pid;
    assert!(
        kea.stop(),
        "Kea did not end on SIGTERM within 10 s with scripts running"
    );
    let left = procs::in_netns(tb.srv_netns_inode(), pid);
    procs::kill_all(&left); // started by this test; don't leave them running
    assert!(left.is_empty(), "script processes outlived Kea: {left:?}");
}

const RELOADS: usize = 5;

/// Kea reloads its configuration on SIGHUP, unloading and loading our library each time:
/// after several reloads Kea still serves, the scripts still run, and neither fds nor
/// threads piled up.
fn reload(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("reload");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let parameters = json!({"name": dump.script, "sync": false});
    let settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let warm = warm_up(&tb, &kea, &dump, "mac=00:0c:04:00:00:00");
    let (fds, threads) = (fd_count(kea.pid), procs::thread_count(kea.pid));
    let reloaded = |log: &str| log.matches("DYNAMIC_RECONFIGURATION_SUCCESS").count();
    for n in 1..=RELOADS {
        let pid = nix::unistd::Pid::from_raw(kea.pid as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
        wait_for(Duration::from_secs(10), || {
            (reloaded(&kea.log_text()) >= n).then_some(())
        })
        .unwrap_or_else(|| panic!("reload {n} did not succeed:\n{}", kea.log_text()));
    }
    // On a loaded machine perfdhcp loses a few exchanges of a burst now and then; what is
    // checked is that scripts still run, so a short burst is repeated with new clients.
    let mut after = warm;
    for base in ["00:0c:05", "00:0c:06", "00:0c:07"] {
        after = burst(&tb, &kea, &dump, "20", &format!("mac={base}:00:00:00"));
        if after >= warm + 15 {
            break;
        }
        println!("after the reloads: {after} script calls (warm-up {warm}); one more burst");
    }
    let (fds_after, threads_after) = (fd_count(kea.pid), procs::thread_count(kea.pid));
    println!(
        "{RELOADS} reloads: Kea's fds {fds} → {fds_after}, threads {threads} → {threads_after}; \
         script calls {warm} → {after}"
    );
    assert!(
        after >= warm + 15,
        "scripts stopped running after the reloads"
    );
    assert!(
        fds_after <= fds + FD_SLACK && threads_after <= threads + 1,
        "resources piled up over {RELOADS} reloads: fds {fds} → {fds_after}, threads {threads} → {threads_after}"
    );
    kea.assert_healthy();
    assert!(kea.stop(), "Kea did not stop on SIGTERM");
}

both_threading_modes!(reload => reloads_keep_serving_without_leaks, reloads_keep_serving_without_leaks_multi_threaded);

/// Async bounds under `overflow: drop`: with `max-in-flight` 2 and `max-queued` 1 and
/// scripts that do not end,
/// exactly 2 run, later events are dropped with a log line (never silently), clients are
/// not held up, and the stop ends the running scripts.
fn bounded(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("bounded");
    let (dir, script) = scratch.script_dir("slow", "slow.sh");
    let tb = Testbed::new();
    let parameters = json!({
        "name": script, "sync": false, "hook-points": ["leases4_committed"],
        "max-in-flight": 2, "max-queued": 1, "overflow": "drop"
    });
    let settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    let kea = Kea::start(&tb, &scratch, &settings);
    let bound = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        (0..6u8)
            .filter_map(|i| client.dora([0x02, 0x50, 0, 0, 0, i], 0x9000 + 0x10 * u32::from(i)))
            .count()
    });
    assert_eq!(bound, 6, "clients held up by a full script queue");
    // Every delivery happened inside a callout, before its client got an answer: wait
    // for what they caused (two runs recording their start, the drop logged), not for
    // a time. A run past the bound would have been launched by then as well.
    wait_for(Duration::from_secs(30), || {
        (started_runs(&dir) >= 2 && kea.log_text().contains("KEA_RUNSCRIPT_EVENT_DROPPED"))
            .then_some(())
    });
    let started = started_runs(&dir);
    assert_eq!(
        started, 2,
        "max-in-flight 2, but {started} script runs started"
    );
    assert!(
        kea.log_text().contains("KEA_RUNSCRIPT_EVENT_DROPPED"),
        "events past max-queued dropped without a log line:\n{}",
        kea.log_text()
    );
    stop_with_scripts_running(kea, &tb);
}

both_threading_modes!(bounded => async_bounds_hold_and_drops_are_logged, async_bounds_hold_and_drops_are_logged_multi_threaded);

/// The probes themselves: a child shows up with its state, and `kill_all` ends it only
/// while it is the same process (pid and start time).
#[test]
fn process_probes_see_and_kill_a_child() {
    let mut child = std::process::Command::new("/bin/sleep")
        .arg("100")
        .spawn()
        .expect("spawn sleep");
    let me = std::process::id();
    let found: Vec<procs::Proc> = descendants(me)
        .into_iter()
        .filter(|p| p.pid == child.id())
        .collect();
    assert_eq!(
        found.len(),
        1,
        "child not found among {:?}",
        descendants(me)
    );
    let mut stale = found[0].clone();
    stale.start_time += 1;
    procs::kill_all(&[stale]);
    // No waiting for a time: a SIGKILL from kill_all would be pending before the SIGTERM
    // sent next, so the signal the child died of tells which one reached it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let status = child.wait().expect("wait");
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGTERM as i32),
        "killed a process that did not match: {status}"
    );

    let mut child = std::process::Command::new("/bin/sleep")
        .arg("100")
        .spawn()
        .expect("spawn sleep");
    let found: Vec<procs::Proc> = descendants(me)
        .into_iter()
        .filter(|p| p.pid == child.id())
        .collect();
    procs::kill_all(&found);
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(9), "sleep was not killed: {status}");
}
