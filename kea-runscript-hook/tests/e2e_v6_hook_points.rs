//! Every DHCPv6 hook point fires in the real kea-dhcp6 and its script sees the documented
//! variables with the values of the traffic: a relayed client (interface-id, remote-id,
//! subscriber-id) with IA_NA + IA_PD that renews, rebinds and releases; a direct client
//! that declines (then recovery after probation); a direct client whose leases expire.

mod common;

use std::time::Duration;

use common::dhcp4::hex_upper;
use common::dhcp6::colon_hex;
use common::dump::Dump;
use common::kea::{async_script_hook, Family, Kea, Lib, Settings};
use common::scenario::*;
use common::testbed::Testbed;
use common::vars::{assert_documented, assert_nothing_else, hook_points};
use common::{require_prereqs, HeavySlot, Scratch};
use serde_json::json;

/// Variable our library's `env` key adds in these tests.
const MARKER: &str = "E2E_MARKER";

const VALID: u32 = 8;
const PROBATION: u32 = 2;
fn v6_hook_points(lib: Lib, mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("v6hp");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let all = hook_points('6');
    let mut settings = Settings::new(
        Family::V6,
        mt,
        vec![async_script_hook(lib, &dump.script, &all)],
    );
    settings.valid_lifetime = VALID;
    settings.decline_probation = PROBATION;
    if lib == Lib::Ours {
        // Our `env` key adds variables; Kea's own environment must not reach the script.
        settings.hooks[0]["parameters"]["env"] = json!({MARKER: "v6"});
    }
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let (a, b, c) = v6_clients(&tb);

    assert!(
        a.addr.segments()[..4] == [0x2001, 0xdb8, 2, 0],
        "relayed → subnet 2: {a:?}"
    );
    assert!(
        b.addr.segments()[..4] == [0x2001, 0xdb8, 1, 0],
        "direct → subnet 1: {b:?}"
    );
    let (a_addr, a_pfx) = (a.addr.to_string(), a.prefix.0.to_string());
    let (b_addr, c_addr, c_pfx) = (
        b.addr.to_string(),
        c.addr.to_string(),
        c.prefix.0.to_string(),
    );
    let duid_a = colon_hex(&common::dhcp6::duid_ll(MAC_A6));
    let duid_b = colon_hex(&common::dhcp6::duid_ll(MAC_B6));
    let valid = VALID.to_string();
    let t = Duration::from_secs(5);
    let txid = |n: u32| n.to_string();

    let committed = dump.wait_one("leases6_committed", t, |r| {
        r.has("QUERY6_TXID", &txid(TXID_A6 + 1))
    });
    committed.check(&[
        ("QUERY6_TYPE", "REQUEST"),
        ("QUERY6_CLIENT_ID", &duid_a),
        ("QUERY6_PROTO", "UDP"),
        ("LEASES6_SIZE", "2"),
        ("DELETED_LEASES6_SIZE", "0"),
        ("LEASES6_AT0_ADDRESS", &a_addr),
        ("LEASES6_AT0_TYPE", "IA_NA"),
        ("LEASES6_AT0_PREFIX_LEN", "128"),
        ("LEASES6_AT0_DUID", &duid_a),
        ("LEASES6_AT0_IAID", "1"),
        ("LEASES6_AT0_SUBNET_ID", "2"),
        ("LEASES6_AT0_STATE", "default"),
        ("LEASES6_AT0_VALID_LIFETIME", &valid),
        ("LEASES6_AT1_ADDRESS", &a_pfx),
        ("LEASES6_AT1_TYPE", "IA_PD"),
        ("LEASES6_AT1_PREFIX_LEN", "64"),
    ]);
    for (hook, msg, id) in [
        ("lease6_renew", "RENEW", TXID_A6_RENEW),
        ("lease6_rebind", "REBIND", TXID_A6_REBIND),
    ] {
        for (addr, ia_type, len) in [(&a_addr, "3", "128"), (&a_pfx, "25", "64")] {
            let r = dump.wait_one(hook, t, |r| {
                r.has("QUERY6_TXID", &txid(id)) && r.has("LEASE6_ADDRESS", addr)
            });
            r.check(&[
                ("QUERY6_TYPE", msg),
                ("LEASE6_PREFIX_LEN", len),
                ("LEASE6_DUID", &duid_a),
                ("LEASE6_SUBNET_ID", "2"),
                ("PKT6_IA_IAID", "1"),
                ("PKT6_IA_IA_TYPE", ia_type),
            ]);
            assert_documented(&r);
        }
    }
    for addr in [&a_addr, &a_pfx] {
        let r = dump.wait_one("lease6_release", t, |r| r.has("LEASE6_ADDRESS", addr));
        r.check(&[
            ("QUERY6_TYPE", "RELEASE"),
            ("QUERY6_TXID", &txid(TXID_A6_RELEASE)),
            ("LEASE6_DUID", &duid_a),
        ]);
        assert_documented(&r);
    }
    let decline = dump.wait_one("lease6_decline", t, |r| r.has("LEASE6_ADDRESS", &b_addr));
    decline.check(&[
        ("QUERY6_TYPE", "DECLINE"),
        ("QUERY6_TXID", &txid(TXID_B6_DECLINE)),
        ("QUERY6_CLIENT_ID", &duid_b),
        ("LEASE6_SUBNET_ID", "1"),
        ("LEASE6_TYPE", "IA_NA"),
    ]);
    let recover = dump.wait_one("lease6_recover", t, |r| r.has("LEASE6_ADDRESS", &b_addr));
    recover.check(&[("LEASE6_STATE", "declined"), ("LEASE6_SUBNET_ID", "1")]);
    let expire_wait = Duration::from_secs(VALID as u64 + 6);
    for (addr, kind) in [(&c_addr, "IA_NA"), (&c_pfx, "IA_PD")] {
        let r = dump.wait_one("lease6_expire", expire_wait, |r| {
            r.has("LEASE6_ADDRESS", addr)
        });
        r.check(&[
            ("LEASE6_TYPE", kind),
            ("LEASE6_SUBNET_ID", "1"),
            ("REMOVE_LEASE", "false"),
        ]);
        assert_documented(&r);
    }
    for r in [&committed, &decline, &recover] {
        assert_documented(r);
    }
    kea.assert_healthy();
    if lib == Lib::Kea {
        return;
    }

    // Opt-in hook points, for client A's SOLICIT and REQUEST; our library also renders
    // the relay agent's options 18, 37 and 38.
    let relay_vars = [
        ("QUERY6_OPTION_18", hex_upper(INTERFACE_ID)),
        ("QUERY6_OPTION_37", hex_upper(REMOTE_ID6)),
        ("QUERY6_OPTION_38", hex_upper(SUBSCRIBER_ID6)),
    ];
    let relay_vars: Vec<(&str, &str)> = relay_vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let receive = dump.wait_one("pkt6_receive", t, |r| r.has("QUERY6_TXID", &txid(TXID_A6)));
    receive.check(&[("QUERY6_TYPE", "SOLICIT"), ("QUERY6_CLIENT_ID", &duid_a)]);
    receive.check(&relay_vars);
    let select = dump.wait_one("subnet6_select", t, |r| {
        r.has("QUERY6_TXID", &txid(TXID_A6))
    });
    select.check(&[
        ("SUBNET6_ID", "2"),
        ("SUBNET6_PREFIX", "2001:db8:2::"),
        ("SUBNET6_PREFIX_LEN", "64"),
    ]);
    select.check(&relay_vars);
    let advertise = dump.wait_one("lease6_select", t, |r| {
        r.has("QUERY6_TXID", &txid(TXID_A6)) && r.has("LEASE6_ADDRESS", &a_addr)
    });
    advertise.check(&[
        ("FAKE_ALLOCATION", "true"),
        ("LEASE6_TYPE", "IA_NA"),
        ("SUBNET6_ID", "2"),
    ]);
    let alloc = dump.wait_one("lease6_select", t, |r| {
        r.has("QUERY6_TXID", &txid(TXID_A6 + 1)) && r.has("LEASE6_ADDRESS", &a_pfx)
    });
    alloc.check(&[
        ("FAKE_ALLOCATION", "false"),
        ("LEASE6_TYPE", "IA_PD"),
        ("LEASE6_PREFIX_LEN", "64"),
    ]);
    let send = dump.wait_one("pkt6_send", t, |r| r.has("QUERY6_TXID", &txid(TXID_A6 + 1)));
    send.check(&[
        ("QUERY6_TYPE", "REQUEST"),
        ("RESPONSE6_TYPE", "REPLY"),
        ("RESPONSE6_TXID", &txid(TXID_A6 + 1)),
    ]);
    for r in [&receive, &select, &advertise, &alloc, &send] {
        assert_documented(r);
    }
    for r in dump.records() {
        assert_eq!(r.var(MARKER), "v6", "configured env missing at {}", r.hook);
        assert_nothing_else(&r, &[MARKER]);
    }
    kea.assert_healthy();
}

fn ours(mt: bool) {
    v6_hook_points(Lib::Ours, mt)
}

both_threading_modes!(ours => v6_hook_points_fire_with_values, v6_hook_points_fire_with_values_multi_threaded);

/// The same traffic against Kea's own hook: proves the harness and expectations.
#[test]
fn v6_reference_kea_hook_sees_the_same() {
    v6_hook_points(Lib::Kea, false)
}
