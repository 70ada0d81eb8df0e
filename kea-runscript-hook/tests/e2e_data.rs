//! Classes, user contexts and host reservations (`"classes"`, `"user-contexts"`,
//! `"host-reservation"`) in the real kea-dhcp4 (multi-threaded) and kea-dhcp6: client classes
//! defined by test expressions, subnets and reservations with user contexts, a reserved
//! address (v4) and address plus prefix (v6); in v6 also the client options 15, 16, 17, 39
//! and a two-hop relay with options at each hop. Every value is computed here from what the
//! test configured or sent. A script without the keys gets none of the new variables.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::dhcp4::{agent_options, hex_upper, mac_text, Client4, Path4};
use common::dhcp6::{colon_hex, duid_ll, ia_na, Client6, Relay, SOLICIT};
use common::dump::{with_and_without, with_and_without_hook, Record};
use common::kea::{Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, require_prereqs, HeavySlot, Scratch};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(5);

/// The names of a `*_CLASSES` value (space-separated).
fn class_set(record: &Record, name: &str) -> BTreeSet<String> {
    record.var(name).split(' ').map(str::to_owned).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Kea's user context as a script gets it: compact JSON of the configured value.
fn compact(value: &Value) -> String {
    serde_json::to_string(value).expect("JSON")
}

/// No variable of the opt-in keys (the other script's records).
fn assert_plain(record: &Record) {
    let extra: Vec<&String> = record
        .vars
        .keys()
        .filter(|n| {
            n.ends_with("_CLASSES") || n.ends_with("_USER_CONTEXT") || n.starts_with("HOST")
        })
        .collect();
    assert!(extra.is_empty(), "{}: {extra:?}", record.hook);
}

#[test]
fn v4_classes_contexts_and_reservation_with_multi_threading() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("data4");
    let (with, without) = with_and_without(&scratch);
    let tb = Testbed::new();
    let reserved_mac = [0x02, 0x0d, 0, 0, 0, 1];
    let other_mac = [0x02, 0x0d, 0, 0, 0, 2];
    let subnet_context = json!({"site": "lab", "racks": [1, 2], "note": "a \"quoted\" text"});
    let host_context = json!({"owner": "alice", "n": 7});
    let points = ["lease4_select", "lease4_renew", "leases4_committed"];
    let mut settings = Settings::new(
        Family::V4,
        true,
        vec![with_and_without_hook(
            &with,
            &without,
            &points,
            json!({"classes": true, "user-contexts": true, "host-reservation": true}),
        )],
    );
    settings.patch = Some(json!({
        // Kea keeps the relay agent information of a lease in its user context.
        "store-extended-info": true,
        "client-classes": [
            {"name": "voip", "test": "substring(option[60].hex,0,4) == 'voip'"},
            {"name": "gold"}
        ],
        "subnet4": [{}, {
            "user-context": subnet_context,
            "reservations": [{
                "hw-address": mac_text(reserved_mac), "hostname": "res-host.example",
                "ip-address": "10.0.0.77", "client-classes": ["gold"],
                "user-context": host_context
            }]
        }]
    }));
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let vendor_class = b"voip-phone-7".to_vec();
    let opt82 = agent_options(&[(1, b"port-3")]);
    let extra = vec![(60, vendor_class.clone()), (82, opt82.clone())];
    let (bound, other) = in_netns(&tb.cli, move || {
        let mut relay = Client4::new(Path4::Relayed);
        relay.extra = extra;
        let bound = relay.dora(reserved_mac, 0xd000).expect("bound");
        relay.renew(&bound, 0xd010);
        relay.extra.clear();
        let other = relay.dora(other_mac, 0xd100).expect("bound");
        (bound, other)
    });
    assert_eq!(bound.addr.to_string(), "10.0.0.77", "the reserved address");
    let txid = |x: u32| x.to_string();

    // The reserved client: its classes (the vendor class Kea derives from option 60, the
    // class whose test matches, KNOWN, the reservation's class), the subnet's and the
    // lease's contexts and the reservation.
    // Kea 2.2 keeps option 82 as a string; later releases as its "sub-options".
    let relay_agent_info = if common::kea::kea_hooks_version() >= 20400 {
        json!({"sub-options": hex_upper(&opt82)})
    } else {
        json!(hex_upper(&opt82))
    };
    let lease_context = compact(&json!({"ISC": {"relay-agent-info": relay_agent_info}}));
    let host = [
        ("HOST4_HOSTNAME", "res-host.example"),
        ("HOST4_IPV4_ADDRESS", "10.0.0.77"),
        ("HOST4_CLASSES", "gold"),
        ("HOST4_USER_CONTEXT", &compact(&host_context)),
    ];
    let expected_classes = set(&[
        "ALL",
        &format!("VENDOR_CLASS_{}", String::from_utf8_lossy(&vendor_class)),
        "voip",
        "KNOWN",
        "gold",
    ]);
    let select = with.wait_one("lease4_select", T, |r| {
        r.has("QUERY4_TXID", &txid(bound.ack_xid))
    });
    select.check(&[("SUBNET4_USER_CONTEXT", &compact(&subnet_context))]);
    select.check(&host);
    assert_eq!(class_set(&select, "QUERY4_CLASSES"), expected_classes);
    assert!(select.var("QUERY4_CLASSES").starts_with("ALL "));
    let committed = with.wait_one("leases4_committed", T, |r| {
        r.has("QUERY4_TXID", &txid(bound.ack_xid))
    });
    committed.check(&[
        ("LEASES4_SIZE", "1"),
        ("LEASES4_AT0_USER_CONTEXT", &lease_context),
    ]);
    committed.check(&host);
    assert_eq!(class_set(&committed, "QUERY4_CLASSES"), expected_classes);
    let renewed = with.wait_one("lease4_renew", T, |r| r.has("QUERY4_TXID", &txid(0xd010)));
    renewed.check(&[
        ("LEASE4_USER_CONTEXT", &lease_context),
        ("SUBNET4_USER_CONTEXT", &compact(&subnet_context)),
    ]);
    renewed.check(&host);

    // A client without a reservation, a vendor class or option 82.
    let plain = with.wait_one("leases4_committed", T, |r| {
        r.has("QUERY4_TXID", &txid(other.ack_xid))
    });
    assert_eq!(
        class_set(&plain, "QUERY4_CLASSES"),
        set(&["ALL", "UNKNOWN"])
    );
    plain.check(&[
        ("LEASES4_AT0_USER_CONTEXT", ""),
        ("HOST4_HOSTNAME", ""),
        ("HOST4_IPV4_ADDRESS", ""),
        ("HOST4_CLASSES", ""),
        ("HOST4_USER_CONTEXT", ""),
    ]);

    // The other script: Kea's variables only.
    for record in without.wait(T, |rs| rs.len() >= 5) {
        assert_plain(&record);
    }
    kea.assert_healthy();
}

