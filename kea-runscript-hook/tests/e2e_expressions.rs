//! Kea expressions (`"expressions"`) in the real kea-dhcp4 and kea-dhcp6: each kind of
//! expression gets the value computed here from what the crafted client sent; an expression
//! that fails on a packet leaves its variable empty, is logged, and Kea keeps serving; a
//! script without expressions sees none of these variables.

mod common;

use std::time::Duration;

use common::dhcp4::{agent_options, mac_text, Client4, Path4};
use common::dump::{with_and_without, with_and_without_hook, Dump};
use common::kea::{hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, HeavySlot, Scratch};
use serde_json::json;

const MAC: [u8; 6] = [0x02, 0x9e, 0x00, 0x00, 0x00, 0x09];
const XID: u32 = 0x9000;
const VENDOR_CLASS: &[u8] = b"MSFT 5.0 test-vendor";
const USER_CLASS: &[u8] = b"\x07gateway";
const REMOTE_ID: &[u8] = &[0xde, 0xad, 0xbe, 0xef];

/// Lower-case hex with `sep` between bytes, as Kea's `hexstring()` writes it.
fn hexstring(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(sep)
}

fn expressions_v4(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("expr4");
    let (with, without) = with_and_without(&scratch);
    let tb = Testbed::new();
    let points = ["pkt4_receive", "leases4_committed", "lease4_expire"];
    let expressions = json!({
        "VENDOR": "substring(option[60].hex,0,9)",
        "VENDOR_ALL": "option[60].text",
        "USER_CLASS_HEX": "hexstring(option[77].hex, ':')",
        "HAS_77": "option[77].exists",
        "HAS_43": "option[43].exists",
        "MAC": "hexstring(pkt4.mac, ':')",
        "REMOTE_ID": "hexstring(relay4[2].hex, '')",
        "GIADDR": "addrtotext(pkt4.giaddr)",
        "XID": "uint32totext(pkt4.transid)",
        "BRANCH": "ifelse(option[77].exists and not option[43].exists, 'gw', 'other')",
        "CONCAT": "concat('v=', substring(option[60].text, 0, 4))",
        "FAILS": "uint16totext(option[60].hex)",
        // The README's example.
        "IS_GATEWAY": "option[77].exists and substring(option[60].hex,0,4) == 'MSFT'",
    });
    let settings = Settings::new(
        Family::V4,
        mt,
        vec![with_and_without_hook(
            &with,
            &without,
            &points,
            json!({"expressions": expressions}),
        )],
    );
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let bound = in_netns(&tb.cli, || {
        let mut relay = Client4::new(Path4::Relayed);
        relay.extra = vec![
            (60, VENDOR_CLASS.to_vec()),
            (77, USER_CLASS.to_vec()),
            (82, agent_options(&[(1, b"port-1"), (2, REMOTE_ID)])),
        ];
        relay
            .dora(MAC, XID)
            .expect("bound despite a failing expression")
    });
    let t = Duration::from_secs(5);
    let xid = (XID + 1).to_string();
    let received = with.wait_one("pkt4_receive", t, |r| r.has("QUERY4_TXID", &xid));
    let vendor_all = String::from_utf8(VENDOR_CLASS.to_vec()).unwrap();
    received.check(&[
        ("VENDOR", &vendor_all[..9]),
        ("VENDOR_ALL", &vendor_all),
        ("USER_CLASS_HEX", &hexstring(USER_CLASS, ":")),
        ("HAS_77", "true"),
        ("HAS_43", "false"),
        ("MAC", &mac_text(MAC)),
        ("REMOTE_ID", &hexstring(REMOTE_ID, "")),
        ("GIADDR", common::testbed::CLI4),
        ("XID", &xid),
        ("BRANCH", "gw"),
        ("CONCAT", &format!("v={}", &vendor_all[..4])),
        ("FAILS", ""),
        ("IS_GATEWAY", "true"),
    ]);
    let committed = with.wait_one("leases4_committed", t, |r| r.has("QUERY4_TXID", &xid));
    committed.check(&[
        ("LEASES4_AT0_ADDRESS", &bound.addr.to_string()),
        ("HAS_77", "true"),
    ]);
    // The script without expressions sees none of them.
    let plain = without.wait_one("pkt4_receive", t, |r| r.has("QUERY4_TXID", &xid));
    let mut added: Vec<&str> = received
        .vars
        .keys()
        .filter(|name| !plain.vars.contains_key(*name))
        .map(String::as_str)
        .collect();
    added.sort_unstable();
    let mut expected: Vec<&str> = expressions
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    expected.sort_unstable();
    assert_eq!(added, expected, "exactly the expressions are added");

    let log = kea.log_text();
    assert!(
        log.contains("KEA_RUNSCRIPT_EXPRESSION_FAILED")
            && log.contains("expression FAILS at pkt4_receive"),
        "the failing expression is logged:\n{log}"
    );
    kea.assert_healthy();
}

#[test]
fn v4_expressions_mt_off() {
    expressions_v4(false);
}

#[test]
fn v4_expressions_mt_on() {
    expressions_v4(true);
}

/// DHCPv6: the client's DUID, a relay option and the relay's peer address through Kea's
/// evaluator (MT on), checked against what the crafted relay sent.
#[test]
fn v6_expressions() {
    use common::dhcp6::{colon_hex, duid_ll, Relay, OPT_INTERFACE_ID};
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("expr6");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let mac = [0x02, 0x9e, 0, 0, 6, 9];
    let settings = Settings::new(
        Family::V6,
        true,
        vec![hook(
            &our_library(),
            json!({"name": dump.script, "hook-points": ["pkt6_receive"],
                   "expressions": {
                       "DUID": "hexstring(option[1].hex, ':')",
                       "IFACE_ID": "relay6[0].option[18].hex",
                       "PEER": "addrtotext(relay6[0].peeraddr)",
                       "NOT_RELAYED_TWICE": "relay6[1].option[18].exists"}}),
        )],
    );
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let ifindex = tb.cli_ifindex();
    in_netns(&tb.cli, move || {
        let relay = Relay {
            link_addr: "2001:db8:2::1".parse().expect("addr"),
            peer_addr: "fe80::aa".parse().expect("addr"),
            options: vec![(OPT_INTERFACE_ID, b"port-6/9".to_vec())],
        };
        common::dhcp6::Client6::new(ifindex, mac, Some(relay))
            .sarr(0x69_0000)
            .expect("bound")
    });
    let received = dump.wait_one("pkt6_receive", Duration::from_secs(5), |r| {
        r.has("QUERY6_TXID", &0x69_0000u32.to_string())
    });
    received.check(&[
        ("DUID", &colon_hex(&duid_ll(mac))),
        ("IFACE_ID", "port-6/9"),
        ("PEER", "fe80::aa"),
        ("NOT_RELAYED_TWICE", "false"),
    ]);
    kea.assert_healthy();
}
