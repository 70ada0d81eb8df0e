//! Two network namespaces (server, client) joined by a veth pair, unique per test.

use std::process::Command;

/// Server side addresses on the veth.
pub const SRV4: &str = "192.0.2.1";
/// Client side IPv4 address (also the relay address of crafted relayed packets).
pub const CLI4: &str = "192.0.2.2";
/// Server side IPv6 address.
pub const SRV6: &str = "2001:db8:1::1";
/// Client side IPv6 address.
pub const CLI6: &str = "2001:db8:1::2";

/// A server namespace and a client namespace joined by a veth; removed on drop.
pub struct Testbed {
    /// Server namespace name.
    pub srv: String,
    /// Client namespace name.
    pub cli: String,
    /// Server side veth.
    pub srv_if: String,
    /// Client side veth.
    pub cli_if: String,
}

/// Runs `ip <args>` and panics with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes namespace `ns` ready for a veth: IPv6 duplicate address detection off (before
/// any veth exists, so v6 addresses are usable at once) and `lo` up.
pub fn prepare_netns(ns: &str) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "sysctl", "-q", "-w"])
        .args([
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
        ])
        .output()
        .expect("sysctl");
    assert!(
        out.status.success(),
        "sysctl in {ns}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ip(&["-n", ns, "link", "set", "lo", "up"]);
}

impl Testbed {
    /// Creates both namespaces and the veth, with v4 and v6 addresses, DAD off.
    pub fn new() -> Testbed {
        sweep_stale();
        let id = format!("{}x{}", std::process::id(), super::unique());
        // Interface names are limited to 15 characters: "ks" + pid (≤ 7) + "x" + n.
        let tb = Testbed {
            srv: format!("kre2e-s-{id}"),
            cli: format!("kre2e-c-{id}"),
            srv_if: format!("ks{id}"),
            cli_if: format!("kc{id}"),
        };
        assert!(
            tb.srv_if.len() <= 15,
            "interface name too long: {}",
            tb.srv_if
        );
        ip(&["netns", "add", &tb.srv]);
        ip(&["netns", "add", &tb.cli]);
        for ns in [&tb.srv, &tb.cli] {
            prepare_netns(ns);
        }
        ip(&[
            "-n", &tb.srv, "link", "add", &tb.srv_if, "type", "veth", "peer", "name", &tb.cli_if,
            "netns", &tb.cli,
        ]);
        for (ns, dev, v4, v6) in [
            (&tb.srv, &tb.srv_if, SRV4, SRV6),
            (&tb.cli, &tb.cli_if, CLI4, CLI6),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev]);
            ip(&[
                "-n",
                ns,
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        // Lets a crafted direct client broadcast to 255.255.255.255.
        ip(&["-n", &tb.cli, "route", "add", "default", "dev", &tb.cli_if]);
        // A veth is "up" only some time after `link set up`; Kea opens no socket on an
        // interface that is not running yet (DHCPSRV_OPEN_SOCKET_FAIL).
        for (ns, dev) in [(&tb.srv, &tb.srv_if), (&tb.cli, &tb.cli_if)] {
            let running = super::wait_for(std::time::Duration::from_secs(10), || {
                let out = Command::new("ip")
                    .args(["-n", ns, "-o", "link", "show", "dev", dev])
                    .output()
                    .ok()?;
                String::from_utf8_lossy(&out.stdout)
                    .contains("state UP")
                    .then_some(())
            });
            assert!(running.is_some(), "{dev} in {ns} did not come up");
            // The kernel adds the link-local address a moment after the link is up; Kea's
            // DHCPv6 socket binds to it and fails without it (seen on Kea 2.6 in a chroot).
            let link_local = super::wait_for(std::time::Duration::from_secs(10), || {
                let out = Command::new("ip")
                    .args([
                        "-n", ns, "-6", "-o", "addr", "show", "dev", dev, "scope", "link",
                    ])
                    .output()
                    .ok()?;
                let text = String::from_utf8_lossy(&out.stdout);
                (text.contains("fe80::") && !text.contains("tentative")).then_some(())
            });
            assert!(
                link_local.is_some(),
                "{dev} in {ns} got no link-local address"
            );
        }
        tb
    }

    /// Runs `args` in `namespace` (one of this testbed's) and returns its stdout; panics
    /// with its output unless it succeeds.
    pub fn exec(&self, namespace: &str, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", namespace])
            .args(args)
            .output()
            .expect("ip netns exec");
        assert!(
            out.status.success(),
            "{args:?} in {namespace}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Interface index of the client-side veth (scope id for link-local multicast).
    pub fn cli_ifindex(&self) -> u32 {
        let out = Command::new("ip")
            .args(["-n", &self.cli, "-o", "link", "show", "dev", &self.cli_if])
            .output()
            .expect("ip link show");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split(':')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no ifindex in {text:?}"))
    }

    /// Inode of the server namespace (to find processes living in it).
    pub fn srv_netns_inode(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/run/netns/{}", self.srv))
            .expect("netns file")
            .ino()
    }
}

/// Removes namespaces of earlier test processes that were killed before their Drop ran
/// (names `kre2e-s-<pid>x<n>` / `kre2e-c-<pid>x<n>` whose pid is gone; other tools'
/// namespaces have other names and are never touched).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix("kre2e-s-")
            .or_else(|| name.strip_prefix("kre2e-c-"))
        else {
            continue;
        };
        let Some(pid) = rest
            .split_once('x')
            .and_then(|(p, _)| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let inode = entry.metadata().map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.ino()
            });
            if let Ok(inode) = inode {
                super::procs::kill_all(&super::procs::in_netns(inode, 0));
            }
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

impl Default for Testbed {
    fn default() -> Self {
        Testbed::new()
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        // Whatever still runs in the namespaces was started by this test (Kea, scripts,
        // their children); end it so a failed test leaves nothing behind.
        for ns in [&self.srv, &self.cli] {
            if let Ok(meta) = std::fs::metadata(format!("/run/netns/{ns}")) {
                use std::os::unix::fs::MetadataExt;
                super::procs::kill_all(&super::procs::in_netns(meta.ino(), 0));
            }
        }
        for ns in [&self.srv, &self.cli] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
