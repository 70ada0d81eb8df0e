//! Parity with Kea's own hook for the DHCP clients operators' networks run, not crafted
//! here: ISC dhclient, dhcpcd and busybox udhcpc (DHCPv4); dhclient and dhcpcd (DHCPv6,
//! an address and a delegated prefix). Both libraries are loaded in the same Kea, each
//! with its dump script (common::parity). One client at a time gets a lease, holds it long
//! enough to renew it (short lifetimes), and releases it (udhcpc's leases expire); then
//! every event of Kea's hook must have a matching event of ours, byte for byte.

mod common;

use std::path::Path;
use std::time::Duration;

use common::dump::{Dump, Record};
use common::kea::{Family, Kea, Settings};
use common::parity::{assert_parity, both_hooks, settled};
use common::testbed::Testbed;
use common::{missing_prereq, require_prereqs, HeavySlot, Scratch};

/// Valid lifetime, in seconds.
const VALID: u32 = 8;

/// How long a client may take to bind, renew (due at T1: half the valid lifetime in DHCPv4,
/// half the preferred lifetime, 3/4 of the valid one, in DHCPv6) or release, as seen by
/// Kea's hook: generous, a limit for a wedged client, never a pace.
const LIMIT: Duration = Duration::from_secs(60);

/// The Debian packages of DHCP clients each Debian release ships, by `VERSION_CODENAME`
/// (/etc/os-release): a fixed fact, not what `apt-cache` happens to know (nothing before
/// `apt-get update`). ISC dhclient (isc-dhcp-client) is in bookworm and trixie and left
/// Debian after trixie; dhcpcd-base and busybox's udhcpc are in every release.
fn debian_clients(codename: &str) -> Option<&'static [&'static str]> {
    match codename {
        "bookworm" | "trixie" => Some(&["isc-dhcp-client", "dhcpcd-base", "udhcpc"]),
        "forky" | "sid" => Some(&["dhcpcd-base", "udhcpc"]),
        _ => None,
    }
}

/// This machine's Debian release (`VERSION_CODENAME` of /etc/os-release).
fn codename() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
}

