//! `command_processed`: the real kea-dhcp4 with a unix control socket and an async script
//! there. Every command sent over the socket, whatever its result, reaches the script with
//! its name, its arguments as compact JSON, and the result and text of Kea's answer (the
//! same answer the socket's client got). A sync script there is refused before Kea serves.

mod common;

use std::path::Path;
use std::time::Duration;

use common::dump::{Dump, Record};
use common::kea::{check_config, command, hook, start_outcome, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{our_library, require_prereqs, Scratch};
use serde_json::{json, Value};

/// The record of the script's run for the command `name` whose arguments are `arguments`
/// (compact JSON, "" for none).
fn record_of(dump: &Dump, name: &str, arguments: &str) -> Record {
    dump.wait_one("command_processed", Duration::from_secs(20), |r| {
        r.has("COMMAND_NAME", name) && r.has("COMMAND_ARGUMENTS", arguments)
    })
}

/// Asserts that `record` shows the result and text of Kea's `answer`.
fn assert_shows_answer(record: &Record, answer: &Value) {
    let result = answer["result"].as_i64().expect("an integer result");
    let text = answer["text"].as_str().unwrap_or_default();
    record.check(&[
        ("COMMAND_RESULT", &result.to_string()),
        ("COMMAND_TEXT", text),
    ]);
}

#[test]
fn every_control_command_reaches_the_async_script() {
    if !require_prereqs() {
        return;
    }
    let scratch = Scratch::new("cmdproc");
    let dump = Dump::new(&scratch, "dump");
    let socket = scratch.join("kea.sock");
    let tb = Testbed::new();
    let parameters = json!({
        "name": dump.script, "sync": false, "hook-points": ["command_processed"]
    });
    let mut settings = Settings::new(Family::V4, false, vec![hook(&our_library(), parameters)]);
    settings.control_socket = Some(socket.clone());
    let mut kea = Kea::start(&tb, &scratch, &settings);

    // A command without arguments.
    let version = command(&socket, &json!({"command": "version-get"}));
    assert_eq!(version["result"], 0, "{version}");
    let record = record_of(&dump, "version-get", "");
    assert_shows_answer(&record, &version);
    record.check(&[("COMMAND_ARGUMENTS_TRUNCATED", "")]);

    // A command Kea does not know: result 2, still reported.
    let unknown = command(
        &socket,
        &json!({"command": "no-such-command", "arguments": {"b": [1, 2], "a": "x y"}}),
    );
    assert_eq!(unknown["result"], 2, "{unknown}");
    // Kea's arguments as compact JSON, keys in order.
    let record = record_of(&dump, "no-such-command", r#"{"a":"x y","b":[1,2]}"#);
    assert_shows_answer(&record, &unknown);
    record.check(&[("COMMAND_ARGUMENTS_TRUNCATED", "false")]);

    // A command with arguments, answered with a large response (only its result and text
    // are variables).
    let stat = command(
        &socket,
        &json!({"command": "statistic-get", "arguments": {"name": "pkt4-received"}}),
    );
    assert_eq!(stat["result"], 0, "{stat}");
    let record = record_of(&dump, "statistic-get", r#"{"name":"pkt4-received"}"#);
    assert_shows_answer(&record, &stat);

    let config = command(&socket, &json!({"command": "config-get"}));
    assert_eq!(config["result"], 0, "{config}");
    let record = record_of(&dump, "config-get", "");
    assert_shows_answer(&record, &config);

    // Exactly the command_processed variables (nothing of the DHCP hook points), in order.
    let names: Vec<&str> = record
        .raw
        .names()
        .map(|n| std::str::from_utf8(n).expect("ASCII names"))
        .collect();
    assert_eq!(
        names,
        [
            "COMMAND_NAME",
            "COMMAND_ARGUMENTS",
            "COMMAND_ARGUMENTS_TRUNCATED",
            "COMMAND_RESULT",
            "COMMAND_TEXT"
        ],
        "{record:#?}"
    );
    // One run per command, none twice. Kea 2.6 and later load their configuration file
    // through the config-set command itself, after the hook library is loaded: that run
    // is the only other one there may be.
    let records = dump.records();
    let sent = [
        "version-get",
        "no-such-command",
        "statistic-get",
        "config-get",
    ];
    let (ours, others): (Vec<_>, Vec<_>) = records
        .iter()
        .partition(|r| sent.contains(&r.var("COMMAND_NAME")));
    assert_eq!(ours.len(), 4, "{records:#?}");
    assert!(
        others.iter().all(|r| r.var("COMMAND_NAME") == "config-set")
            && others.len() <= usize::from(common::kea::kea_hooks_version() >= 20600),
        "{others:#?}"
    );
    kea.assert_healthy();
}

#[test]
fn a_sync_script_at_command_processed_is_refused() {
    if !require_prereqs() {
        return;
    }
    let scratch = Scratch::new("cmdsync");
    let dump = Dump::new(&scratch, "dump");
    let log = scratch.join("kea.log");
    let config = |sync: bool, log: &Path| {
        let parameters = json!({
            "name": dump.script, "sync": sync, "hook-points": ["command_processed"]
        });
        Settings::new(Family::V4, false, vec![hook(&our_library(), parameters)])
            .config_without_interfaces(log)
    };
    let expected = "\"command_processed\" is async only";
    let (ok, out) = check_config(Family::V4, &scratch, &config(true, &log));
    assert!(
        !ok,
        "kea-dhcp4 -t accepted a sync script at command_processed:\n{out}"
    );
    assert!(out.contains(expected), "{out}");
    let (ok, out) = start_outcome(Family::V4, &scratch, &config(true, &log), &log);
    assert!(
        !ok,
        "Kea started with a sync script at command_processed:\n{out}"
    );
    assert!(out.contains(expected), "{out}");
    let good = scratch.join("good.log");
    let (ok, out) = check_config(Family::V4, &scratch, &config(false, &good));
    assert!(ok, "an async script at command_processed must pass:\n{out}");
}
