//! Parity with Kea's own hook: libdhcp_run_script.so and our library loaded in the SAME
//! Kea, each with its own dumping script, the same traffic (crafted clients with option 82,
//! relay options, renew, rebind, release, decline, recover, expire, plus a perfdhcp burst).
//! Every event of Kea's hook must have a matching event of ours carrying each of Kea's
//! variables with the identical value; our extra variables are allowed and listed.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::dhcp4::hex_upper;
use common::dump::{Dump, Record};
use common::kea::{command, perfdhcp, Family, Kea, Settings};
use common::parity::{assert_parity, both_hooks, settled};
use common::testbed::Testbed;
use common::{require_prereqs, scenario, wait_for, HeavySlot, Scratch};
use serde_json::json;

const VALID: u32 = 5;

fn parity(family: Family, mt: bool, sync: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("parity");
    let (kea_dump, our_dump) = (Dump::new(&scratch, "kea"), Dump::new(&scratch, "ours"));
    let tb = Testbed::new();
    let mut settings = Settings::new(
        family,
        mt,
        both_hooks(&kea_dump.script, &our_dump.script, sync),
    );
    settings.valid_lifetime = VALID;
    settings.decline_probation = 2;
    // Host names as clients send them, not UTF-8 included: both hooks must pass Kea's bytes.
    settings.raw_hostnames = true;
    let socket = scratch.join("kea.sock");
    settings.control_socket = Some(socket.clone());
    let mut server = Kea::start(&tb, &scratch, &settings);

    let burst = |extra: &[&str]| {
        let mut args = vec![
            "-l", &tb.cli_if, "-r", "10", "-R", "20", "-p", "2", "-f", "3", "-F", "2",
        ];
        args.extend_from_slice(extra);
        let (_, out) = perfdhcp(&tb, &args, Duration::from_secs(20));
        assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
    };
    match family {
        Family::V4 => {
            scenario::v4_clients(&tb);
            scenario::v4_raw_hostname_client(&tb);
            // Option 82 on every perfdhcp query too: circuit-id and remote-id.
            burst(&["-4", "-o", "82,0103616263020401020304"]);
        }
        Family::V6 => {
            scenario::v6_clients(&tb);
            scenario::v6_two_hop_client(&tb);
            if common::kea::kea_hooks_version() >= 30000 {
                scenario::v6_registrations(&tb);
            }
            burst(&["-6", "-e", "address-and-prefix"]);
            burst(&[
                "-6",
                "-e",
                "address-and-prefix",
                "-A",
                "1",
                "-b",
                "mac=00:0c:01:02:03:99",
            ]);
        }
    }
    // Every lease expires and is reclaimed: lease*_expire for all of them. Kea's statistics
    // say when no lease is left, assigned or declined, in any subnet.
    let limit = Duration::from_secs(60 + u64::from(VALID));
    let leases_left = || {
        let answer = command(&socket, &json!({"command": "statistic-get-all"}));
        let left: Vec<(String, i64)> = answer["arguments"]
            .as_object()
            .unwrap_or_else(|| panic!("statistic-get-all: {answer}"))
            .iter()
            .filter(|(name, _)| {
                name.starts_with("subnet[")
                    && !name.contains("].pool[")
                    && [
                        "assigned-addresses",
                        "assigned-nas",
                        "assigned-pds",
                        "declined-addresses",
                    ]
                    .iter()
                    .any(|stat| name.ends_with(&format!("].{stat}")))
            })
            .map(|(name, value)| (name.clone(), value[0][0].as_i64().unwrap_or(-1)))
            .collect();
        assert!(!left.is_empty(), "no lease statistics from Kea: {answer}");
        left
    };
    assert!(
        wait_for(limit, || leases_left()
            .iter()
            .all(|(_, n)| *n == 0)
            .then_some(()))
        .is_some(),
        "leases not reclaimed within {limit:?}: {:?}",
        leases_left()
    );
    let (kea, ours) = settled(&kea_dump, &our_dump, 20);
    assert!(
        kea.len() >= 20,
        "too few events from Kea's hook: {}",
        kea.len()
    );
    if family == Family::V6 && common::kea::kea_hooks_version() >= 30000 {
        // The registrations reached Kea's hook too, so parity covers addr6_register.
        let registrations = kea.iter().filter(|r| r.hook == "addr6_register").count();
        assert_eq!(
            registrations, 2,
            "Kea 3.0's hook must see both registrations"
        );
    }
    assert_parity(&kea, &ours);
    if family == Family::V6 {
        // The comparison covered a two-hop relay: client E's REQUEST reached both hooks
        // (Kea's renders no relay option; its variables matched ours above), and ours adds
        // the relay options searched from the client outwards, as Kea's getAnyRelayOption.
        let request = (scenario::TXID_E6 + 1).to_string();
        let e = |records: &[Record]| {
            records
                .iter()
                .filter(|r| {
                    r.hook == "leases6_committed" && r.get("QUERY6_TXID") == Some(request.as_str())
                })
                .count()
        };
        assert_eq!(e(&kea), 1, "leases6_committed of Kea's hook for client E");
        let ours_e = ours
            .iter()
            .find(|r| {
                r.hook == "leases6_committed" && r.get("QUERY6_TXID") == Some(request.as_str())
            })
            .expect("our leases6_committed for client E");
        for (name, value) in [
            ("QUERY6_OPTION_18", scenario::INTERFACE_ID_E6_INNER),
            ("QUERY6_OPTION_38", scenario::SUBSCRIBER_ID_E6_INNER),
            ("QUERY6_OPTION_37", scenario::REMOTE_ID_E6_OUTER),
        ] {
            assert_eq!(
                ours_e.get(name),
                Some(hex_upper(value).as_str()),
                "{name} of client E"
            );
        }
    }
    if family == Family::V4 {
        // The comparison covered a host name that is not UTF-8: Kea's hook passed client D's
        // bytes (lower-cased by Kea), and ours matched them byte for byte above.
        let raw = scenario::HOSTNAME_D4.to_ascii_lowercase();
        let with_raw = |records: &[Record]| {
            records
                .iter()
                .filter(|r| r.raw.values().any(|v| *v == raw))
                .count()
        };
        assert!(
            with_raw(&kea) > 0,
            "no event of Kea's hook carries D's host name {:?}",
            raw.escape_ascii().to_string()
        );
        assert_eq!(with_raw(&kea), with_raw(&ours), "events with D's host name");
    }
    // Not only the totals: each hook point the traffic causes fired, for both, and no other.
    let mut expected: BTreeSet<&str> = match family {
        Family::V4 => [
            "leases4_committed",
            "lease4_renew",
            "lease4_release",
            "lease4_decline",
            "lease4_recover",
            "lease4_expire",
        ]
        .into(),
        Family::V6 => [
            "leases6_committed",
            "lease6_renew",
            "lease6_rebind",
            "lease6_release",
            "lease6_decline",
            "lease6_recover",
            "lease6_expire",
        ]
        .into(),
    };
    if family == Family::V6 && common::kea::kea_hooks_version() >= 30000 {
        expected.insert("addr6_register");
    }
    for (who, records) in [("Kea's hook", &kea), ("ours", &ours)] {
        let fired: BTreeSet<&str> = records.iter().map(|r| r.hook.as_str()).collect();
        assert_eq!(fired, expected, "hook points that fired for {who}");
    }
    server.assert_healthy();
}

