//! Spawn-sync: a process per event, waited for in the calling thread. Its keeper
//! bounds the wait (timeout, then `SIGTERM`, then `SIGKILL` after
//! [`KILL_GRACE`](super::KILL_GRACE)); the exit code becomes the verdict.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{EventEnv, Runner, RunnerContext, ScriptTarget};
use crate::config::SyncSettings;
use crate::counters::bump;
use crate::log::{self, Severity};
use crate::spawn::{ExitStatus, Report};
use crate::verdict::Verdict;

/// The spawn-sync strategy for one script.
pub(crate) struct SpawnSync {
    target: ScriptTarget,
    settings: SyncSettings,
    context: Arc<RunnerContext>,
    stopping: AtomicBool,
}

impl SpawnSync {
    pub fn new(
        target: ScriptTarget,
        settings: SyncSettings,
        context: Arc<RunnerContext>,
    ) -> SpawnSync {
        SpawnSync {
            target,
            settings,
            context,
            stopping: AtomicBool::new(false),
        }
    }

    /// The verdict for how the script ended.
    fn verdict(&self, report: &Report, event: &EventEnv) -> Verdict {
        if report.timed_out {
            return self.settings.on_timeout;
        }
        match report.status {
            _ if report.stopped => Verdict::Continue,
            ExitStatus::Signaled(_) => self.settings.on_signal,
            ExitStatus::Exited(code) => self.settings.verdict_for(code).unwrap_or_else(|| {
                self.context
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

impl Runner for SpawnSync {
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Verdict> {
        let hook_point = event.hook_point();
        if self.stopping.load(Ordering::Acquire) {
            bump(&self.context.counters.dropped);
            return Some(Verdict::Continue);
        }
        let mut child = match self.target.spawn(event, &self.context) {
            Ok(child) => child,
            Err(err) => {
                self.context.launch_failed(&self.target, hook_point, &err);
                return Some(Verdict::Continue);
            }
        };
        self.context.started();
        // Bounded by the keeper: timeout + grace, or the stop signal at unload.
        let result = child.wait();
        drop(child);
        self.context.ended(&self.target, hook_point, &result);
        Some(match result {
            Ok(report) => self.verdict(&report, event),
            Err(_) => Verdict::Continue,
        })
    }

    fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
    }
}
