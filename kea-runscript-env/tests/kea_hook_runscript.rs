//! The kea-hook-runscript profile as snapshots (its variable reference): for every hook point
//! it serves, one event with every object populated and one with every object absent; plus
//! the places where its formats differ from Kea's hook.

mod common;

use kea_runscript_env::{Event, HookPoint, LeaseType, Profile};

const PROFILE: Profile = Profile::KeaHookRunscript;

fn served() -> impl Iterator<Item = HookPoint> {
    HookPoint::ALL
        .iter()
        .copied()
        .filter(|&hp| PROFILE.serves(hp))
}

#[test]
fn every_hook_point_fully_populated() {
    for hook_point in served() {
        let vars = PROFILE.render(&common::full_event(hook_point));
        insta::assert_snapshot!(
            format!("{}_full", hook_point.name()),
            common::env_text(&vars)
        );
    }
}

#[test]
fn every_hook_point_with_absent_objects() {
    for hook_point in served() {
        let vars = PROFILE.render(&Event::new(hook_point));
        insta::assert_snapshot!(
            format!("{}_absent", hook_point.name()),
            common::env_text(&vars)
        );
    }
}

fn var<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn hook_points_it_lacks_render_nothing() {
    for hp in [HookPoint::Leases4Committed, HookPoint::Leases6Committed] {
        assert!(PROFILE.render(&common::full_event(hp)).is_empty(), "{hp}");
    }
}

#[test]
fn delegated_prefix_only_for_prefix_leases() {
    let mut event = common::full_event(HookPoint::Lease6Renew);
    let vars = PROFILE.render(&event);
    assert_eq!(var(&vars, "KEA_LEASE6_DELEGATED_PREFIX"), None);
    event.lease6 = Some(common::lease6(LeaseType::Pd, 0x42));
    let vars = PROFILE.render(&event);
    assert_eq!(
        var(&vars, "KEA_LEASE6_DELEGATED_PREFIX"),
        Some("2001:db8:100:42::/56")
    );
    assert_eq!(var(&vars, "KEA_LEASE6_DELEGATED_PREFIXLEN"), Some("56"));
    assert_eq!(var(&vars, "KEA_LEASE6_ADDRESS"), Some("2001:db8:100:42::"));
    assert_eq!(var(&vars, "KEA_LEASE6_TYPE"), Some("IA_PD"));
}

#[test]
fn its_formats_where_they_differ_from_keas() {
    let mut event = common::full_event(HookPoint::Lease4Select);
    let query = event.query4.as_mut().unwrap();
    // Kea's int interface index -1 (unset) and a negative time_t stay signed.
    query.iface_index = u32::MAX;
    query.options.push(kea_runscript_env::DhcpOption {
        code: 60,
        payload: b"MSFT 5.0".to_vec(),
    });
    event.lease4.as_mut().unwrap().cltt = -5;
    event.fake_allocation = Some(true);
    let vars = PROFILE.render(&event);
    assert_eq!(var(&vars, "KEA_QUERY4_IFINDEX"), Some("-1"));
    assert_eq!(var(&vars, "KEA_QUERY4_OPTION60"), Some("MSFT 5.0"));
    assert_eq!(
        var(&vars, "KEA_LEASE4_CLIENT_LAST_TRANSMISSION"),
        Some("-5")
    );
    assert_eq!(var(&vars, "KEA_FAKE_ALLOCATION"), Some("1"));
    assert_eq!(var(&vars, "KEA_QUERY4_RELAYED"), Some("1"));
    // Without option 82 its variables are not set at all (not even empty).
    event
        .query4
        .as_mut()
        .unwrap()
        .options
        .retain(|o| o.code != 82);
    let vars = PROFILE.render(&event);
    assert!(vars.iter().all(|(n, _)| !n.starts_with("KEA_QUERY4_RAI")));
}

#[test]
fn query6_label_and_the_empty_duid() {
    let mut event = common::full_event(HookPoint::Pkt6Receive);
    let vars = PROFILE.render(&event);
    assert_eq!(
        var(&vars, "KEA_QUERY6_LABEL"),
        Some("duid=[00:01:00:01:2c:3e:5f:10:00:0c:01:02:03:04], tid=0xabcdef")
    );
    assert_eq!(var(&vars, "KEA_QUERY6_DUID"), Some(""));
    event.query6.as_mut().unwrap().client_id = None;
    let vars = PROFILE.render(&event);
    assert_eq!(
        var(&vars, "KEA_QUERY6_LABEL"),
        Some("duid=[no info], tid=0xabcdef")
    );
}
