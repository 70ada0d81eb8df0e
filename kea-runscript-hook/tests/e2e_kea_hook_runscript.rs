//! Scripts written for kea-hook-runscript run unmodified: the library is configured exactly
//! as kea-hook-runscript is (`{"script": …}`, nothing of ours), so it picks that profile, its
//! hook points and its waiting; the scripts (fixtures/kea/khr-routes4.sh, khr-routes6.sh) use
//! its variable names at its hook points. In the real Kea, the routes they manage appear in
//! the server namespace's routing table on lease and disappear on release and on expiry.
//! Also its variables with the values of real traffic at its hook points (v4 next to a
//! verdict of ours from a script of the same profile), with Kea multi-threading off and on.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::dhcp4::{Client4, Msg, Path4, DISCOVER, OFFER};
use common::dhcp6::{Client6, RELEASE, RENEW};
use common::kea::{hook, Family, Kea, Settings};
use common::testbed::{ip, Testbed};
use common::{in_netns, our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::json;

/// Lease lifetime: short, so that a kept lease expires within the test.
const VALID: u32 = 6;
/// How long a route may take to change (the scripts run synchronously, so normally none).
const SETTLE: Duration = Duration::from_secs(5);

/// `ip route show proto static` in the server namespace, for `family` ("-4"/"-6").
fn static_routes(tb: &Testbed, family: &str) -> String {
    let out = std::process::Command::new("ip")
        .args(["-n", &tb.srv, family, "route", "show", "proto", "static"])
        .output()
        .expect("ip route show");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the server namespace has a static route for `dest` (as `ip` prints it).
fn has_route(tb: &Testbed, family: &str, dest: &str) -> bool {
    static_routes(tb, family)
        .lines()
        .any(|l| l.split_whitespace().next() == Some(dest))
}

/// Waits until the route for `dest` is `present` (or not); panics with the table otherwise.
fn expect_route(tb: &Testbed, family: &str, dest: &str, present: bool, why: &str) {
    let bound = if present {
        SETTLE
    } else {
        // Expiry: the lifetime plus Kea's reclaim timer (1 s) and slack.
        Duration::from_secs(u64::from(VALID) + 8)
    };
    let ok = wait_for(bound, || {
        (has_route(tb, family, dest) == present).then_some(())
    });
    assert!(
        ok.is_some(),
        "{why}: route {dest} should be {}; routes:\n{}",
        if present { "present" } else { "gone" },
        static_routes(tb, family)
    );
}

/// Kea with our library configured the kea-hook-runscript way: `{"script": path}` only.
fn start(tb: &Testbed, scratch: &Scratch, family: Family, mt: bool, fixture: &str) -> Kea {
    let (_, script) = scratch.script_dir("khr", fixture);
    let mut settings = Settings::new(
        family,
        mt,
        vec![hook(&our_library(), json!({ "script": script }))],
    );
    settings.valid_lifetime = VALID;
    let kea = Kea::start(tb, scratch, &settings);
    assert!(
        kea.log_text().contains("variables=kea-hook-runscript"),
        "the profile was not chosen from the keys:\n{}",
        kea.log_text()
    );
    kea
}

fn routes4(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("khr4");
    let tb = Testbed::new();
    let mut kea = start(&tb, &scratch, Family::V4, mt, "khr-routes4.sh");

    // An offer alone (KEA_FAKE_ALLOCATION=1 at lease4_select) adds no route.
    let offered: Ipv4Addr = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        let offer = client
            .exchange(
                Msg::new(DISCOVER, 0x4000, [0x02, 0xdd, 0, 0, 0, 4]),
                Duration::from_secs(3),
            )
            .expect("an OFFER");
        assert_eq!(offer.msg_type, OFFER);
        offer.yiaddr
    });
    // The script runs synchronously (kea-hook-runscript's default): it has finished before
    // Kea sent the OFFER, so a wrong route would be there now.
    assert!(
        !has_route(&tb, "-4", &offered.to_string()),
        "an offer added a route:\n{}",
        static_routes(&tb, "-4")
    );

    // Client A: lease (route), renew (route back after we delete it), release (gone).
    let mac_a = [0x02, 0xaa, 0, 0, 0, 4];
    let a = in_netns(&tb.cli, move || {
        Client4::new(Path4::Relayed)
            .dora(mac_a, 0x1000)
            .expect("client A bound")
    });
    let a_route = format!("{}", a.addr);
    expect_route(
        &tb,
        "-4",
        &a_route,
        true,
        "lease4_select with KEA_FAKE_ALLOCATION=0",
    );
    ip(&[
        "-n",
        &tb.srv,
        "-4",
        "route",
        "del",
        &format!("{a_route}/32"),
    ]);
    assert!(!has_route(&tb, "-4", &a_route));
    let renewed = a.clone();
    in_netns(&tb.cli, move || {
        Client4::new(Path4::Relayed).renew(&renewed, 0x1010);
    });
    expect_route(&tb, "-4", &a_route, true, "lease4_renew");
    let released = a.clone();
    in_netns(&tb.cli, move || {
        Client4::new(Path4::Relayed).release(&released, 0x1020)
    });
    expect_route(&tb, "-4", &a_route, false, "lease4_release");

    // Client C keeps its lease until it expires.
    let c = in_netns(&tb.cli, || {
        Client4::new(Path4::Relayed)
            .dora([0x02, 0xcc, 0, 0, 0, 4], 0x3000)
            .expect("client C bound")
    });
    let c_route = c.addr.to_string();
    expect_route(&tb, "-4", &c_route, true, "lease4_select for C");
    expect_route(&tb, "-4", &c_route, false, "lease4_expire");
    kea.assert_healthy();
}

