//! `"replay-leases": true` in the real Kea (multi-threading on): after a restart the active
//! leases of the lease file are delivered once as `lease4_replay` / `lease6_replay` events.
//! The example scripts rebuild what they keep (routes, nftables set elements) after the
//! routes and the set were flushed; each replayed event carries the lease's and its subnet's
//! values as the clients got them.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::dhcp4::{Client4, Path4};
use common::dhcp6::Client6;
use common::dump::Dump;
use common::kea::{hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{
    in_netns, missing_prereq, our_library, require_prereqs, wait_for, HeavySlot, Scratch,
};
use serde_json::{json, Value};

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn require_nft() -> bool {
    Path::new("/usr/sbin/nft").exists()
        || missing_prereq("replay test needs /usr/sbin/nft (Debian package nftables)")
}

/// The hooks entry: routes.sh and nft-set.sh as the README shows them, plus dump.sh, all
/// with replay.
fn replay_hook(dump: &Dump, errors: &Path, v6: bool) -> Value {
    let routes_env = if v6 {
        json!({"ROUTES_LOG": errors, "ROUTES_VIA6": "2001:db8:1::2", "ROUTES_DEV": "SRVIF"})
    } else {
        json!({"ROUTES_LOG": errors, "ROUTES_VIA4": common::testbed::CLI4})
    };
    hook(
        &our_library(),
        json!({"scripts": [
            {"name": examples().join("routes.sh"), "sync": true, "replay-leases": true, "env": routes_env},
            {"name": examples().join("nft-set.sh"), "sync": true, "replay-leases": true,
             "env": {"NFT_LOG": errors}},
            {"name": dump.script, "replay-leases": true, "hook-points": ["leases4_committed", "leases6_committed"]}
        ]}),
    )
}

/// Addresses (or prefixes) listed by `text`, one per line's first word, that match `keep`.
fn firsts(text: &str, keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| keep(w))
        .map(str::to_owned)
        .collect()
}

