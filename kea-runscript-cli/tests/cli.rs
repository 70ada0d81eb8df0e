//! The real `kea-runscript` binary against real scripts, event fixtures and lease files.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kea_runscript_env::Event;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures/events").join(name)
}

fn cli(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kea-runscript"))
        .args(args)
        .output()
        .expect("the kea-runscript binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An executable `/bin/sh` script with `body` in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn render_prints_every_fixture_as_the_hook_renders_it() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("fixtures/events")).unwrap() {
        let path = entry.unwrap().path();
        let event: Event = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let expected: String = event
            .render()
            .into_iter()
            .map(|(name, value)| format!("{name}={value}\n"))
            .collect();
        let output = cli(&[&"render", &path]);
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            stderr(&output)
        );
        assert_eq!(stdout(&output), expected, "{}", path.display());
        checked += 1;
    }
    assert_eq!(
        checked,
        kea_runscript_env::HookPoint::ALL.len(),
        "one fixture per hook point"
    );
    let output = cli(&[&"render", &fixture("lease4_expire.json")]);
    assert!(stdout(&output).starts_with("LEASE4_ADDRESS=192.0.2.10\n"));
    assert!(stdout(&output).ends_with("REMOVE_LEASE=true\n"));
    // The other variable set, as a script with "variables": "kea-hook-runscript" gets it.
    let output = cli(&[
        &"render",
        &"--variables",
        &"kea-hook-runscript",
        &fixture("lease4_expire.json"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).ends_with("KEA_REMOVE_LEASE=1\n"),
        "{}",
        stdout(&output)
    );
    let output = cli(&[
        &"render",
        &"--variables",
        &"kea2",
        &fixture("lease4_expire.json"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("kea2"), "{}", stderr(&output));
}

#[test]
fn render_errors_name_the_file_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let bad_json = dir.path().join("bad.json");
    std::fs::write(
        &bad_json,
        "{\"hook_point\": \"lease4_expire\",\n\"lease4\": [}",
    )
    .unwrap();
    let output = cli(&[&"render", &bad_json]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("bad.json"), "{}", stderr(&output));
    assert!(stderr(&output).contains("line 2"), "{}", stderr(&output));

    let unknown = dir.path().join("unknown.json");
    std::fs::write(&unknown, r#"{"hook_point": "lease4_renewed"}"#).unwrap();
    let output = cli(&[&"render", &unknown]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("lease4_renewed"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("lease4_renew`"),
        "lists the known ones: {}",
        stderr(&output)
    );

    let bad_field = dir.path().join("field.json");
    std::fs::write(
        &bad_field,
        r#"{"hook_point": "lease4_expire", "lease4": {"address": "300.1.1.1"}}"#,
    )
    .unwrap();
    let output = cli(&[&"render", &bad_field]);
    assert!(
        stderr(&output).contains("lease4.address"),
        "{}",
        stderr(&output)
    );

    let output = cli(&[&"render", &dir.path().join("missing.json")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot read event file"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn run_runs_the_script_with_the_hooks_variables_and_exits_with_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let drop = script(
        dir.path(),
        "drop.sh",
        &format!("{{ echo \"argv1=$1\"; env; }} > {}\nexit 4", seen.display()),
    );
    let params = dir.path().join("params.json");
    std::fs::write(
        &params,
        r#"{"exit-codes": {"4": "drop"}, "env": {"SITE": "lab"}}"#,
    )
    .unwrap();
    let output = cli(&[
        &"run",
        &drop,
        &fixture("pkt4_receive.json"),
        &"--config",
        &params,
    ]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert_eq!(stdout(&output), "verdict: drop\n");
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(seen.contains("argv1=pkt4_receive\n"), "{seen}");
    assert!(seen.contains("QUERY4_TYPE=DHCPDISCOVER\n"), "{seen}");
    assert!(seen.contains("SITE=lab\n"), "{seen}");

    let skip = script(dir.path(), "skip.sh", "exit 3");
    std::fs::write(&params, r#"{"exit-codes": {"3": "skip"}}"#).unwrap();
    let output = cli(&[
        &"run",
        &skip,
        &fixture("lease4_select.json"),
        &"--config",
        &params,
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(stdout(&output), "verdict: skip\n");

    // No parameters: exit 0 is continue; an unmapped code is continue and logged.
    let output = cli(&[
        &"run",
        &script(dir.path(), "ok.sh", "exit 0"),
        &fixture("lease6_renew.json"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "verdict: continue\n");
    let output = cli(&[
        &"run",
        &script(dir.path(), "five.sh", "exit 5"),
        &fixture("lease6_renew.json"),
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("KEA_RUNSCRIPT_EXIT_CODE_UNMAPPED"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn run_errors_on_a_bad_script_bad_parameters_or_an_unselected_hook_point() {
    let dir = tempfile::tempdir().unwrap();
    let event = fixture("lease4_renew.json");
    let output = cli(&[&"run", &dir.path().join("nope.sh"), &event]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("nope.sh"), "{}", stderr(&output));

    let ok = script(dir.path(), "ok.sh", "exit 0");
    let params = dir.path().join("params.json");
    std::fs::write(&params, r#"{"timeout-ms": "soon"}"#).unwrap();
    let output = cli(&[&"run", &ok, &event, &"--config", &params]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("timeout-ms"),
        "{}",
        stderr(&output)
    );

    std::fs::write(&params, r#"{"hook-points": ["pkt4_send"]}"#).unwrap();
    let output = cli(&[&"run", &ok, &event, &"--config", &params]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("do not select"),
        "{}",
        stderr(&output)
    );

    std::fs::write(&params, "[1]").unwrap();
    let output = cli(&[&"run", &ok, &event, &"--config", &params]);
    assert!(
        stderr(&output).contains("expected a JSON object"),
        "{}",
        stderr(&output)
    );
}

const V4_LEASES: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
192.0.2.10,00:0c:01:02:03:04,01:00:0c:01:02:03:04,4000,4000000000,1,0,0,a,0,
192.0.2.11,00:0c:01:02:03:05,,4000,1000,1,0,0,expired,0,
192.0.2.12,00:0c:01:02:03:06,,4000,4000000000,1,0,0,declined,1,
192.0.2.13,00:0c:01:02:03:07,,4000,4000000000,1,0,0,released,0,
192.0.2.13,00:0c:01:02:03:07,,0,4000000000,1,0,0,released,0,
192.0.2.9,00:0c:01:02:03:08,,4000,4000000000,2,0,0,b,0,
";

const V6_LEASES: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
2001:db8:1::100,00:03:00:01:00:0c:01:02:03:04,4000,4000000000,1,3000,0,7,128,0,0,,,0,,,
2001:db8:8000::,00:03:00:01:00:0c:01:02:03:04,4000,4000000000,1,3000,2,7,56,0,0,,00:0c:01:02:03:04,0,,1,4
";

#[test]
fn replay_rebuilds_the_routes_of_the_routes_example_from_lease_files() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("routes.log");
    let params = dir.path().join("params.json");
    std::fs::write(
        &params,
        format!(
            r#"{{"env": {{"DRY_RUN": "1", "ROUTES_LOG": "{}", "ROUTES_DEV": "eth1", "ROUTES_VIA6": "fe80::1"}}}}"#,
            log.display()
        ),
    )
    .unwrap();
    let routes = repo().join("examples/routes.sh");
    let v4 = dir.path().join("kea-leases4.csv");
    std::fs::write(&v4, V4_LEASES).unwrap();
    let output = cli(&[&"replay", &v4, &routes, &"--config", &params]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("replayed 2 lease(s)"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "ip -4 route replace 192.0.2.9/32 dev eth1 table main proto dhcp\n\
         ip -4 route replace 192.0.2.10/32 dev eth1 table main proto dhcp\n"
    );

    std::fs::remove_file(&log).unwrap();
    let v6 = dir.path().join("kea-leases6.csv");
    std::fs::write(&v6, V6_LEASES).unwrap();
    let output = cli(&[&"replay", &v6, &routes, &"--config", &params]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Only the delegated prefix gets a route (ROUTES_V6_TYPES defaults to IA_PD).
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "ip -6 route replace 2001:db8:8000::/56 via fe80::1 dev eth1 table main proto dhcp\n"
    );

    std::fs::remove_file(&log).unwrap();
    let output = cli(&[
        &"replay",
        &v4,
        &routes,
        &"--config",
        &params,
        &"--all",
        &"--hook-point",
        &"leases4_committed",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        4,
        "every lease but the deleted one"
    );
}

#[test]
fn replay_errors_on_a_bad_hook_point_or_lease_file() {
    let dir = tempfile::tempdir().unwrap();
    let ok = script(dir.path(), "ok.sh", "exit 0");
    let v4 = dir.path().join("kea-leases4.csv");
    std::fs::write(&v4, V4_LEASES).unwrap();
    let output = cli(&[&"replay", &v4, &ok, &"--hook-point", &"lease4_renewed"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unknown hook point \"lease4_renewed\""),
        "{}",
        stderr(&output)
    );
    let output = cli(&[&"replay", &v4, &ok, &"--hook-point", &"lease6_renew"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("lease4_renew"),
        "{}",
        stderr(&output)
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{}192.0.2.300,00:01,,1,2,1,0,0,,0,\n", V4_LEASES),
    )
    .unwrap();
    let output = cli(&[&"replay", &bad, &ok]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("bad.csv:8: column address"),
        "{}",
        stderr(&output)
    );
    let output = cli(&[&"replay", &dir.path().join("none.csv"), &ok]);
    assert!(
        stderr(&output).contains("cannot read lease file"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn every_command_has_help() {
    for command in ["render", "run", "replay"] {
        let output = cli(&[&command, &"--help"]);
        assert!(output.status.success(), "{command}");
        assert!(
            stdout(&output).contains("Usage: kea-runscript"),
            "{command}: {}",
            stdout(&output)
        );
    }
    let output = cli(&[&"--help"]);
    for command in ["render", "run", "replay"] {
        assert!(stdout(&output).contains(command));
    }
    let output = cli(&[&"render"]);
    assert_eq!(output.status.code(), Some(2), "clap's usage error");
}
