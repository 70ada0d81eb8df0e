//! Clock-dependent values are the callout's (issue 23): rendering reads no clock. Kea's
//! `Lease::expired()` is taken where Kea calls the hook (the shim's record, tested in
//! kea-runscript-hook's `expired_is_taken_at_the_callout`) and carried in the model's
//! `expired`; the renderers, which may run later on another thread, only format it.

mod common;

use kea_runscript_env::{Event, HookPoint, Profile};

/// `KEA_LEASE4_IS_EXPIRED`/`KEA_LEASE6_IS_EXPIRED` of `event` (kea-hook-runscript profile).
fn is_expired(event: &Event) -> Vec<String> {
    Profile::KeaHookRunscript
        .render(event)
        .into_iter()
        .filter(|(name, _)| name.ends_with("_IS_EXPIRED"))
        .map(|(name, value)| format!("{name}={}", value.to_str().expect("text")))
        .collect()
}

/// The model's flag decides, whatever the lease's times say against today's clock: a lease
/// whose expiry is long past but that had not expired at the callout renders `0`, one whose
/// expiry is far ahead but that had expired at the callout (Kea's clock then) renders `1`.
#[test]
fn is_expired_is_the_callouts_flag_not_the_clock() {
    let mut seen = 0;
    for &hook_point in HookPoint::ALL {
        if !Profile::KeaHookRunscript.serves(hook_point) {
            continue;
        }
        for (expired, cltt, want) in [(false, 1_000_000_000, "0"), (true, 4_000_000_000, "1")] {
            let mut event = common::full_event(hook_point);
            for lease in event.lease4.iter_mut() {
                (lease.expired, lease.cltt) = (expired, cltt);
            }
            for lease in event.lease6.iter_mut() {
                (lease.expired, lease.cltt) = (expired, cltt);
            }
            for value in is_expired(&event) {
                assert!(
                    value.ends_with(&format!("={want}")),
                    "{hook_point}: {value}"
                );
                seen += 1;
            }
        }
    }
    assert!(seen >= 2 * 10, "too few *_IS_EXPIRED rendered: {seen}");
}

/// Nothing in this crate reads the clock: every rendered value comes from the event, which
/// is made at the callout. (The crate is I/O-free; a clock read would be both.)
#[test]
fn no_clock_is_read_while_rendering() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src];
    let mut offenders = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for needle in [
            "SystemTime",
            "Instant",
            "UNIX_EPOCH",
            "libc::time",
            "clock_gettime",
            "chrono",
            "time::OffsetDateTime",
        ] {
            if text.contains(needle) {
                offenders.push(format!("{}: {needle}", path.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "clock reads in env: {offenders:?}");
}

/// Every lease of an event, single ones and every collection, v4 and v6: its `expired` flag
/// set to `expired`.
fn set_expired(event: &mut Event, expired: bool) {
    let v4 = event
        .lease4
        .iter_mut()
        .chain(event.leases4.iter_mut().flatten())
        .chain(event.deleted_leases4.iter_mut().flatten());
    for lease in v4 {
        lease.expired = expired;
    }
    let v6 = event
        .lease6
        .iter_mut()
        .chain(event.leases6.iter_mut().flatten())
        .chain(event.deleted_leases6.iter_mut().flatten())
        .chain(event.old_lease6.iter_mut())
        .chain(event.new_lease6.iter_mut());
    for lease in v6 {
        lease.expired = expired;
    }
}

/// In both profiles, at every hook point and for every lease collection (`leases4`,
/// `deleted_leases4`, …): the rendered environment depends on the callout's `expired`
/// flag only through `*_IS_EXPIRED`, and never on the clock. Flipping the flag changes
/// exactly the `*_IS_EXPIRED` entries (kea-hook-runscript profile) or nothing (Kea's
/// profile, which has no such variable); rendering the same event twice gives the same
/// output (a clock read would differ across a second boundary only, so the static
/// check above covers that part).
#[test]
fn only_is_expired_follows_the_callouts_flag_in_both_profiles() {
    let mut flipped = 0;
    for profile in [Profile::Kea, Profile::KeaHookRunscript] {
        for &hook_point in HookPoint::ALL {
            if !profile.serves(hook_point) {
                continue;
            }
            let mut event = common::full_event(hook_point);
            set_expired(&mut event, false);
            let unexpired = profile.render(&event);
            set_expired(&mut event, true);
            let expired = profile.render(&event);
            assert_eq!(unexpired.len(), expired.len(), "{profile} {hook_point}");
            for ((name, before), (name_after, after)) in unexpired.iter().zip(&expired) {
                assert_eq!(name, name_after, "{profile} {hook_point}");
                if name.ends_with("_IS_EXPIRED") {
                    assert_eq!(profile, Profile::KeaHookRunscript, "{name}");
                    assert_eq!(
                        (before.to_str(), after.to_str()),
                        (Some("0"), Some("1")),
                        "{hook_point} {name}"
                    );
                    flipped += 1;
                } else {
                    assert_eq!(before, after, "{profile} {hook_point} {name}");
                }
            }
        }
    }
    assert!(flipped >= 10, "too few *_IS_EXPIRED rendered: {flipped}");
}
