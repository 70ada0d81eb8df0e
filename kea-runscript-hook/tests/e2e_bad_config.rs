//! Bad configuration: `kea-dhcp4 -t` rejects it and Kea refuses to start with it; both
//! print our message (a KEA_RUNSCRIPT_* id) naming the parameter. A good configuration of
//! the same shape passes both, so the failures are ours and not the harness's.
//!
//! Kea 2.2's check mode never calls a hook library's `load` (`LibraryManager::validateLibrary`
//! only dlopens it and calls `version` and `multi_threading_compatible`), so for `-t` the
//! library must validate its parameters earlier; a real start goes through `load`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::kea::{check_config, hook, start_outcome, Family, Settings};
use common::{our_library, require_prereqs, Scratch};
use serde_json::{json, Value};

/// Our message ids all start so.
const OUR_ID: &str = "KEA_RUNSCRIPT_";

fn config_with(parameters: Value, log: &Path) -> Value {
    Settings::new(Family::V4, false, vec![hook(&our_library(), parameters)])
        .config_without_interfaces(log)
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
    let (ok, out) = check_config(Family::V4, &scratch, &good_config);
    assert!(ok, "a good configuration must pass kea-dhcp4 -t:\n{out}");
    let (ok, out) = start_outcome(Family::V4, &scratch, &good_config, &log("good"));
    assert!(ok, "a good configuration must start:\n{out}");
    // The new keys, used well, pass both too (so their rows below fail for the reason named).
    let rich = config_with(
        json!({"name": good, "options": [60, 254], "host-reservation": false, "replay-leases": true,
               "expressions": {"VENDOR": "substring(option[60].hex,0,9)", "HAS_77": "option[77].exists",
                               "MAC": "hexstring(pkt4.mac, ':')"}}),
        &log("rich"),
    );
    let (ok, out) = check_config(Family::V4, &scratch, &rich);
    assert!(
        ok,
        "options, expressions and replay used well must pass kea-dhcp4 -t:\n{out}"
    );
    let (ok, out) = start_outcome(Family::V4, &scratch, &rich, &log("rich"));
    assert!(
        ok,
        "options, expressions and replay used well must start:\n{out}"
    );

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
            "exit-codes.3",
            "reject",
        ),
        (
            "unknown key",
            json!({"name": good, "nmae": "/x"}),
            "nmae",
            "",
        ),
        (
            "unknown mode",
            json!({"name": good, "mode": "daemon"}),
            "mode",
            "daemon",
        ),
        (
            "worker with max-in-flight",
            json!({"name": good, "mode": "worker", "max-in-flight": 4}),
            "max-in-flight",
            "spawn",
        ),
        (
            "worker with an empty buffer",
            json!({"name": good, "mode": "worker", "max-queued": 0}),
            "max-queued",
            "positive",
        ),
        (
            "async worker with a timeout",
            json!({"name": good, "mode": "worker", "timeout-ms": 100}),
            "timeout-ms",
            "sync: true",
        ),
        (
            "log-output not a boolean",
            json!({"name": good, "mode": "worker", "log-output": "yes"}),
            "log-output",
            "",
        ),
        (
            "unknown variable profile",
            json!({"name": good, "variables": "khr"}),
            "variables",
            "khr",
        ),
        (
            "hook point kea-hook-runscript never had",
            json!({"script": good, "variables": "kea-hook-runscript", "hook-points": ["leases4_committed"]}),
            "hook-points",
            "leases4_committed",
        ),
        (
            "kea-hook-runscript config with a non-boolean wait",
            json!({"script": good, "wait": "yes"}),
            "wait",
            "",
        ),
        (
            "a DHCPv6 option code in kea-dhcp4",
            json!({"name": good, "options": [60, 300]}),
            "options[1]",
            "not a DHCPv4 option code",
        ),
        (
            "option code 0",
            json!({"name": good, "options": [0]}),
            "options",
            "1..65535",
        ),
        (
            "an expression variable with a lower-case name",
            json!({"name": good, "expressions": {"vendor": "option[60].text"}}),
            "expressions.vendor",
            "upper-case",
        ),
        (
            "an expression variable named like ours",
            json!({"name": good, "expressions": {"QUERY4_VENDOR": "option[60].text"}}),
            "expressions.QUERY4_VENDOR",
            "own variables",
        ),
        (
            "an expression Kea cannot parse",
            json!({"name": good, "expressions": {"VENDOR": "substring(option[60].hex,0"}}),
            "expressions.VENDOR",
            "Kea cannot parse",
        ),
        (
            "a DHCPv6-only expression in kea-dhcp4",
            json!({"scripts": [{"name": good, "expressions": {"MSG": "pkt6.msgtype"}}]}),
            "scripts[0].expressions.MSG",
            "Kea cannot parse",
        ),
        (
            "an unknown token in an expression",
            json!({"name": good, "expressions": {"X": "option[60].bogus"}}),
            "expressions.X",
            "Kea cannot parse",
        ),
        (
            "replay-leases not a boolean",
            json!({"name": good, "replay-leases": "yes"}),
            "replay-leases",
            "",
        ),
        (
            "classes not a boolean",
            json!({"name": good, "classes": "yes"}),
            "classes",
            "expected true or false",
        ),
        (
            "user-contexts not a boolean",
            json!({"name": good, "user-contexts": 1}),
            "user-contexts",
            "expected true or false",
        ),
        (
            "host-reservation not a boolean",
            json!({"name": good, "host-reservation": 1}),
            "host-reservation",
            "",
        ),
    ];
    let mut failures = Vec::new();
    for (what, parameters, parameter, detail) in &table {
        let config = config_with(parameters.clone(), &log(what));
        // The parameter quoted either way ('name' or "name"), possibly with a path prefix.
        let named = [format!("{parameter}'"), format!("{parameter}\"")];
        let ours = |out: &str| {
            out.lines().any(|l| {
                l.contains(OUR_ID) && named.iter().any(|n| l.contains(n)) && l.contains(detail)
            })
        };
        let checked = check_config(Family::V4, &scratch, &config);
        let started = start_outcome(Family::V4, &scratch, &config, &log(what));
        for (how, (ok, out)) in [("kea-dhcp4 -t", checked), ("kea-dhcp4 -c", started)] {
            if ok {
                failures.push(format!("{what}: {how} accepted {parameters}"));
            } else if !ours(&out) {
                failures.push(format!(
                    "{what}: {how} printed no {OUR_ID}* line naming {parameter:?} with {detail:?}:\n{out}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
