//! Spawn-sync: a process per event, waited for in the calling thread. Its keeper
//! bounds the wait (timeout, then `SIGTERM`, then `SIGKILL` after
//! [`KILL_GRACE`](kea_runscript_spawn::KILL_GRACE)); the exit code becomes the verdict.
//! Where Kea takes an answer's data (classes, a host name, …), the script's stdout is
//! read for answer lines (`KEA_CLASS=…`, see [`crate::answer`]) while it runs.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::output::{log_output_line, MAX_OUTPUT_LINE};
use super::{EventEnv, OnDecision, Runner, RunnerContext, ScriptTarget};
use crate::answer::{AnswerData, Field, MAX_STDOUT};
use crate::config::SyncSettings;
use crate::counters::bump;
use crate::fdio::{self, Piece, Read};
use crate::log::{self, Severity, Window};
use crate::verdict::{Decision, Verdict};
use kea_runscript_spawn::{Child, ExitStatus, Report};

/// How long the answer reader waits for output before it looks whether the script has
/// ended (a background process it left may hold stdout open).
const STDOUT_POLL: Duration = Duration::from_millis(20);

/// The spawn-sync strategy for one script.
pub(crate) struct SpawnSync {
    target: ScriptTarget,
    settings: SyncSettings,
    context: Arc<RunnerContext>,
    stopping: AtomicBool,
    /// The rate window of the stdout lines logged with `log-output` (not answers).
    output_window: Arc<Mutex<Window>>,
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
            output_window: Arc::new(Mutex::new(Window::new(Instant::now()))),
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

    /// The answer data of a script that ended on its own (not timed out, stopped or
    /// killed), from its stdout; lines that are not answers are logged with `log-output`.
    fn data(&self, report: &Report, stdout: &[u8], event: &EventEnv) -> AnswerData {
        let ended_on_its_own =
            matches!(report.status, ExitStatus::Exited(_)) && !report.timed_out && !report.stopped;
        if !ended_on_its_own {
            return AnswerData::default();
        }
        let hook_point = event.hook_point();
        let mut problems = Vec::new();
        let (data, other) = AnswerData::from_lines(stdout, hook_point, &mut problems);
        self.context
            .answer_read(&self.target.label, hook_point, &data, &problems);
        if self.target.logs_output() {
            // The same bound and rate per script as `log-output` gives any script's output.
            let mut window = self.output_window.lock().unwrap_or_else(|e| e.into_inner());
            for line in other {
                let piece = if line.len() > MAX_OUTPUT_LINE {
                    Piece::Cut(&line[..MAX_OUTPUT_LINE])
                } else {
                    Piece::Line(line)
                };
                log_output_line(
                    &self.context.log,
                    &mut window,
                    format_args!(
                        "script {} at {} (stdout)",
                        self.target.label,
                        hook_point.name()
                    ),
                    piece,
                );
            }
        }
        data
    }
}

/// Reads a running script's stdout until it is closed or the script has ended: at most
/// [`MAX_STDOUT`] bytes are kept, the rest drained so the script never blocks on a full
/// pipe. Bounded by the script's life (its keeper's timeout).
fn read_stdout(child: &mut Child, stdout: &OwnedFd) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    let fd = stdout.as_raw_fd();
    let mut ended = false;
    loop {
        let mut fds = [fdio::pollfd(fd, libc::POLLIN)];
        if !ended {
            let _ = fdio::poll(&mut fds, Some(STDOUT_POLL));
        }
        loop {
            match fdio::read(fd, &mut buf) {
                Read::Data(n) => {
                    let room = MAX_STDOUT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Read::End => return kept,
                Read::WouldBlock => break,
            }
        }
        if ended {
            // What was written before the script ended has been read.
            return kept;
        }
        ended = child.try_wait().is_some();
    }
}

impl Runner for SpawnSync {
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Decision> {
        let hook_point = event.hook_point();
        if self.stopping.load(Ordering::Acquire) {
            bump(&self.context.counters.dropped);
            return Some(Verdict::Continue.into());
        }
        let answers = !Field::accepted_at(hook_point).is_empty();
        let spawned = if answers {
            self.target
                .spawn_answering(event, &self.context)
                .map(|(child, stdout)| (child, Some(stdout)))
        } else {
            self.target.spawn(event, &self.context).map(|c| (c, None))
        };
        let (mut child, stdout) = match spawned {
            Ok(spawned) => spawned,
            Err(err) => {
                self.context.launch_failed(&self.target, hook_point, &err);
                return Some(Verdict::Continue.into());
            }
        };
        self.context.started();
        let output = stdout.map(|fd| read_stdout(&mut child, &fd));
        // Bounded by the keeper: timeout + grace, or the stop signal at unload.
        let result = child.wait();
        drop(child);
        self.context.ended(&self.target, hook_point, &result);
        Some(match result {
            Ok(report) => Decision {
                verdict: self.verdict(&report, event),
                data: output
                    .map(|out| self.data(&report, &out, event))
                    .unwrap_or_default(),
            },
            Err(_) => Verdict::Continue.into(),
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
    fn deliver_with(&self, event: &Arc<EventEnv>, on_decision: OnDecision) {
        let runner = SpawnSync {
            target: self.target.clone(),
            settings: self.settings.clone(),
            context: Arc::clone(&self.context),
            stopping: AtomicBool::new(self.stopping.load(Ordering::Acquire)),
            output_window: Arc::clone(&self.output_window),
        };
        let moved = Arc::clone(event);
        // The decision callback moves into the thread; if the thread cannot be created it
        // comes back through this slot and runs here.
        let slot = Arc::new(std::sync::Mutex::new(Some(on_decision)));
        let in_thread = Arc::clone(&slot);
        let started = std::thread::Builder::new()
            .name("kea-runscript-park".into())
            .spawn(move || {
                let decision = runner.deliver(&moved).unwrap_or_default();
                let on_decision = in_thread.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(on_decision) = on_decision {
                    on_decision(decision);
                }
            });
        if started.is_err() {
            let on_decision = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(on_decision) = on_decision {
                on_decision(self.deliver(event).unwrap_or_default());
            }
        }
    }
}
