//! Reloads and runtime changes under traffic.
//!
//! - 100 reconfigurations while perfdhcp keeps Kea busy and scripts are in flight, over
//!   Kea's control socket: `config-set` (changed parameters), `config-reload` (the file,
//!   rewritten) and `libreload` (Kea 2.6 dropped it: a config-reload of the running
//!   configuration instead), every tenth one an invalid configuration that Kea must
//!   reject, the next good one working. Afterwards Kea serves, its fds, threads and
//!   memory did not pile up, no process of ours is left, and every script run is
//!   accounted for: the runs each engine counted at its unload add up to the runs the
//!   script recorded, and every engine ended with nothing in flight or queued.
//! - The script replaced at run time: by an atomic rename (the next event runs the new
//!   one), made non-executable, deleted, or open for writing (ETXTBSY): the next event
//!   fails to start with a log line saying why, Kea answers the client anyway, and once
//!   the script is back the events after run it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::dhcp4::{Client4, Path4};
use common::kea::{command, hook, Family, Kea, Settings};
use common::procs::{self, descendants, fd_count, zombies_after_reaping};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::{json, Value};

const RELOADS: usize = 100;

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `(started, exited, in-flight, queued)` of every "unload: counters" line of the log.
fn unload_counters(log: &str) -> Vec<[u64; 4]> {
    log.lines()
        .filter_map(|l| l.split_once("unload: counters ").map(|(_, c)| c))
        .map(|c| {
            let field = |name: &str| {
                c.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(u64::MAX)
            };
            [
                field("started"),
                field("exited"),
                field("in-flight"),
                field("queued"),
            ]
        })
        .collect()
}

fn ok(answer: &Value) -> bool {
    answer["result"] == 0
}

