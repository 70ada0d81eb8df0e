//! Helpers shared by the integration tests: scripts in temp dirs, a collecting log sink.
#![allow(dead_code)]

#[path = "../../../test-support/reach.rs"]
mod reach;
pub use reach::assert_reachable_by_others;
#[path = "../../../test-support/root.rs"]
mod root;
#[allow(unused_imports)] // not every test binary needs root
pub use root::is_root;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kea_runscript_core::log::{LogSink, Severity};
use kea_runscript_core::{Counters, Engine};
use kea_runscript_env::Text;

/// A log sink that keeps every line (and echoes it to stderr for failing tests).
#[derive(Default)]
pub struct Collect(pub Mutex<Vec<(Severity, &'static str, String)>>);

impl LogSink for Collect {
    fn log(&self, severity: Severity, id: &'static str, text: &str) {
        eprintln!("{severity:?} {id} {text}");
        self.0.lock().unwrap().push((severity, id, text.to_owned()));
    }
}

impl Collect {
    /// Lines logged with `id`.
    pub fn with_id(&self, id: &str) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, i, _)| *i == id)
            .map(|(_, _, t)| t.clone())
            .collect()
    }

    /// Whether a line logged with `id` contains `needle`.
    pub fn logged(&self, id: &str, needle: &str) -> bool {
        self.with_id(id).iter().any(|l| l.contains(needle))
    }
}

/// Writes an executable `#!/bin/sh` script `name` with `body` into `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// An engine for `json` with a collecting sink.
pub fn engine(json: &str) -> (Engine, Arc<Collect>) {
    let sink = Arc::new(Collect::default());
    let engine = Engine::from_json(json, sink.clone()).unwrap_or_else(|e| panic!("{e}"));
    (engine, sink)
}

/// Polls `cond` until it holds; panics after a generous 60 s (not a timing assertion).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until every async delivery has been started or dropped and every child reaped.
pub fn wait_idle(engine: &Engine) -> Counters {
    let mut last = engine.counters();
    wait_until("engine idle", || {
        last = engine.counters();
        last.in_flight == 0 && last.queued == 0
    });
    last
}

/// Children of this process that are zombies (state Z), from /proc.
pub fn zombie_children() -> Vec<i32> {
    children_with_state(|state| state == 'Z')
}

/// Children of this process (any state), from /proc.
pub fn children() -> Vec<i32> {
    children_with_state(|_| true)
}

fn children_with_state(keep: impl Fn(char) -> bool) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the last ')' (the command may contain spaces): state ppid ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r.trim_start()) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me && keep(state) {
            found.push(pid);
        }
    }
    found
}

/// JSON string literal for a path.
pub fn js(path: &Path) -> String {
    serde_json::to_string(path.to_str().unwrap()).unwrap()
}

/// A test that re-runs itself, in a child process, as an otherwise unused uid: root cannot
/// be limited by `RLIMIT_NPROC` and gets every capability at `execve`, so what an
/// unprivileged Kea sees can only be shown by another user.
pub struct AsOtherUser {
    /// The environment variable that hands the child its directory (and tells it it is the
    /// child).
    pub child_env: &'static str,
    /// The test's own name, so that the child runs exactly that test.
    pub test_name: &'static str,
}

impl AsOtherUser {
    /// In the child: the directory the parent handed over; `None` in the parent.
    pub fn child_dir(&self) -> Option<PathBuf> {
        std::env::var_os(self.child_env).map(PathBuf::from)
    }

    /// Whether this process can run a part as another user: it is root and every file in
    /// `needs` exists. Otherwise it fails under CI=true and says SKIP elsewhere.
    pub fn can_run(&self, needs: &[&str]) -> bool {
        // SAFETY: getuid() cannot fail.
        let root = unsafe { libc::getuid() } == 0;
        if root && needs.iter().all(|n| Path::new(n).exists()) {
            return true;
        }
        let what = std::iter::once("root")
            .chain(needs.iter().copied())
            .collect::<Vec<_>>()
            .join(" and ");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} needs {what} to run a part as another user; CI=true",
            self.test_name
        );
        eprintln!("******** SKIP: {} needs {what} ********", self.test_name);
        false
    }

    /// An otherwise unused uid, so that no other process counts against its limits.
    pub fn uid(&self) -> u32 {
        60_000 + std::process::id() % 5_000
    }

    /// A directory for the child: root-owned and readable by all (so scripts in it pass
    /// the trust check), with an `out` directory owned by `uid` for the child's records.
    /// It lies in the temporary directory, never in the checkout or `target/`: the user
    /// may not be able to enter those (a clone in root's home, mode 0700), so [`run`]
    /// copies the test binary itself in here too.
    ///
    /// [`run`]: AsOtherUser::run
    pub fn work_dir(&self, uid: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::Builder::new()
            .prefix("krs-as-user-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_reachable_by_others(dir.path());
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&out, Some(uid), Some(uid)).unwrap();
        (dir, out)
    }

    /// Runs this test in a child as `uid` with `dir` handed over, and asserts that it ran
    /// and passed. The child runs a copy of this test binary in `dir` (mode 0755), in
    /// `dir` as its working directory, so that it reaches nothing through the checkout or
    /// `target/`. `launch` gets the copy's path and returns the command that runs it as
    /// `uid` (the test's arguments are appended to it).
    pub fn run(&self, uid: u32, dir: &Path, launch: impl FnOnce(&Path) -> std::process::Command) {
        let exe = dir.join("test-binary");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = launch(&exe)
            .args([self.test_name, "--exact", "--nocapture", "--test-threads=1"])
            .env(self.child_env, dir)
            .current_dir(dir)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "as uid {uid}:\n{text}");
        assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
    }
}

