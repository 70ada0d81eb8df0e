//! Answers with data steer the real Kea: a spawned sync script renames clients at
//! `ddns4_update` / `ddns6_update` and sets the DNS flags (the lease and the response carry
//! them), gives a flexible identifier at `host4_identifier` that finds a reservation, and
//! reports an offered address in use at `lease4_offer` (Kea 2.6+: Kea declines it and
//! offers another; Kea 2.2 refuses the hook point at load). Bad answers are left out,
//! logged and counted while Kea serves every client.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use common::dhcp4::{mac_text, Client4, Msg, Path4, DISCOVER, OFFER};
use common::dhcp6::{colon_hex, duid_ll, Client6};
use common::dump::Dump;
use common::kea::{
    check_config, command, hook, kea_hooks_version, lease_file_rows, Family, Kea, Settings,
};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::json;

/// The value of Kea statistic `name` over the control socket.
fn statistic(socket: &Path, name: &str) -> i64 {
    let answer = command(
        socket,
        &json!({"command": "statistic-get", "arguments": {"name": name}}),
    );
    answer["arguments"][name][0][0].as_i64().unwrap_or(-1)
}

const RENAMED: [u8; 6] = [0x02, 0x20, 0, 0, 0, 1];
const REFUSED: [u8; 6] = [0x02, 0x20, 0, 0, 0, 2];
const SILENT: [u8; 6] = [0x02, 0x20, 0, 0, 0, 3];

/// The DNS-name script: renames one client with both flags given, answers a name Kea must
/// refuse for another, says nothing for the third.
fn ddns_script(
    scratch: &Scratch,
    mac_var: &str,
    renamed: &str,
    refused: &str,
) -> std::path::PathBuf {
    scratch.sh_script(
        "ddns",
        &format!(
            r#"case "${mac_var}" in
  *{renamed}*) echo "got $DDNS_HOSTNAME"; echo KEA_HOSTNAME=renamed.example.org.; echo KEA_FWD_UPDATE=false; echo KEA_REV_UPDATE=true ;;
  *{refused}*) echo 'KEA_HOSTNAME=bad_name;reboot' ;;
esac
exit 0"#
        ),
    )
}

/// Kea with DNS updates enabled (no kea-dhcp-ddns needed: the name and flags are in the
/// lease whatever happens to the update), a lease file and a control socket.
fn ddns_settings(family: Family, scratch: &Scratch, script: &Path, hook_point: &str) -> Settings {
    let mut settings = Settings::new(
        family,
        true,
        vec![hook(
            &our_library(),
            json!({"name": script, "sync": true, "hook-points": [hook_point],
                   "timeout-ms": 3000}),
        )],
    );
    settings.lease_file = Some(scratch.join("leases.csv"));
    settings.control_socket = Some(scratch.join("ctrl"));
    settings.patch = Some(json!({
        "dhcp-ddns": {"enable-updates": true},
        "ddns-send-updates": true,
        "ddns-override-client-update": true
    }));
    settings
}

