//! Sync verdicts steer the real Kea: a block-list script (exit 4 mapped to drop at
//! pkt4_receive, where Kea honours drop) leaves one client without a lease while the others
//! get theirs; a hanging script is killed at its timeout, Kea keeps answering, and nothing
//! of the script is left running.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::dhcp4::{mac_text, Client4, Msg, Path4, REQUEST};
use common::dhcp6::{colon_hex, duid_ll, Client6};
use common::dump::Dump;
use common::kea::{hook, Family, Kea, Settings};
use common::procs;
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, started_runs, wait_for, HeavySlot, Scratch};
use serde_json::json;

const CLIENTS: [[u8; 6]; 4] = [
    [0x02, 0x10, 0, 0, 0, 1],
    [0x02, 0x10, 0, 0, 0, 2],
    [0x02, 0x10, 0, 0, 0, 3],
    [0x02, 0x10, 0, 0, 0, 4],
];
const BLOCKED: usize = 1;

/// The script's call records: (hook point, MAC, exit code) per call.
fn blocklist_calls(dir: &std::path::Path) -> Vec<(String, String, String)> {
    std::fs::read_dir(dir)
        .expect("script dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("calls."))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|text| {
            let mut w = text.split_whitespace().map(str::to_string);
            Some((w.next()?, w.next()?, w.next()?))
        })
        .collect()
}

/// Kea (dropped first), the testbed and the block-list script's directory.
struct BlockBed {
    kea: Kea,
    tb: Testbed,
    dir: std::path::PathBuf,
    /// With `also_dump`: a second, async script recording `committed_at`.
    dump: Option<Dump>,
    _scratch: Scratch,
}

/// Kea running blocklist.sh in sync mode at `hook_point`, exit code 4 mapped to drop,
/// with `blocked` (a MAC or a DUID) on the list. With `also_dump` (a hook point), the
/// multi-script form with the aliases `script`/`wait` is used, adding dump.sh async there.
fn block_bed(
    family: Family,
    mt: bool,
    hook_point: &str,
    blocked: &str,
    also_dump: Option<&str>,
) -> BlockBed {
    let scratch = Scratch::new("block");
    let (dir, script) = scratch.script_dir("blocklist", "blocklist.sh");
    std::fs::write(dir.join("blocked"), format!("{blocked}\n")).expect("blocked");
    let tb = Testbed::new();
    let block = json!({
        "name": script, "sync": true, "hook-points": [hook_point],
        "timeout-ms": 2000, "exit-codes": {"4": "drop"}
    });
    let (parameters, dump) = match also_dump {
        None => (block, None),
        Some(committed_at) => {
            let dump = Dump::new(&scratch, "dump");
            let both = json!({"scripts": [
                {"script": script, "wait": true, "hook-points": [hook_point],
                 "timeout-ms": 2000, "exit-codes": {"4": "drop"}},
                {"name": dump.script, "sync": false, "hook-points": [committed_at]}
            ]});
            (both, Some(dump))
        }
    };
    let settings = Settings::new(family, mt, vec![hook(&our_library(), parameters)]);
    let kea = Kea::start(&tb, &scratch, &settings);
    BlockBed {
        kea,
        tb,
        dir,
        dump,
        _scratch: scratch,
    }
}

/// The script decided: it saw the blocked client and exited 4, every other one 0.
fn assert_decisions(dir: &std::path::Path, hook_point: &str, blocked: &str) {
    let calls = blocklist_calls(dir);
    assert!(
        calls
            .iter()
            .any(|(h, m, c)| h == hook_point && m == blocked && c == "4"),
        "no drop decision recorded for {blocked}: {calls:?}"
    );
    assert!(
        calls.iter().all(|(_, m, c)| (m == blocked) == (c == "4")),
        "wrong decisions: {calls:?}"
    );
}

