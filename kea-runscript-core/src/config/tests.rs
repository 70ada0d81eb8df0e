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
        (r#"{"name": "/a", "nmae": "/b"}"#, "parameter 'nmae': unknown field `nmae`, expected one of `name`, `script`, `sync`, `wait`, `hook-points`, `timeout-ms`, `exit-codes`, `on-timeout`, `on-signal`, `max-in-flight`, `max-queued`, `env`, `variables`, `mode`, `log-output`"),
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
        (r#"{"name": "/a", "log-output": true}"#, r#"parameter 'log-output': only valid with mode: "worker" (for now)"#),
        (r#"{"name": "/a", "sync": true, "log-output": false}"#, r#"parameter 'log-output': only valid with mode: "worker" (for now)"#),
        (r#"{"scripts": [{"name": "/a"}, {"name": "/b", "mode": "worker", "max-queued": -3}]}"#, "parameter 'scripts[1].max-queued': expected a non-negative integer, got -3"),
        (r#"{"name": "/a", "max-in-flight": 0}"#, "parameter 'max-in-flight': expected a positive integer, got 0"),
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
        // Any key of ours: Kea's profile and our defaults, as before (aliases stay aliases).
        (r#"{"name": "/s"}"#, Kea, false, None, 13),
        (r#"{"name": "/s", "wait": true}"#, Kea, true, Some(2000), 13),
        (
            r#"{"script": "/s", "sync": true}"#,
            Kea,
            true,
            Some(2000),
            13,
        ),
        (
            r#"{"script": "/s", "wait": true, "timeout-ms": 500}"#,
            Kea,
            true,
            Some(500),
            13,
        ),
        (
            r#"{"script": "/s", "env": {"A": "1"}}"#,
            Kea,
            false,
            None,
            13,
        ),
        (r#"{"scripts": [{"script": "/s"}]}"#, Kea, false, None, 13),
        // "variables" chooses explicitly, with that profile's defaults.
        (
            r#"{"script": "/s", "variables": "kea"}"#,
            Kea,
            false,
            None,
            13,
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