#[test]
fn a_scripts_dns_name_and_flags_reach_the_v4_lease_and_response() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("ddns4");
    let script = ddns_script(
        &scratch,
        "QUERY4_HWADDR",
        &mac_text(RENAMED),
        &mac_text(REFUSED),
    );
    let settings = ddns_settings(Family::V4, &scratch, &script, "ddns4_update");
    let tb = Testbed::new();
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let acks = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        [(RENAMED, "alpha"), (REFUSED, "beta"), (SILENT, "gamma")]
            .iter()
            .enumerate()
            .map(|(i, (mac, name))| {
                let xid = 0x7000 + 0x10 * i as u32;
                let offer = client
                    .exchange(
                        Msg::new(DISCOVER, xid, *mac).with(12, name.as_bytes()),
                        Duration::from_secs(3),
                    )
                    .expect("an offer");
                let request = Msg::new(common::dhcp4::REQUEST, xid + 1, *mac)
                    .with(50, &offer.yiaddr.octets())
                    .with(54, offer.option(54).expect("server id"))
                    .with(12, name.as_bytes());
                let ack = client
                    .exchange(request, Duration::from_secs(3))
                    .expect("an ack");
                (
                    ack.yiaddr,
                    ack.option(12)
                        .map(|h| String::from_utf8_lossy(h).into_owned()),
                )
            })
            .collect::<Vec<_>>()
    });
    let rows = lease_file_rows(&scratch.join("leases.csv"));
    let row = |i: usize| {
        rows.get(&acks[i].0.to_string())
            .unwrap_or_else(|| panic!("no lease row for {}: {rows:?}", acks[i].0))
    };
    // Renamed, with the script's flags (Kea itself would have set both).
    assert_eq!(row(0)["hostname"], "renamed.example.org.");
    assert_eq!(
        (row(0)["fqdn_fwd"].as_str(), row(0)["fqdn_rev"].as_str()),
        ("0", "1")
    );
    assert_eq!(
        acks[0].1.as_deref(),
        Some("renamed.example.org."),
        "host-name option in the ACK"
    );
    // The refused name left Kea's own; so did silence.
    assert!(row(1)["hostname"].starts_with("beta"), "{:?}", row(1));
    assert!(row(2)["hostname"].starts_with("gamma"), "{:?}", row(2));
    assert_eq!(
        (row(2)["fqdn_fwd"].as_str(), row(2)["fqdn_rev"].as_str()),
        ("1", "1")
    );
    let socket = scratch.join("ctrl");
    // DISCOVER and REQUEST of the refused client each answered the bad name.
    assert_eq!(statistic(&socket, "kea-runscript.answer-errors"), 2);
    assert_eq!(statistic(&socket, "kea-runscript.answers-with-data"), 2);
    let log = kea.log_text();
    assert!(
        log.contains("KEA_RUNSCRIPT_ANSWER_INVALID") && log.contains("bad_name"),
        "{log}"
    );
    kea.assert_healthy();
}

