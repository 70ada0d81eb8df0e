//! Unbound for the tests: Debian's `unbound` in a network namespace with its own
//! configuration and remote control on a UNIX socket in the scratch directory (reachable
//! from every namespace: a path, not an address), queried with `dig` and
//! `unbound-control list_local_data`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{missing_prereq, wait_for, Scratch};

/// The domain the tests register names under.
pub const DOMAIN: &str = "lan";

/// True when unbound, unbound-control and dig are installed; under `CI=true` a missing
/// one panics, otherwise a loud SKIP (the caller returns).
pub fn require_unbound() -> bool {
    let missing: Vec<&str> = [
        "/usr/sbin/unbound",
        "/usr/sbin/unbound-control",
        "/usr/bin/dig",
    ]
    .into_iter()
    .filter(|p| !Path::new(p).exists())
    .collect();
    missing.is_empty()
        || missing_prereq(&format!(
            "the Unbound tests need {} (Debian packages unbound, bind9-dnsutils; \
             scripts/install-deps.sh)",
            missing.join(", ")
        ))
}

/// An unbound in namespace `netns`, answering on `address` port 53; killed on drop.
pub struct Unbound {
    child: Option<Child>,
    netns: String,
    /// Where it answers DNS.
    pub address: String,
    /// Its configuration (unbound-control's `-c`).
    pub config: PathBuf,
    log: PathBuf,
}

impl Unbound {
    /// Writes its configuration into `scratch`, starts it and waits until it answers
    /// unbound-control.
    pub fn start(netns: &str, address: &str, scratch: &Scratch) -> Unbound {
        let dir = scratch.join("unbound");
        let d = dir.display();
        Unbound::start_with(
            netns,
            address,
            scratch,
            &format!(
                "  local-zone: \"{DOMAIN}.\" static\n  \
                 local-data: \"router.{DOMAIN}. 3600 IN A 192.0.2.254\"\n\
                 remote-control:\n  control-enable: yes\n  control-interface: \"{d}/control.sock\"\n"
            ),
        )
    }

    /// [`Unbound::start`] with `rest` (zones, `remote-control`; `server:` lines first)
    /// after the test's own server settings. The control socket must be
    /// `<scratch>/unbound/control.sock`.
    pub fn start_with(netns: &str, address: &str, scratch: &Scratch, rest: &str) -> Unbound {
        let dir = scratch.join("unbound");
        std::fs::create_dir_all(&dir).expect("unbound dir");
        let config = dir.join("unbound.conf");
        let d = dir.display();
        // No chroot, no user switch, no daemon: the test owns the process. Only the local
        // zones answer (nothing to recurse to here); the reverse zones of the tests'
        // subnets are Unbound's default static zones (RFC 1918, 5737, 3849).
        std::fs::write(
            &config,
            format!(
                "server:\n  directory: \"{d}\"\n  chroot: \"\"\n  username: \"\"\n  \
                 pidfile: \"{d}/unbound.pid\"\n  do-daemonize: no\n  use-syslog: no\n  \
                 logfile: \"{d}/unbound.log\"\n  interface: {address}\n  port: 53\n  \
                 access-control: 0.0.0.0/0 allow\n  access-control: ::/0 allow\n  \
                 module-config: \"iterator\"\n  num-threads: 1\n{rest}"
            ),
        )
        .expect("write unbound.conf");
        let mut unbound = Unbound {
            child: None,
            netns: netns.to_string(),
            address: address.to_string(),
            config,
            log: dir.join("unbound.log"),
        };
        unbound.spawn();
        unbound
    }

    fn spawn(&mut self) {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.netns,
                "/usr/sbin/unbound",
                "-d",
                "-c",
            ])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start unbound");
        self.child = Some(child);
        let up = wait_for(Duration::from_secs(20), || {
            self.try_control(&["status"]).map(|_| ())
        });
        assert!(
            up.is_some(),
            "unbound did not start: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// SIGKILL (it loses every record added at run time).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Killed and started again with the same configuration: empty of run-time data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `unbound-control <args>`'s output, None when it failed.
    pub fn try_control(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("/usr/sbin/unbound-control")
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run unbound-control");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The run-time and configured records under [`DOMAIN`] and the PTR records pointing
    /// into it, as (owner, type, data) lines; `router.lan` (configured) left out.
    pub fn records(&self) -> Vec<(String, String, String)> {
        let text = self
            .try_control(&["list_local_data"])
            .expect("unbound-control list_local_data");
        let suffix = format!(".{DOMAIN}.");
        text.lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let [owner, _ttl, _class, kind, data] = f[..] else {
                    return None;
                };
                let ours = match kind {
                    "A" | "AAAA" => owner.ends_with(&suffix),
                    "PTR" => data.ends_with(&suffix),
                    _ => false,
                };
                (ours && owner != format!("router{suffix}"))
                    .then(|| (owner.to_string(), kind.to_string(), data.to_string()))
            })
            .collect()
    }

    /// The names Unbound holds, each with its addresses; panics unless every name has its
    /// PTR back to it and every PTR its name (the pairs are whole) and no record is there
    /// twice.
    pub fn names(&self) -> BTreeMap<String, Vec<String>> {
        let records = self.records();
        let mut seen = std::collections::BTreeSet::new();
        for r in &records {
            assert!(seen.insert(r), "record twice in Unbound: {r:?}");
        }
        let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut ptrs: BTreeMap<String, String> = BTreeMap::new();
        for (owner, kind, data) in records {
            if kind == "PTR" {
                ptrs.insert(owner, data);
            } else {
                names.entry(owner).or_default().push(data);
            }
        }
        for (name, addrs) in &names {
            for addr in addrs {
                let ptr = reverse_name(addr);
                assert_eq!(
                    ptrs.remove(&ptr).as_deref(),
                    Some(name.as_str()),
                    "{name} -> {addr} has no PTR back"
                );
            }
        }
        assert!(ptrs.is_empty(), "PTR records without their name: {ptrs:?}");
        names
    }

    /// Waits up to `timeout` until [`Unbound::names`] equals `expected`; returns the
    /// last state read (the caller asserts).
    pub fn wait_names(
        &self,
        expected: &BTreeMap<String, Vec<String>>,
        timeout: Duration,
    ) -> BTreeMap<String, Vec<String>> {
        let mut last = BTreeMap::new();
        let _ = wait_for(timeout, || {
            last = self.names();
            (&last == expected).then_some(())
        });
        last
    }

    /// The log of unbound itself.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The PTR owner of `addr` (`10.2.0.192.in-addr.arpa.`, nibbles for IPv6).
