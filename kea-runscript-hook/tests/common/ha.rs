//! A real Kea high-availability pair (Kea's `libdhcp_ha.so` and `libdhcp_lease_cmds.so`)
//! with our library loaded on both servers: the Rust port of `scripts/ha-pair.sh` (see
//! docs/notes-ha.md for what was measured with it).
//!
//! Four network namespaces on one L2 segment: a "switch" holding a Linux bridge, and,
//! each joined to the bridge by a veth whose inner end is `eth0`, server s1 (192.0.2.1,
//! 2001:db8:1::1, role primary), server s2 (192.0.2.3, ::3, standby or secondary) and a
//! client (192.0.2.2, ::2) where perfdhcp runs. A bridge rather than the testbed's single
//! veth because both servers must see every client query (HA decides which one answers)
//! and reach each other for HA's own HTTP traffic.
//!
//! Each server runs with Kea's multi-threading and HA's in-process HTTP listener
//! (`http-dedicated-listener`), so no kea-ctrl-agent is needed, and a unix control socket
//! the tests query (`ha-heartbeat`, `lease4-get-all`, ...).

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::kea::{hook, merge, write_launch_config, Family, Paths, Settings};
use super::testbed::{ip, prepare_netns};
use super::{missing_prereq, our_library, procs, require_prereqs, wait_for, Scratch};

/// Kea's HA hook library.
pub const HA_LIB: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so";
/// Kea's lease commands hook library: HA sends `lease4-update` / `lease6-bulk-apply` to
/// the partner, and it is this library that handles them there.
pub const LEASE_CMDS_LIB: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so";

/// The interface inside each member's namespace (the same name everywhere, so the server
/// configurations differ only where the servers must).
pub const IFACE: &str = "eth0";
/// The client's IPv4 address: perfdhcp -4 sends with this giaddr (hops 1), so the queries
/// arrive as relayed and select the subnet whose `relay` names it.
pub const CLIENT4: &str = "192.0.2.2";
/// The client's IPv6 address.
pub const CLIENT6: &str = "2001:db8:1::2";

/// perfdhcp's rate (exchanges a second) in [`HaPair::clients`]: low enough that a loaded
/// 2-core machine does not drop queries out of Kea's packet queue, high enough that a
/// batch of 50 takes under a second.
pub const CLIENT_RATE: u32 = 100;

/// How long perfdhcp may run in [`HaPair::perfdhcp`] before it is killed: a bound for a
/// hung run, far beyond what the batches of the tests take.
pub const PERFDHCP_LIMIT: Duration = Duration::from_secs(120);

/// One of the two servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Server {
    /// s1: the primary.
    S1,
    /// s2: the standby (hot-standby) or the secondary (load-balancing).
    S2,
}

impl Server {
    /// Both servers, s1 first.
    pub const BOTH: [Server; 2] = [Server::S1, Server::S2];

    /// Its name in HA's configuration (`this-server-name`, peer names): "s1" or "s2".
    pub fn name(self) -> &'static str {
        match self {
            Server::S1 => "s1",
            Server::S2 => "s2",
        }
    }

    /// Its IPv4 address (HA's peer URLs use it, also for DHCPv6).
    pub fn ip4(self) -> &'static str {
        match self {
            Server::S1 => "192.0.2.1",
            Server::S2 => "192.0.2.3",
        }
    }

    /// Its IPv6 address.
    pub fn ip6(self) -> &'static str {
        match self {
            Server::S1 => "2001:db8:1::1",
            Server::S2 => "2001:db8:1::3",
        }
    }

    /// The URL of its HA listener (a port per server, as in HA's documentation examples).
    pub fn url(self) -> String {
        let port = match self {
            Server::S1 => 8001,
            Server::S2 => 8002,
        };
        format!("http://{}:{port}/", self.ip4())
    }

    /// The other server.
    pub fn partner(self) -> Server {
        match self {
            Server::S1 => Server::S2,
            Server::S2 => Server::S1,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// HA's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaMode {
    /// s1 serves every client, s2 takes over when s1 is down.
    HotStandby,
    /// Each server serves its half of the clients (by HA's hash of client-id or MAC),
    /// from its half of each pool.
    LoadBalancing,
}

impl HaMode {
    /// The `mode` value in HA's configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            HaMode::HotStandby => "hot-standby",
            HaMode::LoadBalancing => "load-balancing",
        }
    }

    /// The state both servers reach when all is well (`ha-heartbeat`'s `state`).
    pub fn normal_state(self) -> &'static str {
        self.as_str()
    }

    /// s2's role.
    fn s2_role(self) -> &'static str {
        match self {
            HaMode::HotStandby => "standby",
            HaMode::LoadBalancing => "secondary",
        }
    }
}