fn replay(v6: bool) {
    if !require_prereqs() || !require_nft() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new(if v6 { "replay6" } else { "replay4" });
    let dump = Dump::new(&scratch, "dump");
    let errors = scratch.join("script-errors.log");
    let tb = Testbed::new();
    tb.exec(&tb.srv, &["nft", "add", "table", "inet", "kea"]);
    tb.exec(
        &tb.srv,
        &[
            "nft",
            "add",
            "set",
            "inet",
            "kea",
            "dhcp4",
            "{ type ipv4_addr; }",
        ],
    );
    tb.exec(
        &tb.srv,
        &[
            "nft",
            "add",
            "set",
            "inet",
            "kea",
            "dhcp6",
            "{ type ipv6_addr; flags interval; }",
        ],
    );
    let family = if v6 { Family::V6 } else { Family::V4 };
    let mut hook_entry = replay_hook(&dump, &errors, v6);
    // The server's interface name is only known now.
    if v6 {
        hook_entry["parameters"]["scripts"][0]["env"]["ROUTES_DEV"] = json!(tb.srv_if);
        hook_entry["parameters"]["scripts"][0]["env"]["ROUTES_V6_TYPES"] = json!("IA_PD IA_NA");
    }
    let mut settings = Settings::new(family, true, vec![hook_entry]);
    settings.lease_file = Some(scratch.join("leases.csv"));
    let mut kea = Kea::start(&tb, &scratch, &settings);
    // Nothing to replay yet: the lease file is new.
    let t = Duration::from_secs(10);

    // Three clients get leases (for v6 an address and a prefix each).
    let mut expected: BTreeSet<String> = BTreeSet::new();
    if v6 {
        let ifindex = tb.cli_ifindex();
        let bound = in_netns(&tb.cli, move || {
            (1..=3u8)
                .map(|n| {
                    Client6::new(ifindex, [0x02, 0x6e, 0, 0, 0, n], None)
                        .sarr(0x60_0000 + u32::from(n) * 16)
                        .expect("bound")
                })
                .collect::<Vec<_>>()
        });
        for b in &bound {
            expected.insert(b.addr.to_string());
            expected.insert(format!("{}/{}", b.prefix.0, b.prefix.1));
        }
    } else {
        let bound = in_netns(&tb.cli, || {
            let relay = Client4::new(Path4::Relayed);
            (1..=3u8)
                .map(|n| {
                    relay
                        .dora([0x02, 0x4e, 0, 0, 0, n], 0x4000 + u32::from(n) * 16)
                        .expect("bound")
                })
                .collect::<Vec<_>>()
        });
        for b in &bound {
            expected.insert(b.addr.to_string());
        }
    }
    let (ip_family, set) = if v6 { ("-6", "dhcp6") } else { ("-4", "dhcp4") };
    let routes = || {
        firsts(
            &tb.exec(
                &tb.srv,
                &["ip", ip_family, "route", "show", "proto", "dhcp"],
            ),
            |_| true,
        )
    };
    let elements = || {
        let listing = tb.exec(&tb.srv, &["nft", "list", "set", "inet", "kea", set]);
        let inside = listing.split("elements = {").nth(1).unwrap_or("");
        inside
            .split(['}', ','])
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty() && (e.contains('.') || e.contains(':')))
            .collect::<BTreeSet<String>>()
    };
    // A v4 route is ADDRESS (shown without /32); a v6 address route shows without /128.
    let normalise = |set: BTreeSet<String>| -> BTreeSet<String> {
        set.into_iter()
            .map(|e| {
                e.trim_end_matches("/128")
                    .trim_end_matches("/32")
                    .to_owned()
            })
            .collect()
    };
    let built = wait_for(t, || {
        (normalise(routes()) == expected && normalise(elements()) == expected).then_some(())
    });
    assert!(
        built.is_some(),
        "routes {:?} and set {:?} for the leases {expected:?}; errors: {}",
        routes(),
        elements(),
        std::fs::read_to_string(&errors).unwrap_or_default()
    );
    assert!(kea.stop(), "Kea stops on SIGTERM");

    // A router reboot: the routes and the set are gone; Kea restarts from its lease file.
    tb.exec(
        &tb.srv,
        &["ip", ip_family, "route", "flush", "proto", "dhcp"],
    );
    tb.exec(&tb.srv, &["nft", "flush", "set", "inet", "kea", set]);
    assert!(routes().is_empty() && elements().is_empty());
    let before = dump.records().len();
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let rebuilt = wait_for(t, || {
        (normalise(routes()) == expected && normalise(elements()) == expected).then_some(())
    });
    assert!(
        rebuilt.is_some(),
        "after the restart: routes {:?} and set {:?} for the leases {expected:?}; errors: {}\n{}",
        routes(),
        elements(),
        std::fs::read_to_string(&errors).unwrap_or_default(),
        kea.log_text()
    );
    // Each active lease was replayed once, with the lease's and the subnet's variables.
    let hook_point = if v6 { "lease6_replay" } else { "lease4_replay" };
    let replayed = dump.wait(t, |records| {
        records.iter().filter(|r| r.hook == hook_point).count() >= expected.len()
    });
    let replayed: Vec<_> = replayed
        .into_iter()
        .skip(before)
        .filter(|r| r.hook == hook_point)
        .collect();
    assert_eq!(replayed.len(), expected.len(), "{replayed:#?}");
    let mut seen = BTreeSet::new();
    for r in &replayed {
        if v6 {
            let addr = r.var("LEASE6_ADDRESS");
            let len = r.var("LEASE6_PREFIX_LEN");
            seen.insert(if len == "128" {
                addr.to_owned()
            } else {
                format!("{addr}/{len}")
            });
            r.check(&[
                ("SUBNET6_ID", "1"),
                ("SUBNET6_NAME", "2001:db8:1::/64"),
                ("LEASE6_STATE", "default"),
            ]);
            assert!(
                r.var("LEASE6_DUID").starts_with("00:03:00:01:02:6e"),
                "{r:#?}"
            );
        } else {
            seen.insert(r.var("LEASE4_ADDRESS").to_owned());
            r.check(&[
                ("SUBNET4_ID", "2"),
                ("SUBNET4_NAME", "10.0.0.0/8"),
                ("LEASE4_SUBNET_ID", "2"),
                ("LEASE4_STATE", "default"),
            ]);
            assert!(
                r.var("LEASE4_HWADDR").starts_with("02:4e:00:00:00:0"),
                "{r:#?}"
            );
        }
    }
    assert_eq!(seen, expected);
    let log = kea.log_text();
    assert!(
        log.contains(&format!(
            "{hook_point}: replay done, {n} of {n} leases delivered",
            n = expected.len()
        )),
        "{log}"
    );
    kea.assert_healthy();
}

#[test]
fn v4_routes_and_set_are_rebuilt_from_the_lease_file() {
    replay(false);
}

#[test]
fn v6_routes_and_set_are_rebuilt_from_the_lease_file() {
    replay(true);
}
