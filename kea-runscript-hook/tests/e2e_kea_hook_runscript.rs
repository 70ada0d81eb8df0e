//! Scripts written for kea-hook-runscript run unmodified: the library is configured exactly
//! as kea-hook-runscript is (`{"script": …}`, nothing of ours), so it picks that profile, its
//! hook points and its waiting; the scripts (fixtures/kea/khr-routes4.sh, khr-routes6.sh) use
//! its variable names at its hook points. In the real Kea, the routes they manage appear in
//! the server namespace's routing table on lease and disappear on release and on expiry.

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
