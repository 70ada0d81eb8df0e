use super::*;
use kea_runscript_env::Profile;

/// Every configuration error path, with the exact line the user sees.
#[test]
fn bad_configs_give_one_line_naming_the_parameter() {
    let table: &[(&str, &str)] = &[
        (r#"[1]"#, "parameters: expected a JSON object, got [1]"),
        (r#"{"name": "/x""#, "parameters: invalid JSON: EOF while parsing an object at line 1 column 13"),
        (r#"{}"#, "parameter 'name': required: the absolute path of the script (alias 'script')"),
        (r#"{"sync": true}"#, "parameter 'name': required: the absolute path of the script (alias 'script')"),
        (r#"{"name": "rel/script"}"#, r#"parameter 'name': expected an absolute path (a string starting with '/'), got "rel/script""#),
        (r#"{"name": 5}"#, "parameter 'name': expected an absolute path (a string starting with '/'), got 5"),
        (r#"{"script": ""}"#, r#"parameter 'script': expected an absolute path (a string starting with '/'), got """#),
        (r#"{"name": "/a", "script": "/b"}"#, "parameter 'script': 'name' and its alias 'script' are both given; use one"),
        (r#"{"name": "/a", "sync": true, "wait": false}"#, "parameter 'wait': 'sync' and its alias 'wait' are both given; use one"),
        (r#"{"name": "/a", "sync": "yes"}"#, r#"parameter 'sync': expected true or false, got "yes""#),
        (r#"{"name": "/a", "wait": 1}"#, "parameter 'wait': expected true or false, got 1"),
        (r#"{"name": "/a", "nmae": "/b"}"#, "parameter 'nmae': unknown field `nmae`, expected one of `name`, `script`, `sync`, `wait`, `hook-points`, `timeout-ms`, `exit-codes`, `on-timeout`, `on-signal`, `max-in-flight`, `max-queued`, `overflow`, `merge-budget-bytes`, `block-ms`, `env`, `variables`, `mode`, `log-output`, `options`, `expressions`, `classes`, `user-contexts`, `host-reservation`, `replay-leases`, `trust-check`, `capabilities`, `user`, `group`, `limits`, `ha`"),
        (r#"{"name": "/a", "user": ""}"#, r#"parameter 'user': expected a name or a numeric id, got """#),
        (r#"{"name": "/a", "user": -1}"#, "parameter 'user': expected a name or a numeric id, got -1"),
        (r#"{"name": "/a", "user": 4294967295}"#, "parameter 'user': expected a name or a numeric id, got 4294967295"),
        (r#"{"name": "/a", "user": "a:b"}"#, r#"parameter 'user': expected a name or a numeric id, got "a:b""#),
        (r#"{"name": "/a", "user": ["nobody"]}"#, r#"parameter 'user': expected a name or a numeric id, got ["nobody"]"#),
        (r#"{"scripts": [{"name": "/a", "group": true}]}"#, "parameter 'scripts[0].group': expected a name or a numeric id, got true"),
        (r#"{"name": "/a", "limits": 5}"#, "parameter 'limits': invalid type: integer `5`, expected struct RawLimits"),
        (r#"{"name": "/a", "limits": {"cpu": 5}}"#, "parameter 'limits.cpu': unknown field `cpu`, expected one of `cpu-seconds`, `address-space`, `open-files`, `processes`"),
        (r#"{"name": "/a", "limits": {"cpu-seconds": 0}}"#, "parameter 'limits.cpu-seconds': expected a positive integer, got 0"),
        (r#"{"name": "/a", "limits": {"address-space": "1G"}}"#, r#"parameter 'limits.address-space': expected a positive integer, got "1G""#),
        (r#"{"scripts": [{"name": "/a", "limits": {"processes": -3}}]}"#, "parameter 'scripts[0].limits.processes': expected a positive integer, got -3"),
        (r#"{"name": "/a", "limits": {"open-files": 1.5}}"#, "parameter 'limits.open-files': expected a positive integer, got 1.5"),
        (r#"{"name": "/a", "capabilities": "CAP_NET_ADMIN"}"#, r#"parameter 'capabilities': expected a list of capability names, got "CAP_NET_ADMIN""#),
        (r#"{"name": "/a", "capabilities": [12]}"#, "parameter 'capabilities': expected capability names (strings), got 12"),
        (r#"{"name": "/a", "capabilities": ["NET_ADMIN"]}"#, r#"parameter 'capabilities': unknown capability "NET_ADMIN"; names are those of capabilities(7), e.g. "CAP_NET_ADMIN""#),
        (r#"{"scripts": [{"name": "/a", "capabilities": ["CAP_NET_ADMIN", "cap_net_admin"]}]}"#, r#"parameter 'scripts[0].capabilities': capability "cap_net_admin" is listed twice"#),
        (r#"{"name": "/a", "hook-points": "lease4_renew"}"#, r#"parameter 'hook-points': expected a non-empty list of hook-point names, got "lease4_renew""#),
        (r#"{"name": "/a", "hook-points": []}"#, "parameter 'hook-points': expected a non-empty list of hook-point names, got []"),
        (r#"{"name": "/a", "hook-points": [3]}"#, "parameter 'hook-points': expected hook-point names (strings), got 3"),
        (r#"{"name": "/a", "hook-points": ["lease4_renw"]}"#, r#"parameter 'hook-points': unknown hook point "lease4_renw" (expected one of: lease4_renew, lease4_expire"#),
        (r#"{"name": "/a", "hook-points": ["pkt4_send", "pkt4_send"]}"#, r#"parameter 'hook-points': hook point "pkt4_send" is listed twice"#),
        (r#"{"name": "/a", "timeout-ms": 0}"#, "parameter 'timeout-ms': expected a positive integer, got 0"),
        (r#"{"name": "/a", "timeout-ms": -5}"#, "parameter 'timeout-ms': expected a positive integer, got -5"),
        (r#"{"name": "/a", "timeout-ms": 1.5}"#, "parameter 'timeout-ms': expected a positive integer, got 1.5"),
        (r#"{"name": "/a", "timeout-ms": 4294967296}"#, "parameter 'timeout-ms': expected a positive integer, got 4294967296"),
        (r#"{"scripts": [{"name": "/a"}, {"name": "/b", "timeout-ms": "fast"}]}"#, r#"parameter 'scripts[1].timeout-ms': expected a positive integer, got "fast""#),
        (r#"{"name": "/a", "sync": true, "exit-codes": {"x": "drop"}}"#, r#"parameter 'exit-codes.x': expected exit codes 0..255 as keys, got "x""#),
        (r#"{"name": "/a", "sync": true, "exit-codes": {"256": "drop"}}"#, r#"parameter 'exit-codes.256': expected exit codes 0..255 as keys, got "256""#),
        (r#"{"name": "/a", "sync": true, "exit-codes": {"-1": "drop"}}"#, r#"parameter 'exit-codes.-1': expected exit codes 0..255 as keys, got "-1""#),
        (r#"{"name": "/a", "sync": true, "exit-codes": {"3": "reject"}}"#, r#"parameter 'exit-codes.3': expected "continue", "skip" or "drop", got "reject""#),
        (r#"{"name": "/a", "sync": true, "exit-codes": [3]}"#, "parameter 'exit-codes': invalid type: sequence, expected a map"),
        (r#"{"name": "/a", "sync": true, "on-timeout": "abort"}"#, r#"parameter 'on-timeout': expected "continue", "skip" or "drop", got "abort""#),
        (r#"{"name": "/a", "exit-codes": {"3": "drop"}}"#, "parameter 'exit-codes': only valid with sync: true"),
        (r#"{"name": "/a", "on-timeout": "drop"}"#, "parameter 'on-timeout': only valid with sync: true"),
        (r#"{"name": "/a", "on-signal": "drop"}"#, "parameter 'on-signal': only valid with sync: true"),
        (r#"{"name": "/a", "sync": true, "max-in-flight": 3}"#, "parameter 'max-in-flight': only valid with sync: false"),
        (r#"{"name": "/a", "wait": true, "max-queued": 3}"#, "parameter 'max-queued': only valid with sync: false"),
        (r#"{"name": "/a", "mode": "daemon"}"#, r#"parameter 'mode': expected "spawn" or "worker", got "daemon""#),
        (r#"{"name": "/a", "mode": true}"#, r#"parameter 'mode': expected "spawn" or "worker", got true"#),
        (r#"{"name": "/a", "mode": "worker", "max-in-flight": 2}"#, r#"parameter 'max-in-flight': only valid with mode: "spawn""#),
        (r#"{"name": "/a", "mode": "worker", "sync": true, "on-signal": "drop"}"#, r#"parameter 'on-signal': only valid with mode: "spawn""#),
        (r#"{"name": "/a", "mode": "worker", "timeout-ms": 100}"#, "parameter 'timeout-ms': only valid with sync: true (a worker has no run to time out)"),
        (r#"{"name": "/a", "mode": "worker", "exit-codes": {"3": "drop"}}"#, "parameter 'exit-codes': only valid with sync: true"),
        (r#"{"name": "/a", "mode": "worker", "on-timeout": "drop"}"#, "parameter 'on-timeout': only valid with sync: true"),
        (r#"{"name": "/a", "mode": "worker", "max-queued": 0}"#, "parameter 'max-queued': expected a positive integer for a worker (events held until answered), got 0"),
        (r#"{"name": "/a", "mode": "worker", "log-output": "yes"}"#, r#"parameter 'log-output': expected true or false, got "yes""#),
        (r#"{"name": "/a", "sync": true, "log-output": 1}"#, r#"parameter 'log-output': expected true or false, got 1"#),
        (r#"{"scripts": [{"name": "/a"}, {"name": "/b", "mode": "worker", "max-queued": -3}]}"#, "parameter 'scripts[1].max-queued': expected a non-negative integer, got -3"),
        (r#"{"name": "/a", "max-in-flight": 0}"#, "parameter 'max-in-flight': expected a positive integer, got 0"),
        (r#"{"name": "/a", "overflow": "queue"}"#, r#"parameter 'overflow': expected "merge", "block" or "drop", got "queue""#),
        (r#"{"name": "/a", "sync": true, "overflow": "drop"}"#, "parameter 'overflow': only valid with sync: false (a sync event is never merged, blocked or dropped)"),
        (r#"{"scripts": [{"name": "/a", "overflow": "block", "merge-budget-bytes": 10}]}"#, "parameter 'scripts[0].merge-budget-bytes': only valid with overflow: \"merge\""),
        (r#"{"name": "/a", "overflow": "drop", "block-ms": 10}"#, "parameter 'block-ms': only valid with overflow: \"merge\" or \"block\""),
        (r#"{"name": "/a", "merge-budget-bytes": 0}"#, "parameter 'merge-budget-bytes': expected a positive integer, got 0"),
        (r#"{"name": "/a", "mode": "worker", "sync": true, "block-ms": 5}"#, "parameter 'block-ms': only valid with sync: false (a sync event is never merged, blocked or dropped)"),
        (r#"{"name": "/a", "max-queued": -1}"#, "parameter 'max-queued': expected a non-negative integer, got -1"),
        (r#"{"name": "/a", "env": ["A=1"]}"#, "parameter 'env': invalid type: sequence, expected a map"),
        (r#"{"name": "/a", "env": {"1A": "x"}}"#, r#"parameter 'env.1A': expected variable names made of letters, digits and '_', not starting with a digit, got "1A""#),
        (r#"{"name": "/a", "env": {"A-B": "x"}}"#, r#"parameter 'env.A-B': expected variable names made of letters, digits and '_', not starting with a digit, got "A-B""#),
        (r#"{"name": "/a", "env": {"": "x"}}"#, r#"parameter 'env.': expected variable names made of letters, digits and '_', not starting with a digit, got """#),
        (r#"{"name": "/a", "env": {"A": 1}}"#, "parameter 'env.A': expected a string without NUL characters, got 1"),
        (r#"{"name": "/a", "env": {"A": "x\u0000y"}}"#, r#"parameter 'env.A': expected a string without NUL characters, got "x\u0000y""#),
        (r#"{"name": "/a", "variables": "khr"}"#, r#"parameter 'variables': expected "kea" or "kea-hook-runscript", got "khr""#),
        (r#"{"name": "/a", "variables": true}"#, r#"parameter 'variables': expected "kea" or "kea-hook-runscript", got true"#),
        (r#"{"script": "/a", "variables": "kea-hook-runscript", "hook-points": ["lease4_select", "leases4_committed"]}"#, r#"parameter 'hook-points': "leases4_committed" has no kea-hook-runscript variables (kea-hook-runscript has no such callout); run a second script with "variables": "kea" there"#),
        (r#"{"scripts": [{"name": "/a", "variables": "kea-hook-runscript", "hook-points": ["leases6_committed"]}]}"#, r#"parameter 'scripts[0].hook-points': "leases6_committed" has no kea-hook-runscript variables"#),
        (r#"{"script": "relative.sh"}"#, r#"parameter 'script': expected an absolute path (a string starting with '/'), got "relative.sh""#),
        (r#"{"wait": true}"#, "parameter 'name': required: the absolute path of the script (alias 'script')"),
        (r#"{"script": "/a", "wait": "yes"}"#, r#"parameter 'wait': expected true or false, got "yes""#),
        (r#"{"scripts": []}"#, "parameter 'scripts': expected a non-empty list of scripts, got []"),
        (r#"{"scripts": {"name": "/a"}}"#, r#"parameter 'scripts': expected a non-empty list of scripts, got {"name":"/a"}"#),
        (r#"{"scripts": ["/a"]}"#, r#"parameter 'scripts[0]': expected a JSON object, got "/a""#),
        (r#"{"scripts": [{"name": "/a"}], "sync": true}"#, "parameter 'sync': not allowed next to 'scripts' (put it inside each script)"),
        (r#"{"scripts": [{"name": "/a"}], "max-queued": 3}"#, "parameter 'max-queued': not allowed next to 'scripts' (put it inside each script)"),
        (r#"{"scripts": [{"name": "/a"}], "verbose": true}"#, "parameter 'verbose': unknown parameter (next to 'scripts' nothing else is allowed)"),
        (r#"{"scripts": [{"name": "/a"}, {"sync": true}]}"#, "parameter 'scripts[1].name': required: the absolute path of the script (alias 'script')"),
        (r#"{"scripts": [{"name": "/a", "bogus": 1}]}"#, "parameter 'scripts[0].bogus': unknown field `bogus`"),
        (r#"{"scripts": [{"name": "/a", "sync": true, "exit-codes": {"3": "nope"}}]}"#, r#"parameter 'scripts[0].exit-codes.3': expected "continue", "skip" or "drop", got "nope""#),
        (r#"{"name": "/a", "options": 60}"#, "parameter 'options': expected a non-empty list of option codes, got 60"),
        (r#"{"name": "/a", "options": []}"#, "parameter 'options': expected a non-empty list of option codes, got []"),
        (r#"{"name": "/a", "options": [0]}"#, "parameter 'options': expected option codes 1..65535, got 0"),
        (r#"{"name": "/a", "options": [65536]}"#, "parameter 'options': expected option codes 1..65535, got 65536"),
        (r#"{"name": "/a", "options": ["60"]}"#, r#"parameter 'options': expected option codes 1..65535, got "60""#),
        (r#"{"name": "/a", "options": [60, 77, 60]}"#, "parameter 'options': option 60 is listed twice"),
        (r#"{"name": "/a", "expressions": ["pkt4.mac"]}"#, "parameter 'expressions': invalid type: sequence, expected a map"),
        (r#"{"name": "/a", "expressions": {"mac": "pkt4.mac"}}"#, r#"parameter 'expressions.mac': expected variable names made of upper-case letters, digits and '_', not starting with a digit, got "mac""#),
        (r#"{"name": "/a", "expressions": {"9MAC": "pkt4.mac"}}"#, r#"parameter 'expressions.9MAC': expected variable names made of upper-case letters"#),
        (r#"{"name": "/a", "expressions": {"QUERY4_MAC": "pkt4.mac"}}"#, r#"parameter 'expressions.QUERY4_MAC': "QUERY4_MAC" is a name of the library's own variables (QUERY4*); choose another"#),
        (r#"{"name": "/a", "expressions": {"LEASES4": "pkt4.mac"}}"#, r#"parameter 'expressions.LEASES4': "LEASES4" is a name of the library's own variables (LEASES4*)"#),
        (r#"{"name": "/a", "expressions": {"HOST6_X": "pkt6.msgtype"}}"#, r#"parameter 'expressions.HOST6_X': "HOST6_X" is a name of the library's own variables (HOST6*)"#),
        (r#"{"name": "/a", "expressions": {"MAC": ""}}"#, r#"parameter 'expressions.MAC': expected an expression (a non-empty string), got """#),
        (r#"{"name": "/a", "expressions": {"MAC": 3}}"#, "parameter 'expressions.MAC': expected an expression (a non-empty string), got 3"),
        (r#"{"name": "/a", "env": {"MAC": "x"}, "expressions": {"MAC": "pkt4.mac"}}"#, "parameter 'expressions.MAC': also set in 'env'; use one"),
        (r#"{"name": "/a", "host-reservation": "yes"}"#, r#"parameter 'host-reservation': expected true or false, got "yes""#),
        (r#"{"name": "/a", "classes": 1}"#, "parameter 'classes': expected true or false, got 1"),
        (r#"{"name": "/a", "user-contexts": "true"}"#, r#"parameter 'user-contexts': expected true or false, got "true""#),
        (r#"{"name": "/a", "replay-leases": 1}"#, "parameter 'replay-leases': expected true or false, got 1"),
        (r#"{"name": "/a", "hook-points": ["lease4_replay"]}"#, r#"parameter 'hook-points': "lease4_replay" is chosen with "replay-leases": true, not listed"#),
        (r#"{"name": "/a", "sync": true, "hook-points": ["lease4_renew", "command_processed"]}"#, r#"parameter 'hook-points': "command_processed" is async only (Kea ignores a verdict there"#),
        (r#"{"scripts": [{"name": "/a", "mode": "worker", "sync": true, "hook-points": ["command_processed"]}]}"#, r#"parameter 'scripts[0].hook-points': "command_processed" is async only"#),
        (r#"{"name": "/a", "sync": true, "hook-points": ["lease4_offer", "lease4_server_decline"]}"#, r#"parameter 'hook-points': "lease4_server_decline" is async only (Kea ignores a verdict there"#),
        (r#"{"scripts": [{"name": "/a", "variables": "kea-hook-runscript", "hook-points": ["command_processed"]}]}"#, r#"parameter 'scripts[0].hook-points': "command_processed" has no kea-hook-runscript variables"#),
        (r#"{"scripts": [{"name": "/a", "variables": "kea-hook-runscript", "replay-leases": true}]}"#, r#"parameter 'scripts[0].replay-leases': needs "variables": "kea" (kea-hook-runscript has no replay)"#),
        (r#"{"name": "/a", "ha": true}"#, "parameter 'ha': invalid type: boolean `true`, expected struct RawHa"),
        (r#"{"name": "/a", "ha": {"partner": true}}"#, "parameter 'ha.partner': unknown field `partner`, expected one of `partner-events`, `expire-once`, `sync-replay`"),
        (r#"{"name": "/a", "ha": {"expire-once": "yes"}}"#, r#"parameter 'ha.expire-once': expected true or false, got "yes""#),
        (r#"{"name": "/a", "sync": true, "ha": {}}"#, "parameter 'ha.partner-events': only for async scripts"),
        (r#"{"scripts": [{"name": "/a", "variables": "kea-hook-runscript", "ha": {}}]}"#, r#"parameter 'scripts[0].ha': needs "variables": "kea""#),
    ];
    let mut failures = Vec::new();
    for (json, expected) in table {
        match Config::parse(json) {
            Ok(config) => failures.push(format!("{json}: accepted as {config:?}")),
            Err(err) => {
                let line = err.to_string();
                if !line.starts_with(expected) || line.contains('\n') {
                    failures.push(format!(
                        "{json}:\n   got      {line}\n   expected {expected}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn kea_single_script_form_gets_defaults() {
    let config = Config::parse(r#"{"name": "/usr/local/bin/s"}"#).unwrap();
    let script = &config.scripts[0];
    assert_eq!(script.path, PathBuf::from("/usr/local/bin/s"));
    assert_eq!(
        script.hook_points,
        HookPoint::ALL
            .iter()
            .copied()
            .filter(|hp| hp.kea_default())
            .collect::<Vec<_>>()
    );
    // Kea 2.x's 13 and Kea 3.0's addr6_register.
    assert_eq!(script.hook_points.len(), 14);
    assert_eq!(script.timeout, None);
    assert!(script.env.is_empty());
    assert_eq!(
        script.mode,
        Mode::Async(AsyncSettings {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_queued: DEFAULT_MAX_QUEUED
        })
    );
}

#[test]
fn full_sync_form_and_aliases() {
    let config = Config::parse(
        r#"{"script": "/s", "wait": true, "hook-points": ["lease4_select", "leases4_committed"],
            "timeout-ms": 1500, "exit-codes": {"0": "continue", "3": "skip", "4": "drop"},
            "on-timeout": "drop", "on-signal": "skip", "env": {"PATH": "/usr/bin:/bin"}}"#,
    )
    .unwrap();
    let script = &config.scripts[0];
    assert_eq!(
        script.hook_points,
        [HookPoint::Lease4Select, HookPoint::Leases4Committed]
    );
    assert_eq!(script.timeout, Some(Duration::from_millis(1500)));
    assert_eq!(
        script.env,
        [("PATH".to_owned(), "/usr/bin:/bin".to_owned())]
    );
    let Mode::Sync(sync) = &script.mode else {
        panic!("sync expected")
    };
    assert_eq!(sync.verdict_for(0), Some(Verdict::Continue));
    assert_eq!(sync.verdict_for(3), Some(Verdict::Skip));
    assert_eq!(sync.verdict_for(4), Some(Verdict::Drop));
    assert_eq!(sync.verdict_for(5), None);
    assert_eq!(sync.verdict_for(-1), None);
    assert_eq!(
        (sync.on_timeout, sync.on_signal),
        (Verdict::Drop, Verdict::Skip)
    );
}

#[test]
fn sync_defaults_and_null_means_default() {
    let config = Config::parse(r#"{"name": "/s", "sync": true}"#).unwrap();
    let with_nulls = Config::parse(
        r#"{"name": "/s", "sync": true, "on-signal": null, "timeout-ms": null, "exit-codes": null}"#,
    )
    .unwrap();
    assert_eq!(config, with_nulls);
    let script = &config.scripts[0];
    assert_eq!(script.timeout, Some(DEFAULT_SYNC_TIMEOUT));
    let Mode::Sync(sync) = &script.mode else {
        panic!("sync expected")
    };
    assert_eq!(sync.exit_codes, BTreeMap::from([(0, Verdict::Continue)]));
    assert_eq!(
        (sync.on_timeout, sync.on_signal),
        (Verdict::Continue, Verdict::Continue)
    );
}

#[test]
fn multi_script_form_keeps_order_and_labels() {
    let config = Config::parse(
        r#"{"scripts": [{"name": "/a"}, {"script": "/b", "wait": true, "hook-points": ["pkt6_send"]}]}"#,
    )
    .unwrap();
    assert_eq!(config.scripts.len(), 2);
    assert_eq!(config.scripts[1].path, PathBuf::from("/b"));
    assert_eq!(config.scripts[1].label, "scripts[1]");
    assert!(matches!(config.scripts[1].mode, Mode::Sync(_)));
}

/// How the profile and its defaults are chosen: (parameters, profile, sync, timeout-ms,
/// number of default hook points).
#[test]
fn the_profile_follows_the_keys_and_brings_its_defaults() {
    use kea_runscript_env::Profile::{Kea, KeaHookRunscript as Khr};
    let table: &[(&str, Profile, bool, Option<u64>, usize)] = &[
        // Only kea-hook-runscript's keys: its profile, waiting, no timeout, its 19 callouts.
        (r#"{"script": "/s"}"#, Khr, true, None, 19),
        (r#"{"script": "/s", "wait": true}"#, Khr, true, None, 19),
        (r#"{"script": "/s", "wait": false}"#, Khr, false, None, 19),
        (r#"{"wait": false, "script": "/s"}"#, Khr, false, None, 19),
        // Any key of ours: Kea's profile and our defaults, as before (aliases stay aliases);
        // Kea's 14 hook points (13 in Kea 2.x, and addr6_register, which only Kea 3.0 calls).
        (r#"{"name": "/s"}"#, Kea, false, None, 14),
        (r#"{"name": "/s", "wait": true}"#, Kea, true, Some(2000), 14),
        (
            r#"{"script": "/s", "sync": true}"#,
            Kea,
            true,
            Some(2000),
            14,
        ),
        (
            r#"{"script": "/s", "wait": true, "timeout-ms": 500}"#,
            Kea,
            true,
            Some(500),
            14,
        ),
        (
            r#"{"script": "/s", "env": {"A": "1"}}"#,
            Kea,
            false,
            None,
            14,
        ),
        (r#"{"scripts": [{"script": "/s"}]}"#, Kea, false, None, 14),
        // "variables" chooses explicitly, with that profile's defaults.
        (
            r#"{"script": "/s", "variables": "kea"}"#,
            Kea,
            false,
            None,
            14,
        ),
        (
            r#"{"name": "/s", "variables": "kea-hook-runscript"}"#,
            Khr,
            true,
            None,
            19,
        ),
        (
            r#"{"scripts": [{"script": "/s", "variables": "kea-hook-runscript"}]}"#,
            Khr,
            true,
            None,
            19,
        ),
        (
            r#"{"script": "/s", "variables": "kea-hook-runscript", "timeout-ms": 300}"#,
            Khr,
            true,
            Some(300),
            19,
        ),
        (
            r#"{"script": "/s", "variables": "kea-hook-runscript", "sync": false}"#,
            Khr,
            false,
            None,
            19,
        ),
    ];
    for &(json, profile, sync, timeout_ms, points) in table {
        let config = Config::parse(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        let script = &config.scripts[0];
        assert_eq!(script.variables, profile, "{json}");
        assert_eq!(matches!(script.mode, Mode::Sync(_)), sync, "{json}");
        assert_eq!(
            script.timeout,
            timeout_ms.map(Duration::from_millis),
            "{json}"
        );
        assert_eq!(script.hook_points.len(), points, "{json}");
        assert_eq!(script.hook_points, profile.default_hook_points(), "{json}");
    }
}

#[test]
fn kea_hook_runscript_ignores_exit_codes_unless_told() {
    let config = Config::parse(r#"{"script": "/s"}"#).unwrap();
    let Mode::Sync(sync) = &config.scripts[0].mode else {
        panic!("sync expected")
    };
    for code in [0, 1, 4, 255] {
        assert_eq!(sync.verdict_for(code), Some(Verdict::Continue), "{code}");
    }
    assert!(config.scripts[0]
        .summary()
        .contains("exit-codes=all continue"));
    // Mixed with our verdicts: our rules, unlisted codes continue and are logged.
    let config = Config::parse(
        r#"{"script": "/s", "variables": "kea-hook-runscript", "exit-codes": {"4": "drop"}}"#,
    )
    .unwrap();
    let Mode::Sync(sync) = &config.scripts[0].mode else {
        panic!("sync expected")
    };
    assert_eq!(sync.verdict_for(4), Some(Verdict::Drop));
    assert_eq!(sync.verdict_for(1), None);
}

#[test]
fn options_expressions_reservation_and_replay_are_parsed() {
    let config = Config::parse(
        r#"{"name": "/s", "options": [60, 77, 300], "host-reservation": false, "replay-leases": true,
            "hook-points": ["leases4_committed"],
            "expressions": {"VENDOR": "substring(option[60].hex,0,9)", "MAC": "pkt4.mac", "_X1": "'a'"}}"#,
    )
    .unwrap();
    let script = &config.scripts[0];
    assert_eq!(script.options, [60, 77, 300]);
    // Name order: deterministic whatever the JSON order.
    let names: Vec<&str> = script.expressions.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["MAC", "VENDOR", "_X1"]);
    assert_eq!(script.expressions[1].1, "substring(option[60].hex,0,9)");
    assert!(!script.host_reservation && script.replay_leases);
    assert!(config.has_expressions());
    assert_eq!(
        script.hook_points,
        [
            HookPoint::Leases4Committed,
            HookPoint::Lease4Replay,
            HookPoint::Lease6Replay
        ]
    );
    assert_eq!(config.check_family(Family::V6), Ok(()));
    assert_eq!(
        config.check_family(Family::V4).unwrap_err().to_string(),
        "parameter 'options[2]': 300 is not a DHCPv4 option code (1..254)"
    );
    let multi = Config::parse(r#"{"scripts": [{"name": "/a"}, {"name": "/b", "options": [255]}]}"#)
        .unwrap();
    assert_eq!(
        multi.check_family(Family::V4).unwrap_err().to_string(),
        "parameter 'scripts[1].options[0]': 255 is not a DHCPv4 option code (1..254)"
    );
}

#[test]
fn ha_is_opt_in_per_script_and_each_behaviour_on_unless_set_false() {
    let config = Config::parse(
        r#"{"scripts": [{"name": "/a", "ha": {}},
                        {"name": "/b", "sync": true, "ha": {"partner-events": false, "sync-replay": false}},
                        {"name": "/c"}]}"#,
    )
    .unwrap();
    let [a, b, c] = &config.scripts[..] else {
        panic!("three scripts")
    };
    assert_eq!(a.ha, Some(HaSettings::default()));
    let b_ha = b.ha.expect("given");
    assert!(!b_ha.partner_events && b_ha.expire_once && !b_ha.sync_replay);
    assert_eq!(c.ha, None);
    assert!(a.extras().ha && b.extras().ha && !c.extras().ha);
    assert!(a.has_additions() && !c.has_additions());
    assert!(crate::ha::wants_partner_events(a) && !crate::ha::wants_partner_events(b));
    assert!(!crate::ha::wants_expiry(a, false) && crate::ha::wants_expiry(a, true));
    assert!(
        crate::ha::wants_expiry(c, false),
        "a plain script gets every expiry"
    );
}

#[test]
fn classes_user_contexts_and_host_reservation_are_opt_in_per_script() {
    let config = Config::parse(
        r#"{"scripts": [{"name": "/a", "classes": true},
                        {"name": "/b", "user-contexts": true, "host-reservation": true},
                        {"name": "/c", "classes": false, "user-contexts": false}]}"#,
    )
    .unwrap();
    let [a, b, c] = &config.scripts[..] else {
        panic!("three scripts")
    };
    assert_eq!(
        a.extras(),
        kea_runscript_env::Extras::new(true, false, false)
    );
    assert_eq!(
        b.extras(),
        kea_runscript_env::Extras::new(false, true, true)
    );
    assert!(a.has_additions() && b.has_additions() && !c.has_additions());
    assert!(b
        .summary()
        .contains("classes=false, user-contexts=true, host-reservation=true"));
}

#[test]
fn without_the_new_keys_nothing_is_added() {
    let config = Config::parse(r#"{"name": "/s"}"#).unwrap();
    let script = &config.scripts[0];
    assert!(script.options.is_empty() && script.expressions.is_empty());
    assert!(!script.host_reservation && !script.replay_leases);
    assert!(!script.classes && !script.user_contexts && !script.has_additions());
    assert!(!config.has_expressions());
    assert!(!script.hook_points.iter().any(|hp| hp.is_replay()));
    assert_eq!(config.check_family(Family::V4), Ok(()));
}

#[test]
fn mode_defaults_to_spawn_and_worker_settings_parse() {
    let table: &[(&str, RunnerKind, bool, bool)] = &[
        (r#"{"name": "/s"}"#, RunnerKind::Spawn, false, false),
        (
            r#"{"name": "/s", "mode": "spawn"}"#,
            RunnerKind::Spawn,
            false,
            false,
        ),
        (
            r#"{"name": "/s", "mode": null}"#,
            RunnerKind::Spawn,
            false,
            false,
        ),
        (
            r#"{"name": "/s", "mode": "worker"}"#,
            RunnerKind::Worker(WorkerSettings {
                max_queued: DEFAULT_WORKER_MAX_QUEUED,
            }),
            false,
            false,
        ),
        (
            r#"{"name": "/s", "mode": "worker", "max-queued": 5, "log-output": true}"#,
            RunnerKind::Worker(WorkerSettings { max_queued: 5 }),
            false,
            true,
        ),
        (
            r#"{"name": "/s", "log-output": true}"#,
            RunnerKind::Spawn,
            false,
            true,
        ),
        (
            r#"{"name": "/s", "sync": true, "log-output": true}"#,
            RunnerKind::Spawn,
            true,
            true,
        ),
        (
            r#"{"name": "/s", "mode": "worker", "sync": true, "timeout-ms": 50, "max-queued": 7}"#,
            RunnerKind::Worker(WorkerSettings { max_queued: 7 }),
            true,
            false,
        ),
    ];
    for (json, runner, sync, log_output) in table {
        let config = Config::parse(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        let script = &config.scripts[0];
        assert_eq!(&script.runner, runner, "{json}");
        assert_eq!(matches!(script.mode, Mode::Sync(_)), *sync, "{json}");
        assert_eq!(script.log_output, *log_output, "{json}");
    }
    let sync_worker = Config::parse(
        r#"{"name": "/s", "mode": "worker", "sync": true, "exit-codes": {"4": "drop"}, "on-timeout": "skip"}"#,
    )
    .unwrap();
    let script = &sync_worker.scripts[0];
    assert_eq!(script.timeout, Some(DEFAULT_SYNC_TIMEOUT));
    let Mode::Sync(sync) = &script.mode else {
        panic!("sync expected")
    };
    assert_eq!(
        (sync.verdict_for(4), sync.on_timeout),
        (Some(Verdict::Drop), Verdict::Skip)
    );
    assert!(
        script.summary().contains("sync worker max-queued=10000"),
        "{}",
        script.summary()
    );
}

/// Found by the `config` fuzz target: an unknown key with a newline (a JSON `\n` escape)
/// was echoed verbatim, splitting the "one line" in Kea's log. Control characters in a
/// quoted key or value are escaped.
#[test]
fn errors_stay_one_line_whatever_the_keys_hold() {
    let table: &[(&str, &str)] = &[
        (
            r#"{"name": "/a", "bad\nkey": 1}"#,
            "parameter 'bad\\nkey': unknown field `bad\\nkey`, expected one of",
        ),
        (
            r#"{"name": "/a", "env": {"A\u001b[2J": "x"}}"#,
            "parameter 'env.A\\u{1b}[2J': expected variable names",
        ),
        (r#"{"name": "/a\r\nforged"}"#, ""),
    ];
    for (json, start) in table {
        match Config::parse(json) {
            Err(e) => {
                let line = e.to_string();
                assert!(!line.chars().any(char::is_control), "{line:?}");
                assert!(line.starts_with(start), "{json}: {line}");
            }
            Ok(config) => {
                // A control character in a script path is allowed by the parser (the file
                // check at load names it, escaped).
                assert!(start.is_empty(), "{json} parsed: {config:?}");
                let e = config.check_scripts().unwrap_err().to_string();
                assert!(!e.chars().any(char::is_control), "{e:?}");
            }
        }
    }
}

mod trust {
    use super::super::check::{distrust, trusted, Entry};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn entry(uid: u32, mode: u32, is_dir: bool) -> Entry {
        Entry {
            uid,
            gid: 50,
            mode,
            is_dir,
        }
    }

    /// The rule, one row per case: (owner uid, mode, directory?, Kea's uid, trusted?).
    #[test]
    fn owner_and_mode_table() {
        let table: &[(u32, u32, bool, u32, Option<&str>)] = &[
            (0, 0o755, false, 0, None),
            (0, 0o755, true, 0, None),
            (101, 0o700, false, 101, None),
            (0, 0o750, true, 101, None),
            (
                1000,
                0o755,
                false,
                0,
                Some("is owned by uid 1000 (only root or Kea's user, uid 0, may own it)"),
            ),
            (
                1000,
                0o755,
                true,
                101,
                Some("is owned by uid 1000 (only root or Kea's user, uid 101, may own it)"),
            ),
            (
                0,
                0o775,
                false,
                0,
                Some("is writable by the members of group 50 (mode 0775)"),
            ),
            (
                0,
                0o770,
                true,
                0,
                Some("is writable by the members of group 50 (mode 0770)"),
            ),
            (
                0,
                0o757,
                false,
                0,
                Some("is writable by every user (mode 0757)"),
            ),
            (
                0,
                0o777,
                true,
                0,
                Some("is writable by every user (mode 0777)"),
            ),
            // A root-owned sticky directory (/tmp) is fine; a sticky file is not a directory,
            // and a sticky directory of another owner could be emptied by that owner.
            (0, 0o1777, true, 0, None),
            (0, 0o1777, true, 101, None),
            (
                101,
                0o1777,
                true,
                101,
                Some("is writable by every user (mode 1777)"),
            ),
            (
                0,
                0o1777,
                false,
                0,
                Some("is writable by every user (mode 1777)"),
            ),
            (0, 0o1775, true, 0, None),
        ];
        for &(uid, mode, is_dir, kea, want) in table {
            assert_eq!(
                distrust(entry(uid, mode, is_dir), kea).as_deref(),
                want,
                "uid {uid} mode {mode:o} dir {is_dir} kea {kea}"
            );
        }
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn me() -> u32 {
        super::super::check::kea_uid()
    }

    /// Real files: a tempdir under /tmp (root-owned and sticky) passes; a group- or
    /// world-writable directory above the script, or the script itself, fails with the
    /// path and the mode in the message; a symlink from a trusted place into an
    /// untrusted one fails on the untrusted one.
    #[test]
    fn real_paths() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("bin");
        std::fs::create_dir(&sub).unwrap();
        let script = sub.join("s.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        chmod(&script, 0o755);
        chmod(&sub, 0o755);
        trusted(&script, me()).unwrap();

        chmod(&sub, 0o775);
        let err = trusted(&script, me()).unwrap_err();
        assert!(
            err.contains(&format!(
                "directory \"{}\" is writable by the members of group",
                sub.display()
            )),
            "{err}"
        );
        assert!(
            err.contains("mode 0775")
                && err.contains("\"trust-check\": false")
                && err.contains("chmod go-w"),
            "{err}"
        );
        chmod(&sub, 0o777);
        let err = trusted(&script, me()).unwrap_err();
        assert!(
            err.contains("is writable by every user (mode 0777)"),
            "{err}"
        );
        // Sticky: trusted when root owns it (the rule /tmp itself passes by).
        chmod(&sub, 0o1777);
        assert_eq!(trusted(&script, me()).is_ok(), me() == 0);
        chmod(&sub, 0o755);
        chmod(&script, 0o757);
        let err = trusted(&script, me()).unwrap_err();
        assert!(
            err.contains(&format!(
                "file \"{}\" is writable by every user (mode 0757)",
                script.display()
            )),
            "{err}"
        );
        chmod(&script, 0o755);

        // trusted/link -> untrusted/real.sh
        let bad = dir.path().join("untrusted");
        std::fs::create_dir(&bad).unwrap();
        let real = bad.join("real.sh");
        std::fs::write(&real, "#!/bin/sh\n").unwrap();
        chmod(&real, 0o755);
        chmod(&bad, 0o777);
        let link = sub.join("link.sh");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = trusted(&link, me()).unwrap_err();
        assert!(
            err.contains(&format!(
                "directory \"{}\" is writable by every user",
                bad.display()
            )),
            "{err}"
        );
    }

    /// `trust-check: false` skips the check at load; the default runs it.
    #[test]
    fn opt_out_per_script() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        chmod(&script, 0o777);
        let json = |extra: &str| format!(r#"{{"name": "{}"{extra}}}"#, script.display());
        let err = crate::Config::load(&json("")).unwrap_err();
        assert_eq!(err.path, "name");
        assert!(
            err.message
                .contains("is writable by every user (mode 0777)"),
            "{err}"
        );
        crate::Config::load(&json(r#", "trust-check": true"#)).unwrap_err();
        let config = crate::Config::load(&json(r#", "trust-check": false"#)).unwrap();
        assert!(!config.scripts[0].trust_check);
    }
}

#[test]
fn capabilities_are_parsed_by_name() {
    let config = Config::parse(r#"{"name": "/a"}"#).unwrap();
    assert_eq!(config.scripts[0].capabilities, None);
    let config = Config::parse(r#"{"name": "/a", "capabilities": []}"#).unwrap();
    assert_eq!(config.scripts[0].capabilities, Some(CapabilitySet::EMPTY));
    let config =
        Config::parse(r#"{"name": "/a", "capabilities": ["CAP_NET_RAW", "cap_net_admin"]}"#)
            .unwrap();
    let caps = config.scripts[0].capabilities.unwrap();
    assert_eq!(caps.bits(), (1 << 12) | (1 << 13));
    assert!(config.scripts[0]
        .summary()
        .contains("capabilities=CAP_NET_ADMIN CAP_NET_RAW)"));
}

#[test]
fn user_group_and_limits_are_parsed() {
    let config = Config::parse(r#"{"name": "/a"}"#).unwrap();
    let script = &config.scripts[0];
    assert_eq!((&script.user, &script.group), (&None, &None));
    assert!(script.limits.is_empty() && script.privileges().is_none());
    let config = Config::parse(
        r#"{"name": "/a", "user": "nobody", "group": "65534",
            "limits": {"processes": 9, "cpu-seconds": 2, "address-space": 1073741824, "open-files": 64}}"#,
    )
    .unwrap();
    let script = &config.scripts[0];
    assert_eq!(script.user, Some(Account::Name("nobody".into())));
    assert_eq!(script.group, Some(Account::Id(65534)));
    assert_eq!(
        script.limits,
        [
            (Resource::CpuSeconds, 2),
            (Resource::AddressSpace, 1 << 30),
            (Resource::OpenFiles, 64),
            (Resource::Processes, 9)
        ]
    );
    // Not resolved yet (parse touches no database).
    assert_eq!(script.ids, None);
    let config = Config::parse(r#"{"name": "/a", "user": 0}"#).unwrap();
    assert_eq!(config.scripts[0].user, Some(Account::Id(0)));
}

/// Resolution at load: names and ids through the user and group databases, one line naming
/// the parameter for an unknown account or an impossible limit.
#[test]
fn accounts_are_resolved_at_load_with_messages_naming_the_parameter() {
    // SAFETY: geteuid() cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let resolve = |json: &str| {
        let mut config = Config::parse(json).unwrap();
        config.resolve_accounts().map(|()| config)
    };
    let err = resolve(r#"{"name": "/a", "user": "no-such-user-krs"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter 'user': user \"no-such-user-krs\" does not exist on this system (no entry in the user database)"
    );
    let err =
        resolve(r#"{"scripts": [{"name": "/a"}, {"name": "/b", "user": 3999999}]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter 'scripts[1].user': user 3999999 does not exist on this system (no entry in the user database)"
    );
    let err =
        resolve(r#"{"name": "/a", "user": "nobody", "group": "no-such-group-krs"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter 'group': group \"no-such-group-krs\" does not exist on this system (no entry in the group database)"
    );
    let err = resolve(r#"{"name": "/a", "limits": {"open-files": 1099511627776}}"#).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "parameter 'limits.open-files': 1099511627776 is above the kernel's bound on open files (fs.nr_open = "
        ),
        "{err}"
    );
    if !root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs root; CI=true"
        );
        eprintln!("******** SKIP: the rest needs root ********");
        return;
    }
    let config = resolve(r#"{"name": "/a", "user": "nobody"}"#).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let ids = config.scripts[0].ids.clone().unwrap();
    assert_eq!(
        (ids.uid, ids.gid),
        (nobody.uid.as_raw(), nobody.gid.as_raw())
    );
    assert!(ids.groups.contains(&ids.gid), "{ids:?}");
    assert!(config.scripts[0]
        .summary()
        .contains(&format!("; runs as uid {} gid {} groups", ids.uid, ids.gid)));
    let config =
        resolve(r#"{"name": "/a", "user": 0, "group": "nogroup", "limits": {"cpu-seconds": 3}}"#)
            .unwrap();
    let ids = config.scripts[0].ids.clone().unwrap();
    let nogroup = nix::unistd::Group::from_name("nogroup").unwrap().unwrap();
    assert_eq!((ids.uid, ids.gid), (0, nogroup.gid.as_raw()));
    assert!(config.scripts[0]
        .summary()
        .ends_with("; limits cpu-seconds=3"));
}

#[test]
fn overflow_defaults_to_merge_and_its_keys_parse() {
    let one = |json: &str| Config::parse(json).unwrap().scripts.remove(0);
    let default = one(r#"{"name": "/s"}"#).overflow;
    assert_eq!(default, OverflowSettings::default());
    assert_eq!(default.policy, Overflow::Merge);
    assert_eq!(default.merge_budget_bytes, DEFAULT_MERGE_BUDGET_BYTES);
    assert_eq!(default.block, DEFAULT_BLOCK);
    let merge =
        one(r#"{"name": "/s", "overflow": "merge", "merge-budget-bytes": 4096, "block-ms": 20}"#);
    assert_eq!(
        (merge.overflow.byte_budget(), merge.overflow.block),
        (4096, Duration::from_millis(20))
    );
    assert!(
        merge
            .summary()
            .contains("overflow=merge merge-budget-bytes=4096 block-ms=20"),
        "{}",
        merge.summary()
    );
    let block =
        one(r#"{"name": "/s", "mode": "worker", "overflow": "block", "block-ms": 5}"#).overflow;
    assert_eq!(
        (block.policy, block.byte_budget()),
        (Overflow::Block, usize::MAX)
    );
    let drop = one(r#"{"name": "/s", "overflow": "drop"}"#);
    assert!(!drop.overflow.blocks());
    assert!(
        drop.summary().contains("overflow=drop"),
        "{}",
        drop.summary()
    );
}

#[test]
fn command_processed_takes_async_scripts_only() {
    let config = Config::parse(
        r#"{"scripts": [
            {"name": "/a", "hook-points": ["command_processed"]},
            {"name": "/b", "mode": "worker", "hook-points": ["command_processed", "lease4_renew"]}
        ]}"#,
    )
    .unwrap();
    for script in &config.scripts {
        assert!(script.hook_points.contains(&HookPoint::CommandProcessed));
        assert!(matches!(script.mode, Mode::Async(_)), "{script:?}");
    }
    // Never selected by default: an operator opts in.
    let config = Config::parse(r#"{"name": "/a"}"#).unwrap();
    assert!(!config.scripts[0]
        .hook_points
        .contains(&HookPoint::CommandProcessed));
    let err =
        Config::parse(r#"{"name": "/a", "sync": true, "hook-points": ["command_processed"]}"#)
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("High Availability") && !err.contains('\n'),
        "{err}"
    );
}
