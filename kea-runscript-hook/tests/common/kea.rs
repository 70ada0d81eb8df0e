//! Configures, starts, checks and stops the real kea-dhcp4 / kea-dhcp6.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::{json, Value};

use super::testbed::Testbed;
use super::{wait_for, Scratch};

/// DHCPv4 (kea-dhcp4) or DHCPv6 (kea-dhcp6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// kea-dhcp4.
    V4,
    /// kea-dhcp6.
    V6,
}

impl Family {
    /// Path of the server binary.
    pub fn binary(self) -> &'static str {
        match self {
            Family::V4 => "/usr/sbin/kea-dhcp4",
            Family::V6 => "/usr/sbin/kea-dhcp6",
        }
    }
    fn top(self) -> &'static str {
        match self {
            Family::V4 => "Dhcp4",
            Family::V6 => "Dhcp6",
        }
    }
    fn logger(self) -> &'static str {
        match self {
            Family::V4 => "kea-dhcp4",
            Family::V6 => "kea-dhcp6",
        }
    }
    fn started(self) -> &'static str {
        match self {
            Family::V4 => "DHCP4_STARTED",
            Family::V6 => "DHCP6_STARTED",
        }
    }
}

/// A `hooks-libraries` entry.
pub fn hook(library: &Path, parameters: Value) -> Value {
    json!({"library": library.to_str().expect("utf-8 path"), "parameters": parameters})
}

/// What varies between the tests' Kea configurations.
#[derive(Clone, Debug)]
pub struct Settings {
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// Kea multi-threading with a pool of 4 threads.
    pub mt: bool,
    /// Lease lifetime in seconds (short ones make leases expire in the test).
    pub valid_lifetime: u32,
    /// Seconds a declined address stays out of use before lease*_recover.
    pub decline_probation: u32,
    /// The hooks-libraries entries.
    pub hooks: Vec<Value>,
    /// Keep the leases in this memfile CSV (none: in memory only).
    pub lease_file: Option<PathBuf>,
    /// Kea's global `parked-packet-limit` (none: Kea's default, 256).
    pub parked_packet_limit: Option<u32>,
    /// Kea's control socket (a UNIX socket at this path), when the test sends commands.
    pub control_socket: Option<PathBuf>,
    /// Words put before Kea's binary inside the namespace: the one way Kea's launch is
    /// wrapped. Wrappers compose by concatenation, outermost first, e.g.
    /// `[nproc_limit(n), as_user(&user, caps)].concat()`; empty: Kea runs as the test (root).
    pub wrapper: Vec<String>,
    /// Merged into the `Dhcp4`/`Dhcp6` map last ([`merge`]: maps key by key, lists item by
    /// item), e.g. user contexts and reservations on the default subnets.
    pub patch: Option<Value>,
    /// Turn Kea's host name sanitizing off (`"hostname-char-set": ""`), so a lease keeps the
    /// bytes the client sent (e.g. not UTF-8).
    pub raw_hostnames: bool,
}

impl Settings {
    /// The whole Kea configuration with no interface: Kea opens no DHCP socket, so no
    /// network namespace is needed (for `kea-dhcpX -t` and start-up checks).
    pub fn config_without_interfaces(&self, log: &Path) -> Value {
        let mut config = self.config("unused", log);
        config[self.family.top()]["interfaces-config"]["interfaces"] = json!([]);
        config
    }
}

