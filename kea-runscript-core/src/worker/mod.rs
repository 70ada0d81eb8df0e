//! The worker runner: one long-lived process per script, fed one JSON line per event
//! ([`protocol`], version 1) and answering each with an ack or a verdict.
//!
//! Layers, each importing only the ones below it:
//! - [`queue`]: the delivery state machine (sequence numbers, the bounded buffer, what
//!   is sent, deadlines, replay after a restart), pure and tested without processes;
//! - `shared`: the state the threads share under one lock (the queue and the current
//!   process's stdin), and how an event leaves the queue (verdict, counters, log);
//! - `writer`: the **writer** thread owns the worker's stdin: it sends buffered events
//!   in `seq` order with non-blocking writes, and enforces the deadlines of sync events
//!   (`on-timeout`), so a worker that stops reading can never block it for long;
//! - `supervisor`: the **supervisor** thread starts the process (`script worker`), reads
//!   its stdout (answers) and stderr (log lines through `stderr`, when `log-output` is
//!   on), notices its end, a protocol error or unload, terminates it if needed and
//!   restarts it with backoff;
//! - this module: [`Worker`], the runner, which starts both threads (all joined at
//!   unload) and enqueues events.
//!
//! Kea's threads only enqueue (async) or enqueue and wait for their verdict (sync);
//! [`Runner::deliver_with`] hands the verdict to a callback instead, for callers that
//! must not block (parked packets): the writer settles it by the deadline at the
//! latest, so nothing waits on a Kea thread.
//!
//! Delivery is at least once: an event stays in a bounded buffer until answered;
//! after the process ends, the unanswered ones are sent again to the next process,
//! with `"replay":true` when they had been sent before. A full buffer applies the
//! script's overflow policy (merge, block, drop; see `queue`) to new
//! events (counted, logged).

mod options;
pub(crate) mod process;
pub(crate) mod protocol;
pub(crate) mod queue;
mod shared;
mod stderr;
mod supervisor;
mod writer;

use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::block_wait::BlockWait;
use crate::config::Overflow;
use crate::counters::bump;
use crate::lease_key::UNMADE_EVENT_BYTES;
use crate::log::{self, Severity};
use crate::runner::{EventEnv, OnDecision, Runner, RunnerContext};
use crate::verdict::{Decision, Verdict};
pub(crate) use options::WorkerOptions;
use queue::{Pushed, Refused};
use shared::{Inner, Pending, WriterState};

/// The worker strategy for one script.
pub(crate) struct Worker {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Worker {
    /// Starts the supervisor (which starts the process) and the writer.
    pub fn start(options: WorkerOptions, context: Arc<RunnerContext>) -> std::io::Result<Worker> {
        let inner = Arc::new(Inner::new(options, context)?);
        let writer = {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("kea-rs-writer".into())
                .spawn(move || writer::writer_loop(&inner))?
        };
        // Load returns once the first process has been started (or failed to start),
        // so a worker exists as soon as the library is loaded.
        let (started_tx, started_rx) = mpsc::sync_channel(1);
        let supervisor = {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("kea-rs-worker".into())
                .spawn(move || supervisor::supervisor_loop(&inner, started_tx))
        };
        let supervisor = match supervisor {
            Ok(handle) => handle,
            Err(e) => {
                inner.lock().queue.close();
                inner.writer_wake.notify_all();
                let _ = writer.join();
                return Err(e);
            }
        };
        let _ = started_rx.recv_timeout(Duration::from_secs(5));
        Ok(Worker {
            inner,
            threads: Mutex::new(vec![writer, supervisor]),
        })
    }

