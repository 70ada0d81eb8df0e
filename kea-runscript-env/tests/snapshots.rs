//! The variable reference as snapshots: for every hook point, one event with every object
//! populated and one with every object absent.

mod common;

use kea_runscript_env::{render, render_extras, Event, Extras, HookPoint};

#[test]
fn every_hook_point_fully_populated() {
    for &hook_point in HookPoint::ALL {
        let vars = render(&common::full_event(hook_point));
        insta::assert_snapshot!(
            format!("{}_full", hook_point.name()),
            common::env_text(&vars)
        );
    }
}

#[test]
fn every_hook_point_with_absent_objects() {
    for &hook_point in HookPoint::ALL {
        let vars = render(&Event::new(hook_point));
        insta::assert_snapshot!(
            format!("{}_absent", hook_point.name()),
            common::env_text(&vars)
        );
    }
}

/// The opt-in data (`"classes"`, `"user-contexts"`, `"host-reservation"` all true), which
/// follows the profile's variables: populated, and with every object absent.
#[test]
fn every_hook_point_extras() {
    let all = Extras::new(true, true, true);
    for &hook_point in HookPoint::ALL {
        let full = render_extras(&common::full_event(hook_point), all);
        insta::assert_snapshot!(
            format!("{}_extras_full", hook_point.name()),
            common::env_text(&full)
        );
        let absent = render_extras(&Event::new(hook_point), all);
        insta::assert_snapshot!(
            format!("{}_extras_absent", hook_point.name()),
            common::env_text(&absent)
        );
        assert!(render_extras(&common::full_event(hook_point), Extras::default()).is_empty());
    }
}

#[test]
fn host_and_interface_names_that_are_not_utf8() {
    // Kea's strings are bytes; each byte that is not part of valid UTF-8 shows as \xNN here
    // and reaches the script as that very byte.
    let mut event = common::full_event(HookPoint::Leases4Committed);
    if let Some(query) = event.query4.as_mut() {
        query.iface_name = b"eth\xff0"[..].into();
    }
    for lease in event.leases4.iter_mut().flatten() {
        lease.hostname = b"caf\xe9.example.\xc3(".to_vec().into();
    }
    insta::assert_snapshot!(common::env_text(&render(&event)));
}
