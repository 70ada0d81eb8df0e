//! Harness for the end-to-end tests: the real kea-dhcp4/kea-dhcp6 in a pair of network
//! namespaces joined by a veth, driven by perfdhcp and by packets crafted here.
//!
//! Every test binary includes this module and uses a different part of it.
#![allow(dead_code)]

/// Crafted DHCPv4 messages and client.
pub mod dhcp4;
/// Crafted DHCPv6 messages, client and relay.
pub mod dhcp6;
/// Records of fixtures/kea/dump.sh.
pub mod dump;
/// A Kea HA pair (hot-standby or load-balancing) in four namespaces on a bridge.
pub mod ha;
/// Kea configuration, start, stop; perfdhcp.
pub mod kea;
/// kea-hook-runscript 1.4.0 built from the oracle archive.
pub mod khr;
/// NATS JetStream: a server, the venv, a stream reader.
pub mod nats;
/// Parity with Kea's own hook: pairing and comparing the two libraries' records.
pub mod parity;
/// /proc probes: fds, threads, children, zombies, namespaces.
pub mod procs;
/// Client traffic shared by several tests.
pub mod scenario;
/// Network namespaces joined by a veth.
pub mod testbed;
/// Unbound: a resolver in a namespace, its local data, DNS queries.
pub mod unbound;
/// Documented variables per hook point.
pub mod vars;

#[path = "../../../test-support/reach.rs"]
mod reach;
pub use reach::assert_reachable_by_others;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Kea's own run-script hook, the reference for parity.
pub const KEA_RUN_SCRIPT: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_run_script.so";

/// A number unique within this process (test names, namespaces, temp dirs).
pub fn unique() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// True when the end-to-end prerequisites are there. Under `CI=true` a missing one
/// panics; otherwise the test prints a loud SKIP and the caller returns.
pub fn require_prereqs() -> bool {
    let mut missing = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        missing.push("root (network namespaces)".to_string());
    }
    for bin in ["/usr/sbin/kea-dhcp4", "/usr/sbin/kea-dhcp6", KEA_RUN_SCRIPT] {
        if !Path::new(bin).exists() {
            missing.push(bin.to_string());
        }
    }
    if which("perfdhcp").is_none() {
        missing.push("perfdhcp (Debian package kea-admin)".to_string());
    }
    if which("ip").is_none() {
        missing.push("ip (iproute2)".to_string());
    } else if missing.is_empty() && !netns_works() {
        missing.push("network namespaces (ip netns add failed)".to_string());
    }
    if missing.is_empty() {
        return true;
    }
    missing_prereq(&format!(
        "end-to-end prerequisites missing: {}",
        missing.join(", ")
    ))
}

/// A prerequisite described by `text` is missing: panics under `CI=true`, otherwise
/// prints a loud SKIP and returns false (so a caller can `return` from its test).
pub fn missing_prereq(text: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{text} (CI=true: failing instead of skipping)");
    }
    // Straight to the process's stderr: the test harness captures eprintln! output of
    // passing tests, and a skip must be seen.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n******** SKIP: {text} ********\n");
    false
}

