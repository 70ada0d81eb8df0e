//! The worker runner: one long-lived process per script, fed one JSON line per event
//! ([`protocol`], version 1) and answering each with an ack or a verdict.
//!
//! Threads (per worker, all joined at unload):
//! - the **writer** owns the worker's stdin: it sends buffered events in `seq` order
//!   with non-blocking writes, and enforces the deadlines of sync events
//!   (`on-timeout`), so a worker that stops reading can never block it for long;
//! - the **supervisor** starts the process (`script worker`), reads its stdout
//!   (answers) and stderr (log lines, when `log-output` is on), notices its end, a
//!   protocol error or unload, terminates it if needed and restarts it with backoff.
//!
//! Kea's threads only enqueue (async) or enqueue and wait for their verdict (sync);
//! [`Runner::deliver_with`] hands the verdict to a callback instead, for callers that
//! must not block (parked packets): the writer settles it by the deadline at the
//! latest, so nothing waits on a Kea thread.
//!
//! Delivery is at least once: an event stays in a bounded buffer until answered;
//! after the process ends, the unanswered ones are sent again to the next process,
//! with `"replay":true` when they had been sent before. A full buffer drops new
//! events (counted, logged).

mod options;
pub(crate) mod process;
pub(crate) mod protocol;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::counters::{bump, drop_one};
use crate::fdio::{LineSplitter, Piece};
use crate::log::{self, Severity, Window};
use crate::runner::output::{self, MAX_OUTPUT_LINE};
use crate::runner::{EventEnv, OnVerdict, Runner, RunnerContext};
use crate::verdict::Verdict;
use kea_runscript_spawn::KILL_GRACE;
pub(crate) use options::WorkerOptions;
use protocol::{Answer, Outcome, Reply};

/// First delay before restarting a worker that ended.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// The delay doubles per quick failure up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A worker that ran at least this long restarts after [`INITIAL_BACKOFF`] again.
pub const STABLE_RUN: Duration = Duration::from_secs(10);
/// At unload, after its stdin is closed, a worker gets this long to finish before
/// `SIGTERM` (then `SIGKILL` after [`KILL_GRACE`]).
pub const UNLOAD_GRACE: Duration = Duration::from_secs(1);
/// Events encoded per batch by the writer.
const BATCH: usize = 256;
/// How long the writer waits for more async events before it writes fewer than
/// [`BATCH`]: under load, one write (and one wake-up of the worker and of the answer
/// reader) then carries several events instead of one each, which is what keeps a busy
/// Kea's cost per event low. An async event's delivery is late by this much at most;
/// a sync event is never held back (it ends the wait at once).
const LINGER: Duration = Duration::from_millis(2);
/// Answered events kept for the next callout to free (see `State::retired`).
const RETIRED_MAX: usize = 1024;
/// Bytes read per `read` from the worker's stdout or stderr.
const READ_CHUNK: usize = 64 * 1024;

/// One buffered event.
struct Pending {
    event: Arc<EventEnv>,
    /// Sync: who gets the verdict.
    on_verdict: Option<OnVerdict>,
    deadline: Option<Instant>,
    /// Written to some worker process before (a resend is a replay).
    sent: bool,
}

/// The state shared by the callouts, the writer and the supervisor.
struct State {
    next_seq: u64,
    /// Unanswered events by `seq`.
    pending: BTreeMap<u64, Pending>,
    /// Sync deadlines `(when, seq)`; entries of answered events are removed too.
    deadlines: BTreeSet<(Instant, u64)>,
    /// The next `seq` to write to the current process.
    cursor: u64,
    /// The current process's stdin and its generation; `None` between processes.
    pipe: Option<(u64, Arc<OwnedFd>)>,
    generation: u64,
    stopping: bool,
    /// The writer has closed stdin for good (unload).
    writer_done: bool,
    /// What the writer does now, so that an event wakes it only when it has to.
    writer: WriterState,
    /// Answered events, freed by the next callout rather than by the answer reader: an
    /// event's memory then goes back on the thread that allocated it, where the allocator
    /// reuses it at once (a free on another thread goes through the allocating arena's
    /// lock, which a busy Kea thread then waits on). At most [`RETIRED_MAX`]: when no
    /// callout comes for a while, the rest are freed where they are answered.
    retired: Vec<Arc<EventEnv>>,
}