both_threading_modes!(routes4 => v4_route_per_lease, v4_route_per_lease_multi_threaded);

fn routes6(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("khr6");
    let tb = Testbed::new();
    let mut kea = start(&tb, &scratch, Family::V6, mt, "khr-routes6.sh");
    let ifindex = tb.cli_ifindex();
    let prefix_route = |prefix: (std::net::Ipv6Addr, u8)| format!("{}/{}", prefix.0, prefix.1);

    // Client A: prefix delegated (route via the client), renew, release.
    let a = in_netns(&tb.cli, move || {
        Client6::new(ifindex, [0x02, 0xaa, 0, 0, 6, 4], None)
            .sarr(0x10_0000)
            .expect("client A bound")
    });
    let a_route = prefix_route(a.prefix);
    expect_route(
        &tb,
        "-6",
        &a_route,
        true,
        "lease6_select with KEA_FAKE_ALLOCATION=0",
    );
    // Via the client's link-local address, on the server's interface.
    let line = static_routes(&tb, "-6")
        .lines()
        .find(|l| l.starts_with(&a_route))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        line.contains("via fe80::") && line.contains(&format!("dev {}", tb.srv_if)),
        "{line}"
    );
    // Only prefixes get routes: A's address has none.
    assert!(
        !static_routes(&tb, "-6").contains(&a.addr.to_string()),
        "{}",
        static_routes(&tb, "-6")
    );
    ip(&["-n", &tb.srv, "-6", "route", "del", &a_route]);
    let renewed = a.clone();
    in_netns(&tb.cli, move || {
        Client6::new(ifindex, [0x02, 0xaa, 0, 0, 6, 4], None).extend(RENEW, &renewed, 0x10_0010)
    });
    expect_route(&tb, "-6", &a_route, true, "lease6_renew");
    let released = a.clone();
    in_netns(&tb.cli, move || {
        Client6::new(ifindex, [0x02, 0xaa, 0, 0, 6, 4], None)
            .give_back(RELEASE, &released, 0x10_0030)
    });
    expect_route(&tb, "-6", &a_route, false, "lease6_release");

    // Client C keeps its prefix until it expires.
    let c = in_netns(&tb.cli, move || {
        Client6::new(ifindex, [0x02, 0xcc, 0, 0, 6, 4], None)
            .sarr(0x30_0000)
            .expect("client C bound")
    });
    let c_route = prefix_route(c.prefix);
    expect_route(&tb, "-6", &c_route, true, "lease6_select for C");
    expect_route(&tb, "-6", &c_route, false, "lease6_expire");
    kea.assert_healthy();
}

both_threading_modes!(routes6 => v6_route_per_delegated_prefix, v6_route_per_delegated_prefix_multi_threaded);