fn block_list(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let blocked_mac = mac_text(CLIENTS[BLOCKED]);
    let bed = block_bed(
        Family::V4,
        mt,
        "pkt4_receive",
        &blocked_mac,
        Some("leases4_committed"),
    );
    let BlockBed {
        mut kea,
        tb,
        dir,
        dump,
        _scratch,
    } = bed;

    let (bound, blocked_request) = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        let bound: Vec<_> = CLIENTS
            .iter()
            .enumerate()
            .map(|(i, mac)| client.dora(*mac, 0x5000 + 0x10 * i as u32))
            .collect();
        // The blocked client asks straight for an address too (INIT-REBOOT style).
        let ask = Msg::new(REQUEST, 0x5100, CLIENTS[BLOCKED])
            .with(50, &Ipv4Addr::new(10, 0, 0, 50).octets());
        let reply = client.exchange(ask, Duration::from_secs(2));
        (bound, reply)
    });
    for (i, b) in bound.iter().enumerate() {
        if i == BLOCKED {
            assert!(
                b.is_none(),
                "blocked client {} got a lease: {b:?}",
                mac_text(CLIENTS[i])
            );
        } else {
            assert!(b.is_some(), "client {} got no lease", mac_text(CLIENTS[i]));
        }
    }
    assert!(
        blocked_request.is_none(),
        "blocked REQUEST was answered: {blocked_request:?}"
    );
    assert_decisions(&dir, "pkt4_receive", &blocked_mac);
    // The second script saw a commit for every client but the blocked one.
    let dump = dump.expect("dump script configured");
    let committed = dump.wait(Duration::from_secs(5), |rs| rs.len() >= CLIENTS.len() - 1);
    let macs: Vec<&str> = committed
        .iter()
        .map(|r| r.var("LEASES4_AT0_HWADDR"))
        .collect();
    for (i, mac) in CLIENTS.iter().enumerate() {
        let seen = macs.contains(&mac_text(*mac).as_str());
        assert_eq!(
            seen,
            i != BLOCKED,
            "leases4_committed for {}: {macs:?}",
            mac_text(*mac)
        );
    }
    kea.assert_healthy();
}

both_threading_modes!(block_list => block_list_drops_one_client, block_list_drops_one_client_multi_threaded);

/// The same for DHCPv6 at pkt6_receive: the client with the listed DUID gets no
/// ADVERTISE, the others complete SOLICIT/REQUEST with an address and a prefix.
fn block_list6(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let blocked_duid = colon_hex(&duid_ll(CLIENTS[BLOCKED]));
    let BlockBed {
        mut kea,
        tb,
        dir,
        _scratch,
        ..
    } = block_bed(Family::V6, mt, "pkt6_receive", &blocked_duid, None);
    let ifindex = tb.cli_ifindex();
    let bound = in_netns(&tb.cli, move || {
        CLIENTS
            .iter()
            .enumerate()
            .map(|(i, mac)| Client6::new(ifindex, *mac, None).sarr(0x50_0000 + 0x10 * i as u32))
            .collect::<Vec<_>>()
    });
    for (i, b) in bound.iter().enumerate() {
        assert_eq!(
            b.is_none(),
            i == BLOCKED,
            "client {i} ({}): {b:?}",
            mac_text(CLIENTS[i])
        );
    }
    assert_decisions(&dir, "pkt6_receive", &blocked_duid);
    kea.assert_healthy();
}

both_threading_modes!(block_list6 => block_list_drops_one_v6_client, block_list_drops_one_v6_client_multi_threaded);

const HANG_TIMEOUT_MS: u64 = 300;

/// What a run with a hanging sync script left behind.
struct HangOutcome {
    /// Processes other than Kea in Kea's namespace after the kill grace (killed by the
    /// test afterwards).
    leftovers: Vec<procs::Proc>,
}

/// Kea with a sync script that hangs (at Kea's default hook points: leases4_committed for
/// every REQUEST); three clients must still get leases; the script's own process must be
/// killed and reaped and the timeout logged.
fn hanging_script(mt: bool) -> Option<HangOutcome> {
    if !require_prereqs() {
        return None;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("hang");
    let (dir, script) = scratch.script_dir("hang", "hang.sh");
    let tb = Testbed::new();
    let parameters = json!({"name": script, "sync": true, "timeout-ms": HANG_TIMEOUT_MS});
    let settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);

    let bound = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        (0..3u8)
            .map(|i| client.dora([0x02, 0x20, 0, 0, 0, i], 0x6000 + 0x10 * u32::from(i)))
            .collect::<Vec<_>>()
    });
    for (i, b) in bound.iter().enumerate() {
        assert!(
            b.is_some(),
            "client {i} got no lease while the script hangs"
        );
    }
    let started = started_runs(&dir);
    assert!(
        started >= 3,
        "the hanging script ran {started} times, expected one per lease commit"
    );
    // After the timeout and the kill grace, no script process is Kea's child any more.
    let reaped = wait_for(Duration::from_secs(3), || {
        procs::descendants(kea.pid).is_empty().then_some(())
    });
    assert!(
        reaped.is_some(),
        "script processes still children of Kea: {:?}",
        procs::descendants(kea.pid)
    );
    assert!(kea.alive(), "Kea died:\n{}", kea.log_text());
    assert!(
        kea.log_text().contains("KEA_RUNSCRIPT_TIMEOUT"),
        "no timeout logged:\n{}",
        kea.log_text()
    );
    let netns = tb.srv_netns_inode();
    let leftovers = procs::in_netns(netns, kea.pid);
    procs::kill_all(&leftovers); // this test started them; don't leave them for 1000 s
    Some(HangOutcome { leftovers })
}

fn hang_killed(mt: bool) {
    hanging_script(mt);
}

