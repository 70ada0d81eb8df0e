//! kea-dhcp4 as Debian runs it: as the unprivileged user `_kea` (a test uid where this host
//! has no `_kea`), holding only the capabilities Debian's unit grants
//! (`AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW` in kea-dhcp4-server.service),
//! started with `setpriv` the way systemd starts it (inheritable, permitted, effective and
//! ambient sets alike).
//!
//! - With Debian's grant, `examples/routes.sh` cannot add its routes (`ip route` needs
//!   CAP_NET_ADMIN), and a script asking for `"capabilities": ["CAP_NET_ADMIN"]` is refused
//!   at load (by `kea-dhcp4 -t` and by a real start) with the message naming the drop-in.
//! - With the documented drop-in (`AmbientCapabilities=` plus CAP_NET_ADMIN), routes.sh
//!   with `"capabilities": ["CAP_NET_ADMIN"]` adds a route per lease, and its processes hold
//!   exactly CAP_NET_ADMIN; a script without the key inherits Kea's whole ambient set.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::kea::{
    as_user, hook, perfdhcp, write_launch_config, Family, Kea, KeaUser, Paths, Settings,
    DEBIAN_UNIT_CAPS,
};
use common::testbed::Testbed;
use common::{
    missing_prereq, our_library, require_prereqs, set_mode, wait_for, HeavySlot, Scratch,
};
use serde_json::{json, Value};

const NET_BIND_SERVICE: u64 = 1 << 10;
const NET_ADMIN: u64 = 1 << 12;
const NET_RAW: u64 = 1 << 13;

/// docs/configuration.md's drop-in (`AmbientCapabilities=CAP_NET_ADMIN`) on top of
/// Debian's unit ([`DEBIAN_UNIT_CAPS`]).
const DROP_IN_GRANT: &[&str] = &["net_bind_service", "net_raw", "net_admin"];

fn require_setpriv() -> bool {
    Path::new("/usr/bin/setpriv").exists()
        || missing_prereq("e2e_capabilities needs /usr/bin/setpriv (util-linux)")
}

/// What each test starts from: a heavy-test slot, Kea's user, its [`setup`] (named `tag`)
/// and a test bed; `None` (a skip, a failure under CI) when a prerequisite is missing.
fn prepare(tag: &str) -> Option<(HeavySlot, KeaUser, Setup, Testbed)> {
    if !require_prereqs() || !require_setpriv() {
        return None;
    }
    let slot = HeavySlot::acquire();
    let user = KeaUser::debian_or_unused();
    let s = setup(tag, &user);
    Some((slot, user, s, Testbed::new()))
}

/// A scratch directory Kea's user can write (log, pid and lock files), root-owned scripts
/// (copies of routes.sh with its lib/, and a probe) and an output directory for the
/// scripts, all with their modes set here: Kea's user reaches nothing in the checkout.
struct Setup {
    scratch: Scratch,
    routes: PathBuf,
    probe: PathBuf,
    out: PathBuf,
}

fn setup(tag: &str, user: &KeaUser) -> Setup {
    let scratch = Scratch::for_other_users(tag);
    std::os::unix::fs::chown(&scratch.path, Some(user.uid), Some(user.gid)).unwrap();
    let scripts = scratch.join("scripts");
    std::fs::create_dir_all(scripts.join("lib")).unwrap();
    set_mode(&scripts, 0o755);
    set_mode(&scripts.join("lib"), 0o755);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let routes = scripts.join("routes.sh");
    std::fs::copy(examples.join("routes.sh"), &routes).unwrap();
    set_mode(&routes, 0o755);
    let lease_events = scripts.join("lib/lease-events.sh");
    std::fs::copy(examples.join("lib/lease-events.sh"), &lease_events).unwrap();
    set_mode(&lease_events, 0o644);
    // Records the addresses it saw and the shell's own status (`$$`): what the script
    // itself holds after execve.
    let probe = scripts.join("probe.sh");
    std::fs::write(
        &probe,
        "#!/bin/sh\n\
         [ -n \"${LEASES4_AT0_ADDRESS:-}\" ] && echo \"$LEASES4_AT0_ADDRESS\" >> \"$OUT/$NAME.addresses\"\n\
         cat /proc/$$/status > \"$OUT/$NAME.status.$$\" && mv \"$OUT/$NAME.status.$$\" \"$OUT/$NAME.status\"\n",
    )
    .unwrap();
    set_mode(&probe, 0o755);
    let out = scratch.join("out");
    std::fs::create_dir_all(&out).unwrap();
    set_mode(&out, 0o755);
    std::os::unix::fs::chown(&out, Some(user.uid), Some(user.gid)).unwrap();
    Setup {
        scratch,
        routes,
        probe,
        out,
    }
}