/// Whether this machine lets us create a network namespace (probed once per process).
fn netns_works() -> bool {
    static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WORKS.get_or_init(|| {
        let name = format!("kre2e-probe-{}", std::process::id());
        let ip = |args: &[&str]| {
            std::process::Command::new("ip")
                .args(args)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let added = ip(&["netns", "add", &name]);
        added && ip(&["netns", "del", &name])
    })
}

/// The program `name` on `PATH` (or in /usr/sbin, /sbin), if there.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Our hook library, built into the test binary's own target directory and profile
/// (`target/<profile>/deps/<test>` → `target/<profile>/libkea_runscript.so`).
pub fn our_library() -> PathBuf {
    built_library("kea-runscript-hook", "libkea_runscript.so")
}

/// The shared library `file` of workspace package `package`, built into the test binary's
/// own target directory and profile (`target/<profile>/<file>`).
///
/// `cargo test` builds a cdylib-only package's library for its unit tests only, never the
/// `.so` that Kea loads, so the first call per package and test process runs `cargo build`
/// for it (a no-op when it is fresh); without that the tests would load a stale or missing
/// one. A failure panics naming the cargo command.
pub fn built_library(package: &'static str, file: &str) -> PathBuf {
    static BUILT: Mutex<Vec<(&'static str, Result<PathBuf, String>)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let result = match built.iter().find(|(p, _)| *p == package) {
        Some((_, result)) => result.clone(),
        None => {
            let result = build_library(package, file);
            built.push((package, result.clone()));
            result
        }
    };
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the build of [`built_library`]; the error names the cargo command.
fn build_library(package: &str, file: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("test binary path: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("test binary is not in target/<profile>/deps")?;
    let target_dir = profile_dir.parent().ok_or("no target directory")?;
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let wanted = format!(
        "cargo build{} -p {package}",
        if release { " --release" } else { "" }
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", package, "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if release {
        build.arg("--release");
    }
    let out = build.output().map_err(|e| format!("run `{wanted}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{wanted}` failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lib = profile_dir.join(file);
    if !lib.exists() {
        return Err(format!(
            "{} is missing after `{wanted}` (build it with that command)",
            lib.display()
        ));
    }
    Ok(lib)
}

/// The repository's fixtures/kea directory.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/kea")
        .join(name)
}

/// A scratch directory in the temporary directory (/tmp), removed on drop unless the test
/// failed or KRS_E2E_KEEP is set (then kept and printed, for the Kea log and the script
/// records).
///
/// Everything Kea reads (its configuration, the hook libraries, the scripts) is copied
/// in here, never reached through the checkout or `target/`: where Kea runs as another
/// user (`_kea`), that user may not be able to enter the checkout (a clone in root's
/// home, mode 0700). The directory is made mode 0755 whatever the umask.
pub struct Scratch {
    /// The directory.
    pub path: PathBuf,
}

impl Scratch {
    /// A fresh directory named after `tag`, the pid and a counter.
    pub fn new(tag: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("krs-e2e-{tag}-{}-{}", std::process::id(), unique()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch dir");
        set_mode(&path, 0o755);
        Scratch { path }
    }

    /// A fresh directory as [`Scratch::new`] makes it, for a test that runs Kea or a script
    /// as another user: asserts that such a user can enter every directory above it
    /// (otherwise the test would fail later with a bare "Permission denied").
    pub fn for_other_users(tag: &str) -> Scratch {
        let scratch = Scratch::new(tag);
        assert_reachable_by_others(&scratch.path);
        scratch
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// A sub-directory holding a copy of a fixture script (scripts find their output
    /// files next to themselves, since Kea's hook gives them no other variable).
    pub fn script_dir(&self, sub: &str, fixture_name: &str) -> (PathBuf, PathBuf) {
        let dir = self.path.join(sub);
        std::fs::create_dir_all(&dir).expect("script dir");
        set_mode(&dir, 0o755);
        let script = dir.join(fixture_name);
        std::fs::copy(fixture(fixture_name), &script).expect("copy fixture script");
        set_mode(&script, 0o755);
        (dir, script)
    }

    /// An executable `/bin/sh` script `name` here, running `body`.
    pub fn sh_script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
        set_mode(&path, 0o755);
        path
    }
}

/// The resident memory of process `pid` in KiB (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("KRS_E2E_KEEP").is_some() {
            eprintln!("kept {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Sets `path`'s mode to `mode` (not left to the umask).
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// How many script runs left their `started.<pid>.<random>` marker in `dir` (hang.sh, slow.sh).
pub fn started_runs(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("started."))
                .count()
        })
        .unwrap_or(0)
}

/// Polls `probe` every 50 ms until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `f` on a new thread that has entered network namespace `netns` (only that
/// thread changes namespace; sockets it opens stay in that namespace).
pub fn in_netns<T: Send + 'static>(netns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Limits how many Kea instances run at once in one test binary (2 cores).
pub struct HeavySlot(());

static SLOTS: Mutex<u32> = Mutex::new(0);
static SLOT_FREED: Condvar = Condvar::new();
const MAX_HEAVY: u32 = 2;

impl HeavySlot {
    /// Waits for a free slot.
    pub fn acquire() -> HeavySlot {
        let mut used = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= MAX_HEAVY {
            used = SLOT_FREED.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        HeavySlot(())
    }
}

impl Drop for HeavySlot {
    fn drop(&mut self) {
        *SLOTS.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        SLOT_FREED.notify_one();
    }
}

/// Declares one test per threading mode around `fn(mt: bool)`: Kea single-threaded and
/// with multi-threading (thread pool of 4).
#[macro_export]
macro_rules! both_threading_modes {
    ($body:path => $single:ident, $multi:ident) => {
        #[test]
        fn $single() {
            $body(false)
        }
        #[test]
        fn $multi() {
            $body(true)
        }
    };
}