fn v4(mt: bool) {
    parity(Family::V4, mt, false)
}

fn v6(mt: bool) {
    parity(Family::V6, mt, false)
}

/// Sync mode starts scripts through another runner of ours: the same variables there too.
fn v4_sync(mt: bool) {
    parity(Family::V4, mt, true)
}

fn v6_sync(mt: bool) {
    parity(Family::V6, mt, true)
}

both_threading_modes!(v4 => v4_parity_with_kea_hook, v4_parity_with_kea_hook_multi_threaded);
both_threading_modes!(v6 => v6_parity_with_kea_hook, v6_parity_with_kea_hook_multi_threaded);
both_threading_modes!(v4_sync => v4_parity_with_kea_hook_sync, v4_parity_with_kea_hook_sync_multi_threaded);
both_threading_modes!(v6_sync => v6_parity_with_kea_hook_sync, v6_parity_with_kea_hook_sync_multi_threaded);

/// The comparison itself can fail: a different value, a missing variable, a missing event.
#[test]
fn parity_check_rejects_differences() {
    let record = |hook: &str, vars: &[(&str, &str)]| Record {
        hook: hook.to_string(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        raw: vars
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
    };
    let kea = [record(
        "lease4_renew",
        &[("QUERY4_TXID", "7"), ("LEASE4_STATE", "default")],
    )];
    let same = [record(
        "lease4_renew",
        &[
            ("QUERY4_TXID", "7"),
            ("LEASE4_STATE", "default"),
            ("EXTRA", "x"),
        ],
    )];
    assert_parity(&kea, &same);
    let different = [record(
        "lease4_renew",
        &[("QUERY4_TXID", "7"), ("LEASE4_STATE", "declined")],
    )];
    let missing_var = [record("lease4_renew", &[("QUERY4_TXID", "7")])];
    // The same text after lossy decoding, different bytes: not parity.
    let mut lossy = record(
        "lease4_renew",
        &[("QUERY4_TXID", "7"), ("LEASE4_STATE", "default")],
    );
    let mut kea_raw = kea[0].clone();
    kea_raw
        .raw
        .insert(b"LEASE4_HOSTNAME".to_vec(), vec![b'h', 0xff]);
    lossy
        .raw
        .insert(b"LEASE4_HOSTNAME".to_vec(), "h\u{fffd}".as_bytes().to_vec());
    let caught = std::panic::catch_unwind(|| assert_parity(&[kea_raw], &[lossy]));
    assert!(
        caught.is_err(),
        "accepted U+FFFD for a byte that is not UTF-8"
    );
    let other_hook = [record(
        "lease4_release",
        &[("QUERY4_TXID", "7"), ("LEASE4_STATE", "default")],
    )];
    for ours in [&different[..], &missing_var[..], &other_hook[..], &[]] {
        let caught = std::panic::catch_unwind(|| assert_parity(&kea, ours));
        assert!(caught.is_err(), "accepted {ours:?} as matching {kea:?}");
    }
}