/// Whether an enqueued event must wake the writer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WriterState {
    /// Working: it looks at the buffer again before it waits, so no wake-up is needed.
    Busy,
    /// Waiting for events: any event wakes it.
    Idle,
    /// Waiting [`LINGER`] for more async events: only a sync event wakes it.
    Lingering,
}

impl State {
    /// Removes `seq` from the buffer.
    fn take(&mut self, seq: u64) -> Option<Pending> {
        let pending = self.pending.remove(&seq)?;
        if let Some(deadline) = pending.deadline {
            self.deadlines.remove(&(deadline, seq));
        }
        Some(pending)
    }

    /// Removes the sync events whose deadline has passed.
    fn take_expired(&mut self, now: Instant) -> Vec<(u64, Pending)> {
        let mut expired = Vec::new();
        while let Some(&(deadline, seq)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(p) = self.pending.remove(&seq) {
                expired.push((seq, p));
            }
        }
        expired
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(d, _)| d)
    }

    /// The events from `from` on are fewer than a batch and all async, so the writer
    /// may wait [`LINGER`] for more before it writes them.
    fn worth_lingering(&self, from: u64) -> bool {
        let mut unsent = 0;
        for (_, pending) in self.pending.range(from..).take(BATCH) {
            if pending.on_verdict.is_some() {
                return false;
            }
            unsent += 1;
        }
        unsent > 0 && unsent < BATCH
    }
}