/// One DHCP client program and how to drive it.
struct Client {
    /// The program, as run.
    program: &'static str,
    /// The Debian package that has it.
    package: &'static str,
    family: Family,
    /// Arguments that get a lease and return once it is bound (the client may stay in the
    /// background to renew), given the interface and a directory for its files.
    bind: fn(&str, &Path) -> Vec<String>,
    /// Arguments that release the lease (and end the background client), if the client
    /// has a way to release that reaches Kea.
    release: Option<fn(&str, &Path) -> Vec<String>>,
    /// Whether the client renews within [`hold`] (the hook point shows it).
    renews: bool,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// dhclient's files, and a script that leaves the interface alone.
fn dhclient_files(dir: &Path) -> Vec<String> {
    let file = |name: &str| dir.join(name).display().to_string();
    vec![
        "-sf".into(),
        "/bin/true".into(),
        "-lf".into(),
        file("dhclient.leases"),
        "-pf".into(),
        file("dhclient.pid"),
        "-df".into(),
        file("dhclient.duid"),
    ]
}

/// dhcpcd's configuration: no IPv4 link-local, no ARP probing (the lease binds at once),
/// no router solicitation; DHCPv6 asks for an address (IAID 1) and a prefix (IAID 2).
fn dhcpcd_conf(iface: &str, dir: &Path) -> String {
    let conf = dir.join("dhcpcd.conf");
    let text = format!(
        "noipv4ll\nnoarp\nnoipv6rs\nhostname dhcpcd-e2e\ninterface {iface}\n  ia_na 1\n  ia_pd 2\n"
    );
    std::fs::write(&conf, text).expect("write dhcpcd.conf");
    conf.display().to_string()
}

/// dhclient with `flags`, its files under `dir`, on `iface`.
fn dhclient(flags: &[&str], iface: &str, dir: &Path) -> Vec<String> {
    [args(flags), dhclient_files(dir), args(&[iface])].concat()
}

/// dhcpcd with `flags` and its configuration (written by [`dhcpcd_conf`]), on `iface`.
fn dhcpcd(flags: &[&str], iface: &str, dir: &Path) -> Vec<String> {
    let conf = dhcpcd_conf(iface, dir);
    [args(flags), args(&["-c", "/bin/true", "-f", &conf, iface])].concat()
}

const CLIENTS: &[Client] = &[
    Client {
        program: "dhclient",
        package: "isc-dhcp-client",
        family: Family::V4,
        bind: |iface, dir| dhclient(&["-4", "-1"], iface, dir),
        release: Some(|iface, dir| dhclient(&["-4", "-r"], iface, dir)),
        renews: true,
    },
    Client {
        program: "dhcpcd",
        package: "dhcpcd-base",
        family: Family::V4,
        bind: |iface, dir| dhcpcd(&["-4", "-w"], iface, dir),
        release: Some(|iface, dir| dhcpcd(&["-4", "-k"], iface, dir)),
        renews: false,
    },
    // udhcpc's DHCPRELEASE (-R) leaves from the leased address, which its no-op script
    // never configured: it does not reach Kea, so its lease expires instead.
    Client {
        program: "udhcpc",
        package: "udhcpc",
        family: Family::V4,
        bind: |iface, _| {
            args(&[
                "-i",
                iface,
                "-n",
                "-q",
                "-f",
                "-s",
                "/bin/true",
                "-x",
                "hostname:udhcpc-e2e",
                "-V",
                "e2e-vendor",
            ])
        },
        release: None,
        renews: false,
    },
    Client {
        program: "dhclient",
        package: "isc-dhcp-client",
        family: Family::V6,
        bind: |iface, dir| dhclient(&["-6", "-1", "-N", "-P"], iface, dir),
        release: Some(|iface, dir| dhclient(&["-6", "-r", "-N", "-P"], iface, dir)),
        renews: true,
    },
    Client {
        program: "dhcpcd",
        package: "dhcpcd-base",
        family: Family::V6,
        bind: |iface, dir| dhcpcd(&["-6", "-w"], iface, dir),
        release: Some(|iface, dir| dhcpcd(&["-6", "-k"], iface, dir)),
        renews: true,
    },
];

/// The clients of `family` this Debian release ships ([`debian_clients`]), each of which
/// must be installed: one missing is a missing prerequisite (fails under `CI=true`), and
/// so is a release the table does not know.
fn clients(family: Family) -> Option<Vec<&'static Client>> {
    let release = codename().unwrap_or_default();
    let Some(packages) = debian_clients(&release) else {
        missing_prereq(&format!(
            "Debian release {release:?} (/etc/os-release VERSION_CODENAME) is not in \
             e2e_clients' table of the DHCP clients each release ships (debian_clients)"
        ));
        return None;
    };
    let expected: Vec<&'static Client> = CLIENTS
        .iter()
        .filter(|c| c.family == family && packages.contains(&c.package))
        .collect();
    assert!(
        !expected.is_empty(),
        "no {family:?} client expected on Debian {release}: the table is wrong"
    );
    for client in &expected {
        if common::which(client.program).is_none() {
            missing_prereq(&format!(
                "{} missing: Debian {release} ships it (package {}; scripts/install-deps.sh \
                 installs it)",
                client.program, client.package
            ));
            return None;
        }
    }
    Some(expected)
}

/// Runs the client with `args` in the client namespace; panics with its output unless it
/// succeeds within 30 s.
fn run(tb: &Testbed, client: &Client, args: &[String]) {
    let command = ["timeout", "30", client.program];
    let argv: Vec<&str> = command
        .into_iter()
        .chain(args.iter().map(String::as_str))
        .collect();
    tb.exec(&tb.cli, &argv);
}

/// The client namespace's own `/etc/resolv.conf` and host name files while it lives:
/// `ip netns exec` mounts `/etc/netns/<namespace>/*` over `/etc`, so a client or script
/// that rewrites them (udhcpc's default script writes the DNS servers of its lease into
/// resolv.conf) cannot touch the host's. Removed on drop.
struct PrivateEtc(std::path::PathBuf);

impl PrivateEtc {
    fn new(namespace: &str) -> PrivateEtc {
        let dir = Path::new("/etc/netns").join(namespace);
        std::fs::create_dir_all(&dir).expect("create /etc/netns/<namespace>");
        for file in ["resolv.conf", "hostname"] {
            std::fs::write(dir.join(file), "").expect("write /etc/netns file");
        }
        PrivateEtc(dir)
    }
}

impl Drop for PrivateEtc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The hook points of Kea's hook's records.
fn hooks(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.hook.as_str()).collect()
}

