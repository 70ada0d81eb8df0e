//! Bad configuration: Kea refuses to start with it, and its log carries our load-error
//! message naming the parameter. A good configuration of the same shape starts, so the
//! failures are ours and not the harness's.
//!
//! Kea 2.2's `kea-dhcp4 -t` cannot catch these: in check mode it only dlopens a hook
//! library and checks its version (`LibraryManager::validateLibrary`), it never calls
//! `load`, so no hook library — Kea's own run-script hook included — sees its parameters
//! there. The test asserts that fact too, so a Kea that starts calling `load` in check
//! mode is noticed.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::kea::{check_config, hook, start_outcome, Family, Settings};
use common::{our_library, require_prereqs, Scratch};
use serde_json::{json, Value};

/// Our log message for a rejected configuration.
const LOAD_ERROR_ID: &str = "KEA_RUNSCRIPT_LOAD_ERROR";

fn config_with(parameters: Value, log: &Path) -> Value {
    let mut config = Settings::new(Family::V4, false, vec![hook(&our_library(), parameters)])
        .config("unused", log);
    // No interface: Kea opens no DHCP socket, so no network namespace is needed.
    config["Dhcp4"]["interfaces-config"]["interfaces"] = json!([]);
    config
}

#[test]
fn kea_rejects_bad_parameters_with_our_message() {
    if !require_prereqs() {
        return;
    }
    let scratch = Scratch::new("badcfg");
    let (_, good) = scratch.script_dir("scripts", "dump.sh");
    let plain = scratch.join("scripts/not-executable.sh");
    std::fs::write(&plain, "#!/bin/sh\nexit 0\n").expect("write script");
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let missing = scratch.join("scripts/missing.sh");
    let good = good.to_str().expect("utf-8");

    let log = |what: &str| scratch.join(&format!("kea-{}.log", what.replace(' ', "-")));
    let good_config = config_with(json!({"name": good, "sync": false}), &log("good"));
    let (ok, out) = start_outcome(Family::V4, &scratch, &good_config, &log("good"));
    assert!(ok, "a good configuration must start:\n{out}");

    // (what is wrong, parameters, the parameter the message must name, detail it must
    // give when the parameter alone does not say what is wrong)
    let table: Vec<(&str, Value, &str, &str)> = vec![
        ("no name", json!({"sync": false}), "name", ""),
        (
            "relative path",
            json!({"name": "scripts/dump.sh"}),
            "name",
            "",
        ),
        (
            "missing script",
            json!({"name": missing}),
            "name",
            "does not exist",
        ),
        (
            "non-executable script",
            json!({"name": plain}),
            "name",
            "not executable",
        ),
        ("name not a string", json!({"name": 5}), "name", ""),
        (
            "sync not a boolean",
            json!({"name": good, "sync": "yes"}),
            "sync",
            "",
        ),
        (
            "timeout not a number",
            json!({"name": good, "sync": true, "timeout-ms": "fast"}),
            "timeout-ms",
            "",
        ),
        (
            "hook-points not a list",
            json!({"name": good, "hook-points": "lease4_renew"}),
            "hook-points",
            "",
        ),
        (
            "unknown hook point",
            json!({"name": good, "hook-points": ["lease4_renw"]}),
            "hook-points",
            "lease4_renw",
        ),
        (
            "bad exit-code verdict",
            json!({"name": good, "sync": true, "exit-codes": {"3": "reject"}}),
            "exit-codes",
            "reject",
        ),
        (
            "unknown key",
            json!({"name": good, "nmae": "/x"}),
            "nmae",
            "",
        ),
    ];
    let mut failures = Vec::new();
    for (what, parameters, parameter, detail) in &table {
        let config = config_with(parameters.clone(), &log(what));
        let (ok, out) = start_outcome(Family::V4, &scratch, &config, &log(what));
        // The parameter quoted either way ('name' or "name"), possibly with a path prefix.
        let named = [format!("{parameter}'"), format!("{parameter}\"")];
        let ours = out.lines().find(|l| {
            l.contains(LOAD_ERROR_ID) && named.iter().any(|n| l.contains(n)) && l.contains(detail)
        });
        if ok {
            failures.push(format!("{what}: Kea started with {parameters}"));
        } else if ours.is_none() {
            failures.push(format!(
                "{what}: no {LOAD_ERROR_ID} line naming {parameter:?} with {detail:?} in:\n{out}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // Kea 2.2 check mode does not call load: the bad parameters pass `-t`.
    let (checked, out) = check_config(
        Family::V4,
        &scratch,
        &config_with(json!({"sync": false}), &log("t")),
    );
    assert!(
        checked,
        "kea-dhcp4 -t now rejects hook parameters; update the docs and this test:\n{out}"
    );
}