/// Merges `patch` into `base`: maps key by key, lists item by item (extra items appended),
/// anything else replaced.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (key, value) in p {
                merge(b.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (Value::Array(b), Value::Array(p)) => {
            for (i, value) in p.iter().enumerate() {
                match b.get_mut(i) {
                    Some(item) => merge(item, value),
                    None => b.push(value.clone()),
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// The ambient capabilities Debian's kea-dhcp4-server.service gives Kea (all of Kea 2.2, 2.6
/// and 3.0): `User=_kea`, `AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW`.
pub const DEBIAN_UNIT_CAPS: &[&str] = &["net_bind_service", "net_raw"];

/// A user Kea runs as.
#[derive(Clone, Debug)]
pub struct KeaUser {
    /// Its uid.
    pub uid: u32,
    /// Its primary group.
    pub gid: u32,
    /// Its name, when the passwd database has it (then [`as_user`] sets its groups with
    /// `setpriv --init-groups`, as systemd does).
    pub name: Option<String>,
    /// This process's hold on the uid while the user lives (see [`UidLock`]).
    _lock: Arc<UidLock>,
}

/// An exclusive hold on a uid for the tests that run processes as it: the kernel counts
/// every process of a uid against its `RLIMIT_NPROC`, and e2e_kea_user sets that limit
/// from the processes `_kea` runs at the time, so another test's `_kea` processes (in a
/// parallel test process, or in a chroot of scripts/matrix.sh, whose `_kea` may have the
/// same uid) must not come and go meanwhile. A `flock` on a file in /dev/shm, which the
/// matrix's chroots share with the host (/dev is bind-mounted); the tests of one process
/// share one hold, as they did before tests ran one per process.
#[derive(Debug)]
pub struct UidLock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

impl UidLock {
    /// Waits until no other process holds `uid`, then holds it (shared within this process).
    fn hold(uid: u32) -> Arc<UidLock> {
        static HELD: Mutex<BTreeMap<u32, Weak<UidLock>>> = Mutex::new(BTreeMap::new());
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = held.get(&uid).and_then(Weak::upgrade) {
            return lock;
        }
        let path = format!("/dev/shm/kea-runscript-tests-uid-{uid}.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .unwrap_or_else(|(_, e)| panic!("flock {path}: {e}"));
        let lock = Arc::new(UidLock(lock));
        held.insert(uid, Arc::downgrade(&lock));
        lock
    }
}

impl KeaUser {
    /// `_kea` (created by Debian's kea-common), when this host has it.
    pub fn debian() -> Option<KeaUser> {
        let out = Command::new("getent")
            .args(["passwd", "_kea"])
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        let fields: Vec<&str> = line.trim().split(':').collect();
        let uid = fields[2].parse().expect("uid");
        Some(KeaUser {
            uid,
            gid: fields[3].parse().expect("gid"),
            name: Some("_kea".into()),
            _lock: UidLock::hold(uid),
        })
    }

    /// `_kea` if this host has it, else an otherwise unused uid (with no name).
    pub fn debian_or_unused() -> KeaUser {
        KeaUser::debian().unwrap_or_else(|| {
            let id = 60_000 + std::process::id() % 5_000;
            KeaUser {
                uid: id,
                gid: id,
                name: None,
                _lock: UidLock::hold(id),
            }
        })
    }
}

/// The `setpriv` words that run a program as `user` holding exactly `caps` (`setpriv`
/// names, e.g. `net_raw`) as its inheritable, permitted, effective and ambient sets, as
/// systemd's `User=` plus `AmbientCapabilities=` do for Debian's unit.
pub fn as_user(user: &KeaUser, caps: &[&str]) -> Vec<String> {
    let set = format!(
        "-all,{}",
        caps.iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let groups = if user.name.is_some() {
        "--init-groups"
    } else {
        "--clear-groups"
    };
    vec![
        "setpriv".into(),
        format!("--reuid={}", user.uid),
        format!("--regid={}", user.gid),
        groups.into(),
        format!("--inh-caps={set}"),
        format!("--ambient-caps={set}"),
        "--".into(),
    ]
}

/// The `prlimit` words that start a program with RLIMIT_NPROC (soft and hard) `n`: how
/// many tasks its user may have.
pub fn nproc_limit(n: usize) -> Vec<String> {
    vec!["prlimit".into(), format!("--nproc={n}:{n}")]
}

impl Settings {
    /// Long lifetimes and probation; tests shorten them as needed.
    pub fn new(family: Family, mt: bool, hooks: Vec<Value>) -> Settings {
        Settings {
            family,
            mt,
            valid_lifetime: 3600,
            decline_probation: 3600,
            hooks,
            lease_file: None,
            parked_packet_limit: None,
            control_socket: None,
            wrapper: Vec::new(),
            patch: None,
            raw_hostnames: false,
        }
    }

    /// The whole Kea configuration for interface `srv_if`, logging to `log`.
    pub fn config(&self, srv_if: &str, log: &Path) -> Value {
        let mut top = json!({
            "interfaces-config": {"interfaces": [srv_if]},
            "lease-database": {"type": "memfile", "persist": false},
            "valid-lifetime": self.valid_lifetime,
            "decline-probation-period": self.decline_probation,
            // Reclaim every second, so expiry and probation end show up within seconds.
            "expired-leases-processing": {
                "reclaim-timer-wait-time": 1, "flush-reclaimed-timer-wait-time": 1,
                "hold-reclaimed-time": 3600, "max-reclaim-leases": 0, "max-reclaim-time": 0,
                "unwarned-reclaim-cycles": 5
            },
            "multi-threading": {
                "enable-multi-threading": self.mt, "thread-pool-size": 4, "packet-queue-size": 64
            },
            "hooks-libraries": self.hooks,
            "loggers": [{
                "name": self.family.logger(),
                "output_options": [{"output": log.to_str().expect("utf-8 path")}],
                "severity": "INFO", "debuglevel": 0
            }]
        });
        if let Some(file) = &self.lease_file {
            // No lease file cleanup (LFC) while a test reads the file.
            top["lease-database"] = json!({"type": "memfile", "persist": true,
                "name": file.to_str().expect("utf-8 path"), "lfc-interval": 0});
        }
        if let Some(limit) = self.parked_packet_limit {
            top["parked-packet-limit"] = json!(limit);
        }
        if self.raw_hostnames {
            top["hostname-char-set"] = json!("");
        }
        let map = top.as_object_mut().expect("object");
        if let Some(socket) = &self.control_socket {
            map.insert(
                "control-socket".into(),
                json!({"socket-type": "unix", "socket-name": socket.to_str().expect("utf-8 path")}),
            );
        }
        match self.family {
            Family::V4 => {
                map["interfaces-config"]["dhcp-socket-type"] = json!("raw");
                map.insert(
                    "subnet4".into(),
                    json!([
                        {"id": 1, "subnet": "192.0.2.0/24",
                         "pools": [{"pool": "192.0.2.10-192.0.2.250"}]},
                        {"id": 2, "subnet": "10.0.0.0/8",
                         "relay": {"ip-addresses": [super::testbed::CLI4]},
                         "pools": [{"pool": "10.0.0.10-10.0.255.200"}]}
                    ]),
                );
            }
            Family::V6 => {
                let preferred = self.valid_lifetime * 3 / 4;
                map.insert("preferred-lifetime".into(), json!(preferred));
                map.insert(
                    "server-id".into(),
                    json!({"type": "EN", "enterprise-id": 2495,
                           "identifier": "0123456789ab", "persist": false}),
                );
                map.insert(
                    "subnet6".into(),
                    json!([
                        {"id": 1, "subnet": "2001:db8:1::/64", "interface": srv_if,
                         "pools": [{"pool": "2001:db8:1::100-2001:db8:1::1ff"}],
                         "pd-pools": [{"prefix": "3000:1::", "prefix-len": 48, "delegated-len": 64}]},
                        {"id": 2, "subnet": "2001:db8:2::/64",
                         "pools": [{"pool": "2001:db8:2::100-2001:db8:2::1ff"}],
                         "pd-pools": [{"prefix": "3000:2::", "prefix-len": 48, "delegated-len": 64}]}
                    ]),
                );
            }
        }
        if let Some(patch) = &self.patch {
            merge(&mut top, patch);
        }
        json!({ self.family.top(): top })
    }
}

/// A running Kea server in the testbed's server namespace; stopped on drop.
pub struct Kea {
    child: Option<Child>,
    /// Kea's pid.
    pub pid: u32,
    /// Kea's log file.
    pub log: PathBuf,
    /// Kea's stdout and stderr.
    pub out: PathBuf,
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// The configuration file Kea was started with (`config-reload` rereads it).
    pub config: PathBuf,
    /// Where Kea takes hook libraries from (see [`link_libraries`]).
    hooks_dir: PathBuf,
}

fn write_config(scratch: &Scratch, config: &Value) -> PathBuf {
    let path = scratch.join(&format!("kea-{}.json", super::unique()));
    std::fs::write(&path, serde_json::to_string_pretty(config).expect("json"))
        .expect("write config");
    // Readable by Kea's user where Kea does not run as root.
    super::set_mode(&path, 0o644);
    path
}

/// How Kea's `Pkt6::toText()` names the message type `code` (`name`): `msgtype=1(SOLICIT)` up
/// to 2.2, `msg_type=SOLICIT (1)` in 2.6 and 3.0 (seen in 2.2.0, 2.6.3 and 3.0.4).
pub fn pkt6_text_type(code: u8, name: &str) -> String {
    if kea_hooks_version() >= 20600 {
        format!("msg_type={name} ({code})")
    } else {
        format!("msgtype={code}({name})")
    }
}

/// Kea's version as its hooks API number (20200, 20603, 30004, ...), from the headers the
/// library under test was built against (kea-hook-sdk/build.rs).
pub fn kea_hooks_version() -> u32 {
    kea_hook::KEA_VERSION.hooks_version()
}

/// Where Kea looks for hook libraries, scripts and log files, as it is started for a test.
///
/// Kea 2.6.3 and later load hook libraries only from one directory (`KEA_HOOKS_PATH`,
/// default /usr/lib/x86_64-linux-gnu/kea/hooks), and the tests load two that live apart
/// (Kea's own and ours in target/): each configured library is copied into one directory of
/// the scratch dir and `KEA_HOOKS_PATH` names it (copied, not linked: a Kea run as `_kea`
/// could not follow a link into a checkout it cannot enter, such as one in root's home).
/// They also write log files only into one directory (`KEA_LOG_FILE_DIR`, default
/// /var/log/kea): the directory of the configured log files. Kea 3.0 also runs hook scripts only from one directory; the tests keep each script
/// next to its output in its own directory, so they start Kea 3.0 with `-X` (Kea's switch
/// that lifts these restrictions), except `e2e_paths`, which tests the restriction itself.
pub struct Paths {
    /// `KEA_HOOKS_PATH` for Kea.
    pub hooks_dir: PathBuf,
    /// `KEA_LOG_FILE_DIR` for Kea: the directory of the configuration's log files.
    pub log_dir: Option<PathBuf>,
    /// `KEA_HOOK_SCRIPTS_PATH` for Kea, if set (Kea 3.0's hook-script directory).
    pub scripts_dir: Option<PathBuf>,
    /// `KEA_DHCP_DATA_DIR` for Kea: the directory of a memfile lease file (Kea 2.6.3+ keeps
    /// lease files only there, default /var/lib/kea).
    pub data_dir: Option<PathBuf>,
    /// `KEA_CONTROL_SOCKET_DIR` for Kea: the directory of the control socket (Kea 2.6.3+
    /// makes unix control sockets only there, default /run/kea).
    pub socket_dir: Option<PathBuf>,
    /// Kea's arguments that come before the mode (`-c`/`-t`).
    pub args: Vec<&'static str>,
}

impl Paths {
    /// Copies every `library` of `config` into `scratch`/hooks-N and points the entry there.
    pub fn prepare(scratch: &Scratch, config: &mut Value) -> Paths {
        let hooks_dir = scratch.join(&format!("hooks-{}", super::unique()));
        std::fs::create_dir_all(&hooks_dir).expect("hooks dir");
        super::set_mode(&hooks_dir, 0o755);
        link_libraries(&hooks_dir, config);
        let socket_dir = config
            .as_object()
            .and_then(|top| top.values().next())
            .and_then(|server| server["control-socket"]["socket-name"].as_str())
            .and_then(|file| Some(Path::new(file).parent()?.to_path_buf()));
        if let Some(dir) = socket_dir.as_ref().filter(|_| kea_hooks_version() >= 20600) {
            // Kea 2.6.3 also wants the socket's directory to be exactly rwxr-x---.
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o750))
                .expect("chmod the control socket's directory");
        }
        let args = if kea_hooks_version() >= 30000 {
            vec!["-X"]
        } else {
            vec![]
        };
        Paths {
            hooks_dir,
            log_dir: log_dir(config),
            scripts_dir: None,
            data_dir: config
                .as_object()
                .and_then(|top| top.values().next())
                .and_then(|server| server["lease-database"]["name"].as_str())
                .and_then(|file| Some(Path::new(file).parent()?.to_path_buf())),
            socket_dir,
            args,
        }
    }

    /// Adds the environment and the leading arguments to `command` (Kea's binary is the
    /// last argument given so far).
    pub fn apply<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        if let Some(dir) = &self.log_dir {
            command.env("KEA_LOG_FILE_DIR", dir);
        }
        if let Some(dir) = &self.scripts_dir {
            command.env("KEA_HOOK_SCRIPTS_PATH", dir);
        }
        if let Some(dir) = &self.data_dir {
            command.env("KEA_DHCP_DATA_DIR", dir);
        }
        if let Some(dir) = &self.socket_dir {
            command.env("KEA_CONTROL_SOCKET_DIR", dir);
        }
        command
            .args(&self.args)
            .env("KEA_HOOKS_PATH", &self.hooks_dir)
    }
}

/// Copies every `library` of `config` into `hooks_dir` (mode 0755; one already there is
/// kept) and points the entry at the copy: Kea 2.6.3+ loads hook libraries only from its
/// hooks directory (`KEA_HOOKS_PATH`, fixed when it starts), so a configuration sent to a
/// running Kea (`config-set`, a file for `config-reload`) names its libraries the same way
/// ([`Kea::hooks_dir`]). A copy, not a symbolic link: Kea may run as a user (`_kea`) that
/// cannot enter the checkout and its `target/` (a clone in root's home, mode 0700), and
/// the scratch dir it can enter is all it then needs.
pub fn link_libraries(hooks_dir: &Path, config: &mut Value) {
    let entries = config
        .as_object_mut()
        .and_then(|top| top.values_mut().next())
        .and_then(|server| server.get_mut("hooks-libraries"))
        .and_then(Value::as_array_mut);
    for entry in entries.into_iter().flatten() {
        let Some(library) = entry.get("library").and_then(Value::as_str) else {
            continue;
        };
        let library = PathBuf::from(library);
        let Some(name) = library.file_name() else {
            continue;
        };
        let copy = hooks_dir.join(name);
        if !copy.exists() {
            std::fs::copy(&library, &copy).unwrap_or_else(|e| {
                panic!(
                    "copy hook library {} to {}: {e}",
                    library.display(),
                    copy.display()
                )
            });
            super::set_mode(&copy, 0o755);
        }
        entry["library"] = json!(copy.to_str().expect("utf-8 path"));
    }
}

/// The directory of the configuration's log files (all in one, as the tests write them).
fn log_dir(config: &Value) -> Option<PathBuf> {
    let server = config.as_object()?.values().next()?;
    let outputs = server
        .get("loggers")?
        .as_array()?
        .iter()
        .filter_map(|logger| logger.get("output_options")?.as_array())
        .flatten()
        .filter_map(|option| option.get("output")?.as_str())
        .filter(|output| output.starts_with('/'));
    let mut dirs: Vec<PathBuf> = outputs
        .filter_map(|output| Some(Path::new(output).parent()?.to_path_buf()))
        .collect();
    dirs.dedup();
    assert!(
        dirs.len() <= 1,
        "Kea 2.6+ takes log files from one directory: {dirs:?}"
    );
    dirs.pop()
}

/// Writes `config` for a Kea run as the tests start it: see [`Paths`].
/// Writes `config` for a Kea started by the test itself, with the path set-up that
/// Kea's release needs (see [`Paths`]); apply the returned `Paths` to its command.
pub fn write_launch_config(scratch: &Scratch, config: &Value) -> (PathBuf, Paths) {
    let mut config = config.clone();
    let paths = Paths::prepare(scratch, &mut config);
    (write_config(scratch, &config), paths)
}

/// `kea-dhcpX -t config`: whether Kea accepts the configuration, and all it printed.
pub fn check_config(family: Family, scratch: &Scratch, config: &Value) -> (bool, String) {
    let (path, paths) = write_launch_config(scratch, config);
    let out = paths
        .apply(&mut Command::new(family.binary()))
        .arg("-t")
        .arg(&path)
        .env("KEA_PIDFILE_DIR", &scratch.path)
        .env("KEA_LOCKFILE_DIR", &scratch.path)
        .output()
        .expect("run kea -t");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

impl Kea {
    /// The hooks directory Kea was started with (`KEA_HOOKS_PATH`; see [`link_libraries`]).
    pub fn hooks_dir(&self) -> &Path {
        &self.hooks_dir
    }

    /// Starts Kea with `settings` in `tb`'s server namespace and waits until it serves.
    pub fn start(tb: &Testbed, scratch: &Scratch, settings: &Settings) -> Kea {
        let log = scratch.join(&format!("kea-{}.log", super::unique()));
        let out = scratch.join(&format!("kea-{}.out", super::unique()));
        let config = settings.config(&tb.srv_if, &log);
        let (path, paths) = write_launch_config(scratch, &config);
        let out_file = std::fs::File::create(&out).expect("kea output file");
        let child = paths
            .apply(
                Command::new("ip")
                    .args(["netns", "exec", &tb.srv])
                    .args(&settings.wrapper)
                    .arg(settings.family.binary()),
            )
            .arg("-c")
            .arg(&path)
            .env("KEA_PIDFILE_DIR", &scratch.path)
            .env("KEA_LOCKFILE_DIR", &scratch.path)
            // Not the checkout (cargo's working directory), which Kea's user may not enter.
            .current_dir(&scratch.path)
            .stdin(Stdio::null())
            .stdout(out_file.try_clone().expect("dup"))
            .stderr(out_file)
            .spawn()
            .expect("spawn kea");
        // `ip netns exec` execs the command, so this is Kea's own pid.
        let pid = child.id();
        let mut kea = Kea {
            child: Some(child),
            pid,
            log,
            out,
            family: settings.family,
            config: path.clone(),
            hooks_dir: paths.hooks_dir.clone(),
        };
        let started = settings.family.started();
        let ready = wait_for(Duration::from_secs(20), || {
            if let Ok(Some(status)) = kea.child.as_mut().expect("child").try_wait() {
                kea.child = None;
                return Some(Err(status));
            }
            let log = kea.log_text();
            // Started without a socket it would never answer: fail here, saying why.
            assert!(
                !log.contains("DHCPSRV_NO_SOCKETS_OPEN")
                    && !log.contains("DHCPSRV_OPEN_SOCKET_FAIL"),
                "Kea could not open its DHCP socket:\n{log}"
            );
            log.contains(started).then_some(Ok(()))
        });
        match ready {
            Some(Ok(())) => {
                // Prove the threading mode the test asked for is the one Kea runs.
                let mt_line = format!(
                    "MULTI_THREADING_INFO enabled: {}",
                    if settings.mt { "yes" } else { "no" }
                );
                let log = kea.log_text();
                assert!(
                    !settings.mt || log.contains(&mt_line),
                    "Kea did not report {mt_line:?}:\n{log}"
                );
                kea
            }
            Some(Err(status)) => panic!(
                "Kea exited during start-up ({status}):\n{}\n{}",
                kea.out_text(),
                kea.log_text()
            ),
            None => panic!("Kea did not start within 20 s:\n{}", kea.log_text()),
        }
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What Kea printed so far.
    pub fn out_text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Asserts Kea still runs and has no zombie child (scripts are reaped: any that just
    /// ended must be gone within [`REAP_DEADLINE`](super::procs::REAP_DEADLINE)).
    pub fn assert_healthy(&mut self) {
        let status = self.child.as_mut().map(|c| c.try_wait());
        assert!(
            matches!(status, Some(Ok(None))),
            "Kea is not running (exit status {status:?}; a graceful DHCP*_SHUTDOWN in the log \
             means it got SIGTERM/SIGINT from somewhere):\n{}\n{}",
            self.out_text(),
            self.log_text()
        );
        let zombies = super::procs::zombies_after_reaping(self.pid);
        assert!(
            zombies.is_empty(),
            "zombie children of Kea after {:?}: {zombies:?}",
            super::procs::REAP_DEADLINE
        );
    }

    /// Whether Kea is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGTERM, then wait (SIGKILL after 10 s). Returns whether it ended on SIGTERM.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let ended = wait_for(Duration::from_secs(10), || child.try_wait().ok().flatten());
        if ended.is_none() {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        true
    }
}

impl Drop for Kea {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs perfdhcp in the client namespace with `args`; kills it after `limit`.
/// Returns its exit code (None if killed) and output.
pub fn perfdhcp(tb: &Testbed, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &tb.cli, "perfdhcp"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn perfdhcp");
    let status = wait_for(limit, || child.try_wait().ok().flatten());
    if status.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("perfdhcp output");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (status.and_then(|s| s.code()), text)
}

/// Which run-script library a test loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    /// Kea's own libdhcp_run_script.so (the reference; Kea's 13 hook points only).
    Kea,
    /// This project's libkea_runscript.so.
    Ours,
}

/// A hooks-libraries entry running `script` asynchronously; ours at `hook_points`
/// (Kea's hook has no such key and always serves its own set).
pub fn async_script_hook(lib: Lib, script: &Path, hook_points: &[&str]) -> Value {
    match lib {
        Lib::Kea => hook(
            Path::new(super::KEA_RUN_SCRIPT),
            json!({"name": script, "sync": false}),
        ),
        Lib::Ours => hook(
            &super::our_library(),
            json!({"name": script, "sync": false, "hook-points": hook_points}),
        ),
    }
}

/// Starts `kea-dhcpX -c config` (no network namespace: the config should list no
/// interfaces) and reports whether it came up (then stops it) or exited, with its output
/// and log. This is where Kea calls a hook library's `load`; `kea-dhcpX -t` in Kea 2.2
/// only opens the library and calls `version`, so there only our `version` check can reject
/// parameters.
pub fn start_outcome(
    family: Family,
    scratch: &Scratch,
    config: &Value,
    log: &Path,
) -> (bool, String) {
    start_outcome_with(family, scratch, config, log, |_| {})
}

/// [`start_outcome`] with the launch [`Paths`] adjusted by `adjust` (e.g. Kea 3.0 without
/// `-X`, with a `KEA_HOOK_SCRIPTS_PATH`).
pub fn start_outcome_with(
    family: Family,
    scratch: &Scratch,
    config: &Value,
    log: &Path,
    adjust: impl FnOnce(&mut Paths),
) -> (bool, String) {
    let (path, mut paths) = write_launch_config(scratch, config);
    adjust(&mut paths);
    let mut child = paths
        .apply(&mut Command::new(family.binary()))
        .arg("-c")
        .arg(&path)
        .env("KEA_PIDFILE_DIR", &scratch.path)
        .env("KEA_LOCKFILE_DIR", &scratch.path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kea");
    let started = family.started();
    let outcome = wait_for(Duration::from_secs(20), || {
        if let Ok(Some(_)) = child.try_wait() {
            return Some(false);
        }
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains(started)
            .then_some(true)
    })
    .expect("Kea neither started nor exited within 20 s");
    if outcome {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    }
    let out = child.wait_with_output().expect("kea output");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text.push_str(&std::fs::read_to_string(log).unwrap_or_default());
    (outcome, text)
}

/// Sends one command (`{"command": …}`) over Kea's control socket and returns its answer.
pub fn command(socket: &Path, command: &Value) -> Value {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("connect to {}: {e}", socket.display()));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(command.to_string().as_bytes())
        .expect("send command");
    // Kea answers with one JSON document and closes the connection; read until it parses.
    let mut answer = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = stream.read(&mut buf).expect("read answer");
        answer.extend_from_slice(&buf[..n]);
        if let Ok(value) = serde_json::from_slice::<Value>(&answer) {
            return value;
        }
        assert!(n > 0, "connection closed before a whole answer: {answer:?}");
    }
}

/// The rows of a Kea memfile lease file by address, each as column name → value (the
/// header names the columns; a later row of an address replaces an earlier one, as when
/// Kea reads the file). Empty when the file does not exist yet.
pub fn lease_file_rows(
    path: &Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    lines
        .map(|line| {
            let row: std::collections::BTreeMap<String, String> = header
                .iter()
                .zip(line.split(','))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (row.get("address").cloned().unwrap_or_default(), row)
        })
        .collect()
}