#[test]
fn a_scripts_dns_name_and_flags_reach_the_v6_lease() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("ddns6");
    let renamed = colon_hex(&duid_ll(RENAMED));
    let refused = colon_hex(&duid_ll(REFUSED));
    let script = ddns_script(&scratch, "QUERY6_CLIENT_ID", &renamed, &refused);
    let settings = ddns_settings(Family::V6, &scratch, &script, "ddns6_update");
    let tb = Testbed::new();
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let ifindex = tb.cli_ifindex();
    let bound = in_netns(&tb.cli, move || {
        [(RENAMED, "alpha"), (REFUSED, "beta")]
            .iter()
            .enumerate()
            .map(|(i, (mac, name))| {
                let mut client = Client6::new(ifindex, *mac, None);
                // Client FQDN (39): flags S=1, then the name in DNS wire form.
                let mut fqdn = vec![0x01, name.len() as u8];
                fqdn.extend(name.as_bytes());
                fqdn.extend([7]);
                fqdn.extend(b"example");
                fqdn.extend([3]);
                fqdn.extend(b"org");
                fqdn.push(0);
                client.extra.push((39, fqdn));
                client.sarr(0x70_0000 + 0x10 * i as u32).expect("a reply")
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(bound.len(), 2);
    let rows = lease_file_rows(&scratch.join("leases.csv"));
    let with_duid = |duid: &str| {
        rows.values()
            .find(|r| r.get("duid").map(String::as_str) == Some(duid) && r["lease_type"] == "0")
            .unwrap_or_else(|| panic!("no address lease of {duid}: {rows:?}"))
            .clone()
    };
    let renamed_row = with_duid(&renamed);
    assert_eq!(renamed_row["hostname"], "renamed.example.org.");
    assert_eq!(
        (
            renamed_row["fqdn_fwd"].as_str(),
            renamed_row["fqdn_rev"].as_str()
        ),
        ("0", "1")
    );
    assert_eq!(with_duid(&refused)["hostname"], "beta.example.org.");
    assert!(statistic(&scratch.join("ctrl"), "kea-runscript.answer-errors") >= 1);
    kea.assert_healthy();
}

/// A flexible identifier from a script finds a reservation by `flex-id`.
#[test]
fn a_scripts_flex_id_finds_the_reservation() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("flexid");
    let script = scratch.sh_script(
        "flex",
        &format!(
            r#"[ "$QUERY4_HWADDR" = "{}" ] && echo "KEA_FLEX_ID='port-7'"
exit 0"#,
            mac_text(RENAMED)
        ),
    );
    let mut settings = Settings::new(
        Family::V4,
        true,
        vec![hook(
            &our_library(),
            json!({"name": script, "sync": true, "hook-points": ["host4_identifier"]}),
        )],
    );
    settings.patch = Some(json!({
        "host-reservation-identifiers": ["flex-id", "hw-address"],
        "subnet4": [{}, {"reservations": [{"flex-id": "'port-7'", "ip-address": "10.0.0.77"}]}]
    }));
    let tb = Testbed::new();
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let bound = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        [RENAMED, SILENT]
            .iter()
            .enumerate()
            .map(|(i, mac)| {
                client
                    .dora(*mac, 0x7100 + 0x10 * i as u32)
                    .expect("a lease")
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(
        bound[0].addr,
        Ipv4Addr::new(10, 0, 0, 77),
        "the reserved address"
    );
    assert_ne!(bound[1].addr, Ipv4Addr::new(10, 0, 0, 77));
    kea.assert_healthy();
}

/// A sync worker and a sync spawned script at `pkt4_receive` answer every kind of bad
/// data: every client still gets its lease, the answers are logged (rate-limited) and
/// counted, and the good parts (a class Kea has no definition of) still apply.
#[test]
fn bad_answers_are_logged_and_counted_and_kea_serves_everyone() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("badanswers");
    let worker = scratch.join("worker.py");
    std::fs::write(
        &worker,
        r#"#!/usr/bin/python3
import json, sys
BAD = [
    {"classes": "not-a-list"},
    {"classes": [1, 2]},
    {"classes": ["c%d" % i for i in range(100)]},
    {"hostname": "meaningless-here"},
    {"classes": ["no such class in kea", "KNOWN"]},
    {"classes": ["known-to-nobody"], "colour": {"deep": [1]}},
    {"verdict": "continue", "address-in-use": "yes"},
]
n = 0
for line in sys.stdin:
    ev = json.loads(line)
    answer = {"seq": ev["seq"]}
    answer.update(BAD[n % len(BAD)])
    n += 1
    sys.stdout.write(json.dumps(answer) + "\n"); sys.stdout.flush()
"#,
    )
    .unwrap();
    common::set_mode(&worker, 0o755);
    let spawned = scratch.sh_script(
        "flood",
        r#"case "$QUERY4_HWADDR" in
  *:01) head -c 200000 /dev/urandom ;;
  *:02) i=0; while [ $i -lt 3000 ]; do echo "KEA_CLASS=flood$i"; i=$((i+1)); done ;;
  *:03) printf 'KEA_CLASS=\377\376\n' ;;
  *) : ;;
esac
exit 0"#,
    );
    let mut settings = Settings::new(
        Family::V4,
        true,
        vec![hook(
            &our_library(),
            json!({"scripts": [
                {"name": worker, "mode": "worker", "sync": true, "hook-points": ["pkt4_receive"],
                 "timeout-ms": 3000},
                {"name": spawned, "sync": true, "hook-points": ["pkt4_receive"],
                 "timeout-ms": 3000}
            ]}),
        )],
    );
    settings.control_socket = Some(scratch.join("ctrl"));
    let tb = Testbed::new();
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let macs: Vec<[u8; 6]> = (1..=8u8).map(|i| [0x02, 0x30, 0, 0, 0, i]).collect();
    let bound = in_netns(&tb.cli, move || {
        let client = Client4::new(Path4::Relayed);
        macs.iter()
            .enumerate()
            .map(|(i, mac)| client.dora(*mac, 0x7200 + 0x10 * i as u32))
            .collect::<Vec<_>>()
    });
    for (i, b) in bound.iter().enumerate() {
        assert!(b.is_some(), "client {i} got no lease");
    }
    let socket = scratch.join("ctrl");
    // Each client sends two queries; every one of the worker's answers has at least one
    // bad field, and the flood and the non-UTF-8 lines add theirs.
    let errors = statistic(&socket, "kea-runscript.answer-errors");
    assert!(errors >= 16, "answer-errors {errors}");
    assert!(statistic(&socket, "kea-runscript.answers-with-data") >= 1);
    assert_eq!(statistic(&socket, "kea-runscript.protocol-errors"), 0);
    let log = kea.log_text();
    let lines = log.matches("KEA_RUNSCRIPT_ANSWER_INVALID").count();
    assert!(
        (1..16).contains(&lines),
        "rate-limited answer lines: {lines}\n{log}"
    );
    kea.assert_healthy();
}