/// HA's timers and sync settings (milliseconds, leases): short ones, so that a failover
/// takes seconds (Kea's defaults, heartbeat 10 s and max-response-delay 60 s, a minute or
/// more). The defaults are those of scripts/ha-pair.sh.
#[derive(Clone, Debug)]
pub struct HaTimers {
    /// `heartbeat-delay`.
    pub heartbeat_delay: u32,
    /// `max-response-delay`: the partner counts as down after this long without an
    /// answer (a failover takes about this plus up to one heartbeat).
    pub max_response_delay: u32,
    /// `max-ack-delay`.
    pub max_ack_delay: u32,
    /// `max-unacked-clients`: 0 makes HA go partner-down without first watching for
    /// clients the partner leaves unanswered.
    pub max_unacked_clients: u32,
    /// `sync-timeout`.
    pub sync_timeout: u32,
    /// `sync-page-limit`: a small page, so that a sync of a few hundred leases takes
    /// several pages (as a big one would).
    pub sync_page_limit: u32,
}

impl Default for HaTimers {
    fn default() -> Self {
        HaTimers {
            heartbeat_delay: 1000,
            // A loaded CI machine can hold a heartbeat back for seconds: 5 s keeps a
            // spurious failover away, and a real one still takes only about 6 s.
            max_response_delay: 5000,
            max_ack_delay: 1000,
            max_unacked_clients: 0,
            sync_timeout: 10_000,
            sync_page_limit: 100,
        }
    }
}

/// JSON made for the server of the given name ("s1" or "s2"): our library's parameters
/// (so that each server's script can write to its own file), a configuration patch.
pub type PerServer = Box<dyn Fn(&str) -> Value>;

/// What [`HaPair::start`] sets up.
pub struct HaOptions {
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// Hot-standby or load-balancing.
    pub mode: HaMode,
    /// Our library's parameters per server; `None`: our library is not loaded (the pair
    /// with Kea's libraries only).
    pub ours: Option<PerServer>,
    /// Lease lifetime in seconds (DHCPv6: preferred lifetime 3/4 of it).
    pub valid_lifetime: u32,
    /// HA's timers.
    pub timers: HaTimers,
    /// Merged into each server's `Dhcp4`/`Dhcp6` map last ([`merge`]), after the pair's
    /// own settings (and, load-balancing, the pools split per server); called with the
    /// server's name.
    pub patch: Option<PerServer>,
}

impl HaOptions {
    /// A pair of `family` in `mode`, without our library, lifetime 3600 s, the default
    /// timers.
    pub fn new(family: Family, mode: HaMode) -> HaOptions {
        HaOptions {
            family,
            mode,
            ours: None,
            valid_lifetime: 3600,
            timers: HaTimers::default(),
            patch: None,
        }
    }

    /// Loads our library on both servers (after lease_cmds and HA), with the parameters
    /// `parameters` makes for each server's name.
    pub fn with_ours(mut self, parameters: impl Fn(&str) -> Value + 'static) -> HaOptions {
        self.ours = Some(Box::new(parameters));
        self
    }
}

/// True when everything an HA test needs is there: the end-to-end prerequisites
/// ([`require_prereqs`]) plus Kea's HA and lease_cmds libraries and `bridge` (iproute2).
/// Under `CI=true` a missing one panics; otherwise it prints a loud SKIP and the caller
/// returns.
pub fn require_ha_prereqs() -> bool {
    if !require_prereqs() {
        return false;
    }
    let mut missing = Vec::new();
    for lib in [HA_LIB, LEASE_CMDS_LIB] {
        if !Path::new(lib).exists() {
            missing.push(lib.to_string());
        }
    }
    if super::which("bridge").is_none() {
        missing.push("bridge (iproute2)".to_string());
    }
    if missing.is_empty() {
        return true;
    }
    missing_prereq(&format!(
        "HA end-to-end prerequisites missing: {}",
        missing.join(", ")
    ))
}

/// The four namespaces and the bridge; everything in them is killed and they are deleted
/// on drop (also when [`HaPair::start`] fails half-way).
struct Segment {
    /// The switch's namespace (holds `br0` and the outer veth ends).
    switch: String,
    /// s1's, s2's and the client's namespaces.
    members: [String; 3],
}

/// Prefix of every namespace of this module: [`sweep_stale`] recognises its own by it
/// (the testbed's are `kre2e-s-`/`kre2e-c-`, swept by the testbed).
const NS_PREFIX: &str = "kre2e-ha-";

