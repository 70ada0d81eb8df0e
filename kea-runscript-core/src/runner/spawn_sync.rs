//! Spawn-sync: a process per event, waited for in the calling thread (bounded by the
//! timeout, then `SIGTERM`, then `SIGKILL` after [`KILL_GRACE`]); the exit code
//! becomes the verdict.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{EventEnv, Runner, ScriptTarget, Shared, KILL_GRACE};
use crate::config::SyncSettings;
use crate::counters::bump;
use crate::log::{self, Severity};
use crate::policy::Verdict;
use crate::spawn::{Child, ExitStatus};

/// The spawn-sync strategy for one script.
pub(crate) struct SpawnSync {
    target: ScriptTarget,
    settings: SyncSettings,
    timeout: Duration,
    shared: Arc<Shared>,
    stopping: AtomicBool,
    /// Deliveries in progress, awaited by `shutdown`.
    running: AtomicUsize,
}

impl SpawnSync {
    pub fn new(
        target: ScriptTarget,
        settings: SyncSettings,
        timeout: Duration,
        shared: Arc<Shared>,
    ) -> SpawnSync {
        SpawnSync {
            target,
            settings,
            timeout,
            shared,
            stopping: AtomicBool::new(false),
            running: AtomicUsize::new(0),
        }
    }

    /// Waits for `child` within the timeout, terminating it past it.
    /// Returns its status (None if waiting failed) and whether it timed out.
    fn wait_bounded(&self, child: &mut Child, event: &EventEnv) -> (Option<ExitStatus>, bool) {
        match child.wait_timeout(self.timeout) {
            Ok(Some(status)) => return (Some(status), false),
            Ok(None) => {}
            Err(err) => {
                self.shared.wait_failed(&self.target, &err);
                return (None, false);
            }
        }
        self.shared
            .timed_out(&self.target, event.hook_point(), self.timeout);
        let _ = child.signal(libc::SIGTERM);
        let status = match child.wait_timeout(KILL_GRACE) {
            Ok(Some(status)) => Ok(status),
            _ => {
                let _ = child.signal(libc::SIGKILL);
                child.wait()
            }
        };
        match status {
            Ok(status) => (Some(status), true),
            Err(err) => {
                self.shared.wait_failed(&self.target, &err);
                (None, true)
            }
        }
    }

    /// The verdict for how the script ended.
    fn verdict(&self, status: ExitStatus, timed_out: bool, event: &EventEnv) -> Verdict {
        if timed_out {
            return self.settings.on_timeout;
        }
        match status {
            ExitStatus::Signaled(_) => self.settings.on_signal,
            ExitStatus::Exited(code) => self.settings.verdict_for(code).unwrap_or_else(|| {
                self.shared
                    .log
                    .limited(Severity::Warn, log::EXIT_CODE_UNMAPPED, || {
                        format!(
                            "script {} at {} exited with code {code}, which 'exit-codes' does not list: continuing",
                            self.target.label,
                            event.hook_point().name()
                        )
                    });
                Verdict::Continue
            }),
        }
    }
}

/// Decrements the running count however a delivery ends.
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Runner for SpawnSync {
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Verdict> {
        self.running.fetch_add(1, Ordering::AcqRel);
        let _running = Running(&self.running);
        if self.stopping.load(Ordering::Acquire) {
            bump(&self.shared.counters.dropped);
            return Some(Verdict::Continue);
        }
        let mut child = match self.target.spawn(event) {
            Ok(child) => child,
            Err(err) => {
                self.shared.spawn_failed(&self.target, event, &err);
                return Some(Verdict::Continue);
            }
        };
        self.shared.started();
        let (status, timed_out) = self.wait_bounded(&mut child, event);
        // A failed wait leaves `child` unreaped: dropping it kills and reaps it.
        let status = status.unwrap_or(ExitStatus::Signaled(libc::SIGKILL));
        drop(child);
        self.shared
            .exited(&self.target, event.hook_point(), status, timed_out);
        Some(self.verdict(status, timed_out, event))
    }

    fn shutdown(&self, deadline: Instant) {
        self.stopping.store(true, Ordering::Release);
        // Deliveries in progress end on their own within timeout + grace.
        while self.running.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