#[test]
fn v6_options_two_hop_relay_classes_contexts_and_reservation() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("data6");
    let (with, without) = with_and_without(&scratch);
    let tb = Testbed::new();
    let mac = [0x02, 0x0d, 0, 0, 6, 1];
    let subnet_context = json!({"site": "v6lab"});
    let host_context = json!({"owner": "bob", "tags": ["a b", 2]});
    let points = ["pkt6_receive", "lease6_select", "leases6_committed"];
    let codes = [15u16, 16, 17, 39, 18, 37, 38];
    let mut settings = Settings::new(
        Family::V6,
        false,
        vec![with_and_without_hook(
            &with,
            &without,
            &points,
            json!({"options": codes,
                   "classes": true, "user-contexts": true, "host-reservation": true}),
        )],
    );
    settings.patch = Some(json!({
        "client-classes": [{"name": "cpe", "test": "option[16].exists"}, {"name": "res6"}],
        "subnet6": [{}, {
            "user-context": subnet_context,
            "reservations": [{
                "duid": colon_hex(&duid_ll(mac)), "hostname": "cpe6.example",
                "ip-addresses": ["2001:db8:2::77"], "prefixes": ["3000:2:77::/64"],
                "client-classes": ["res6"], "user-context": host_context
            }]
        }]
    }));
    let mut kea = Kea::start(&tb, &scratch, &settings);
    // User class (15): one opaque entry; vendor class (16): enterprise 4491 and one entry;
    // vendor options (17): enterprise 32473 with sub-option 32; FQDN (39): flags S and a name.
    let user_class = vec![0u8, 4, b'u', b'c', b'-', b'1'];
    let vendor_class = [&[0u8, 0, 0x11, 0x8b, 0, 6][..], b"cpe-v6"].concat();
    // Enterprise 32473 (RFC 5612, documentation): Kea knows no sub-option formats for it.
    let vendor_opts = vec![0u8, 0, 0x7e, 0xd9, 0, 32, 0, 2, 0xbe, 0xef];
    let fqdn = [&[1u8, 4][..], b"cpe6", &[7], b"example", &[0]].concat();
    let inner_if = b"inner-if".to_vec();
    let remote_id = vec![0u8, 0, 0x0d, 0xe9, 1, 2, 3];
    let outer_if = b"outer-if".to_vec();
    let subscriber = b"sub-9".to_vec();
    let ifindex = tb.cli_ifindex();
    let client_options = vec![
        (15, user_class.clone()),
        (16, vendor_class.clone()),
        (17, vendor_opts.clone()),
        (39, fqdn.clone()),
    ];
    let (inner, outer) = (
        Relay {
            // The relay next to the client: its link address selects subnet 2.
            link_addr: "2001:db8:2::1".parse().expect("addr"),
            peer_addr: "fe80::d:1".parse().expect("addr"),
            options: vec![(18, inner_if.clone()), (37, remote_id.clone())],
        },
        Relay {
            link_addr: "2001:db8:99::1".parse().expect("addr"),
            peer_addr: "2001:db8:2::1".parse().expect("addr"),
            options: vec![(18, outer_if.clone()), (38, subscriber.clone())],
        },
    );
    let bound = in_netns(&tb.cli, move || {
        let mut client = Client6::new(ifindex, mac, Some(inner));
        client.outer_relays = vec![outer];
        client.extra = client_options;
        client.sarr(0x6d_0000).expect("bound through two relays")
    });
    assert_eq!(
        bound.addr.to_string(),
        "2001:db8:2::77",
        "the reserved address"
    );
    assert_eq!(
        (bound.prefix.0.to_string(), bound.prefix.1),
        ("3000:2:77::".to_string(), 64),
        "the reserved prefix"
    );
    let request = 0x6d_0001u32.to_string();
    let host = [
        ("HOST6_HOSTNAME", "cpe6.example"),
        ("HOST6_IPV6_ADDRESSES", "2001:db8:2::77"),
        ("HOST6_IPV6_PREFIXES", "3000:2:77::/64"),
        ("HOST6_CLASSES", "res6"),
        ("HOST6_USER_CONTEXT", &compact(&host_context)),
    ];
    let options = [
        ("QUERY6_OPTION_15", hex_upper(&user_class)),
        ("QUERY6_OPTION_16", hex_upper(&vendor_class)),
        ("QUERY6_OPTION_17", hex_upper(&vendor_opts)),
        ("QUERY6_OPTION_17_ENTERPRISE_ID", "32473".to_string()),
        ("QUERY6_OPTION_17_SUB_OPTION_32", hex_upper(&[0xbe, 0xef])),
        ("QUERY6_OPTION_39", hex_upper(&fqdn)),
        // Hop 0 is the relay closest to the client.
        ("QUERY6_RELAY0_OPTION_18", hex_upper(&inner_if)),
        ("QUERY6_RELAY0_OPTION_37", hex_upper(&remote_id)),
        ("QUERY6_RELAY0_OPTION_38", String::new()),
        ("QUERY6_RELAY1_OPTION_18", hex_upper(&outer_if)),
        ("QUERY6_RELAY1_OPTION_37", String::new()),
        ("QUERY6_RELAY1_OPTION_38", hex_upper(&subscriber)),
        ("QUERY6_RELAY2_OPTION_18", String::new()),
    ];
    let expected_classes = set(&["ALL", "VENDOR_CLASS_cpe-v6", "cpe", "KNOWN", "res6"]);
    let select = with.wait_one("lease6_select", T, |r| r.has("QUERY6_TXID", &request));
    select.check(&[("SUBNET6_USER_CONTEXT", &compact(&subnet_context))]);
    select.check(&host);
    assert_eq!(class_set(&select, "QUERY6_CLASSES"), expected_classes);
    let committed = with.wait_one("leases6_committed", T, |r| r.has("QUERY6_TXID", &request));
    committed.check(&host);
    for (name, value) in &options {
        if name.starts_with("QUERY6_RELAY2") {
            // Only the hops the query has.
            assert_eq!(committed.get(name), None, "{name}");
        } else {
            committed.check(&[(name, value)]);
        }
    }
    assert_eq!(class_set(&committed, "QUERY6_CLASSES"), expected_classes);
    // A zero-length option renders empty; an option malformed for Kea's definition of it
    // (CableLabs 4491 sub-option 32 is a list of IPv6 addresses) makes Kea drop the packet
    // before any callout, and Kea goes on serving.
    let (malformed, zero) = in_netns(&tb.cli, move || {
        let mut client = Client6::new(ifindex, [0x02, 0x0d, 0, 0, 6, 2], None);
        client.extra = vec![(17, vec![0, 0, 0x11, 0x8b, 0, 32, 0, 2, 0xbe, 0xef])];
        let malformed = client.exchange(SOLICIT, 0x6d_1000, &ia_na(1, None));
        client.extra = vec![(15, Vec::new())];
        let zero = client.exchange(SOLICIT, 0x6d_2000, &ia_na(1, None));
        (malformed.is_some(), zero.is_some())
    });
    assert!(!malformed, "Kea answered a packet it cannot parse");
    assert!(zero, "Kea answers a zero-length user class");
    let zero = with.wait_one("pkt6_receive", T, |r| {
        r.has("QUERY6_TXID", &0x6d_2000u32.to_string())
    });
    // At pkt6_receive Kea has classified the query as ALL only (no test has run yet).
    zero.check(&[("QUERY6_OPTION_15", ""), ("QUERY6_CLASSES", "ALL")]);
    assert!(with
        .records()
        .iter()
        .all(|r| !r.has("QUERY6_TXID", &0x6d_1000u32.to_string())));
    // Kea's own relay variables (closest to the client first) are unchanged.
    let plain = without.wait_one("leases6_committed", T, |r| r.has("QUERY6_TXID", &request));
    assert_plain(&plain);
    assert_eq!(plain.var("QUERY6_OPTION_18"), hex_upper(&inner_if));
    assert_eq!(plain.var("QUERY6_OPTION_38"), hex_upper(&subscriber));
    kea.assert_healthy();
}
