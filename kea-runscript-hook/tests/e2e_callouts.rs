//! Which callouts the real Kea gets from us: those of the hook points the configuration
//! selects, and no others. Kea does work at every hook point that has a callout, even one
//! that returns at once, so an unselected point must have none. Read from Kea's own debug
//! log (`HOOKS_CALLOUT_REGISTRATION`, which Kea logs for every callout it registers, whether
//! a library registers it in `load` or Kea finds it by its symbol name).

mod common;

use std::collections::BTreeSet;

use common::kea::{hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{our_library, require_prereqs, HeavySlot, Scratch};
use serde_json::json;

/// The hooks Kea registered a callout of library `index` for, from its debug log.
fn registered(log: &str, index: u32) -> BTreeSet<String> {
    let prefix = format!("hooks library with index {index} registering callout for hook '");
    log.lines()
        .filter(|line| line.contains("HOOKS_CALLOUT_REGISTRATION"))
        .filter_map(|line| line.split_once(&prefix))
        .map(|(_, rest)| rest.trim_end().trim_end_matches('\'').to_string())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Starts Kea with two scripts of ours selecting `points_a` and `points_b`, and returns
/// the hooks Kea registered our callouts for.
fn registrations(family: Family, points_a: &[&str], points_b: &[&str]) -> BTreeSet<String> {
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("callouts");
    let tb = Testbed::new();
    let parameters = json!({"scripts": [
        {"name": "/bin/true", "hook-points": points_a},
        {"name": "/bin/true", "hook-points": points_b, "sync": true}
    ]});
    let mut settings = Settings::new(family, false, vec![hook(&our_library(), parameters)]);
    // Kea logs its registrations at debug level 55 (HOOKS_DBG_CALLS).
    settings.patch = Some(json!({"loggers": [{"severity": "DEBUG", "debuglevel": 55}]}));
    let mut kea = Kea::start(&tb, &scratch, &settings);
    kea.assert_healthy();
    let log = kea.log_text();
    assert!(
        log.contains("HOOKS_CALLOUT_REGISTRATION"),
        "Kea logged no callout registration at debug level 55:\n{log}"
    );
    registered(&log, 1)
}

#[test]
fn dhcp4_callouts_only_at_the_selected_hook_points() {
    if !require_prereqs() {
        return;
    }
    let got = registrations(
        Family::V4,
        &["leases4_committed", "lease4_release"],
        &["pkt4_receive"],
    );
    // dhcp4_srv_configured is exported (Kea calls it once per configuration: the IO
    // service for parked packets, lease replay).
    let want = set(&[
        "dhcp4_srv_configured",
        "leases4_committed",
        "lease4_release",
        "pkt4_receive",
    ]);
    assert_eq!(got, want);
}

#[test]
fn dhcp6_callouts_only_at_the_selected_hook_points() {
    if !require_prereqs() {
        return;
    }
    let got = registrations(Family::V6, &["leases6_committed"], &["lease6_rebind"]);
    let want = set(&["dhcp6_srv_configured", "leases6_committed", "lease6_rebind"]);
    assert_eq!(got, want);
}

#[test]
fn library_events_alone_register_no_packet_callout() {
    if !require_prereqs() {
        return;
    }
    let got = registrations(Family::V4, &["load"], &["unload"]);
    assert_eq!(got, set(&["dhcp4_srv_configured"]));
}
