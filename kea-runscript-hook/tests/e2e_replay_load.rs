//! Replay pacing with 100,000 leases in the lease file (kea-dhcp4, multi-threading on): Kea
//! serves a new client while the replay runs, the replay delivers every lease exactly once
//! through a script bounded to a few processes, nothing is dropped (live events included),
//! and Kea's memory does not grow with the replay. Also with 20,000 DHCPv6 leases.
//! Heavy (about a minute of process spawning per 100,000 leases on two cores).

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::dhcp4::{Client4, Path4};
use common::dhcp6::Client6;
use common::kea::{hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, rss_kib, wait_for, HeavySlot, Scratch};
use serde_json::json;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A v4 lease file of `n` active leases in subnet 2 (10.0.0.0/8); their addresses.
fn lease_file4(path: &std::path::Path, n: u32) -> BTreeSet<String> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context").unwrap();
    let expire = now() + 3600;
    let mut addrs = BTreeSet::new();
    for i in 0..n {
        let addr = Ipv4Addr::from(0x0a10_0000 + i);
        let b = i.to_be_bytes();
        writeln!(
            f,
            "{addr},02:77:{:02x}:{:02x}:{:02x}:{:02x},,3600,{expire},2,0,0,,0,",
            b[0], b[1], b[2], b[3]
        )
        .unwrap();
        addrs.insert(addr.to_string());
    }
    addrs
}

/// A v6 lease file of `n` active IA_NA leases in subnet 1; their addresses.
fn lease_file6(path: &std::path::Path, n: u32) -> BTreeSet<String> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source").unwrap();
    let expire = now() + 3600;
    let mut addrs = BTreeSet::new();
    for i in 0..n {
        let addr = Ipv6Addr::from(0x2001_0db8_0001_0000_0000_0000_0001_0000u128 + u128::from(i));
        let b = i.to_be_bytes();
        writeln!(f, "{addr},00:03:00:01:02:66:{:02x}:{:02x}:{:02x}:{:02x},3600,{expire},1,2700,0,1,128,0,0,,,0,,1,0", b[0], b[1], b[2], b[3]).unwrap();
        addrs.insert(addr.to_string());
    }
    addrs
}

fn replay_load(family: Family, n: u32) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let v6 = family == Family::V6;
    let scratch = Scratch::new(if v6 { "replayload6" } else { "replayload4" });
    let seen = scratch.join("seen");
    let live = scratch.join("live");
    let (var, replay_point) = if v6 {
        ("LEASE6_ADDRESS", "lease6_replay")
    } else {
        ("LEASE4_ADDRESS", "lease4_replay")
    };
    let script = scratch.sh_script(
        "record.sh",
        &format!(
            "case $1 in {replay_point}) echo \"${var}\" >> {seen} ;; *) echo \"$1\" >> {live} ;; esac",
            seen = seen.display(),
            live = live.display()
        ),
    );
    let lease_file = scratch.join("leases.csv");
    let expected = if v6 {
        lease_file6(&lease_file, n)
    } else {
        lease_file4(&lease_file, n)
    };
    let tb = Testbed::new();
    let mut settings = Settings::new(
        family,
        true,
        vec![hook(
            &our_library(),
            json!({"name": script, "replay-leases": true, "max-in-flight": 4, "max-queued": 8,
                   "hook-points": ["leases4_committed", "leases6_committed"]}),
        )],
    );
    settings.lease_file = Some(lease_file);
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let rss_start = rss_kib(kea.pid);
    let done = format!("{replay_point}: replay done, {n} of {n} leases delivered, 0 failed");

    // Kea serves a new client at once, while the replay runs: the replay has begun (a
    // replayed lease reached the script) before the client asks, and has not ended (fewer
    // than all leases reached it, no "replay done") once it is served.
    let delivered = || {
        std::fs::read_to_string(&seen)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let begun = wait_for(Duration::from_secs(60), || (delivered() > 0).then_some(()));
    assert!(
        begun.is_some(),
        "no replayed lease reached the script within 60 s:\n{}",
        kea.log_text()
    );
    if v6 {
        let ifindex = tb.cli_ifindex();
        in_netns(&tb.cli, move || {
            Client6::new(ifindex, [0x02, 0x66, 0, 0, 0, 0xfe], None)
                .sarr(0x66_0000)
                .expect("served during the replay")
        });
    } else {
        in_netns(&tb.cli, || {
            Client4::new(Path4::Relayed)
                .dora([0x02, 0x77, 0, 0, 0, 0xfe], 0x7700)
                .expect("served during the replay")
        });
    }
    // Either measure, taken after the client was served, showing the replay unfinished
    // proves it was unfinished when the client was served.
    let delivered_when_served = delivered();
    let served_during_replay =
        delivered_when_served < n as usize || !kea.log_text().contains(&done);
    assert!(
        served_during_replay,
        "Kea served the new client only after the replay: {delivered_when_served} of {n} \
         leases delivered by then; log:\n{}",
        kea.log_text()
    );

    let mut rss_peak = rss_start;
    let finished = wait_for(Duration::from_secs(900), || {
        rss_peak = rss_peak.max(rss_kib(kea.pid));
        kea.log_text().contains(&done).then_some(())
    });
    assert!(
        finished.is_some(),
        "replay did not finish:\n{}",
        kea.log_text()
    );
    let all = wait_for(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&seen).unwrap_or_default();
        (text.lines().count() >= n as usize).then_some(text)
    })
    .expect("every replayed lease reaches the script");
    let lines: Vec<&str> = all.lines().collect();
    let unique: BTreeSet<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(lines.len(), n as usize, "each lease once");
    assert_eq!(unique, expected);
    let committed = if v6 {
        "leases6_committed"
    } else {
        "leases4_committed"
    };
    let live_text = std::fs::read_to_string(&live).unwrap_or_default();
    assert!(
        live_text.lines().any(|l| l == committed),
        "the live event was delivered: {live_text}"
    );
    let rss_end = rss_kib(kea.pid);
    kea.assert_healthy();
    assert!(kea.stop());
    let log = kea.log_text();
    assert!(log.contains(" dropped=0 "), "nothing dropped:\n{log}");
    println!(
        "{n} leases: served a new client during the replay, after {delivered_when_served} \
         leases; Kea RSS \
         {rss_start} KiB after start, peak {rss_peak} KiB, {rss_end} KiB after the replay"
    );
    // The snapshot is taken before Kea reports it started, and released as the replay goes:
    // the replay itself adds nothing that grows with the leases delivered.
    assert!(
        rss_peak <= rss_start + 32 * 1024,
        "Kea grew during the replay: {rss_start} -> {rss_peak} KiB"
    );
}

#[test]
fn v4_replays_100000_leases_paced_by_the_script_bounds() {
    replay_load(Family::V4, 100_000);
}

#[test]
fn v6_replays_20000_leases_paced_by_the_script_bounds() {
    replay_load(Family::V6, 20_000);
}