    /// Buffers `event` for the worker. For a sync worker, `on_decision` receives the
    /// decision exactly once — the worker's answer, `on-timeout` when none comes in
    /// `timeout-ms`, `continue` at unload — on whichever thread settles it (possibly this
    /// one, before this returns); a sync event is never dropped for a full buffer (the
    /// queue admits it past its bounds). An async event meets the `overflow` policy when
    /// the buffer is full: merged, blocked for at most `block-ms`, or dropped.
    pub fn enqueue(&self, event: &Arc<EventEnv>, on_decision: Option<OnDecision>) {
        let inner = &self.inner;
        let awaits_verdict = on_decision.is_some();
        let deadline = match (awaits_verdict, &inner.options.sync) {
            (true, Some((_, timeout))) => Some(Instant::now() + *timeout),
            _ => None,
        };
        let overflow = &inner.options.overflow;
        let async_worker = inner.options.sync.is_none();
        let mut pending = Pending {
            event: Arc::clone(event),
            on_decision,
        };
        let mut st = inner.lock();
        // The lease keys are read only when a merge is possible (see
        // `Queue::merge_possible`): reading them may make the event's model on this
        // (Kea's) thread, which the writer would otherwise make. Otherwise the event is
        // keyless (never merged; merging starts at max-queued) and estimated at a fixed
        // size.
        let (keys, bytes) = if async_worker
            && overflow.policy == Overflow::Merge
            && event.may_have_lease_key()
            && st.queue.merge_possible(UNMADE_EVENT_BYTES)
        {
            drop(st);
            let facts = event.lease_facts();
            st = inner.lock();
            facts
        } else {
            (Vec::new(), event.unmade_bytes())
        };
        let mut wait = BlockWait::default();
        loop {
            match st.queue.push_keyed(pending, deadline, keys.clone(), bytes) {
                Ok(Pushed::New(_)) => break,
                Ok(Pushed::Merged { replaced, .. }) => {
                    drop(st);
                    bump(&inner.context.counters.merged);
                    drop(replaced);
                    return;
                }
                Err(Refused::Closed(pending)) => {
                    drop(st);
                    bump(&inner.context.counters.dropped);
                    if let Some(f) = pending.on_decision {
                        f(Verdict::Continue.into());
                    }
                    return;
                }
                Err(Refused::Full(refused)) => {
                    // Only ever an async event: the queue admits sync ones past its bounds.
                    debug_assert!(refused.on_decision.is_none());
                    if overflow.blocks() {
                        match wait.wait(
                            st,
                            &inner.room,
                            overflow.block,
                            &inner.context.counters.blocked,
                            |s| &mut s.blocked,
                        ) {
                            Ok(woken) => {
                                (st, pending) = (woken, refused);
                                continue;
                            }
                            Err(gone) => st = gone,
                        }
                    }
                    drop(st);
                    bump(&inner.context.counters.dropped);
                    inner
                        .context
                        .log
                        .limited(Severity::Warn, log::EVENT_DROPPED, || {
                            format!(
                                "worker {}: {} events wait for an answer ({}): event at {} dropped",
                                inner.options.label,
                                inner.options.max_queued,
                                match overflow.policy {
                                    Overflow::Drop => "max-queued".to_owned(),
                                    Overflow::Block => format!(
                                        "max-queued, for block-ms {}",
                                        overflow.block.as_millis()
                                    ),
                                    _ => format!(
                                        "merge-budget-bytes {}, for block-ms {}",
                                        overflow.merge_budget_bytes,
                                        overflow.block.as_millis()
                                    ),
                                },
                                event.hook_point().name()
                            )
                        });
                    return;
                }
            }
        }
        bump(&inner.context.counters.queued);
        let retired = std::mem::take(&mut st.retired);
        let wake = match st.writer {
            WriterState::Busy => false,
            WriterState::Idle => true,
            // A verdict is awaited: it must not wait for a lingering writer.
            WriterState::Lingering => awaits_verdict,
        };
        if wake {
            st.writer = WriterState::Busy;
        }
        drop(st);
        // Without the check this is a futex syscall per event, most of them for a
        // writer that is awake anyway.
        if wake {
            inner.writer_wake.notify_one();
        }
        drop(retired);
    }
}

impl Runner for Worker {
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Decision> {
        let Some((_, timeout)) = &self.inner.options.sync else {
            self.enqueue(event, None);
            return None;
        };
        let (tx, rx) = mpsc::sync_channel(1);
        self.enqueue(
            event,
            Some(Box::new(move |v| {
                let _ = tx.send(v);
            })),
        );
        // The writer settles the verdict by the deadline; the margin only guards
        // against a writer that cannot run (then: on-timeout, logged by no one else).
        match rx.recv_timeout(*timeout + Duration::from_secs(5)) {
            Ok(decision) => Some(decision),
            Err(_) => Some(self.inner.on_timeout().into()),
        }
    }

    fn deliver_with(&self, event: &Arc<EventEnv>, on_decision: OnDecision) {
        if self.inner.options.sync.is_some() {
            self.enqueue(event, Some(on_decision));
        } else {
            self.enqueue(event, None);
            on_decision(Verdict::Continue.into());
        }
    }

    /// Room for a replayed event: it may fill at most half of the buffer, so live events
    /// keep the other half.
    fn has_room(&self) -> bool {
        self.inner.lock().queue.has_room_for_replay()
    }

    fn shutdown(&self) {
        self.inner.lock().queue.close();
        self.inner.room.notify_all();
        self.inner.writer_wake.notify_all();
        self.inner.stop_wake.trigger();
    }