#[test]
fn hundred_reconfigurations_under_traffic_leak_nothing() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("reloads");
    let runs = scratch.join("runs");
    let script = scratch.join("record.sh");
    write_script(
        &script,
        &format!("echo \"$1 $GEN\" >> '{}'", runs.display()),
    );
    let socket = scratch.join("kea.sock");
    let tb = Testbed::new();
    let params = |generation: usize| {
        json!({"name": script, "max-in-flight": 2 + generation % 7, "max-queued": 64,
               "env": {"GEN": generation.to_string()}})
    };
    let mut settings = Settings::new(Family::V4, true, vec![hook(&our_library(), params(0))]);
    settings.control_socket = Some(socket.clone());
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let kea_log = kea.log.clone();
    let hooks_dir = kea.hooks_dir().to_path_buf();
    let config_of = |settings: &Settings| {
        let mut config = settings.config(&tb.srv_if, &kea_log);
        common::kea::link_libraries(&hooks_dir, &mut config);
        config
    };

    // Traffic for the whole test: new clients at a modest rate, in the background.
    let cli = tb.cli.clone();
    let cli_if = tb.cli_if.clone();
    let traffic = std::thread::spawn(move || {
        std::process::Command::new("ip")
            .args([
                "netns", "exec", &cli, "perfdhcp", "-4", "-l", &cli_if, "-r", "300",
            ])
            .args(["-R", "1000000", "-p", "300", "-b", "mac=02:60:00:00:00:00"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("perfdhcp")
    });
    let mut perfdhcp = traffic.join().unwrap();
    wait_for(Duration::from_secs(20), || {
        (lines(&runs) >= 50).then_some(())
    })
    .expect("scripts ran under the traffic");
    let (fds, threads, rss) = (
        fd_count(kea.pid),
        procs::thread_count(kea.pid),
        rss_kb(kea.pid),
    );

    let mut rejected = 0;
    for n in 1..=RELOADS {
        // The invalid ones are not last: Kea 2.2 logs DHCP4_CONFIG_UNRECOVERABLE_ERROR for a
        // rejected config-set, and with one as the last command no script ran afterwards
        // in a trial run (Kea seemed to stop answering); what follows one must work.
        let (answer, what) = if n % 10 == 5 {
            // Invalid: an unknown parameter. Kea must reject it and keep the old config.
            let mut bad = settings.clone();
            bad.hooks = vec![hook(
                &our_library(),
                json!({"name": script, "timeout-ms": 0}),
            )];
            let answer = command(
                &socket,
                &json!({"command": "config-set", "arguments": config_of(&bad)}),
            );
            assert!(
                !ok(&answer),
                "reload {n}: an invalid configuration was accepted: {answer}"
            );
            rejected += 1;
            continue;
        } else if n % 3 == 0 {
            settings.hooks = vec![hook(&our_library(), params(n))];
            std::fs::write(&kea.config, config_of(&settings).to_string()).unwrap();
            (
                command(&socket, &json!({"command": "config-reload"})),
                "config-reload",
            )
        } else if n % 3 == 1 {
            settings.hooks = vec![hook(&our_library(), params(n))];
            let arguments = config_of(&settings);
            (
                command(
                    &socket,
                    &json!({"command": "config-set", "arguments": arguments}),
                ),
                "config-set",
            )
        } else if common::kea::kea_hooks_version() >= 20600 {
            // Kea 2.6 and 3.0 have no libreload any more; what it did (load the libraries again with
            // the running parameters) is a config-reload of the running configuration.
            std::fs::write(&kea.config, config_of(&settings).to_string()).unwrap();
            (
                command(&socket, &json!({"command": "config-reload"})),
                "config-reload of the running configuration (libreload before 2.6)",
            )
        } else {
            (
                command(&socket, &json!({"command": "libreload"})),
                "libreload",
            )
        };
        assert!(
            ok(&answer),
            "reload {n} ({what}) failed: {answer}\n{}",
            kea.log_text()
        );
        // Alive; zombies are checked once idle (runs that just ended are zombies until
        // the reaper collects them, microseconds later).
        assert!(kea.alive(), "Kea died at reload {n}:\n{}", kea.log_text());
    }
    assert_eq!(rejected, RELOADS / 10);
    assert!(
        kea.log_text()
            .contains("parameter 'timeout-ms': expected a positive integer, got 0"),
        "the rejection was not logged"
    );

    // Still serving with the last good configuration: new runs carry its generation.
    let last_good = (1..=RELOADS)
        .rev()
        .find(|n| n % 10 != 5 && n % 3 != 2)
        .unwrap();
    let marker = format!(" {last_good}");
    wait_for(Duration::from_secs(20), || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .any(|l| l.ends_with(&marker))
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no run of generation {last_good} after the reloads"));
    let _ = perfdhcp.kill();
    let _ = perfdhcp.wait();

    // Idle: no process of ours is left, nothing piled up.
    let idle = wait_for(Duration::from_secs(20), || {
        descendants(kea.pid).is_empty().then_some(())
    });
    assert!(
        idle.is_some(),
        "processes left under Kea: {:?}",
        descendants(kea.pid)
    );
    let zombies = zombies_after_reaping(kea.pid);
    assert!(zombies.is_empty(), "zombie children of Kea: {zombies:?}");
    let (fds_after, threads_after, rss_after) = (
        fd_count(kea.pid),
        procs::thread_count(kea.pid),
        rss_kb(kea.pid),
    );
    println!(
        "{RELOADS} reconfigurations: fds {fds} -> {fds_after}, threads {threads} -> \
         {threads_after}, RSS {rss} -> {rss_after} KB, {} script runs",
        lines(&runs)
    );
    assert!(fds_after <= fds + 2, "fds {fds} -> {fds_after}");
    assert!(
        threads_after <= threads,
        "threads {threads} -> {threads_after}"
    );
    // Kea's lease database grew meanwhile (up to 300 leases/s, ~0.5 KB each); a leak of
    // one engine per reload (its threads' stacks, buffers) would be far more.
    assert!(rss_after <= rss + 16 * 1024, "RSS {rss} -> {rss_after} KB");

    // Every run accounted for: the engines' counters at unload (one per reconfiguration
    // and the last at shutdown) add up to the runs the script recorded.
    assert!(kea.stop(), "Kea did not stop on SIGTERM");
    let counters = unload_counters(&kea.log_text());
    assert_eq!(counters.len(), RELOADS - rejected + 1, "engines unloaded");
    for c in &counters {
        assert_eq!(c[0], c[1], "started != exited at an unload: {c:?}");
        assert_eq!(
            (c[2], c[3]),
            (0, 0),
            "in flight or queued at an unload: {c:?}"
        );
    }
    let started: u64 = counters.iter().map(|c| c[0]).sum();
    assert_eq!(
        started as usize,
        lines(&runs),
        "runs counted vs. runs recorded"
    );
}

/// Sends one DORA from client `i` (relayed) and returns whether it got its lease.
fn dora(tb: &Testbed, i: u8) -> bool {
    in_netns(&tb.cli, move || {
        Client4::new(Path4::Relayed)
            .dora([0x02, 0x61, 0, 0, 0, i], 0xc000 + 0x10 * u32::from(i))
            .is_some()
    })
}

#[test]
fn script_replaced_at_run_time() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("replace");
    let dir: PathBuf = scratch.join("bin");
    std::fs::create_dir(&dir).unwrap();
    let script = dir.join("event.sh");
    let out = scratch.join("out");
    let version = |v: &str| format!("echo {v} >> '{}'", out.display());
    write_script(&script, &version("one"));
    let tb = Testbed::new();
    let parameters = json!({"name": script, "sync": true, "hook-points": ["leases4_committed"]});
    let settings = Settings::new(Family::V4, false, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let ran = || std::fs::read_to_string(&out).unwrap_or_default();
    let failures = |kea: &Kea| kea.log_text().matches("KEA_RUNSCRIPT_SPAWN_FAILED").count();

    assert!(dora(&tb, 1));
    assert_eq!(ran(), "one\n");

    // 1. Atomic rename over the script: the next event runs the new one.
    let tmp = dir.join(".event.sh.new");
    write_script(&tmp, &version("two"));
    std::fs::rename(&tmp, &script).unwrap();
    assert!(dora(&tb, 2));
    assert_eq!(ran(), "one\ntwo\n");

    // 2.-4. Each breakage: the client is served, the run fails to start, the log says why.
    // (what, the reason the log must give, how to break it: may return a writer to hold).
    type Breakage<'a> = (
        &'a str,
        &'a str,
        Box<dyn Fn() -> Option<std::fs::File> + 'a>,
    );
    let cases: [Breakage; 3] = [
        (
            "not executable",
            "Permission denied",
            Box::new(|| {
                std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
                None
            }),
        ),
        (
            "deleted",
            "No such file or directory",
            Box::new(|| {
                std::fs::remove_file(&script).unwrap();
                None
            }),
        ),
        (
            "open for writing",
            "Text file busy",
            Box::new(|| {
                write_script(&script, &version("three"));
                Some(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&script)
                        .unwrap(),
                )
            }),
        ),
    ];
    let mut client = 3;
    for (what, reason, break_it) in cases {
        let before = failures(&kea);
        let writer = break_it();
        assert!(dora(&tb, client), "{what}: the client was not served");
        client += 1;
        let log = kea.log_text();
        assert_eq!(
            failures(&kea),
            before + 1,
            "{what}: no SPAWN_FAILED line:\n{log}"
        );
        let line = log
            .lines()
            .rfind(|l| l.contains("KEA_RUNSCRIPT_SPAWN_FAILED"))
            .unwrap();
        assert!(
            line.contains(reason) && line.contains("event.sh"),
            "{what}: {line}"
        );
        drop(writer);
        kea.assert_healthy();
    }

    // Back in place: the next event runs it.
    write_script(&script, &version("four"));
    assert!(dora(&tb, client));
    assert_eq!(ran(), "one\ntwo\nfour\n");
    kea.assert_healthy();
}
