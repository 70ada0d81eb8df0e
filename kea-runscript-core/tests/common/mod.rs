//! Helpers shared by the integration tests: scripts in temp dirs, a collecting log sink.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kea_runscript_core::log::{LogSink, Severity};
use kea_runscript_core::{Counters, Engine};

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