impl Segment {
    fn new() -> Segment {
        sweep_stale();
        let id = format!("{}x{}", std::process::id(), super::unique());
        let segment = Segment {
            switch: format!("{NS_PREFIX}sw-{id}"),
            members: ["s1", "s2", "cl"].map(|m| format!("{NS_PREFIX}{m}-{id}")),
        };
        // The outer ends live in the switch's namespace, so their names only need to be
        // unique there; still unique per run, which makes a leftover easy to place.
        let outer = ["s1", "s2", "cl"].map(|m| format!("kh{id}{m}"));
        assert!(
            outer.iter().all(|n| n.len() <= 15),
            "interface name too long: {outer:?}"
        );
        ip(&["netns", "add", &segment.switch]);
        for ns in &segment.members {
            ip(&["netns", "add", ns]);
        }
        for ns in std::iter::once(&segment.switch).chain(&segment.members) {
            prepare_netns(ns);
        }
        let sw = segment.switch.as_str();
        // No multicast snooping: DHCPv6 goes to ff02::1:2, and a snooping bridge would
        // forward it only to ports that joined the group.
        ip(&[
            "-n",
            sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", sw, "link", "set", "br0", "up"]);
        let addresses = [
            (Server::S1.ip4(), Server::S1.ip6()),
            (Server::S2.ip4(), Server::S2.ip6()),
            (CLIENT4, CLIENT6),
        ];
        for ((ns, port), (v4, v6)) in segment.members.iter().zip(&outer).zip(addresses) {
            ip(&[
                "-n", sw, "link", "add", port, "type", "veth", "peer", "name", IFACE, "netns", ns,
            ]);
            ip(&["-n", sw, "link", "set", port, "master", "br0", "up"]);
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", IFACE]);
            ip(&[
                "-n",
                ns,
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                IFACE,
                "nodad",
            ]);
            ip(&["-n", ns, "link", "set", IFACE, "up"]);
        }
        segment.wait_ready();
        segment
    }

    /// Waits until the bridge forwards on its 3 ports and each member's `eth0` is up with
    /// its link-local address (Kea opens no socket on an interface that is not running,
    /// and kea-dhcp6 binds to the link-local address). There is no `ping` to probe with.
    fn wait_ready(&self) {
        let forwarding = wait_for(Duration::from_secs(10), || {
            let out = Command::new("bridge")
                .args(["-n", &self.switch, "link", "show"])
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&out.stdout);
            (text.matches("state forwarding").count() == 3).then_some(())
        });
        assert!(
            forwarding.is_some(),
            "the bridge in {} did not forward on its 3 ports within 10 s",
            self.switch
        );
        for ns in &self.members {
            let up = wait_for(Duration::from_secs(10), || {
                let link = Command::new("ip")
                    .args(["-n", ns, "-o", "link", "show", "dev", IFACE])
                    .output()
                    .ok()?;
                let addr = Command::new("ip")
                    .args(["-n", ns, "-6", "-o", "addr", "show", "dev", IFACE])
                    .args(["scope", "link"])
                    .output()
                    .ok()?;
                let addr = String::from_utf8_lossy(&addr.stdout);
                (String::from_utf8_lossy(&link.stdout).contains("state UP")
                    && addr.contains("fe80::")
                    && !addr.contains("tentative"))
                .then_some(())
            });
            assert!(up.is_some(), "{IFACE} in {ns} did not come up within 10 s");
        }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // Whatever still runs in the namespaces was started by this pair (Kea, scripts,
        // perfdhcp); end it so that a failed test leaves nothing behind.
        for ns in std::iter::once(&self.switch).chain(&self.members) {
            kill_in_netns(ns);
        }
        for ns in std::iter::once(&self.switch).chain(&self.members) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// SIGKILLs every process living in namespace `ns`.
fn kill_in_netns(ns: &str) {
    if let Ok(meta) = std::fs::metadata(format!("/run/netns/{ns}")) {
        procs::kill_all(&procs::in_netns(meta.ino(), 0));
    }
}

/// Removes the namespaces of earlier test processes that were killed before their Drop
/// ran (`kre2e-ha-<member>-<pid>x<n>` whose pid is gone), with whatever runs in them.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let Some(pid) = rest
            .split_once('-')
            .and_then(|(_, id)| id.split_once('x'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            kill_in_netns(&name);
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

/// One server's process and files. The process is stopped on drop.
struct Member {
    server: Server,
    family: Family,
    /// Its namespace.
    netns: String,
    /// Its configuration file (the same one for every (re)start).
    config: PathBuf,
    /// What Kea's release needs around the launch (`KEA_HOOKS_PATH`, ...).
    paths: Paths,
    /// Its unix control socket.
    socket: PathBuf,
    /// Kea's log (appended to by each start).
    log: PathBuf,
    /// Kea's stdout and stderr.
    out: PathBuf,
    /// `KEA_PIDFILE_DIR` and `KEA_LOCKFILE_DIR`: its own, so that a pid file the killed
    /// process left can be removed before the restart without touching the partner's.
    run_dir: PathBuf,
    /// The working directory (not the checkout, which Kea's user may not enter).
    cwd: PathBuf,
    child: Option<Child>,
}

impl Member {
    /// Starts Kea and waits until it serves (its log says started and its control socket
    /// answers); panics with its output and log otherwise.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.server);
        // A socket file and a pid file left by a killed process: Kea would refuse to
        // start if the pid in the file happened to belong to a live process again.
        let _ = std::fs::remove_file(&self.socket);
        for entry in std::fs::read_dir(&self.run_dir)
            .expect("run dir")
            .filter_map(Result::ok)
        {
            if entry.path().extension().is_some_and(|e| e == "pid") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let log_offset = std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let out = File::options()
            .create(true)
            .append(true)
            .open(&self.out)
            .expect("kea output file");
        let child = self
            .paths
            .apply(
                Command::new("ip")
                    .args(["netns", "exec", &self.netns])
                    .arg(self.family.binary()),
            )
            .arg("-c")
            .arg(&self.config)
            .env("KEA_PIDFILE_DIR", &self.run_dir)
            .env("KEA_LOCKFILE_DIR", &self.run_dir)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .expect("spawn kea");
        self.child = Some(child);
        let started = match self.family {
            Family::V4 => "DHCP4_STARTED",
            Family::V6 => "DHCP6_STARTED",
        };
        let ready = wait_for(Duration::from_secs(30), || {
            if let Ok(Some(status)) = self.child.as_mut().expect("child").try_wait() {
                self.child = None;
                return Some(Err(status));
            }
            let log = self.log_since(log_offset);
            // Started without a socket it would never answer: fail here, saying why.
            assert!(
                !log.contains("DHCPSRV_NO_SOCKETS_OPEN")
                    && !log.contains("DHCPSRV_OPEN_SOCKET_FAIL"),
                "{}: Kea could not open its DHCP socket:\n{log}",
                self.server
            );
            (log.contains(started) && try_command(&self.socket, "version-get", None).is_some())
                .then_some(Ok(()))
        });
        let log = self.log_since(log_offset);
        match ready {
            Some(Ok(())) => {
                // HA's own listener needs Kea's multi-threading; without it the peers
                // would never reach each other, and the test would only time out later.
                assert!(
                    log.contains("MULTI_THREADING_INFO enabled: yes"),
                    "{}: Kea did not report multi-threading enabled:\n{log}",
                    self.server
                );
            }
            Some(Err(status)) => panic!(
                "{}: Kea exited during start-up ({status}):\n{}\n{log}",
                self.server,
                std::fs::read_to_string(&self.out).unwrap_or_default()
            ),
            None => panic!("{}: Kea did not start within 30 s:\n{log}", self.server),
        }
    }

    /// Kea's log from byte `offset` on.
    fn log_since(&self, offset: u64) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    /// SIGKILL and reap.
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (Kea shuts down, our library unloads), SIGKILL after 10 s.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        if wait_for(Duration::from_secs(10), || child.try_wait().ok().flatten()).is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serialises the pairs of one test process: two pairs are four Kea servers with
/// multi-threading on 2 cores, enough to delay heartbeats into a spurious failover.
/// Across processes (nextest runs each test in its own) the same is done by an exclusive
/// `flock` on [`PAIR_LOCK`].
static ONE_PAIR: Mutex<()> = Mutex::new(());

/// The file whose lock one pair at a time holds, across test processes.
const PAIR_LOCK: &str = "/tmp/kea-runscript-e2e-ha.lock";

/// Waits for the cross-process pair lock.
fn lock_across_processes() -> nix::fcntl::Flock<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PAIR_LOCK)
        .unwrap_or_else(|e| panic!("open {PAIR_LOCK}: {e}"));
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .unwrap_or_else(|(_, e)| panic!("flock {PAIR_LOCK}: {e}"))
}

/// A running HA pair; see the module's documentation. On drop both servers are stopped,
/// whatever else runs in the namespaces is killed and the namespaces are deleted.
pub struct HaPair {
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// Hot-standby or load-balancing.
    pub mode: HaMode,
    /// s1 and s2 (dropped before the segment: Kea ends before its namespace goes).
    members: [Member; 2],
    segment: Segment,
    _one_pair: MutexGuard<'static, ()>,
    _across: nix::fcntl::Flock<std::fs::File>,
}

impl HaPair {
    /// Sets up the segment, writes both servers' configurations into `scratch` and starts
    /// s1, then s2, each once its control socket answers. Does not wait for HA's state:
    /// call [`HaPair::wait_state`] (the pair reaches its normal state within a few seconds).
    pub fn start(scratch: &Scratch, opts: HaOptions) -> HaPair {
        let one_pair = ONE_PAIR.lock().unwrap_or_else(|e| e.into_inner());
        let across = lock_across_processes();
        let segment = Segment::new();
        let members = Server::BOTH.map(|server| {
            let name = server.name();
            let log = scratch.join(&format!("{name}.log"));
            let socket = scratch.join(&format!("{name}.sock"));
            let config = server_config(&opts, server, &socket, &log);
            let (config, paths) = write_launch_config(scratch, &config);
            let run_dir = scratch.join(&format!("run-{name}"));
            std::fs::create_dir_all(&run_dir).expect("run dir");
            Member {
                server,
                family: opts.family,
                netns: segment.members[server.index()].clone(),
                config,
                paths,
                socket,
                log,
                out: scratch.join(&format!("{name}.out")),
                run_dir,
                cwd: scratch.path.clone(),
                child: None,
            }
        });
        let mut pair = HaPair {
            family: opts.family,
            mode: opts.mode,
            members,
            segment,
            _one_pair: one_pair,
            _across: across,
        };
        for server in Server::BOTH {
            pair.member_mut(server).spawn();
        }
        pair
    }

    fn member(&self, server: Server) -> &Member {
        &self.members[server.index()]
    }

    fn member_mut(&mut self, server: Server) -> &mut Member {
        &mut self.members[server.index()]
    }

    /// Sends `command` (with `arguments`, if any) over `server`'s control socket; None when
    /// the server does not answer (not running, or no answer within 10 s).
    pub fn try_command(
        &self,
        server: Server,
        command: &str,
        arguments: Option<Value>,
    ) -> Option<Value> {
        try_command(&self.member(server).socket, command, arguments)
    }

    /// [`HaPair::try_command`] that panics when the server does not answer.
    pub fn command(&self, server: Server, command: &str, arguments: Option<Value>) -> Value {
        self.try_command(server, command, arguments)
            .unwrap_or_else(|| panic!("{server} did not answer {command}"))
    }

    /// `server`'s HA state as its `ha-heartbeat` answer gives it (`waiting`, `syncing`,
    /// `ready`, `hot-standby`, `load-balancing`, `partner-down`, ...); None when it does
    /// not answer.
    pub fn state(&self, server: Server) -> Option<String> {
        let answer = self.try_command(server, "ha-heartbeat", None)?;
        Some(answer["arguments"]["state"].as_str()?.to_string())
    }

    /// Waits until `server` is in HA state `state`, polling every 50 ms; returns how long
    /// that took. Panics after `timeout`, with the state it was in and the HA state
    /// transitions both servers logged.
    pub fn wait_state(&self, server: Server, state: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        let mut last = None;
        let reached = wait_for(timeout, || {
            last = self.state(server);
            (last.as_deref() == Some(state)).then_some(())
        });
        if reached.is_none() {
            panic!(
                "{server} not in HA state {state} within {timeout:?} (last: {last:?})\n\
                 s1 transitions:\n{}\ns2 transitions:\n{}",
                self.transitions(Server::S1).join("\n"),
                self.transitions(Server::S2).join("\n")
            );
        }
        start.elapsed()
    }

    /// Waits until both servers are in the mode's normal state (`hot-standby` or
    /// `load-balancing`); returns how long that took.
    pub fn wait_normal(&self, timeout: Duration) -> Duration {
        let start = Instant::now();
        let state = self.mode.normal_state();
        for server in Server::BOTH {
            let left = timeout.saturating_sub(start.elapsed());
            self.wait_state(server, state, left);
        }
        start.elapsed()
    }

    /// Every lease `server` holds (`lease4-get-all` / `lease6-get-all`), as Kea's JSON
    /// maps (`ip-address`, `hw-address`, `type`, `prefix-len`, ...).
    pub fn leases(&self, server: Server) -> Vec<Value> {
        let command = match self.family {
            Family::V4 => "lease4-get-all",
            Family::V6 => "lease6-get-all",
        };
        let answer = self.command(server, command, None);
        // Result 3 ("0 IPv4 lease(s) found.") is an empty database, not an error.
        match answer["result"].as_i64() {
            Some(0) | Some(3) => {}
            _ => panic!("{server}: {command} failed: {answer}"),
        }
        answer["arguments"]["leases"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The addresses (and, DHCPv6, delegated prefixes, without their length) of every
    /// lease `server` holds.
    pub fn addresses(&self, server: Server) -> BTreeSet<String> {
        self.leases(server)
            .iter()
            .filter_map(|lease| Some(lease["ip-address"].as_str()?.to_string()))
            .collect()
    }

    /// SIGKILLs `server` (no shutdown: its partner learns it only from missed heartbeats).
    pub fn kill9(&mut self, server: Server) {
        self.member_mut(server).kill9();
    }

    /// Starts `server` again with its configuration, killing it first if it still runs.
    /// Its lease database is in memory only, so it comes back empty and must sync
    /// everything from its partner.
    pub fn restart(&mut self, server: Server) {
        let member = self.member_mut(server);
        member.kill9();
        member.spawn();
    }

    /// Whether `server`'s process is still running.
    pub fn alive(&mut self, server: Server) -> bool {
        let member = self.member_mut(server);
        matches!(member.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// `server`'s pid, while it runs.
    pub fn pid(&self, server: Server) -> Option<u32> {
        self.member(server).child.as_ref().map(Child::id)
    }

    /// `server`'s Kea log (severity INFO: HA's state transitions are there).
    pub fn log(&self, server: Server) -> &Path {
        &self.member(server).log
    }

    /// The `HA_STATE_TRANSITION` lines of `server`'s log, for failure messages.
    pub fn transitions(&self, server: Server) -> Vec<String> {
        std::fs::read_to_string(self.log(server))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("HA_STATE_TRANSITION"))
            .map(str::to_string)
            .collect()
    }

    /// `server`'s namespace.
    pub fn netns(&self, server: Server) -> &str {
        &self.member(server).netns
    }

    /// The client's namespace.
    pub fn client_netns(&self) -> &str {
        &self.segment.members[2]
    }

    /// Runs perfdhcp in the client namespace with `args` as they are (the caller gives
    /// `-4`/`-6`, `-l eth0` and the rest; [`HaPair::clients`] builds the usual ones).
    /// Returns its exit code (None when it had to be killed after [`PERFDHCP_LIMIT`]) and
    /// its output. perfdhcp's exit code 3 (some exchanges unanswered) is no error here.
    pub fn perfdhcp(&self, args: &[&str]) -> Perfdhcp {
        let mut child = Command::new("ip")
            .args(["netns", "exec", self.client_netns(), "perfdhcp"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn perfdhcp");
        // Read the pipes on threads: perfdhcp could fill one while this waits.
        let mut stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let read_out = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
            text
        });
        let read_err = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let status = wait_for(PERFDHCP_LIMIT, || child.try_wait().ok().flatten());
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut output = read_out.join().unwrap_or_default();
        output.push_str(&read_err.join().unwrap_or_default());
        Perfdhcp {
            code: status.and_then(|s| s.code()),
            output,
        }
    }

    /// `n` new clients from the client namespace: DORA (v4) or SARR (v6) for the MAC
    /// addresses `mac_base` + 0 .. n-1 (perfdhcp's `-R n` counts up from the base, so
    /// every client is another; a batch with another base is another set of clients),
    /// at [`CLIENT_RATE`] a second, waiting 2 s for the last answers (`-W`). `extra` is
    /// added to perfdhcp's arguments; for DHCPv6 `["-e", "address-and-prefix"]` asks for
    /// an address and a delegated prefix per client (`"prefix-only"` for prefixes only).
    ///
    /// Every query is broadcast (v4, giaddr 192.0.2.2) or multicast (v6) on the segment,
    /// so both servers see it and HA decides which one answers.
    pub fn clients(&self, n: u32, mac_base: &str, extra: &[&str]) -> Perfdhcp {
        let family = match self.family {
            Family::V4 => "-4",
            Family::V6 => "-6",
        };
        let (rate, n, mac) = (
            CLIENT_RATE.to_string(),
            n.to_string(),
            format!("mac={mac_base}"),
        );
        let mut args = vec![
            family, "-l", IFACE, "-r", &rate, "-n", &n, "-R", &n, "-b", &mac, "-W", "2000000",
        ];
        args.extend_from_slice(extra);
        self.perfdhcp(&args)
    }
}

/// What a perfdhcp run printed.
#[derive(Clone, Debug)]
pub struct Perfdhcp {
    /// Its exit code: 0 all answered, 3 some unanswered; None when it was killed.
    pub code: Option<i32>,
    /// Its stdout and stderr.
    pub output: String,
}

impl Perfdhcp {
    /// The `received packets` of exchange `exchange` (`DISCOVER-OFFER`, `REQUEST-ACK`,
    /// `SOLICIT-ADVERTISE`, `REQUEST-REPLY`) in perfdhcp's statistics.
    pub fn received(&self, exchange: &str) -> Option<u64> {
        let mut in_section = false;
        for line in self.output.lines() {
            if line.contains("Statistics for") {
                in_section = line.contains(exchange);
            } else if in_section {
                if let Some(n) = line.strip_prefix("received packets:") {
                    return n.trim().parse().ok();
                }
            }
        }
        None
    }
}

/// One server's Kea configuration: the tests' usual one ([`Settings::config`]: subnets,
/// memfile without persistence, log at INFO) with multi-threading, a unix control socket
/// and, in this order, lease_cmds, HA, and our library (lease_cmds must be there before
/// HA uses it; ours last, where it sees what HA added to a command's answer).
///
/// Valid on Kea 2.2, 2.6 and 3.0 alike: HA's `multi-threading` map is spelled out, since
/// its defaults differ (2.2: off and no dedicated listener; 2.6/3.0: both on), and so is
/// Kea's own (on by default only in 2.6+ and 3.0). The launch ([`write_launch_config`])
/// copies every library into one directory for `KEA_HOOKS_PATH` (Kea 2.6.3+ and 3.0 load
/// hooks only from there) and sets the log, socket and script directories 2.6.3+/3.0 need.
///
/// Lease affinity is off (`flush-reclaimed-timer-wait-time` 0), so that a release deletes
/// the lease on every version, as Kea 2.2 always does. From Kea 2.3.2 on (so 2.6 and 3.0)
/// a release with affinity on (`flush-reclaimed-timer-wait-time` and
/// `hold-reclaimed-time` both non-zero, Kea's default) keeps the lease, expired
/// (lifetime 0), and Kea reclaims it later:
/// - the primary's `lease6_release` sees the lease before it is expired (its lifetime) and
///   `leases6_committed` the expired one (lifetime 0): two removals with two change ids
///   for one release, where the partner gets one (the latter's);
/// - Kea 2.6's HA deletes the lease on the partner while the primary keeps it (the pair's
///   lease databases differ); Kea 3.0's marks it `released` (state 3) and sends it as an
///   update (the library takes that for a removal: core's `ha::partner::RELEASED`).
///
/// The tests here check what reaches each server and which server reports it, the same
/// on every version; affinity is a configuration of its own (`patch` can turn it on).
/// On Kea 2.2 the setting only stops the flush of reclaimed leases, which are held an
/// hour (`hold-reclaimed-time`), longer than any test runs.
fn server_config(opts: &HaOptions, server: Server, socket: &Path, log: &Path) -> Value {
    let name = server.name();
    let t = &opts.timers;
    let mut hooks = vec![
        json!({"library": LEASE_CMDS_LIB}),
        json!({"library": HA_LIB, "parameters": {"high-availability": [{
            "this-server-name": name,
            "mode": opts.mode.as_str(),
            "heartbeat-delay": t.heartbeat_delay,
            "max-response-delay": t.max_response_delay,
            "max-ack-delay": t.max_ack_delay,
            "max-unacked-clients": t.max_unacked_clients,
            "sync-timeout": t.sync_timeout,
            "sync-page-limit": t.sync_page_limit,
            // HA's own HTTP listener inside Kea: no kea-ctrl-agent in front of the servers.
            "multi-threading": {
                "enable-multi-threading": true, "http-dedicated-listener": true,
                "http-listener-threads": 2, "http-client-threads": 2
            },
            "peers": [
                {"name": "s1", "url": Server::S1.url(), "role": "primary",
                 "auto-failover": true},
                {"name": "s2", "url": Server::S2.url(), "role": opts.mode.s2_role(),
                 "auto-failover": true}
            ]
        }]}}),
    ];
    if let Some(ours) = &opts.ours {
        hooks.push(hook(&our_library(), ours(name)));
    }
    let mut settings = Settings::new(opts.family, true, hooks);
    settings.valid_lifetime = opts.valid_lifetime;
    settings.control_socket = Some(socket.to_path_buf());
    // Two packet threads per server, as scripts/ha-pair.sh: two servers with HA's
    // listener and client threads share the machine's 2 cores.
    let mut patch = json!({
        "multi-threading": {"thread-pool-size": 2},
        "expired-leases-processing": {"flush-reclaimed-timer-wait-time": 0}
    });
    if opts.family == Family::V6 {
        // Each server its own DUID (the tests' usual one, last digit = server number).
        let identifier = format!("0123456789a{}", &name[1..]);
        merge(
            &mut patch,
            &json!({"server-id": {"identifier": identifier}}),
        );
    }
    settings.patch = Some(patch);
    let mut config = settings.config(IFACE, log);
    let top = config
        .as_object_mut()
        .and_then(|top| top.values_mut().next())
        .expect("a Dhcp4/Dhcp6 map");
    if opts.mode == HaMode::LoadBalancing {
        split_pools(top);
    }
    if let Some(user) = &opts.patch {
        merge(top, &user(name));
    }
    config
}

/// Load-balancing: splits every pool and delegated-prefix pool of every subnet in two
/// halves, the first for the queries in s1's scope (client class `HA_s1`, which HA gives
/// them), the second for s2's (`HA_s2`), as Kea's HA documentation configures it. With
/// one shared pool both servers allocate from the same addresses at the same time and
/// give one address to two clients (seen: 4 of 50 clients, each address committed by
/// both servers, then overwritten on each by the partner's lease update). The class is
/// named by `client-class` (a string) on Kea 2.2 and 2.6, which know only it, and by
/// `client-classes` (a list) on 3.0, which still accepts `client-class` but logs it as
/// deprecated ([`pool_class`]).
fn split_pools(server: &mut Value) {
    for key in ["subnet4", "subnet6"] {
        let Some(subnets) = server.get_mut(key).and_then(Value::as_array_mut) else {
            continue;
        };
        for subnet in subnets {
            if let Some(pools) = subnet.get_mut("pools").and_then(Value::as_array_mut) {
                *pools = pools.iter().flat_map(split_range).collect();
            }
            if let Some(pools) = subnet.get_mut("pd-pools").and_then(Value::as_array_mut) {
                *pools = pools.iter().flat_map(split_prefix).collect();
            }
        }
    }
}

/// An address pool `{"pool": "FIRST-LAST", ...}` as two, each half for one server.
fn split_range(pool: &Value) -> [Value; 2] {
    use std::net::IpAddr;
    let range = pool["pool"].as_str().expect("a pool string");
    let (first, last) = range
        .split_once('-')
        .unwrap_or_else(|| panic!("pool {range:?} is not FIRST-LAST"));
    let parse = |a: &str| -> IpAddr {
        a.trim()
            .parse()
            .unwrap_or_else(|e| panic!("pool {range:?}: {e}"))
    };
    let (first, last) = (parse(first), parse(last));
    let number = |a: IpAddr| match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let address = |n: u128| match first {
        IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(
            u32::try_from(n).expect("an IPv4 address"),
        )),
        IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(n)),
    };
    let (lo, hi) = (number(first), number(last));
    assert!(lo < hi, "pool {range:?} has less than two addresses");
    let mid = lo + (hi - lo) / 2;
    let half = |from: u128, to: u128, server: Server| {
        let mut half = pool.clone();
        half["pool"] = json!(format!("{}-{}", address(from), address(to)));
        pool_class(&mut half, server);
        half
    };
    [half(lo, mid, Server::S1), half(mid + 1, hi, Server::S2)]
}

/// A delegated-prefix pool `{"prefix", "prefix-len", "delegated-len", ...}` as two
/// pools of half the size (prefix length one longer), each for one server.
fn split_prefix(pool: &Value) -> [Value; 2] {
    let prefix: std::net::Ipv6Addr = pool["prefix"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("pd-pool without an IPv6 prefix: {pool}"));
    let len = pool["prefix-len"].as_u64().expect("prefix-len");
    let delegated = pool["delegated-len"].as_u64().expect("delegated-len");
    assert!(len < delegated, "pd-pool {pool} cannot be split");
    let second = u128::from(prefix) | (1u128 << (127 - len));
    let half = |start: u128, server: Server| {
        let mut half = pool.clone();
        half["prefix"] = json!(std::net::Ipv6Addr::from(start).to_string());
        half["prefix-len"] = json!(len + 1);
        pool_class(&mut half, server);
        half
    };
    [
        half(u128::from(prefix), Server::S1),
        half(second, Server::S2),
    ]
}

/// Limits `pool` (an address or delegated-prefix pool) to the queries in `server`'s
/// scope, class `HA_<server>`: `client-classes` from Kea 3.0 on (2.7.5 deprecated the
/// single `client-class`), `client-class` before (2.2 and 2.6 know no other).
fn pool_class(pool: &mut Value, server: Server) {
    let class = format!("HA_{server}");
    if super::kea::kea_hooks_version() >= 30000 {
        pool["client-classes"] = json!([class]);
    } else {
        pool["client-class"] = json!(class);
    }
}

/// Sends one command over the unix control socket `socket` and returns the answer; None
/// when nothing answers (no socket, refused, closed early, or nothing within 10 s). Unlike
/// [`super::kea::command`] it does not panic: a killed server is an expected state here.
pub fn try_command(socket: &Path, command: &str, arguments: Option<Value>) -> Option<Value> {
    use std::io::{Read, Write};
    let mut request = json!({ "command": command });
    if let Some(arguments) = arguments {
        request["arguments"] = arguments;
    }
    let mut stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(request.to_string().as_bytes()).ok()?;
    // Kea answers with one JSON document and closes the connection; read until it parses.
    let mut answer = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        answer.extend_from_slice(&buf[..n]);
        if let Ok(value) = serde_json::from_slice::<Value>(&answer) {
            return Some(value);
        }
    }
}
