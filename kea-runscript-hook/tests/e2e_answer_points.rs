//! The hook points where Kea reads a callout's answer back, in the real Kea: `ddns4_update`
//! / `ddns6_update` (DNS updates on, a client sending its name) and `host4_identifier` /
//! `host6_identifier` (`flex-id` among the host-reservation identifiers) reach an async
//! script with Kea's values; `lease4_offer` / `lease4_server_decline` are refused at load by
//! a Kea older than 2.6, which never calls them.

mod common;

use std::path::Path;
use std::time::Duration;

use common::dhcp4::{mac_text, Client4, Path4};
use common::dhcp6::{colon_hex, Client6};
use common::dump::{Dump, Record};
use common::kea::{check_config, hook, kea_hooks_version, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, HeavySlot, Scratch};
use serde_json::{json, Value};

const MAC4: [u8; 6] = [0x02, 0x5a, 0x00, 0x00, 0x04, 0x01];
const XID4: u32 = 0x5a00;
const MAC6: [u8; 6] = [0x02, 0x5a, 0x00, 0x00, 0x06, 0x01];
const TXID6: u32 = 0x5a_0000;
/// DHCPv6 Client FQDN option (39).
const OPT_CLIENT_FQDN: u16 = 39;

/// DNS updates on (no kea-dhcp-ddns listening: Kea's requests to it go nowhere), names
/// qualified in example.org, and the flexible identifier asked for first.
fn patch() -> Value {
    json!({
        "dhcp-ddns": {"enable-updates": true},
        "ddns-qualifying-suffix": "example.org.",
        "host-reservation-identifiers": ["flex-id", "hw-address"]
    })
}

fn settings(family: Family, dump: &Dump, hook_points: &[&str]) -> Settings {
    let parameters = json!({"name": dump.script, "sync": false, "hook-points": hook_points});
    let mut settings = Settings::new(family, false, vec![hook(&our_library(), parameters)]);
    settings.patch = Some(patch());
    settings
}

/// The names of `record`'s variables, in order.
fn names(record: &Record) -> Vec<String> {
    record
        .raw
        .names()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

#[test]
fn v4_ddns_update_and_host_identifier_reach_the_script() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("answer4");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let points = ["ddns4_update", "host4_identifier"];
    let mut kea = Kea::start(&tb, &scratch, &settings(Family::V4, &dump, &points));
    let bound = in_netns(&tb.cli, || {
        let mut client = Client4::new(Path4::Direct);
        client.extra = vec![(12, b"printer-7".to_vec())];
        client.dora(MAC4, XID4).expect("client bound")
    });
    let t = Duration::from_secs(5);
    let xid = |n: u32| n.to_string();

    let ddns = dump.wait_one("ddns4_update", t, |r| r.has("QUERY4_TXID", &xid(XID4 + 1)));
    // Kea's name: the client's, qualified (Kea 2.2 hands it on without the final dot for a
    // Host Name option, with it for an FQDN option).
    assert_eq!(
        ddns.var("DDNS_HOSTNAME").trim_end_matches('.'),
        "printer-7.example.org",
        "{ddns:#?}"
    );
    ddns.check(&[
        ("DDNS_FWD_UPDATE", "true"),
        ("DDNS_REV_UPDATE", "true"),
        ("QUERY4_TYPE", "DHCPREQUEST"),
        ("QUERY4_HWADDR", &mac_text(MAC4)),
        ("RESPONSE4_TYPE", "DHCPACK"),
        // Before the lease is allocated: the response has no address yet.
        ("RESPONSE4_YIADDR", "0.0.0.0"),
        ("SUBNET4_ID", "1"),
    ]);
    assert!(bound.addr.octets()[..3] == [192, 0, 2], "{bound:?}");
    let tail = names(&ddns);
    assert_eq!(
        tail[tail.len() - 3..],
        ["DDNS_HOSTNAME", "DDNS_FWD_UPDATE", "DDNS_REV_UPDATE"],
        "{ddns:#?}"
    );

    // Asked for the flex-id of the DISCOVER and of the REQUEST: type flex-id, no value yet.
    for n in [XID4, XID4 + 1] {
        let asked = dump.wait_one("host4_identifier", t, |r| r.has("QUERY4_TXID", &xid(n)));
        asked.check(&[
            ("HOST_ID_TYPE", "flex-id"),
            ("HOST_ID_VALUE", ""),
            ("QUERY4_HWADDR", &mac_text(MAC4)),
        ]);
        let tail = names(&asked);
        assert_eq!(tail[tail.len() - 2..], ["HOST_ID_TYPE", "HOST_ID_VALUE"]);
    }
    kea.assert_healthy();
}