/// The lines of the file at `path` (none when it does not exist yet).
pub fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Makes a FIFO at `path`: a script that reads it with shell builtins waits until
/// [`open_gate`] writes a line.
pub fn make_gate(path: &Path) {
    let fifo = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
}

/// Lets the script waiting on the FIFO at `path` go on: opening its write end (and closing
/// it) ends the script's `read`.
pub fn open_gate(path: &Path) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
}

/// The first event of a launch-failure test: the sync engine's script (mapped to `skip`)
/// cannot start, so the event gets `continue`, is counted as failed to start, and the first
/// SPAWN_FAILED line says the keeper could not be created, with `os_error`'s text.
pub fn assert_first_launch_fails(sync: &Engine, log: &Collect, os_error: &str) {
    assert_eq!(
        sync.handle_vars(kea_runscript_env::HookPoint::Lease4Renew, vec![]),
        kea_runscript_core::Verdict::Continue,
        "a script that could not start gives continue, not its mapped verdict"
    );
    let c = sync.counters();
    assert_eq!((c.events, c.started, c.failed_to_start), (1, 0, 1), "{c}");
    let lines = log.with_id(kea_runscript_core::log::SPAWN_FAILED);
    assert!(
        !lines.is_empty()
            && lines[0].contains("creating the keeper process failed")
            && lines[0].contains(os_error),
        "{lines:?}"
    );
}

/// Queued async events whose turn comes while launches fail: one run of `queue`'s gated
/// script (`max-in-flight` 1) holds the only slot, three events wait; `make_launches_fail`
/// runs, the gate opens and the run ends, and each queued event fails to start, counted,
/// none lost, dropped or left queued.
pub fn assert_queued_events_fail_to_start(
    queue: &Engine,
    gate: &Path,
    make_launches_fail: impl FnOnce(),
) {
    queue.handle_vars(kea_runscript_env::HookPoint::Lease4Renew, vec![]);
    wait_until("the gated run started", || queue.counters().started == 1);
    for _ in 0..3 {
        queue.handle_vars(kea_runscript_env::HookPoint::Lease4Renew, vec![]);
    }
    assert_eq!(queue.counters().queued, 3, "{}", queue.counters());
    make_launches_fail();
    open_gate(gate);
    let c = wait_idle(queue);
    assert_eq!(
        (c.events, c.started, c.exited, c.failed_to_start, c.dropped),
        (4, 1, 1, 3, 0),
        "{c}"
    );
}

/// The ending of a launch-failure test: once launches succeed again the sync engine
/// (whose script is mapped to `skip`) runs its script, with `(events, started, exited,
/// failed_to_start)` as expected; both the gated run and the sync run are recorded in
/// `ran`; then both engines shut down and no child is left a zombie.
pub fn assert_recovered(sync: &Engine, queue: &Engine, expected: (u64, u64, u64, u64), ran: &Path) {
    assert_eq!(
        sync.handle_vars(kea_runscript_env::HookPoint::Lease4Renew, vec![]),
        kea_runscript_core::Verdict::Skip
    );
    let c = sync.counters();
    assert_eq!(
        (c.events, c.started, c.exited, c.failed_to_start),
        expected,
        "{c}"
    );
    assert_eq!(lines_of(ran), ["gated", "lease4_renew"]);
    sync.shutdown();
    queue.shutdown();
    assert!(zombie_children().is_empty());
}

/// Rendered variables for `Engine::handle_vars` from `(name, value)` pairs.
pub fn vars(pairs: &[(&str, &str)]) -> Vec<(String, Text)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), Text::from(*v)))
        .collect()
}