/// Our library at leases4_committed: routes.sh and two probes, with `caps` (JSON, or
/// nothing) on routes.sh and on the probe named `keyed`.
fn parameters(s: &Setup, caps: Option<Value>) -> Value {
    let with_caps = |mut script: Value| {
        if let Some(caps) = &caps {
            script["capabilities"] = caps.clone();
        }
        script
    };
    let probe = |name: &str| {
        json!({"name": s.probe, "hook-points": ["leases4_committed"],
               "env": {"OUT": s.out, "NAME": name}})
    };
    json!({"scripts": [
        with_caps(json!({"name": s.routes, "hook-points": ["leases4_committed"],
                         "env": {"ROUTES_LOG": s.out.join("routes.log")}})),
        with_caps(probe("keyed")),
        probe("inherited"),
    ]})
}

/// The capability sets of a `/proc/<pid>/status` text: (effective, permitted, ambient).
fn caps_of(status: &str) -> (u64, u64, u64) {
    let field = |name: &str| {
        let hex = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {status}"));
        u64::from_str_radix(hex.trim(), 16).unwrap()
    };
    (field("CapEff:"), field("CapPrm:"), field("CapAmb:"))
}

fn recorded_caps(out: &Path, name: &str) -> (u64, u64, u64) {
    let path = out.join(format!("{name}.status"));
    let text = wait_for(Duration::from_secs(20), || {
        std::fs::read_to_string(&path).ok()
    })
    .unwrap_or_else(|| panic!("{} never written", path.display()));
    caps_of(&text)
}

/// Kea's own uid and capabilities: it really runs as the user with the grant.
fn assert_kea_runs_as(kea: &Kea, user: &KeaUser, grant: u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", kea.pid)).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid_line
            .split_whitespace()
            .skip(1)
            .all(|u| u == user.uid.to_string()),
        "Kea does not run as uid {}: {uid_line}",
        user.uid
    );
    assert_eq!(
        caps_of(&status),
        (grant, grant, grant),
        "Kea's capabilities"
    );
}

/// Routes of protocol dhcp (routes.sh's) in the server namespace: `(destination, via)`.
fn dhcp_routes(tb: &Testbed) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-n", &tb.srv, "-4", "route", "show", "proto", "dhcp"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .collect()
}

fn some_doras(tb: &Testbed, n: &str) {
    let args = [
        "-4", "-l", &tb.cli_if, "-r", "20", "-R", n, "-n", n, "-W", "500000",
    ];
    let (_, out) = perfdhcp(tb, &args, Duration::from_secs(30));
    assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
}

fn addresses(out: &Path, name: &str) -> Vec<String> {
    let mut list: Vec<String> = std::fs::read_to_string(out.join(format!("{name}.addresses")))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    list.sort();
    list.dedup();
    list
}