both_threading_modes!(hang_killed => hanging_script_is_killed_and_kea_answers, hanging_script_is_killed_and_kea_answers_multi_threaded);

/// The killed script's own children (here `/bin/sleep`, started by the shell without
/// exec) must not outlive it: a timeout has to end the whole script, not only its shell.
fn hang_leaves_nothing(mt: bool) {
    let Some(outcome) = hanging_script(mt) else {
        return;
    };
    assert!(
        outcome.leftovers.is_empty(),
        "processes of the timed-out script still running in Kea's namespace after the kill \
         (only the script process itself seems to be signalled, not its process group): {:?}",
        outcome.leftovers
    );
}

both_threading_modes!(hang_leaves_nothing => hanging_script_leaves_no_descendant, hanging_script_leaves_no_descendant_multi_threaded);

/// A script that vanished after Kea loaded the library: each call fails to start, which
/// is logged, and Kea goes on serving (async and sync alike; sync continues).
fn vanished_script(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("vanished");
    let (_, async_script) = scratch.script_dir("a", "dump.sh");
    let (_, sync_script) = scratch.script_dir("s", "dump.sh");
    let tb = Testbed::new();
    let parameters = json!({"scripts": [
        {"name": async_script, "sync": false},
        {"name": sync_script, "sync": true, "timeout-ms": 2000}
    ]});
    let settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);
    std::fs::remove_file(&async_script).expect("remove script");
    std::fs::remove_file(&sync_script).expect("remove script");
    let bound = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        (0..2u8)
            .filter_map(|i| client.dora([0x02, 0x60, 0, 0, 0, i], 0xa000 + 0x10 * u32::from(i)))
            .count()
    });
    assert_eq!(bound, 2, "clients got no lease once the scripts were gone");
    // Every failed start logged (2 clients x 2 scripts): the async ones are logged by
    // the reaper once it has reaped their keepers, so no keeper is left a zombie after.
    let logged = wait_for(Duration::from_secs(3), || {
        (kea.log_text().matches("KEA_RUNSCRIPT_SPAWN_FAILED").count() >= 4).then_some(())
    });
    assert!(
        logged.is_some(),
        "failed starts not logged:\n{}",
        kea.log_text()
    );
    kea.assert_healthy();
}

both_threading_modes!(vanished_script => a_vanished_script_is_logged_and_kea_serves, a_vanished_script_is_logged_and_kea_serves_multi_threaded);

/// A callout does nothing once an earlier library set DROP: a copy of our library drops
/// the blocked client at pkt4_receive, and our library loaded after it (async dump at the
/// same hook point) then runs no script for that query, only for the others.
fn after_drop(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("afterdrop");
    let (dir, block_script) = scratch.script_dir("blocklist", "blocklist.sh");
    let blocked_mac = mac_text(CLIENTS[BLOCKED]);
    std::fs::write(dir.join("blocked"), format!("{blocked_mac}\n")).expect("blocked");
    let dump = Dump::new(&scratch, "dump");
    // A second file, so that Kea's dlopen gives a second, independent instance.
    let copy = scratch.join("libkea_runscript_first.so");
    std::fs::copy(our_library(), &copy).expect("copy library");
    let tb = Testbed::new();
    let hooks = vec![
        hook(
            &copy,
            json!({"name": block_script, "sync": true, "hook-points": ["pkt4_receive"],
                   "exit-codes": {"4": "drop"}}),
        ),
        hook(
            &our_library(),
            json!({"name": dump.script, "sync": false, "hook-points": ["pkt4_receive"]}),
        ),
    ];
    let mut kea = Kea::start(&tb, &scratch, &Settings::new(Family::V4, mt, hooks));
    let bound = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        CLIENTS
            .iter()
            .enumerate()
            .map(|(i, mac)| client.dora(*mac, 0xb000 + 0x10 * i as u32).is_some())
            .collect::<Vec<_>>()
    });
    for (i, got) in bound.iter().enumerate() {
        assert_eq!(*got, i != BLOCKED, "client {}", mac_text(CLIENTS[i]));
    }
    // Two queries (DISCOVER, REQUEST) per client that got a lease.
    let records = dump.wait(Duration::from_secs(5), |rs| {
        rs.len() >= 2 * (CLIENTS.len() - 1)
    });
    let macs: Vec<&str> = records.iter().map(|r| r.var("QUERY4_HWADDR")).collect();
    assert!(
        !macs.contains(&blocked_mac.as_str()),
        "our callout ran a script for a query already dropped: {macs:?}"
    );
    assert_eq!(
        macs.len(),
        2 * (CLIENTS.len() - 1),
        "script calls: {macs:?}"
    );
    kea.assert_healthy();
}

both_threading_modes!(after_drop => a_dropped_query_runs_no_later_script, a_dropped_query_runs_no_later_script_multi_threaded);
