//! Spawn-sync: a process per event, waited for in the calling thread. Its keeper
//! bounds the wait (timeout, then `SIGTERM`, then `SIGKILL` after
//! [`KILL_GRACE`](kea_runscript_spawn::KILL_GRACE)); the exit code becomes the verdict.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{EventEnv, OnVerdict, Runner, RunnerContext, ScriptTarget};
use crate::config::SyncSettings;
use crate::counters::bump;
use crate::log::{self, Severity};
use crate::verdict::Verdict;
use kea_runscript_spawn::{ExitStatus, Report};

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

    /// For a parked packet: the script is waited for on a thread of its own, so the
    /// caller (a Kea thread) returns at once. The wait is bounded as in `deliver` (its
    /// keeper: timeout, grace, the stop signal at unload), so is the thread's life; the
    /// number of such threads is bounded by Kea's `parked-packet-limit`. Without a thread
    /// (the OS refuses one) the script is waited for here, as `deliver` does.
    fn deliver_with(&self, event: &Arc<EventEnv>, on_verdict: OnVerdict) {
        let runner = SpawnSync {
            target: self.target.clone(),
            settings: self.settings.clone(),
            context: Arc::clone(&self.context),
            stopping: AtomicBool::new(self.stopping.load(Ordering::Acquire)),
        };
        let moved = Arc::clone(event);
        // The verdict callback moves into the thread; if the thread cannot be created it
        // comes back through this slot and runs here.
        let slot = Arc::new(std::sync::Mutex::new(Some(on_verdict)));
        let in_thread = Arc::clone(&slot);
        let started = std::thread::Builder::new()
            .name("kea-runscript-park".into())
            .spawn(move || {
                let verdict = runner.deliver(&moved).unwrap_or_default();
                let on_verdict = in_thread.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(on_verdict) = on_verdict {
                    on_verdict(verdict);
                }
            });
        if started.is_err() {
            let on_verdict = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(on_verdict) = on_verdict {
                on_verdict(self.deliver(event).unwrap_or_default());
            }
        }
    }
}
