//! `"capabilities"`: a script's processes (spawned runs and workers) get exactly the
//! listed capabilities as ambient ones, so that a script of an unprivileged Kea keeps them
//! across `execve`; without the key they inherit the host's ambient set; a capability the
//! host does not hold is a load error saying how to grant it.
//!
//! Root gets every capability at `execve` whatever its ambient set, so the test re-runs
//! itself as an otherwise unused uid through `setpriv`, holding CAP_NET_BIND_SERVICE,
//! CAP_NET_RAW and CAP_NET_ADMIN the way systemd's `AmbientCapabilities=` hands them to
//! Debian's `_kea` (inheritable, permitted, effective and ambient).

mod common;

use std::path::Path;

use common::{engine, js, script, wait_until, AsOtherUser, Collect};
use kea_runscript_core::{Config, Engine, Verdict};
use kea_runscript_env::{Event, HookPoint};

const AS_KEA: AsOtherUser = AsOtherUser {
    child_env: "KEA_RUNSCRIPT_CAPS_DIR",
    test_name: "scripts_get_exactly_their_capabilities",
};

const NET_BIND_SERVICE: u64 = 1 << 10;
const NET_ADMIN: u64 = 1 << 12;
const NET_RAW: u64 = 1 << 13;

#[test]
fn scripts_get_exactly_their_capabilities() {
    if let Some(dir) = AS_KEA.child_dir() {
        return as_unprivileged_kea(&dir);
    }
    if !AS_KEA.can_run(&["/usr/bin/setpriv"]) {
        return;
    }
    let uid = AS_KEA.uid();
    // Scripts in a root-owned directory (trusted), records in one the user owns.
    let (dir, _out) = AS_KEA.work_dir(uid);
    // Each records its shell's own status (`$$`): what the script itself holds after execve.
    script(
        dir.path(),
        "probe.sh",
        "cat /proc/$$/status > \"$OUT/$NAME.tmp\" && mv \"$OUT/$NAME.tmp\" \"$OUT/$NAME\"",
    );
    script(
        dir.path(),
        "worker.sh",
        "cat /proc/$$/status > \"$OUT/worker.tmp\" && mv \"$OUT/worker.tmp\" \"$OUT/worker\"\n\
         cat > /dev/null",
    );
    let caps = "-all,+net_bind_service,+net_raw,+net_admin";
    AS_KEA.run(uid, dir.path(), |exe| {
        let mut setpriv = std::process::Command::new("/usr/bin/setpriv");
        setpriv
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={uid}"))
            .arg("--clear-groups")
            .arg(format!("--inh-caps={caps}"))
            .arg(format!("--ambient-caps={caps}"))
            .arg("--")
            .arg(exe);
        setpriv
    });
}

/// The capability sets in a `/proc/<pid>/status` text.
#[derive(Debug, PartialEq, Eq)]
struct Caps {
    inheritable: u64,
    permitted: u64,
    effective: u64,
    ambient: u64,
}

impl Caps {
    fn parse(status: &str) -> Caps {
        let field = |name: &str| {
            let hex = status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {status:?}"));
            u64::from_str_radix(hex.trim(), 16).unwrap()
        };
        Caps {
            inheritable: field("CapInh:"),
            permitted: field("CapPrm:"),
            effective: field("CapEff:"),
            ambient: field("CapAmb:"),
        }
    }

    /// What a non-root program holds when `set` is its ambient set.
    fn only(set: u64) -> Caps {
        Caps {
            inheritable: set,
            permitted: set,
            effective: set,
            ambient: set,
        }
    }
}

fn read_caps(path: &Path) -> Caps {
    wait_until(&format!("{} written", path.display()), || {
        std::fs::read_to_string(path).is_ok_and(|t| t.contains("CapAmb:"))
    });
    Caps::parse(&std::fs::read_to_string(path).unwrap())
}