/// Runs `kea-dhcp4 <args>` as `user` with `caps` in `netns` until it exits (30 s at most);
/// returns whether it succeeded and all it printed plus the log.
fn kea_until_exit(
    netns: &str,
    wrapper: &[String],
    paths: &Paths,
    args: &[&str],
    s: &Setup,
) -> (bool, String) {
    let mut child = paths
        .apply(
            Command::new("ip")
                .args(["netns", "exec", netns])
                .args(wrapper)
                .arg(Family::V4.binary()),
        )
        .args(args)
        .env("KEA_PIDFILE_DIR", &s.scratch.path)
        .env("KEA_LOCKFILE_DIR", &s.scratch.path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ended = wait_for(Duration::from_secs(30), || child.try_wait().ok().flatten());
    if ended.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (ended.is_some_and(|s| s.success()), text)
}

#[test]
fn debian_grant_routes_fail_and_asking_for_net_admin_fails_load() {
    let Some((_slot, user, s, tb)) = prepare("caps-debian") else {
        return;
    };
    let wrapper = as_user(&user, DEBIAN_UNIT_CAPS);

    // Without the key: the scripts run, but routes.sh's `ip route` is refused.
    let mut settings = Settings::new(
        Family::V4,
        false,
        vec![hook(&our_library(), parameters(&s, None))],
    );
    settings.wrapper = wrapper.clone();
    let mut kea = Kea::start(&tb, &s.scratch, &settings);
    assert_kea_runs_as(&kea, &user, NET_BIND_SERVICE | NET_RAW);
    some_doras(&tb, "5");
    let leased = wait_for(Duration::from_secs(20), || {
        let seen = addresses(&s.out, "inherited");
        (!seen.is_empty()).then_some(seen)
    })
    .expect("the probe saw no lease");
    let log = s.out.join("routes.log");
    let refused = wait_for(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        (text.matches("Operation not permitted").count() >= leased.len()).then_some(text)
    })
    .unwrap_or_else(|| {
        panic!(
            "routes.sh did not report refused routes for {leased:?}: {:?}",
            std::fs::read_to_string(&log)
        )
    });
    assert!(refused.contains("ip -4 route replace"), "{refused}");
    assert_eq!(dhcp_routes(&tb), Vec::<String>::new());
    // A script without the key has Kea's ambient set: no CAP_NET_ADMIN to be had.
    assert_eq!(
        recorded_caps(&s.out, "inherited"),
        (
            NET_BIND_SERVICE | NET_RAW,
            NET_BIND_SERVICE | NET_RAW,
            NET_BIND_SERVICE | NET_RAW
        )
    );
    kea.assert_healthy();
    kea.stop();

    // With the key but without the grant: refused by `kea-dhcp4 -t` and by a real start.
    let settings = Settings::new(
        Family::V4,
        false,
        vec![hook(
            &our_library(),
            parameters(&s, Some(json!(["CAP_NET_ADMIN"]))),
        )],
    );
    let config = settings.config(&tb.srv_if, &s.scratch.join("refused.log"));
    // Written as Kea::start writes its configs, so that Kea 2.6.3+ finds the library in
    // its hooks path.
    let (path, paths) = write_launch_config(&s.scratch, &config);
    let path = path.to_str().unwrap();
    for mode in ["-t", "-c"] {
        let (ok, text) = kea_until_exit(&tb.srv, &wrapper, &paths, &[mode, path], &s);
        let text =
            text + &std::fs::read_to_string(s.scratch.join("refused.log")).unwrap_or_default();
        assert!(
            !ok,
            "kea-dhcp4 {mode} accepted CAP_NET_ADMIN without the grant:\n{text}"
        );
        for needle in [
            "parameter 'scripts[0].capabilities': Kea (uid",
            "does not hold CAP_NET_ADMIN (its permitted capabilities: \
             CAP_NET_BIND_SERVICE CAP_NET_RAW)",
            "AmbientCapabilities=CAP_NET_ADMIN",
        ] {
            assert!(
                text.contains(needle),
                "kea-dhcp4 {mode}: {needle:?} not in:\n{text}"
            );
        }
    }
    assert_eq!(dhcp_routes(&tb), Vec::<String>::new());
}

#[test]
fn drop_in_grant_routes_sh_adds_routes_with_the_key() {
    let Some((_slot, user, s, tb)) = prepare("caps-dropin") else {
        return;
    };
    let mut settings = Settings::new(
        Family::V4,
        false,
        vec![hook(
            &our_library(),
            parameters(&s, Some(json!(["CAP_NET_ADMIN"]))),
        )],
    );
    settings.wrapper = as_user(&user, DROP_IN_GRANT);
    let mut kea = Kea::start(&tb, &s.scratch, &settings);
    let grant = NET_BIND_SERVICE | NET_RAW | NET_ADMIN;
    assert_kea_runs_as(&kea, &user, grant);
    some_doras(&tb, "10");
    let leased = wait_for(Duration::from_secs(20), || {
        let seen = addresses(&s.out, "keyed");
        (!seen.is_empty()).then_some(seen)
    })
    .expect("the probe saw no lease");
    // One /32 route per leased address, via the relay (perfdhcp's giaddr); `ip route show
    // proto dhcp` lists only routes.sh's and does not repeat the protocol.
    let expected: Vec<String> = leased
        .iter()
        .map(|a| format!("{a} via {} dev {}", common::testbed::CLI4, tb.srv_if))
        .collect();
    let mut routes = Vec::new();
    let all = wait_for(Duration::from_secs(20), || {
        routes = dhcp_routes(&tb);
        routes.sort();
        let mut want = expected.clone();
        want.sort();
        (routes == want).then_some(())
    });
    assert!(
        all.is_some(),
        "routes {routes:?}, expected {expected:?}; routes.log: {:?}",
        std::fs::read_to_string(s.out.join("routes.log"))
    );
    assert!(
        !std::fs::read_to_string(s.out.join("routes.log"))
            .unwrap_or_default()
            .contains("failed"),
        "routes.sh reported failures"
    );
    // Exactly the listed capability; a script without the key inherits Kea's ambient set.
    assert_eq!(
        recorded_caps(&s.out, "keyed"),
        (NET_ADMIN, NET_ADMIN, NET_ADMIN)
    );
    assert_eq!(recorded_caps(&s.out, "inherited"), (grant, grant, grant));
    kea.assert_healthy();
}