    fn join(&self) {
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown();
        self.join();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::mpsc;

    use super::*;
    use crate::log::{RateLimiter, StderrSink};
    use kea_runscript_env::HookPoint;
    use kea_runscript_spawn::StopSignal;

    fn shared() -> Arc<RunnerContext> {
        Arc::new(RunnerContext {
            counters: Default::default(),
            log: RateLimiter::new(Arc::new(StderrSink)),
            stop: Arc::new(StopSignal::new().unwrap()),
        })
    }

    fn sync_worker(dir: &std::path::Path, body: &str, timeout: Duration) -> Worker {
        let path = dir.join("w");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let settings = crate::config::SyncSettings {
            exit_codes: BTreeMap::from([(0, Verdict::Continue)]),
            on_timeout: Verdict::Skip,
            on_signal: Verdict::Continue,
        };
        let options = WorkerOptions {
            path,
            label: "w".into(),
            env: vec![],
            max_queued: 10,
            overflow: Default::default(),
            sync: Some((settings, timeout)),
            log_output: false,
            ambient: None,
            privileges: None,
        };
        Worker::start(options, shared()).unwrap()
    }

    fn event() -> Arc<EventEnv> {
        Arc::new(EventEnv::new(HookPoint::Leases4Committed, Vec::<(String, String)>::new()).0)
    }

    #[test]
    fn deliver_with_returns_before_the_verdict_and_calls_back_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        // Answers drop for each event, but only once the file `go` exists.
        let worker = sync_worker(
            dir.path(),
            &format!(
                r#"while IFS= read -r line; do
  while [ ! -e '{}' ]; do sleep 0.01; done
  seq=${{line#*\"seq\":}}; seq=${{seq%%,*}}
  printf '{{"seq":%s,"verdict":"drop"}}\n' "$seq"
done"#,
                go.display()
            ),
            Duration::from_secs(60),
        );
        let (tx, rx) = mpsc::channel();
        Runner::deliver_with(&worker, &event(), Box::new(move |v| tx.send(v).unwrap()));
        // Returned, and no verdict can have come: the worker waits for `go`.
        assert!(rx.try_recv().is_err());
        std::fs::write(&go, "").unwrap();
        assert_eq!(rx.recv().unwrap().verdict, Verdict::Drop);
        worker.shutdown();
        worker.join();
    }

    /// The scheduling policy (field 41 of `stat`) of a process or thread.
    fn policy(stat: &std::path::Path) -> Option<i32> {
        let stat = std::fs::read_to_string(stat).ok()?;
        // Fields after the command name, which is in parentheses: state is field 3.
        let rest = &stat[stat.rfind(')')? + 2..];
        rest.split(' ').nth(41 - 3)?.parse().ok()
    }

    #[test]
    fn the_writer_is_a_batch_thread_and_the_worker_process_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("policy");
        let worker = sync_worker(
            dir.path(),
            &format!(
                "cut -d' ' -f41 /proc/$$/stat >'{0}.tmp' && mv '{0}.tmp' '{0}'\nexec cat >/dev/null",
                seen.display()
            ),
            Duration::from_secs(60),
        );
        // Writers only: a reader (of this or another test's worker) is back to the
        // normal policy for a moment whenever it starts a process. The writer names
        // itself and takes its policy as it starts, which may be after `sync_worker`
        // returns (alone in its process, as under nextest, this test sees it start):
        // wait until every writer has started and is a batch thread.
        let writer_policies = || -> Vec<Option<i32>> {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .flatten()
                .filter(|task| {
                    std::fs::read_to_string(task.path().join("comm"))
                        .is_ok_and(|comm| comm.trim_end() == "kea-rs-writer")
                })
                .map(|task| policy(&task.path().join("stat")))
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut writers = writer_policies();
        while (writers.is_empty() || writers.iter().any(|p| *p != Some(libc::SCHED_BATCH)))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
            writers = writer_policies();
        }
        assert!(!writers.is_empty(), "no writer thread found within 10 s");
        assert!(
            writers.iter().all(|p| *p == Some(libc::SCHED_BATCH)),
            "writer threads' policies {writers:?}, not all SCHED_BATCH ({})",
            libc::SCHED_BATCH
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !seen.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let worker_policy = std::fs::read_to_string(&seen).expect("the worker never ran");
        assert_eq!(worker_policy.trim(), libc::SCHED_OTHER.to_string());
        worker.shutdown();
        worker.join();
    }

    #[test]
    fn a_callback_gets_on_timeout_from_the_writer_when_no_answer_comes() {
        let dir = tempfile::tempdir().unwrap();
        let worker = sync_worker(
            dir.path(),
            "exec cat >/dev/null",
            Duration::from_millis(100),
        );
        let (tx, rx) = mpsc::channel();
        Runner::deliver_with(&worker, &event(), Box::new(move |v| tx.send(v).unwrap()));
        // Nobody waits on this thread: the verdict still comes, as on-timeout.
        assert_eq!(rx.recv().unwrap().verdict, Verdict::Skip);
        assert_eq!(
            worker
                .inner
                .context
                .counters
                .timed_out
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        worker.shutdown();
        worker.join();
    }
}