/// The part that runs as the unprivileged user.
fn as_unprivileged_kea(dir: &Path) {
    let out = dir.join("out");
    let held = Caps::parse(&std::fs::read_to_string("/proc/self/status").unwrap());
    let all = NET_BIND_SERVICE | NET_RAW | NET_ADMIN;
    assert_eq!(
        held,
        Caps::only(all),
        "setpriv did not grant as systemd does"
    );

    let probe = dir.join("probe.sh");
    let worker = dir.join("worker.sh");
    let spawned = |name: &str, caps: &str| {
        format!(
            r#"{{"name": {}, "sync": true, "hook-points": ["lease4_renew"],
                "env": {{"OUT": {}, "NAME": "{name}"}}{caps}}}"#,
            js(&probe),
            js(&out),
        )
    };
    let json = format!(
        r#"{{"scripts": [{}, {}, {}, {},
            {{"name": {}, "mode": "worker", "hook-points": ["lease4_renew"],
              "env": {{"OUT": {}}}, "capabilities": ["CAP_NET_RAW"]}}]}}"#,
        spawned("net_admin", r#", "capabilities": ["CAP_NET_ADMIN"]"#),
        spawned("inherited", ""),
        spawned("none", r#", "capabilities": []"#),
        spawned(
            "two",
            r#", "capabilities": ["cap_net_raw", "CAP_NET_BIND_SERVICE"]"#
        ),
        js(&worker),
        js(&out),
    );
    let (engine, sink) = engine(&json);
    assert_eq!(
        engine.handle(Event::new(HookPoint::Lease4Renew)),
        Verdict::Continue
    );
    assert_eq!(read_caps(&out.join("net_admin")), Caps::only(NET_ADMIN));
    assert_eq!(read_caps(&out.join("inherited")), Caps::only(all));
    assert_eq!(read_caps(&out.join("none")), Caps::only(0));
    assert_eq!(
        read_caps(&out.join("two")),
        Caps::only(NET_RAW | NET_BIND_SERVICE)
    );
    assert_eq!(read_caps(&out.join("worker")), Caps::only(NET_RAW));
    engine.shutdown();
    assert_eq!(engine.counters().failed_to_start, 0, "{:?}", sink.0.lock());
    // Kea's own sets are untouched by its scripts'.
    let after = Caps::parse(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert_eq!(after, Caps::only(all));

    // A capability this process does not hold: load names it and says how to grant it.
    let missing = format!(
        r#"{{"name": {}, "capabilities": ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]}}"#,
        js(&probe)
    );
    let err = Config::load(&missing).unwrap_err().to_string();
    for needle in [
        "parameter 'capabilities':",
        "does not hold CAP_SYS_ADMIN (",
        "CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_NET_RAW",
        "AmbientCapabilities=CAP_SYS_ADMIN",
        "kea-dhcp4-server.service.d",
    ] {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }

    // Past the load check (a configuration parsed only), the start itself fails: counted,
    // logged with the reason, the event continues and Kea's credentials stay as they were.
    let sink = std::sync::Arc::new(Collect::default());
    let engine = Engine::new(Config::parse(&missing).unwrap(), sink.clone()).unwrap();
    let sync = format!(
        r#"{{"name": {}, "sync": true, "hook-points": ["lease4_renew"],
            "capabilities": ["CAP_SYS_ADMIN"]}}"#,
        js(&probe)
    );
    let sync_engine = Engine::new(Config::parse(&sync).unwrap(), sink.clone()).unwrap();
    assert_eq!(
        sync_engine.handle(Event::new(HookPoint::Lease4Renew)),
        Verdict::Continue
    );
    assert_eq!(sync_engine.counters().failed_to_start, 1);
    let logged = sink.0.lock().unwrap().clone();
    assert!(
        logged
            .iter()
            .any(|(_, _, text)| text.contains("raising the ambient capabilities failed")),
        "no failure line in {logged:?}"
    );
    sync_engine.shutdown();
    engine.shutdown();
    let after = Caps::parse(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert_eq!(after, Caps::only(all));
}