struct Inner {
    options: WorkerOptions,
    instance: Arc<str>,
    context: Arc<RunnerContext>,
    state: Mutex<State>,
    /// Wakes the writer: new events, a new process, unload.
    writer_wake: Condvar,
    /// Wakes the supervisor at unload.
    stop_wake: process::Wake,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer waits (at most `timeout`) as `state`, which tells callouts whether an
    /// event must wake it; awake again, it is `Busy`.
    fn wait_as<'a>(
        &self,
        mut st: MutexGuard<'a, State>,
        state: WriterState,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, State> {
        st.writer = state;
        // Poisoning is irrelevant: the state is consistent at every unlock.
        let mut st = match timeout {
            Some(t) => {
                self.writer_wake
                    .wait_timeout(st, t)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => self.writer_wake.wait(st).unwrap_or_else(|e| e.into_inner()),
        };
        st.writer = WriterState::Busy;
        st
    }

    fn reply(&self) -> Reply {
        if self.options.sync.is_some() {
            Reply::Verdict
        } else {
            Reply::Ack
        }
    }

    /// The verdict for a worker's answer to a sync event.
    fn verdict(&self, outcome: Outcome, hook_point: &str) -> Verdict {
        match outcome {
            Outcome::Ack => Verdict::Continue,
            Outcome::Verdict(verdict) => verdict,
            Outcome::Code(code) => {
                let settings = self.options.sync.as_ref().map(|(s, _)| s);
                settings
                    .and_then(|s| s.verdict_for(code.into()))
                    .unwrap_or_else(|| {
                        self.context
                            .log
                            .limited(Severity::Warn, log::EXIT_CODE_UNMAPPED, || {
                                format!(
                                    "worker {} at {hook_point} answered code {code}, which 'exit-codes' does not list: continuing",
                                    self.options.label
                                )
                            });
                        Verdict::Continue
                    })
            }
        }
    }

    fn on_timeout(&self) -> Verdict {
        self.options
            .sync
            .as_ref()
            .map_or(Verdict::Continue, |(s, _)| s.on_timeout)
    }

    /// Hands a removed event its verdict (sync) and accounts it.
    fn finish(&self, pending: Pending, verdict: Verdict) {
        drop_one(&self.context.counters.queued);
        if let Some(on_verdict) = pending.on_verdict {
            on_verdict(verdict);
        }
    }

    /// Sync events whose verdict did not come in time get `on-timeout`.
    fn expire(&self, expired: Vec<(u64, Pending)>) {
        let on_timeout = self.on_timeout();
        for (seq, pending) in expired {
            bump(&self.context.counters.timed_out);
            self.context.log.limited(Severity::Warn, log::TIMEOUT, || {
                format!(
                    "worker {} gave no verdict for seq {seq} at {} within {} ms: {}",
                    self.options.label,
                    pending.event.hook_point().name(),
                    self.options.sync.as_ref().map_or(0, |(_, t)| t.as_millis()),
                    on_timeout.name()
                )
            });
            self.finish(pending, on_timeout);
        }
    }

    /// Applies the answers read at once, in order, under one lock (each lock taken on the
    /// answer reader can make a Kea thread wait). `Err` at the first answer that names an
    /// event never sent; the answers before it are applied.
    fn answer_all(&self, answers: Vec<Answer>) -> Result<(), String> {
        let mut result = Ok(());
        let mut taken = Vec::with_capacity(answers.len());
        {
            let mut st = self.lock();
            for answer in answers {
                let pending = match st.pending.get(&answer.seq) {
                    Some(p) if p.sent => st.take(answer.seq),
                    Some(_) => {
                        result = Err(format!("answer for seq {} before it was sent", answer.seq));
                        break;
                    }
                    None if answer.seq >= st.next_seq => {
                        result = Err(format!(
                            "answer for seq {}, which was never sent",
                            answer.seq
                        ));
                        break;
                    }
                    None => None,
                };
                if let Some(p) = pending.as_ref().filter(|_| st.retired.len() < RETIRED_MAX) {
                    st.retired.push(Arc::clone(&p.event));
                }
                taken.push((answer, pending));
            }
        }
        for (answer, pending) in taken {
            let Some(pending) = pending else {
                // Answered before, or its verdict timed out: nothing waits for it.
                self.context
                    .log
                    .limited(Severity::Debug, log::WORKER_PROTOCOL_ERROR, || {
                        format!(
                            "worker {} answered seq {} again or too late: ignored",
                            self.options.label, answer.seq
                        )
                    });
                continue;
            };
            bump(&self.context.counters.acked);
            let verdict = self.verdict(answer.outcome, pending.event.hook_point().name());
            self.finish(pending, verdict);
        }
        result
    }
}

/// The worker strategy for one script.
pub(crate) struct Worker {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Worker {
    /// Starts the supervisor (which starts the process) and the writer.
    pub fn start(options: WorkerOptions, context: Arc<RunnerContext>) -> std::io::Result<Worker> {
        let inner = Arc::new(Inner {
            options,
            instance: process::random_instance().into(),
            context,
            state: Mutex::new(State {
                next_seq: 1,
                pending: BTreeMap::new(),
                deadlines: BTreeSet::new(),
                cursor: 1,
                pipe: None,
                generation: 0,
                stopping: false,
                writer_done: false,
                writer: WriterState::Busy,
                retired: Vec::new(),
            }),
            writer_wake: Condvar::new(),
            stop_wake: process::Wake::new()?,
        });
        let writer = {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("kea-rs-writer".into())
                .spawn(move || writer_loop(&inner))?
        };
        // Load returns once the first process has been started (or failed to start),
        // so a worker exists as soon as the library is loaded.
        let (started_tx, started_rx) = mpsc::sync_channel(1);
        let supervisor = {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("kea-rs-worker".into())
                .spawn(move || supervisor_loop(&inner, started_tx))
        };
        let supervisor = match supervisor {
            Ok(handle) => handle,
            Err(e) => {
                inner.lock().stopping = true;
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

    /// Buffers `event` for the worker. For a sync worker, `on_verdict` receives the
    /// verdict exactly once — the worker's answer, `on-timeout` when none comes in
    /// `timeout-ms` or the buffer is full, `continue` at unload — on whichever thread
    /// settles it (possibly this one, before this returns). Never blocks on the worker.
    pub fn enqueue(&self, event: &Arc<EventEnv>, on_verdict: Option<OnVerdict>) {
        let inner = &self.inner;
        let mut st = inner.lock();
        if st.stopping {
            drop(st);
            bump(&inner.context.counters.dropped);
            if let Some(f) = on_verdict {
                f(Verdict::Continue);
            }
            return;
        }
        if st.pending.len() >= inner.options.max_queued {
            drop(st);
            bump(&inner.context.counters.dropped);
            inner
                .context
                .log
                .limited(Severity::Warn, log::EVENT_DROPPED, || {
                    format!(
                        "worker {}: {} events wait for an answer (max-queued): event at {} dropped",
                        inner.options.label,
                        inner.options.max_queued,
                        event.hook_point().name()
                    )
                });
            if let Some(f) = on_verdict {
                f(inner.on_timeout());
            }
            return;
        }
        let seq = st.next_seq;
        st.next_seq += 1;
        let deadline = match (&on_verdict, &inner.options.sync) {
            (Some(_), Some((_, timeout))) => Some(Instant::now() + *timeout),
            _ => None,
        };
        if let Some(d) = deadline {
            st.deadlines.insert((d, seq));
        }
        let awaits_verdict = on_verdict.is_some();
        st.pending.insert(
            seq,
            Pending {
                event: Arc::clone(event),
                on_verdict,
                deadline,
                sent: false,
            },
        );
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
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Verdict> {
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
            Ok(verdict) => Some(verdict),
            Err(_) => Some(self.inner.on_timeout()),
        }
    }

    fn deliver_with(&self, event: &Arc<EventEnv>, on_verdict: OnVerdict) {
        if self.inner.options.sync.is_some() {
            self.enqueue(event, Some(on_verdict));
        } else {
            self.enqueue(event, None);
            on_verdict(Verdict::Continue);
        }
    }

    /// Room for a replayed event: it may fill at most half of the buffer, so live events
    /// keep the other half.
    fn has_room(&self) -> bool {
        let st = self.inner.lock();
        st.pending.len() * 2 < self.inner.options.max_queued
    }

    fn shutdown(&self) {
        self.inner.lock().stopping = true;
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

/// The writer thread: sends buffered events, settles sync deadlines, closes stdin at
/// unload (after sending what is buffered, within [`UNLOAD_GRACE`]).
fn writer_loop(inner: &Inner) {
    process::block_async_signals();
    let _policy = process::DeliveryPolicy::enter();
    let reply = inner.reply();
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut written = 0;
    let mut out_fd: Option<(u64, Arc<OwnedFd>)> = None;
    let mut stop_by: Option<Instant> = None;
    let mut batch: Vec<(u64, Arc<EventEnv>, bool)> = Vec::with_capacity(BATCH);
    // Lingered already for the events now buffered: write them next.
    let mut lingered = false;
    loop {
        let expired;
        {
            let mut st = inner.lock();
            let now = Instant::now();
            expired = st.take_expired(now);
            if st.stopping && stop_by.is_none() {
                // Half the grace to send what is buffered, half for the worker to
                // finish after its stdin is closed.
                stop_by = Some(now + UNLOAD_GRACE / 2);
            }
            let nothing_left =
                written >= out.len() && st.pending.range(st.cursor..).next().is_none();
            if stop_by.is_some_and(|by| nothing_left || st.pipe.is_none() || now >= by) {
                st.pipe = None;
                st.writer_done = true;
                drop(st);
                inner.expire(expired);
                // Closes stdin (the supervisor holds no copy): the worker sees EOF.
                drop(out_fd);
                inner.stop_wake.trigger();
                return;
            }
            if written >= out.len() {
                out.clear();
                written = 0;
                out_fd = None;
                if let Some((generation, fd)) = st.pipe.clone() {
                    let from = st.cursor;
                    if !lingered && !st.stopping && expired.is_empty() && st.worth_lingering(from) {
                        lingered = true;
                        drop(inner.wait_as(st, WriterState::Lingering, Some(LINGER)));
                        continue;
                    }
                    lingered = false;
                    let mut last = None;
                    for (&seq, pending) in st.pending.range_mut(from..).take(BATCH) {
                        batch.push((seq, Arc::clone(&pending.event), pending.sent));
                        pending.sent = true;
                        last = Some(seq);
                    }
                    if let Some(last) = last {
                        st.cursor = last + 1;
                        out_fd = Some((generation, fd));
                    }
                }
                if batch.is_empty() {
                    if expired.is_empty() {
                        let wait = [st.next_deadline(), stop_by]
                            .into_iter()
                            .flatten()
                            .min()
                            .map(|d| d.saturating_duration_since(now));
                        drop(inner.wait_as(st, WriterState::Idle, wait));
                    } else {
                        drop(st);
                        inner.expire(expired);
                    }
                    continue;
                }
            }
        }
        inner.expire(expired);
        for (seq, event, replay) in batch.drain(..) {
            protocol::encode_event(
                &mut out,
                &protocol::Header {
                    instance: &inner.instance,
                    seq,
                    hook_point: event.hook_point().name(),
                    replay,
                    reply,
                },
                event.pairs(),
            );
        }
        let Some((generation, fd)) = &out_fd else {
            written = out.len();
            continue;
        };
        // Wait until the pipe takes more, a deadline passes, or unload.
        let deadline = {
            let st = inner.lock();
            [st.next_deadline(), stop_by].into_iter().flatten().min()
        };
        let mut fds = [process::pollfd(fd.as_raw_fd(), libc::POLLOUT)];
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // Unload while the pipe is full: re-check at least every 100 ms.
        let timeout = Some(timeout.map_or(Duration::from_millis(100), |t| {
            t.min(Duration::from_millis(100))
        }));
        if process::poll(&mut fds, timeout).unwrap_or(0) == 0 {
            continue;
        }
        match process::write(fd.as_raw_fd(), &out[written..]) {
            Ok(n) => written += n,
            Err(_) => {
                // The process is gone: its supervisor restarts it and rewinds the
                // cursor; what was not answered is sent again then.
                written = out.len();
                let mut st = inner.lock();
                if st.pipe.as_ref().is_some_and(|(g, _)| g == generation) {
                    st.pipe = None;
                }
            }
        }
    }
}

/// Why a worker process's run ended.
enum End {
    /// It exited (or was killed) on its own.
    Exited,
    /// It closed its stdout.
    ClosedStdout,
    /// It wrote something that is not an answer.
    Protocol(String),
    /// Unload, and the grace period passed.
    Unload,
    /// Polling its fds failed.
    Failed(std::io::Error),
}

/// The supervisor thread: (re)starts the worker with backoff and reads its output.
fn supervisor_loop(inner: &Inner, started: mpsc::SyncSender<()>) {
    process::block_async_signals();
    let policy = process::DeliveryPolicy::enter();
    let mut backoff = INITIAL_BACKOFF;
    let mut output = Output::new(inner);
    let mut started = Some(started);
    loop {
        if inner.lock().stopping {
            break;
        }
        let started_at = Instant::now();
        let launched = policy.normal_while(|| process::start(&inner.options));
        if let Some(started) = started.take() {
            let _ = started.send(());
        }
        match launched {
            Err(err) => {
                bump(&inner.context.counters.failed_to_start);
                inner
                    .context
                    .log
                    .limited(Severity::Error, log::SPAWN_FAILED, || {
                        format!("cannot start worker {}: {err}", inner.options.label)
                    });
            }
            Ok(running) => run_once(inner, running, &mut output),
        }
        if inner.lock().stopping {
            break;
        }
        if started_at.elapsed() >= STABLE_RUN {
            backoff = INITIAL_BACKOFF;
        }
        let mut fds = [process::pollfd(inner.stop_wake.raw(), libc::POLLIN)];
        let _ = process::poll(&mut fds, Some(backoff));
        backoff = (backoff * 2).min(MAX_BACKOFF);
        bump(&inner.context.counters.worker_restarts);
    }
    // Unload: what is left unanswered is given up, and counted.
    let left: Vec<Pending> = {
        let mut st = inner.lock();
        st.deadlines.clear();
        std::mem::take(&mut st.pending).into_values().collect()
    };
    let unanswered = left.len();
    for pending in left {
        bump(&inner.context.counters.dropped);
        inner.finish(pending, Verdict::Continue);
    }
    inner.context.log.always(
        if unanswered > 0 {
            Severity::Warn
        } else {
            Severity::Info
        },
        log::WORKER_STOPPED,
        &format!(
            "worker {} stopped at unload; {unanswered} events were never answered (dropped)",
            inner.options.label
        ),
    );
}

/// One run of the worker process: hand its stdin to the writer, read its answers and
/// output until it ends, make sure it has ended, log how.
fn run_once(inner: &Inner, running: process::Running, output: &mut Output<'_>) {
    let process::Running {
        mut child,
        stdin,
        stdout,
        stderr,
        stop,
    } = running;
    bump(&inner.context.counters.started);
    let generation = {
        let mut st = inner.lock();
        st.generation += 1;
        // Everything unanswered goes again, in seq order.
        st.cursor = st.pending.keys().next().copied().unwrap_or(st.next_seq);
        if st.writer_done {
            // Unload already closed stdin: the new process gets EOF at once.
            drop(stdin);
        } else {
            st.pipe = Some((st.generation, Arc::new(stdin)));
        }
        st.generation
    };
    inner.writer_wake.notify_all();
    inner
        .context
        .log
        .limited(Severity::Info, log::WORKER_STARTED, || {
            format!(
                "worker {} started (instance {}, run {generation})",
                inner.options.label, inner.instance
            )
        });

    let end = read_until_end(inner, &child, &stdout, stderr.as_ref(), output);
    {
        let mut st = inner.lock();
        if st.pipe.as_ref().is_some_and(|(g, _)| *g == generation) {
            st.pipe = None;
        }
    }
    if !matches!(end, End::Exited) {
        stop.trigger();
    }
    let result = child.wait();
    drop(child);
    // What it printed last, now that it is gone (non-blocking: a grandchild may
    // still hold the pipes).
    drain(inner, &stdout, stderr.as_ref(), output);
    output.flush();

    bump(&inner.context.counters.exited);
    let unanswered = inner.lock().pending.len();
    let status = match &result {
        Ok(report) => report.status.to_string(),
        Err(err) => format!("status unknown ({err})"),
    };
    let (severity, id, why) = match &end {
        End::Exited => (Severity::Warn, log::WORKER_EXITED, "exited".to_owned()),
        End::ClosedStdout => (
            Severity::Warn,
            log::WORKER_EXITED,
            "closed its stdout and was terminated".to_owned(),
        ),
        End::Protocol(err) => {
            bump(&inner.context.counters.protocol_errors);
            (
                Severity::Error,
                log::WORKER_PROTOCOL_ERROR,
                format!("broke the protocol ({err}) and was terminated"),
            )
        }
        End::Unload => (
            Severity::Warn,
            log::WORKER_EXITED,
            "did not exit within the unload grace and was terminated".to_owned(),
        ),
        End::Failed(err) => (
            Severity::Error,
            log::WORKER_EXITED,
            format!("could not be watched ({err}) and was terminated"),
        ),
    };
    let stopping = inner.lock().stopping;
    let text = format!(
        "worker {} {why}: {status}; {unanswered} events unanswered{}",
        inner.options.label,
        if stopping { "" } else { ", restarting" }
    );
    if stopping && matches!(end, End::Exited) {
        inner.context.log.always(Severity::Info, id, &text);
    } else if stopping {
        inner.context.log.always(severity, id, &text);
    } else {
        inner.context.log.limited(severity, id, || text);
    }
}

/// Reads answers (stdout) and output (stderr) until the process ends, closes its
/// stdout, breaks the protocol, or outlives the unload grace.
fn read_until_end(
    inner: &Inner,
    child: &kea_runscript_spawn::Child,
    stdout: &OwnedFd,
    stderr: Option<&OwnedFd>,
    output: &mut Output<'_>,
) -> End {
    let mut answers = LineSplitter::new(protocol::MAX_ANSWER_LINE);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut stderr_fd = stderr.map_or(-1, |fd| fd.as_raw_fd());
    let mut stop_fd = inner.stop_wake.raw();
    let mut stdout_fd = stdout.as_raw_fd();
    let mut grace_until: Option<Instant> = None;
    // Set when stdout reached its end: the process should be ending too.
    let mut closed_until: Option<Instant> = None;
    loop {
        let mut fds = [
            process::pollfd(stdout_fd, libc::POLLIN),
            process::pollfd(stderr_fd, libc::POLLIN),
            process::pollfd(child.as_fd().as_raw_fd(), libc::POLLIN),
            process::pollfd(stop_fd, libc::POLLIN),
        ];
        let until = [grace_until, closed_until].into_iter().flatten().min();
        let timeout = until.map(|t| t.saturating_duration_since(Instant::now()));
        if let Err(err) = process::poll(&mut fds, timeout) {
            return End::Failed(err);
        }
        if fds[3].revents != 0 {
            // Unload: the writer closes stdin; give the worker the grace to finish.
            stop_fd = -1;
            grace_until = Some(Instant::now() + UNLOAD_GRACE);
        }
        if fds[1].revents != 0 && matches!(output.read(stderr_fd, &mut buf), process::Read::End) {
            stderr_fd = -1;
        }
        if fds[0].revents != 0 {
            match read_answers(inner, stdout, &mut answers, &mut buf) {
                Ok(true) => {}
                Ok(false) => {
                    // Usually the process is exiting; if it is not gone shortly, it
                    // closed its stdout and cannot answer any more.
                    stdout_fd = -1;
                    closed_until = Some(Instant::now() + KILL_GRACE);
                }
                Err(err) => return End::Protocol(err),
            }
        }
        if fds[2].revents != 0 {
            // Ended: take in its last answers before reporting.
            return match read_answers(inner, stdout, &mut answers, &mut buf) {
                Err(err) => End::Protocol(err),
                Ok(_) => End::Exited,
            };
        }
        let now = Instant::now();
        if grace_until.is_some_and(|t| now >= t) {
            return End::Unload;
        }
        if closed_until.is_some_and(|t| now >= t) {
            return End::ClosedStdout;
        }
    }
}

/// Reads what stdout has now and applies each answer. `Ok(false)` at end of stream.
fn read_answers(
    inner: &Inner,
    stdout: &OwnedFd,
    answers: &mut LineSplitter,
    buf: &mut [u8],
) -> Result<bool, String> {
    loop {
        match process::read(stdout.as_raw_fd(), buf) {
            process::Read::WouldBlock => return Ok(true),
            process::Read::End => return Ok(false),
            process::Read::Data(n) => {
                let mut error = None;
                let mut decoded = Vec::new();
                answers.feed(&buf[..n], |piece| {
                    if error.is_some() {
                        return;
                    }
                    match piece {
                        Piece::Line(line) if line.iter().all(u8::is_ascii_whitespace) => {}
                        Piece::Line(line) => match protocol::decode_answer(line) {
                            Ok(answer) => decoded.push(answer),
                            Err(e) => error = Some(e.to_string()),
                        },
                        Piece::Cut(_) => {
                            error = Some(format!(
                                "a line on stdout longer than {} bytes",
                                protocol::MAX_ANSWER_LINE
                            ))
                        }
                    }
                });
                // The answers before a bad line count; then the bad line ends the process.
                inner.answer_all(decoded)?;
                if let Some(err) = error {
                    return Err(err);
                }
            }
        }
    }
}

/// After the process ended: whatever its pipes still hold.
fn drain(inner: &Inner, stdout: &OwnedFd, stderr: Option<&OwnedFd>, output: &mut Output<'_>) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut answers = LineSplitter::new(protocol::MAX_ANSWER_LINE);
    // Answers after the end are still answers (the event need not be replayed); a
    // bad line here changes nothing, the process is gone anyway.
    let _ = read_answers(inner, stdout, &mut answers, &mut buf);
    if let Some(fd) = stderr {
        // Bounded: read until the pipe is empty now (a live grandchild could keep
        // writing; stop after a few chunks).
        for _ in 0..16 {
            if !matches!(
                output.read(fd.as_raw_fd(), &mut buf),
                process::Read::Data(_)
            ) {
                break;
            }
        }
    }
}

/// The worker's stderr on its way into the log: split into lines of at most
/// [`MAX_OUTPUT_LINE`] bytes, at most [`output::OUTPUT_LINES_PER_SECOND`] lines a second.
struct Output<'a> {
    inner: &'a Inner,
    lines: LineSplitter,
    window: Window,
}

impl<'a> Output<'a> {
    fn new(inner: &'a Inner) -> Output<'a> {
        Output {
            inner,
            lines: LineSplitter::new(MAX_OUTPUT_LINE),
            window: Window::new(Instant::now()),
        }
    }

    /// Reads once from `fd` and logs the complete lines.
    fn read(&mut self, fd: libc::c_int, buf: &mut [u8]) -> process::Read {
        let read = process::read(fd, buf);
        match read {
            process::Read::Data(n) => {
                let (inner, window) = (self.inner, &mut self.window);
                self.lines
                    .feed(&buf[..n], |piece| log_line(inner, window, piece));
            }
            process::Read::WouldBlock | process::Read::End => {}
        }
        read
    }

    /// Logs a last line that had no newline.
    fn flush(&mut self) {
        let (inner, window) = (self.inner, &mut self.window);
        self.lines.finish(|piece| {
            if let Piece::Line(_) = piece {
                log_line(inner, window, piece);
            }
        });
    }
}

fn log_line(inner: &Inner, window: &mut Window, piece: Piece<'_>) {
    output::log_output_line(
        &inner.context.log,
        window,
        format_args!("worker {}", inner.options.label),
        piece,
    );
}

#[cfg(test)]
mod tests {
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
            sync: Some((settings, timeout)),
            log_output: false,
            ambient: None,
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
        assert_eq!(rx.recv().unwrap(), Verdict::Drop);
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
        assert_eq!(rx.recv().unwrap(), Verdict::Skip);
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