#[test]
fn v6_ddns_update_and_host_identifier_reach_the_script() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("answer6");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let points = ["ddns6_update", "host6_identifier"];
    let mut kea = Kea::start(&tb, &scratch, &settings(Family::V6, &dump, &points));
    let ifindex = tb.cli_ifindex();
    let (bound, duid) = in_netns(&tb.cli, move || {
        let mut client = Client6::new(ifindex, MAC6, None);
        // Flags S (the server updates forward), then "printer-6" as a partial name.
        let mut fqdn = vec![0x01, 9];
        fqdn.extend_from_slice(b"printer-6");
        client.extra = vec![(OPT_CLIENT_FQDN, fqdn)];
        (client.sarr(TXID6).expect("client bound"), client.duid())
    });
    let t = Duration::from_secs(5);
    let txid = |n: u32| n.to_string();

    let ddns = dump.wait_one("ddns6_update", t, |r| {
        r.has("QUERY6_TXID", &txid(TXID6 + 1))
    });
    ddns.check(&[
        ("DDNS_HOSTNAME", "printer-6.example.org."),
        ("DDNS_FWD_UPDATE", "true"),
        ("DDNS_REV_UPDATE", "true"),
        ("QUERY6_TYPE", "REQUEST"),
        ("QUERY6_CLIENT_ID", &colon_hex(&duid)),
        ("RESPONSE6_TYPE", "REPLY"),
        ("SUBNET6_ID", "1"),
    ]);
    assert!(
        ddns.var("RESPONSE6_TXID") == txid(TXID6 + 1),
        "{ddns:#?} (bound {bound:?})"
    );

    let asked = dump.wait_one("host6_identifier", t, |r| {
        r.has("QUERY6_TXID", &txid(TXID6))
    });
    asked.check(&[
        ("HOST_ID_TYPE", "flex-id"),
        ("HOST_ID_VALUE", ""),
        ("QUERY6_TYPE", "SOLICIT"),
    ]);
    kea.assert_healthy();
}

#[test]
fn offer_points_are_refused_by_a_kea_that_never_calls_them() {
    if !require_prereqs() {
        return;
    }
    let scratch = Scratch::new("offerver");
    let dump = Dump::new(&scratch, "dump");
    let config = |hook_point: &str, log: &Path| {
        let parameters = json!({"name": dump.script, "hook-points": [hook_point]});
        Settings::new(Family::V4, false, vec![hook(&our_library(), parameters)])
            .config_without_interfaces(log)
    };
    for hook_point in ["lease4_offer", "lease4_server_decline"] {
        let log = scratch.join(&format!("{hook_point}.log"));
        let (ok, out) = check_config(Family::V4, &scratch, &config(hook_point, &log));
        if kea_hooks_version() >= 20600 {
            assert!(
                ok,
                "Kea {} refused {hook_point}:\n{out}",
                kea_hooks_version()
            );
        } else {
            assert!(
                !ok,
                "Kea {} accepted {hook_point}:\n{out}",
                kea_hooks_version()
            );
            let expected = format!("\"{hook_point}\" is called by Kea 2.6.0 and later");
            assert!(out.contains(&expected), "{out}");
            assert!(out.contains("this Kea is 2.2."), "{out}");
        }
    }
    // What 2.2 calls stays accepted.
    let log = scratch.join("ddns.log");
    let (ok, out) = check_config(Family::V4, &scratch, &config("ddns4_update", &log));
    assert!(ok, "{out}");
}