/// Kea 2.6+: a script that reports the first offered address in use makes Kea decline it
/// (`lease4_server_decline` follows, the lease file marks it declined) and the client gets
/// another. On Kea 2.2 the configuration is refused, naming the hook point.
fn offer_check(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("offer");
    let in_use = Ipv4Addr::new(10, 0, 0, 10);
    let script = scratch.sh_script(
        "offer",
        &format!(
            r#"[ "$LEASES4_AT0_ADDRESS" = "{in_use}" ] && echo KEA_ADDRESS_IN_USE=true
exit 0"#
        ),
    );
    let dump = Dump::new(&scratch, "dump");
    let mut settings = Settings::new(
        Family::V4,
        mt,
        vec![hook(
            &our_library(),
            json!({"scripts": [
                {"name": script, "sync": true, "hook-points": ["lease4_offer"]},
                {"name": dump.script, "hook-points": ["lease4_server_decline"]}
            ]}),
        )],
    );
    settings.lease_file = Some(scratch.join("leases.csv"));
    if kea_hooks_version() < 20600 {
        let mut config = settings.config("unused", &scratch.join("kea.log"));
        // No interface: Kea opens no DHCP socket, so no network namespace is needed.
        config["Dhcp4"]["interfaces-config"]["interfaces"] = json!([]);
        let (ok, text) = check_config(Family::V4, &scratch, &config);
        assert!(!ok, "Kea 2.2 accepted lease4_offer: {text}");
        assert!(
            text.contains("lease4_offer") && text.contains("2.6"),
            "{text}"
        );
        return;
    }
    let tb = Testbed::new();
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let mac = [0x02, 0x40, 0, 0, 0, 1];
    let (first, second) = in_netns(&tb.cli, move || {
        let client = Client4::new(Path4::Relayed);
        let first = client.exchange(Msg::new(DISCOVER, 0x7300, mac), Duration::from_secs(2));
        let second = client.exchange(Msg::new(DISCOVER, 0x7310, mac), Duration::from_secs(3));
        (first, second)
    });
    assert!(first.is_none(), "an offer of the address in use: {first:?}");
    let second = second.expect("an offer after the decline");
    assert_eq!(second.msg_type, OFFER);
    assert_ne!(second.yiaddr, in_use);
    let declined = dump.wait(Duration::from_secs(5), |rs| !rs.is_empty());
    assert_eq!(declined[0].var("LEASE4_ADDRESS"), in_use.to_string());
    let rows = wait_for(Duration::from_secs(5), || {
        let rows = lease_file_rows(&scratch.join("leases.csv"));
        rows.contains_key(&in_use.to_string()).then_some(rows)
    })
    .expect("the declined lease in the lease file");
    assert_eq!(rows[&in_use.to_string()]["state"], "1", "declined");
    kea.assert_healthy();
}

both_threading_modes!(offer_check => an_address_in_use_is_declined_and_another_offered, an_address_in_use_is_declined_and_another_offered_multi_threaded);
