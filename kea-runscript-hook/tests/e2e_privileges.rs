//! `user` needs a Kea that can switch users (issue 23): kea-dhcp4 running as `_kea` (as
//! Debian's unit runs it: setpriv, the unit's capabilities, no CAP_SETUID/CAP_SETGID) with
//! `"user": "nobody"` on a script refuses to load, with one clear line in its log naming
//! the parameter. (That a root Kea's scripts run as the user, with its groups and limits,
//! is shown with real processes in kea-runscript-core/tests/privileges.rs.)

mod common;

use std::process::Command;
use std::time::Duration;

use common::kea::{
    as_user, hook, write_launch_config, Family, KeaUser, Settings, DEBIAN_UNIT_CAPS,
};
use common::testbed::Testbed;
use common::{
    missing_prereq, our_library, require_prereqs, set_mode, wait_for, HeavySlot, Scratch,
};
use serde_json::json;

#[test]
fn kea_as_kea_user_refuses_a_script_user_at_load() {
    if !require_prereqs() {
        return;
    }
    if !std::path::Path::new("/usr/bin/setpriv").exists() {
        missing_prereq("e2e_privileges needs /usr/bin/setpriv (util-linux)");
        return;
    }
    let _slot = HeavySlot::acquire();
    let user = KeaUser::debian_or_unused();
    let scratch = Scratch::for_other_users("priv-kea-user");
    std::os::unix::fs::chown(&scratch.path, Some(user.uid), Some(user.gid)).unwrap();
    let scripts = scratch.join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    set_mode(&scripts, 0o755);
    let script = scripts.join("s.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    set_mode(&script, 0o755);
    let tb = Testbed::new();
    let settings = Settings::new(
        Family::V4,
        false,
        vec![hook(
            &our_library(),
            json!({"scripts": [{"name": script, "user": "nobody",
                                "hook-points": ["leases4_committed"]}]}),
        )],
    );
    let log = scratch.join("refused.log");
    let config = settings.config(&tb.srv_if, &log);
    let (path, paths) = write_launch_config(&scratch, &config);
    let mut child = paths
        .apply(
            Command::new("ip")
                .args(["netns", "exec", &tb.srv])
                .args(as_user(&user, DEBIAN_UNIT_CAPS))
                .arg(Family::V4.binary()),
        )
        .arg("-c")
        .arg(&path)
        .env("KEA_PIDFILE_DIR", &scratch.path)
        .env("KEA_LOCKFILE_DIR", &scratch.path)
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
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        ended.is_some_and(|s| !s.success()),
        "kea-dhcp4 as uid {} started with a script user it cannot switch to:\n{text}",
        user.uid
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("parameter 'scripts[0].user'"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "not one line about 'user' in Kea's log:\n{text}"
    );
    let expected = format!(
        "parameter 'scripts[0].user': Kea (uid {}) cannot run the script as user \"nobody\" \
         (uid 65534): it lacks CAP_SETGID and CAP_SETUID (Kea runs unprivileged); remove the \
         key, or run Kea as root",
        user.uid
    );
    assert!(
        lines[0].contains(&expected),
        "{expected:?} not in:\n{}",
        lines[0]
    );
}