pub fn reverse_name(addr: &str) -> String {
    match addr.parse::<std::net::IpAddr>().expect("an address") {
        std::net::IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        std::net::IpAddr::V6(a) => {
            let mut out = String::new();
            for byte in a.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            out + "ip6.arpa."
        }
    }
}

/// What real DNS queries to `server` from namespace `netns` answer: for each name its
/// A/AAAA data, for each address its PTR data (one `dig` run for all of them).
pub fn resolve(netns: &str, server: &str, names: &[&str], addrs: &[&str]) -> Answers {
    let mut batch = String::new();
    for name in names {
        let kind = "A AAAA";
        for k in kind.split(' ') {
            batch.push_str(&format!("{name} {k}\n"));
        }
    }
    for addr in addrs {
        batch.push_str(&format!("-x {addr}\n"));
    }
    let file = std::env::temp_dir().join(format!(
        "krs-dig-{}-{}",
        std::process::id(),
        super::unique()
    ));
    std::fs::write(&file, batch).expect("dig batch file");
    let out = Command::new("ip")
        .args([
            "netns", "exec", netns, "dig", "+noall", "+answer", "+tries=3",
        ])
        .args(["+time=2", &format!("@{server}"), "-f"])
        .arg(&file)
        .output()
        .expect("run dig");
    let _ = std::fs::remove_file(&file);
    let mut answers = Answers::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [owner, _ttl, _class, kind, data] = f[..] {
            let entry = if kind == "PTR" {
                &mut answers.ptr
            } else {
                &mut answers.addr
            };
            entry
                .entry(owner.to_string())
                .or_default()
                .push(data.to_string());
        }
    }
    answers
}

/// Answers of [`resolve`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answers {
    /// name (with the final dot) -> its addresses.
    pub addr: BTreeMap<String, Vec<String>>,
    /// PTR owner -> names.
    pub ptr: BTreeMap<String, Vec<String>>,
}

impl Answers {
    /// Whether `name` resolves to `addr` and `addr` back to `name` (both with the final
    /// dot as DNS writes them).
    pub fn resolves(&self, name: &str, addr: &str) -> bool {
        let fwd = self
            .addr
            .get(name)
            .is_some_and(|a| a == &[addr.to_string()]);
        let rev = self
            .ptr
            .get(&reverse_name(addr))
            .is_some_and(|n| n == &[name.to_string()]);
        fwd && rev
    }

    /// Whether neither `name` nor `addr` gets an answer.
    pub fn gone(&self, name: &str, addr: &str) -> bool {
        !self.addr.contains_key(name) && !self.ptr.contains_key(&reverse_name(addr))
    }
}

/// Our library's parameters for the worker of one Kea server, talking to the Unbound of
/// `unbound_config` through its control socket (`extra` merged in; `{"env":
/// {"UNBOUND_CONTROL_SOCKET": ""}}` makes it use unbound-control instead).
pub fn worker_parameters(
    script: &Path,
    unbound_config: &Path,
    state: &Path,
    extra: serde_json::Value,
) -> serde_json::Value {
    let socket = unbound_config.with_file_name("control.sock");
    let mut parameters = serde_json::json!({
        "name": script, "mode": "worker", "replay-leases": true, "log-output": true,
        "env": {"UNBOUND_DNS_DOMAIN": DOMAIN, "UNBOUND_DNS_STATE": state,
                "UNBOUND_CONTROL_SOCKET": socket, "UNBOUND_CONTROL_CONFIG": unbound_config,
                "UNBOUND_DNS_TTL": "60", "UNBOUND_DNS_QUIET": "2", "UNBOUND_DNS_CHECK": "1"}
    });
    super::kea::merge(&mut parameters, &extra);
    parameters
}

/// The example worker in the checkout.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/unbound-dns.py")
        .canonicalize()
        .expect("examples/unbound-dns.py exists")
}
