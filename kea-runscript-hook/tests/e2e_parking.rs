//! Parked verdicts in the real Kea: a sync script at leases4_committed / leases6_committed
//! parks the query instead of holding a Kea thread. Its verdict unparks it (the client gets
//! its ACK/REPLY) or drops it (no answer; Kea 2.2 keeps the committed lease, which the test
//! shows in Kea's lease file); `on-timeout` resolves it when the script does not end; while
//! one query waits, other clients are served, even with Kea's multi-threading off; at
//! unload (SIGHUP reconfiguration, SIGTERM) parked queries are dropped and Kea goes on or
//! ends cleanly; `parked-packet-limit` makes Kea itself drop the queries beyond it.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::dhcp4::{mac_text, Client4, Msg, Path4, ACK, DISCOVER, OFFER, REQUEST};
use common::dhcp6::Client6;
use common::kea::{hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::json;

/// The verdict script, chosen by the last byte of the client's MAC (v4: the query's
/// hardware address, v6: the lease's DUID, which ends with it). Each call is recorded.
const SCRIPT: &str = r#"#!/bin/sh
dir=$(dirname "$0")
id="$QUERY4_HWADDR$LEASES6_AT0_DUID"
echo "$1 $id" >> "$dir/calls"
case "$id" in
  *:c1|*:c2|*:c3) exit 0 ;;
  *:d1) exit 4 ;;
  *:e1) while [ ! -e "$dir/release" ]; do sleep 0.05; done; exit 0 ;;
  *:f1|*:a1|*:a2) exec sleep 60 ;;
esac
exit 0
"#;

/// Per script call, long enough for the held client's whole scenario on a loaded machine.
const TIMEOUT_MS: u64 = 8000;

fn mac(last: u8) -> [u8; 6] {
    [0x02, 0x70, 0, 0, 0, last]
}

/// Kea (dropped first), its testbed, the script's directory, the lease file and the
/// heavy-test slot it runs in.
struct ParkBed {
    kea: Kea,
    tb: Testbed,
    dir: PathBuf,
    lease_file: PathBuf,
    scratch: Scratch,
    slot: HeavySlot,
}

/// Kea with the verdict script parking at leasesN_committed (`limit`: Kea's
/// `parked-packet-limit`), in a heavy-test slot; `None` (a skip, a failure under CI) when
/// this machine cannot run the e2e tests.
fn park_bed(family: Family, mt: bool, limit: Option<u32>) -> Option<ParkBed> {
    if !require_prereqs() {
        return None;
    }
    let slot = HeavySlot::acquire();
    let scratch = Scratch::new("park");
    let dir = scratch.join("verdict");
    std::fs::create_dir_all(&dir).expect("script dir");
    let script = dir.join("verdict.sh");
    std::fs::write(&script, SCRIPT).expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let hook_point = match family {
        Family::V4 => "leases4_committed",
        Family::V6 => "leases6_committed",
    };
    let parameters = json!({
        "name": script, "sync": true, "hook-points": [hook_point],
        "timeout-ms": TIMEOUT_MS, "on-timeout": "continue", "exit-codes": {"4": "drop"}
    });
    let tb = Testbed::new();
    let mut settings = Settings::new(family, mt, vec![hook(&our_library(), parameters)]);
    let lease_file = scratch.join("leases.csv");
    settings.lease_file = Some(lease_file.clone());
    settings.parked_packet_limit = limit;
    let kea = Kea::start(&tb, &scratch, &settings);
    Some(ParkBed {
        kea,
        tb,
        dir,
        lease_file,
        scratch,
        slot,
    })
}

/// The ids (MAC / DUID) the script was called for.
fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect()
}

/// Waits until the script was called for the client ending in `last`.
fn wait_called(dir: &Path, last: u8) {
    let suffix = format!(":{last:02x}");
    let called = wait_for(Duration::from_secs(10), || {
        calls(dir)
            .iter()
            .any(|c| c.ends_with(&suffix))
            .then_some(())
    });
    assert!(
        called.is_some(),
        "script never called for {suffix}: {:?}",
        calls(dir)
    );
}

/// The lease file's rows mentioning `needle` (a MAC or a DUID, lower-case hex).
fn lease_rows(file: &Path, needle: &str) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// Lets the held client's script end (it waits for `release` to exist) and returns the
/// type of the answer to its parked REQUEST `xid`, if one comes.
fn release_held(client: &Client4, release: &Path, xid: u32) -> Option<u8> {
    std::fs::write(release, "").expect("release");
    client
        .recv(xid, Duration::from_secs(15))
        .map(|m| m.msg_type)
}

