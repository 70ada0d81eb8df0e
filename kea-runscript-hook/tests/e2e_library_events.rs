//! The `load` and `unload` hook points in the real Kea: a script selected for them runs
//! once when Kea loads the library (start-up, and again at each reconfiguration) and once
//! when Kea unloads it (before each reconfiguration, and at shutdown), with argv[1] the
//! hook point and no packet variables, in async and in sync mode, for kea-dhcp4 and
//! kea-dhcp6.

mod common;

use std::time::Duration;

use common::dump::{Dump, Record};
use common::kea::{hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::json;

const MARKER: &str = "E2E_MARKER";

fn hooks(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.hook.as_str()).collect()
}

/// The variables a record got from us: all but PWD, which /bin/sh itself exports.
fn ours(record: &Record) -> Vec<&str> {
    record
        .vars
        .keys()
        .map(String::as_str)
        .filter(|name| *name != "PWD")
        .collect()
}

fn library_events(family: Family, sync: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("libev");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let parameters = json!({
        "name": dump.script, "sync": sync, "hook-points": ["load", "unload"],
        "env": {MARKER: "library-events"}
    });
    let settings = Settings::new(family, false, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let t = Duration::from_secs(10);

    // Start-up: exactly one load.
    let records = dump.wait(t, |r| !r.is_empty());
    assert_eq!(hooks(&records), ["load"], "{records:#?}");
    let load = &records[0];
    // Only what the configuration adds: a library event has no packet, lease or subnet.
    assert_eq!(ours(load), [MARKER], "load variables: {:#?}", load.vars);
    assert_eq!(load.var(MARKER), "library-events");

    // A reconfiguration (SIGHUP) unloads the library and loads it again.
    let pid = nix::unistd::Pid::from_raw(kea.pid as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    let records = dump.wait(t, |r| r.len() >= 3);
    assert_eq!(hooks(&records), ["load", "unload", "load"], "{records:#?}");
    wait_for(t, || {
        kea.log_text()
            .contains("DYNAMIC_RECONFIGURATION_SUCCESS")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("reload failed:\n{}", kea.log_text()));
    kea.assert_healthy();

    // Shutdown: one more unload, and it ran before Kea exited.
    assert!(kea.stop(), "Kea did not end on SIGTERM");
    let records = dump.records();
    assert_eq!(
        hooks(&records),
        ["load", "unload", "load", "unload"],
        "{records:#?}"
    );
    for record in &records {
        assert_eq!(ours(record), [MARKER], "{record:#?}");
    }
}

#[test]
fn load_and_unload_scripts_run_v4_async() {
    library_events(Family::V4, false);
}

#[test]
fn load_and_unload_scripts_run_v4_sync() {
    library_events(Family::V4, true);
}

#[test]
fn load_and_unload_scripts_run_v6_async() {
    library_events(Family::V6, false);
}

#[test]
fn load_and_unload_scripts_run_v6_sync() {
    library_events(Family::V6, true);
}
