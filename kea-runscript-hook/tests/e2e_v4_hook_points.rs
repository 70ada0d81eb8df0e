//! Every DHCPv4 hook point fires in the real kea-dhcp4 and its script sees the documented
//! variables with the values of the traffic: a relayed client with client-id and option 82
//! (DORA, renew, release), a direct client that declines (then recovery after probation),
//! and a client whose lease expires.

mod common;

use std::time::Duration;

use common::dhcp4::{hex_upper, mac_text};
use common::dump::Dump;
use common::kea::{async_script_hook, Family, Kea, Lib, Settings};
use common::scenario::*;
use common::testbed::Testbed;
use common::vars::{assert_documented, assert_nothing_else, hook_points};
use common::{require_prereqs, HeavySlot, Scratch};
use serde_json::json;

/// Variable our library's `env` key adds in these tests.
const MARKER: &str = "E2E_MARKER";

const VALID: u32 = 6;
const PROBATION: u32 = 2;
fn v4_hook_points(lib: Lib, mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("v4hp");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let all = hook_points('4');
    let mut settings = Settings::new(
        Family::V4,
        mt,
        vec![async_script_hook(lib, &dump.script, &all)],
    );
    settings.valid_lifetime = VALID;
    settings.decline_probation = PROBATION;
    if lib == Lib::Ours {
        // Our `env` key adds variables; Kea's own environment must not reach the script.
        settings.hooks[0]["parameters"]["env"] = json!({MARKER: "v4"});
    }
    let mut kea = Kea::start(&tb, &scratch, &settings);

    let (a, b, c) = v4_clients(&tb);
    let (opt82, client_id) = (opt82_a(), client_id_a());
    assert!(
        a.addr.octets()[0] == 10 && c.addr.octets()[0] == 10,
        "relayed → subnet 2"
    );
    assert!(b.addr.octets()[..3] == [192, 0, 2], "direct → subnet 1");
    let (a_addr, b_addr, c_addr) = (a.addr.to_string(), b.addr.to_string(), c.addr.to_string());
    let (mac_a, mac_b, mac_c) = (mac_text(MAC_A4), mac_text(MAC_B4), mac_text(MAC_C4));

    let t = Duration::from_secs(5);
    let txid = |n: u32| n.to_string();
    // Kea's hook points.
    let committed = dump.wait_one("leases4_committed", t, |r| {
        r.has("QUERY4_TXID", &txid(XID_A4 + 1))
    });
    committed.check(&[
        ("QUERY4_TYPE", "DHCPREQUEST"),
        ("QUERY4_HWADDR", &mac_a),
        ("QUERY4_GIADDR", "192.0.2.2"),
        ("QUERY4_RELAYED", "true"),
        ("QUERY4_OPTION_82", &hex_upper(&opt82)),
        ("QUERY4_OPTION_82_SUB_OPTION_1", &hex_upper(CIRCUIT_ID)),
        ("QUERY4_OPTION_82_SUB_OPTION_2", &hex_upper(REMOTE_ID4)),
        ("LEASES4_SIZE", "1"),
        ("LEASES4_AT0_ADDRESS", &a_addr),
        ("LEASES4_AT0_HWADDR", &mac_a),
        ("LEASES4_AT0_HWADDR_TYPE", "1"),
        ("LEASES4_AT0_STATE", "default"),
        ("LEASES4_AT0_HOSTNAME", "host-a"),
        ("LEASES4_AT0_SUBNET_ID", "2"),
        ("LEASES4_AT0_VALID_LIFETIME", &VALID.to_string()),
        (
            "LEASES4_AT0_CLIENT_ID",
            &common::dhcp6::colon_hex(&client_id),
        ),
        ("DELETED_LEASES4_SIZE", "0"),
    ]);
    let renew = dump.wait_one("lease4_renew", t, |r| {
        r.has("QUERY4_TXID", &txid(XID_A4_RENEW))
    });
    renew.check(&[
        ("QUERY4_TYPE", "DHCPREQUEST"),
        ("QUERY4_CIADDR", &a_addr),
        ("SUBNET4_ID", "2"),
        ("SUBNET4_PREFIX", "10.0.0.0"),
        ("SUBNET4_PREFIX_LEN", "8"),
        ("SUBNET4_NAME", "10.0.0.0/8"),
        ("PKT4_HWADDR", &mac_a),
        ("PKT4_HWADDR_TYPE", "1"),
        ("PKT4_CLIENT_ID", &common::dhcp6::colon_hex(&client_id)),
        ("LEASE4_ADDRESS", &a_addr),
        ("LEASE4_HWADDR", &mac_a),
    ]);
    let release = dump.wait_one("lease4_release", t, |r| {
        r.has("QUERY4_TXID", &txid(XID_A4_RELEASE))
    });
    release.check(&[
        ("QUERY4_TYPE", "DHCPRELEASE"),
        ("QUERY4_CIADDR", &a_addr),
        ("LEASE4_ADDRESS", &a_addr),
        ("LEASE4_HWADDR", &mac_a),
        ("LEASE4_SUBNET_ID", "2"),
    ]);
    let released = dump.wait_one("leases4_committed", t, |r| {
        r.has("QUERY4_TXID", &txid(XID_A4_RELEASE))
    });
    released.check(&[
        ("DELETED_LEASES4_SIZE", "1"),
        ("DELETED_LEASES4_AT0_ADDRESS", &a_addr),
    ]);
    let decline = dump.wait_one("lease4_decline", t, |r| {
        r.has("QUERY4_TXID", &txid(XID_B4_DECLINE))
    });
    decline.check(&[
        ("QUERY4_TYPE", "DHCPDECLINE"),
        ("QUERY4_RELAYED", "false"),
        ("QUERY4_GIADDR", "0.0.0.0"),
        ("QUERY4_HWADDR", &mac_b),
        ("LEASE4_ADDRESS", &b_addr),
        ("LEASE4_SUBNET_ID", "1"),
    ]);
    let recover = dump.wait_one("lease4_recover", t, |r| r.has("LEASE4_ADDRESS", &b_addr));
    recover.check(&[("LEASE4_STATE", "declined"), ("LEASE4_SUBNET_ID", "1")]);
    let expire = dump.wait_one(
        "lease4_expire",
        Duration::from_secs(VALID as u64 + 6),
        |r| r.has("LEASE4_ADDRESS", &c_addr),
    );
    expire.check(&[
        ("LEASE4_HWADDR", &mac_c),
        ("LEASE4_SUBNET_ID", "2"),
        ("REMOVE_LEASE", "false"),
        ("LEASE4_VALID_LIFETIME", &VALID.to_string()),
    ]);
    for r in [
        &committed, &renew, &release, &released, &decline, &recover, &expire,
    ] {
        assert_documented(r);
    }
    kea.assert_healthy();
    if lib == Lib::Kea {
        return;
    }

    // The opt-in hook points, for client A's DISCOVER (xid 0x1000) and REQUEST (0x1001).
    let receive = dump.wait_one("pkt4_receive", t, |r| r.has("QUERY4_TXID", &txid(XID_A4)));
    receive.check(&[
        ("QUERY4_TYPE", "DHCPDISCOVER"),
        ("QUERY4_HWADDR", &mac_a),
        ("QUERY4_RELAYED", "true"),
        ("QUERY4_OPTION_82", &hex_upper(&opt82)),
        ("QUERY4_OPTION_82_SUB_OPTION_1", &hex_upper(CIRCUIT_ID)),
        ("QUERY4_OPTION_82_SUB_OPTION_2", &hex_upper(REMOTE_ID4)),
        // Beyond Kea's two: every sub-option.
        ("QUERY4_OPTION_82_SUB_OPTION_6", &hex_upper(SUBSCRIBER_ID4)),
    ]);
    let select = dump.wait_one("subnet4_select", t, |r| r.has("QUERY4_TXID", &txid(XID_A4)));
    select.check(&[
        ("SUBNET4_ID", "2"),
        ("SUBNET4_PREFIX", "10.0.0.0"),
        ("SUBNET4_PREFIX_LEN", "8"),
    ]);
    let offer = dump.wait_one("lease4_select", t, |r| r.has("QUERY4_TXID", &txid(XID_A4)));
    offer.check(&[
        ("FAKE_ALLOCATION", "true"),
        ("LEASE4_ADDRESS", &a_addr),
        ("SUBNET4_ID", "2"),
    ]);
    let alloc = dump.wait_one("lease4_select", t, |r| {
        r.has("QUERY4_TXID", &txid(XID_A4 + 1))
    });
    alloc.check(&[
        ("FAKE_ALLOCATION", "false"),
        ("LEASE4_ADDRESS", &a_addr),
        ("LEASE4_HWADDR", &mac_a),
    ]);
    let send_offer = dump.wait_one("pkt4_send", t, |r| r.has("QUERY4_TXID", &txid(XID_A4)));
    send_offer.check(&[
        ("RESPONSE4_TYPE", "DHCPOFFER"),
        ("RESPONSE4_YIADDR", &a_addr),
        ("RESPONSE4_TXID", &txid(XID_A4)),
    ]);
    let send_ack = dump.wait_one("pkt4_send", t, |r| r.has("QUERY4_TXID", &txid(XID_A4 + 1)));
    send_ack.check(&[("RESPONSE4_TYPE", "DHCPACK"), ("RESPONSE4_YIADDR", &a_addr)]);
    for r in [&receive, &select, &offer, &alloc, &send_offer, &send_ack] {
        assert_documented(r);
    }
    for r in dump.records() {
        assert_eq!(r.var(MARKER), "v4", "configured env missing at {}", r.hook);
        assert_nothing_else(&r, &[MARKER]);
    }
    kea.assert_healthy();
}

fn ours(mt: bool) {
    v4_hook_points(Lib::Ours, mt)
}

both_threading_modes!(ours => v4_hook_points_fire_with_values, v4_hook_points_fire_with_values_multi_threaded);

/// The same traffic against Kea's own hook: proves the harness and expectations.
#[test]
fn v4_reference_kea_hook_sees_the_same() {
    v4_hook_points(Lib::Kea, false)
}