/// DISCOVER → OFFER, then the REQUEST is sent; returns the REQUEST's xid (the ACK is
/// awaited by the caller).
fn offer_then_request(client: &Client4, mac: [u8; 6], xid: u32) -> u32 {
    let offer = client
        .exchange(Msg::new(DISCOVER, xid, mac), Duration::from_secs(5))
        .expect("OFFER");
    assert_eq!(offer.msg_type, OFFER);
    let server_id = offer.option(54).expect("server id").to_vec();
    client.send(
        Msg::new(REQUEST, xid + 1, mac)
            .with(50, &offer.yiaddr.octets())
            .with(54, &server_id),
    );
    xid + 1
}

fn send_sighup(kea: &Kea) {
    let pid = nix::unistd::Pid::from_raw(kea.pid as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
}

fn parking4(mt: bool) {
    let Some(ParkBed {
        slot: _slot,
        mut kea,
        tb,
        dir,
        lease_file,
        scratch: _scratch,
    }) = park_bed(Family::V4, mt, None)
    else {
        return;
    };

    // continue → ACK; drop → no ACK. Then: a held client waits parked while another is
    // served from start to end; its release gives it the ACK. A script that never ends is
    // timed out and on-timeout (continue) answers the client.
    let release = dir.join("release");
    let (cont, dropped, other_while_held, held, timed_out) = in_netns(&tb.cli, move || {
        let client = Client4::new(Path4::Relayed);
        let cont = client.dora(mac(0xc1), 0x7000).is_some();
        let dropped = client.dora(mac(0xd1), 0x7010).is_some();
        let held_xid = offer_then_request(&client, mac(0xe1), 0x7020);
        let other = client.dora(mac(0xc2), 0x7030).is_some();
        let held = release_held(&client, &release, held_xid);
        let timeout_xid = offer_then_request(&client, mac(0xf1), 0x7040);
        let timed_out = client
            .recv(timeout_xid, Duration::from_secs(20))
            .map(|m| m.msg_type);
        (cont, dropped, other, held, timed_out)
    });
    assert!(cont, "continue: no ACK\n{}", kea.log_text());
    assert!(!dropped, "drop: the client got an ACK");
    assert!(
        other_while_held,
        "a client was not served while another one's query was parked"
    );
    assert_eq!(
        held,
        Some(ACK),
        "the held client got no ACK after its release"
    );
    assert_eq!(
        timed_out,
        Some(ACK),
        "on-timeout continue did not answer the client"
    );
    assert!(
        kea.log_text().contains("KEA_RUNSCRIPT_TIMEOUT"),
        "{}",
        kea.log_text()
    );
    // What Kea 2.2 does with a dropped parked query's lease: it was committed before
    // leases4_committed, and dropping the query does not undo that. The lease stays.
    assert!(
        lease_rows(&lease_file, &mac_text(mac(0xd1))) > 0,
        "the dropped client's lease is not in Kea's lease file (Kea 2.2 keeps it: if this \
         changed, docs/configuration.md must say so)"
    );
    assert!(lease_rows(&lease_file, &mac_text(mac(0xc1))) > 0);

    // Unload while parked: a reconfiguration (SIGHUP) unloads the library with a query
    // waiting; it is dropped, Kea goes on and serves with the library loaded again.
    let release = dir.join("release");
    let _ = std::fs::remove_file(&release);
    let xid = in_netns(&tb.cli, move || {
        offer_then_request(&Client4::new(Path4::Relayed), mac(0xa1), 0x7050)
    });
    wait_called(&dir, 0xa1);
    send_sighup(&kea);
    // Kea serves again once the whole reconfiguration is done (its sockets are closed
    // meanwhile).
    let logged = wait_for(Duration::from_secs(15), || {
        kea.log_text()
            .contains("DYNAMIC_RECONFIGURATION_SUCCESS")
            .then_some(())
    });
    assert!(
        kea.log_text().contains("dropped 1 parked packet(s)"),
        "unload did not drop the parked query:\n{}",
        kea.log_text()
    );
    assert!(
        logged.is_some(),
        "the reconfiguration did not end:\n{}",
        kea.log_text()
    );
    let after_reload = in_netns(&tb.cli, move || {
        let client = Client4::new(Path4::Relayed);
        let stale = client.recv(xid, Duration::from_millis(500)).is_some();
        (stale, client.dora(mac(0xc3), 0x7060).is_some())
    });
    assert!(!after_reload.0, "the query dropped at unload was answered");
    assert!(
        after_reload.1,
        "no lease after the reload:\n{}",
        kea.log_text()
    );
    kea.assert_healthy();

    // Shutdown while parked: Kea ends on SIGTERM, unloading the library cleanly.
    in_netns(&tb.cli, move || {
        offer_then_request(&Client4::new(Path4::Relayed), mac(0xa2), 0x7070)
    });
    wait_called(&dir, 0xa2);
    assert!(kea.stop(), "Kea did not end on SIGTERM with a parked query");
    let log = kea.log_text();
    assert!(
        log.matches("dropped 1 parked packet(s)").count() == 2
            && log.contains("KEA_RUNSCRIPT_UNLOAD unloaded"),
        "no clean unload with a parked query at shutdown:\n{log}\n{}",
        kea.out_text()
    );
}

both_threading_modes!(parking4 => parked_verdicts_v4, parked_verdicts_v4_multi_threaded);

/// `parked-packet-limit` 1: while one query is parked, Kea drops the next REQUEST itself
/// (our script is not even called for it); once the first is released, the client is served.
fn parking_limit(mt: bool) {
    let Some(ParkBed {
        slot: _slot,
        mut kea,
        tb,
        dir,
        scratch: _scratch,
        ..
    }) = park_bed(Family::V4, mt, Some(1))
    else {
        return;
    };
    let release = dir.join("release");
    let calls_dir = dir.clone();
    let (over_limit, held, retry) = in_netns(&tb.cli, move || {
        let client = Client4::new(Path4::Relayed);
        let held_xid = offer_then_request(&client, mac(0xe1), 0x7100);
        wait_called(&calls_dir, 0xe1);
        let over_xid = offer_then_request(&client, mac(0xc1), 0x7110);
        let over = client.recv(over_xid, Duration::from_secs(2)).is_some();
        let held = release_held(&client, &release, held_xid);
        let retry = client.dora(mac(0xc1), 0x7120).is_some();
        (over, held, retry)
    });
    assert!(
        !over_limit,
        "a REQUEST beyond parked-packet-limit was answered"
    );
    assert_eq!(held, Some(ACK), "the parked client got no ACK");
    assert!(retry, "the client beyond the limit got no lease later");
    let suffix = format!(":{:02x}", 0xc1);
    assert_eq!(
        calls(&dir).iter().filter(|c| c.ends_with(&suffix)).count(),
        1,
        "the script ran for the query Kea dropped at the limit: {:?}",
        calls(&dir)
    );
    kea.assert_healthy();
}

both_threading_modes!(parking_limit => parked_packet_limit_reached, parked_packet_limit_reached_multi_threaded);

/// DHCPv6 at leases6_committed: continue → REPLY, drop → no REPLY (the lease stays in
/// Kea's lease file), and a held client's REQUEST waits parked until its script ends.
/// (One v6 client socket at a time: serving others meanwhile is shown for v4.)
fn parking6(mt: bool) {
    let Some(ParkBed {
        slot: _slot,
        mut kea,
        tb,
        dir,
        lease_file,
        scratch: _scratch,
    }) = park_bed(Family::V6, mt, None)
    else {
        return;
    };
    let ifindex = tb.cli_ifindex();
    let release = dir.join("release");
    let calls_dir = dir.clone();
    let (cont, dropped, held) = in_netns(&tb.cli, move || {
        let cont = Client6::new(ifindex, mac(0xc1), None)
            .sarr(0x71_0000)
            .is_some();
        let dropped = Client6::new(ifindex, mac(0xd1), None)
            .sarr(0x71_0010)
            .is_some();
        let releaser = std::thread::spawn(move || {
            wait_called(&calls_dir, 0xe1);
            std::fs::write(&release, "").expect("release");
        });
        let held = Client6::new(ifindex, mac(0xe1), None)
            .sarr(0x71_0020)
            .is_some();
        releaser.join().expect("releaser");
        (cont, dropped, held)
    });
    assert!(cont, "continue: no REPLY\n{}", kea.log_text());
    assert!(!dropped, "drop: the client got a REPLY");
    assert!(held, "the held client got no REPLY after its release");
    assert!(
        lease_rows(&lease_file, &mac_text(mac(0xd1))) > 0,
        "the dropped client's lease is not in Kea's lease file:\n{}",
        std::fs::read_to_string(&lease_file).unwrap_or_default()
    );
    kea.assert_healthy();
}

both_threading_modes!(parking6 => parked_verdicts_v6, parked_verdicts_v6_multi_threaded);