/// Its variables with the values of real traffic at its hook points, next to one of our
/// features (a verdict from a kea-hook-runscript-profile script): a relayed client with
/// option 82, a direct client that declines, one whose lease expires, and one dropped by
/// the block script.
fn variables4(mt: bool) {
    use common::dhcp4::{hex_upper, mac_text};
    use common::dump::Dump;
    use common::scenario::*;
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("khrvars4");
    let dump = Dump::new(&scratch, "dump");
    let block = scratch.join("block.sh");
    let blocked = [0x02, 0xdd, 0, 0, 0, 5];
    std::fs::write(
        &block,
        format!(
            "#!/bin/sh\n[ \"$KEA_QUERY4_HWADDR\" = {} ] && exit 4\nexit 0\n",
            mac_text(blocked)
        ),
    )
    .expect("write block.sh");
    std::fs::set_permissions(&block, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let tb = Testbed::new();
    let mut settings = Settings::new(
        Family::V4,
        mt,
        vec![hook(
            &our_library(),
            json!({"scripts": [
                {"script": dump.script, "variables": "kea-hook-runscript"},
                {"script": block, "variables": "kea-hook-runscript",
                 "hook-points": ["pkt4_receive"], "exit-codes": {"4": "drop"}}
            ]}),
        )],
    );
    settings.valid_lifetime = VALID;
    settings.decline_probation = 2;
    let mut kea = Kea::start(&tb, &scratch, &settings);

    let (a, b, c) = v4_clients(&tb);
    // Its verdict, our feature: the blocked client gets no offer.
    let offer = in_netns(&tb.cli, move || {
        Client4::new(Path4::Relayed)
            .exchange(Msg::new(DISCOVER, 0x7000, blocked), Duration::from_secs(2))
    });
    assert!(offer.is_none(), "the blocked client got {offer:?}");

    let (mac_a, mac_b, mac_c) = (mac_text(MAC_A4), mac_text(MAC_B4), mac_text(MAC_C4));
    let (a_addr, b_addr, c_addr) = (a.addr.to_string(), b.addr.to_string(), c.addr.to_string());
    let t = SETTLE;
    let discover = dump.wait_one("pkt4_receive", t, |r| {
        r.has("KEA_QUERY4_HWADDR", &mac_a) && r.has("KEA_QUERY4_TYPE", "DHCPDISCOVER")
    });
    discover.check(&[
        ("KEA_QUERY4_INTERFACE", &tb.srv_if),
        ("KEA_QUERY4_HWADDR_TYPE", "1"),
        ("KEA_QUERY4_HWADDR_SOURCE", "0"),
        ("KEA_QUERY4_RELAYED", "1"),
        ("KEA_QUERY4_RELAY_HOPS", "1"),
        ("KEA_QUERY4_GIADDR", "192.0.2.2"),
        ("KEA_QUERY4_CIADDR", "0.0.0.0"),
        ("KEA_QUERY4_RAI", &hex_upper(&opt82_a())),
        ("KEA_QUERY4_RAI_CIRCUIT_ID", &hex_upper(CIRCUIT_ID)),
        ("KEA_QUERY4_RAI_REMOTE_ID", &hex_upper(REMOTE_ID4)),
    ]);
    let subnet = dump.wait_one("subnet4_select", t, |r| r.has("KEA_QUERY4_HWADDR", &mac_a));
    subnet.check(&[
        ("KEA_SUBNET4", "10.0.0.0/8"),
        ("KEA_SUBNET4_PREFIX", "10.0.0.0"),
        ("KEA_SUBNET4_PREFIXLEN", "8"),
    ]);
    let offered = dump.wait_one("lease4_select", t, |r| {
        r.has("KEA_QUERY4_HWADDR", &mac_a) && r.has("KEA_FAKE_ALLOCATION", "1")
    });
    offered.check(&[("KEA_LEASE4_ADDRESS", &a_addr)]);
    let allocated = dump.wait_one("lease4_select", t, |r| {
        r.has("KEA_QUERY4_HWADDR", &mac_a) && r.has("KEA_FAKE_ALLOCATION", "0")
    });
    allocated.check(&[
        ("KEA_QUERY4_TYPE", "DHCPREQUEST"),
        ("KEA_LEASE4_ADDRESS", &a_addr),
        ("KEA_LEASE4_TYPE", "V4"),
        ("KEA_LEASE4_STATE", "default"),
        ("KEA_LEASE4_IS_EXPIRED", "0"),
        ("KEA_LEASE4_HWADDR", &mac_a),
        ("KEA_LEASE4_VALID_LIFETIME", &VALID.to_string()),
    ]);
    let debug = allocated.var("KEA_LEASE4_DEBUG");
    assert!(
        debug.contains(&format!("Address:       {a_addr}\n")),
        "{debug}"
    );
    let sent = dump.wait_one("pkt4_send", t, |r| {
        r.has("KEA_RESPONSE4_TYPE", "DHCPACK") && r.has("KEA_QUERY4_HWADDR", &mac_a)
    });
    sent.check(&[
        ("KEA_RESPONSE4_YIADDR", &a_addr),
        ("KEA_QUERY4_TYPE", "DHCPREQUEST"),
    ]);
    let renew = dump.wait_one("lease4_renew", t, |r| r.has("KEA_LEASE4_ADDRESS", &a_addr));
    renew.check(&[
        ("KEA_QUERY4_CIADDR", &a_addr),
        ("KEA_SUBNET4", "10.0.0.0/8"),
    ]);
    let release = dump.wait_one("lease4_release", t, |r| {
        r.has("KEA_LEASE4_ADDRESS", &a_addr)
    });
    release.check(&[
        ("KEA_QUERY4_TYPE", "DHCPRELEASE"),
        ("KEA_LEASE4_HWADDR", &mac_a),
    ]);
    let decline = dump.wait_one("lease4_decline", t, |r| {
        r.has("KEA_LEASE4_ADDRESS", &b_addr)
    });
    decline.check(&[("KEA_QUERY4_RELAYED", "0"), ("KEA_QUERY4_HWADDR", &mac_b)]);
    let recover = dump.wait_one("lease4_recover", t, |r| {
        r.has("KEA_LEASE4_ADDRESS", &b_addr)
    });
    recover.check(&[("KEA_LEASE4_STATE", "declined")]);
    let expire = dump.wait_one(
        "lease4_expire",
        Duration::from_secs(u64::from(VALID) + 8),
        |r| r.has("KEA_LEASE4_ADDRESS", &c_addr),
    );
    expire.check(&[("KEA_REMOVE_LEASE", "0"), ("KEA_LEASE4_HWADDR", &mac_c)]);
    // Kea's expired() at the reclaim: Kea reclaims a lease once its end time is reached
    // (end <= now) while expired() wants it passed (end < now), so either value occurs.
    assert!(matches!(expire.var("KEA_LEASE4_IS_EXPIRED"), "0" | "1"));
    for r in dump.records() {
        assert!(
            r.vars.keys().all(|n| n.starts_with("KEA_") || n == "PWD"),
            "{}: {:?}",
            r.hook,
            r.vars.keys()
        );
        assert!(
            !r.hook.starts_with("leases4_committed"),
            "not a kea-hook-runscript hook point"
        );
    }
    kea.assert_healthy();
}

both_threading_modes!(variables4 => v4_its_variables_and_our_verdict, v4_its_variables_and_our_verdict_multi_threaded);

/// DHCPv6: its variables with the values of real traffic (Kea's getMAC, the label, the
/// delegated prefix, Kea's own dumps).
fn variables6(mt: bool) {
    use common::dhcp6::colon_hex;
    use common::dump::Dump;
    use common::scenario::*;
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("khrvars6");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let mut settings = Settings::new(
        Family::V6,
        mt,
        vec![hook(&our_library(), json!({"script": dump.script}))],
    );
    settings.valid_lifetime = VALID;
    settings.decline_probation = 2;
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let (a, _b, c) = v6_clients(&tb);
    let duid_a = colon_hex(&common::dhcp6::duid_ll(MAC_A6));
    let t = SETTLE;
    let solicit = dump.wait_one("pkt6_receive", t, |r| {
        r.has("KEA_QUERY6_TRANSACTION_ID", &TXID_A6.to_string())
    });
    solicit.check(&[
        // Kea hands hooks the client's message, unwrapped from the relay's.
        ("KEA_QUERY6_TYPE", "SOLICIT"),
        ("KEA_QUERY6_INTERFACE", &tb.srv_if),
        // Kea's getMAC: from the DUID-LL (source 2).
        ("KEA_QUERY6_HWADDR", &common::dhcp4::mac_text(MAC_A6)),
        ("KEA_QUERY6_HWADDR_TYPE", "1"),
        ("KEA_QUERY6_HWADDR_SOURCE", "2"),
        (
            "KEA_QUERY6_LABEL",
            &format!("duid=[{duid_a}], tid=0x{TXID_A6:x}"),
        ),
        ("KEA_QUERY6_DUID", ""),
    ]);
    let dump_text = solicit.var("KEA_QUERY6_DEBUG");
    assert!(
        dump_text.contains(&common::kea::pkt6_text_type(1, "SOLICIT")),
        "{dump_text}"
    );
    assert!(dump_text.contains("1 relay(s):"), "{dump_text}");
    let (prefix, len) = a.prefix;
    let delegated = format!("{prefix}/{len}");
    let select = dump.wait_one("lease6_select", t, |r| {
        r.has("KEA_LEASE6_DELEGATED_PREFIX", &delegated) && r.has("KEA_FAKE_ALLOCATION", "0")
    });
    select.check(&[
        ("KEA_LEASE6_TYPE", "IA_PD"),
        ("KEA_LEASE6_ADDRESS", &prefix.to_string()),
        ("KEA_LEASE6_DELEGATED_PREFIXLEN", &len.to_string()),
        ("KEA_LEASE6_CLIENT_DUID", &duid_a),
        ("KEA_LEASE6_IS_EXPIRED", "0"),
        ("KEA_SUBNET6", "2001:db8:2::/64"),
        ("KEA_SUBNET6_PREFIXLEN", "64"),
    ]);
    let lease_dump = select.var("KEA_LEASE6_DEBUG");
    assert!(
        lease_dump.contains("Type:          IA_PD(2)"),
        "{lease_dump}"
    );
    let na = dump.wait_one("lease6_select", t, |r| {
        r.has("KEA_LEASE6_ADDRESS", &a.addr.to_string()) && r.has("KEA_FAKE_ALLOCATION", "0")
    });
    na.check(&[("KEA_LEASE6_TYPE", "IA_NA")]);
    assert_eq!(
        na.get("KEA_LEASE6_DELEGATED_PREFIX"),
        None,
        "only for prefixes"
    );
    for hook_point in ["lease6_renew", "lease6_rebind", "lease6_release"] {
        dump.wait_one(hook_point, t, |r| {
            r.has("KEA_LEASE6_DELEGATED_PREFIX", &delegated)
        });
    }
    let (c_prefix, c_len) = c.prefix;
    let expire = dump.wait_one(
        "lease6_expire",
        Duration::from_secs(u64::from(VALID) + 8),
        |r| {
            r.has(
                "KEA_LEASE6_DELEGATED_PREFIX",
                &format!("{c_prefix}/{c_len}"),
            )
        },
    );
    expire.check(&[("KEA_REMOVE_LEASE", "0")]);
    dump.wait_one("lease6_decline", t, |_| true);
    dump.wait_one("lease6_recover", Duration::from_secs(10), |_| true);
    let reply = dump.wait_one("pkt6_send", t, |r| {
        r.has("KEA_RESPONSE6_TYPE", "REPLY") && r.has("KEA_QUERY6_TYPE", "REQUEST")
    });
    let reply_dump = reply.var("KEA_RESPONSE6_DEBUG");
    assert!(
        reply_dump.contains(&common::kea::pkt6_text_type(7, "REPLY")),
        "{reply_dump}"
    );
    for r in dump.records() {
        assert!(
            r.vars.keys().all(|n| n.starts_with("KEA_") || n == "PWD"),
            "{}: {:?}",
            r.hook,
            r.vars.keys()
        );
    }
    kea.assert_healthy();
}

both_threading_modes!(variables6 => v6_its_variables, v6_its_variables_multi_threaded);