fn clients_parity(family: Family) {
    if !require_prereqs() {
        return;
    }
    let Some(clients) = clients(family) else {
        return;
    };
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("clients");
    let (kea_dump, our_dump) = (Dump::new(&scratch, "kea"), Dump::new(&scratch, "ours"));
    let tb = Testbed::new();
    let host_resolv = std::fs::read("/etc/resolv.conf").ok();
    let _etc = PrivateEtc::new(&tb.cli);
    let mut settings = Settings::new(
        family,
        false,
        both_hooks(&kea_dump.script, &our_dump.script, false),
    );
    settings.valid_lifetime = VALID;
    let mut server = Kea::start(&tb, &scratch, &settings);
    let (lease, committed, renew, release) = match family {
        Family::V4 => (
            "lease4",
            "leases4_committed",
            "lease4_renew",
            "lease4_release",
        ),
        Family::V6 => (
            "lease6",
            "leases6_committed",
            "lease6_renew",
            "lease6_release",
        ),
    };
    let expire = match family {
        Family::V4 => "lease4_expire",
        Family::V6 => "lease6_expire",
    };
    let expected_programs: Vec<&str> = clients.iter().map(|c| c.program).collect();
    let mut ran = Vec::new();
    for client in &clients {
        let dir = scratch.join(&format!("{}-{lease}", client.program));
        std::fs::create_dir_all(&dir).expect("client dir");
        let before = settled(&kea_dump, &our_dump, 0).0.len();
        // Kea's hook points since this client started (Kea's hook runs its scripts in the
        // background, so they are waited for).
        let since = |records: &[Record]| -> Vec<String> {
            hooks(records.get(before..).unwrap_or_default())
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        let wait_kea = |what: &str, done: &dyn Fn(&[String]) -> bool| {
            let records = kea_dump.wait(LIMIT, |records| done(&since(records)));
            let seen = since(&records);
            assert!(
                done(&seen),
                "{} ({lease}): {what} not seen by Kea's hook within {LIMIT:?}; it saw {seen:?}",
                client.program
            );
        };
        run(&tb, client, &(client.bind)(&tb.cli_if, &dir));
        // The lease is held until it has been renewed, when the client renews: the renewal
        // committed, and the release comes a renewal period before the next one (dhcpcd
        // drops its DHCPv6 release when it meets a renewal in flight).
        if client.renews {
            wait_kea("a committed renewal", &|seen| {
                seen.iter()
                    .position(|h| h == renew)
                    .is_some_and(|i| seen[i..].iter().any(|h| h == committed))
            });
        } else {
            wait_kea("the binding", &|seen| seen.iter().any(|h| h == committed));
        }
        if let Some(release_args) = client.release {
            run(&tb, client, &release_args(&tb.cli_if, &dir));
            wait_kea("the release", &|seen| seen.iter().any(|h| h == release));
        }
        // The client really bound (renewed, released), so the comparison covers it.
        let mut expected = vec![committed];
        if client.renews {
            expected.push(renew);
        }
        if client.release.is_some() {
            expected.push(release);
        }
        let (kea, _) = settled(&kea_dump, &our_dump, before + 1);
        let seen = hooks(&kea[before..]);
        println!("{} ({lease}): Kea's hook saw {seen:?}", client.program);
        for hook in expected {
            assert!(
                seen.contains(&hook),
                "{}: no {hook} event from Kea's hook: {seen:?}",
                client.program
            );
        }
        ran.push(client.program);
    }
    assert!(!ran.is_empty(), "no {lease} client ran");
    assert_eq!(
        ran, expected_programs,
        "the {lease} clients that ran are not the ones this Debian release ships"
    );
    // Leases not released expire and are reclaimed: their expire events are compared too.
    let unreleased = clients.iter().filter(|c| c.release.is_none()).count();
    let expiry = LIMIT + Duration::from_secs(u64::from(VALID));
    let records = kea_dump.wait(expiry, |records| {
        records.iter().filter(|r| r.hook == expire).count() >= unreleased
    });
    let expired = records.iter().filter(|r| r.hook == expire).count();
    assert!(
        expired >= unreleased,
        "{unreleased} unreleased {lease}s, but Kea's hook saw {expired} {expire} events within \
         {expiry:?}: {:?}",
        hooks(&records)
    );
    let (kea, ours) = settled(&kea_dump, &our_dump, 1);
    assert!(
        !kea.is_empty() && !ours.is_empty(),
        "nothing to compare: Kea's hook recorded {} events, ours {}",
        kea.len(),
        ours.len()
    );
    assert_parity(&kea, &ours);
    server.assert_healthy();
    assert_eq!(
        std::fs::read("/etc/resolv.conf").ok(),
        host_resolv,
        "the clients changed the host's /etc/resolv.conf"
    );
}

#[test]
fn v4_clients_parity_with_kea_hook() {
    clients_parity(Family::V4)
}

#[test]
fn v6_clients_parity_with_kea_hook() {
    clients_parity(Family::V6)
}
