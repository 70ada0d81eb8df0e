//! What the callouts, the writer and the supervisor of one worker share: the options,
//! the state under one lock (the delivery [`Queue`] and the current process's stdin),
//! and how an event leaves the queue (its verdict, its counters, its log line).

use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::options::WorkerOptions;
use super::process;
use super::protocol::{Answer, Outcome, Reply};
use super::queue::{Ack, Queue};
use crate::answer::AnswerData;
use crate::config::Overflow;
use crate::counters::{bump, drop_one};
use crate::log::{self, Severity};
use crate::runner::{EventEnv, OnDecision, RunnerContext};
use crate::verdict::{Decision, Verdict};

/// At unload, after its stdin is closed, a worker gets this long to finish before
/// `SIGTERM` (then `SIGKILL` after [`crate::runner::KILL_GRACE`]).
pub const UNLOAD_GRACE: Duration = Duration::from_secs(1);
/// Answered events kept for the next callout to free (see [`State::retired`]).
const RETIRED_MAX: usize = 1024;

/// One buffered event, as the [`Queue`] holds it.
pub(crate) struct Pending {
    /// The event, shared with the callout that made it.
    pub event: Arc<EventEnv>,
    /// Sync: who gets the decision.
    pub on_decision: Option<OnDecision>,
}

/// The state shared by the callouts, the writer and the supervisor.
pub(crate) struct State {
    /// The unanswered events, what is sent, deadlines; closed at unload.
    pub queue: Queue<Pending>,
    /// The current process's stdin and its generation; `None` between processes.
    pub pipe: Option<(u64, Arc<OwnedFd>)>,
    /// How many processes were started.
    pub generation: u64,
    /// The writer has closed stdin for good (unload).
    pub writer_done: bool,
    /// What the writer does now, so that an event wakes it only when it has to.
    pub writer: WriterState,
    /// Answered events, freed by the next callout rather than by the answer reader: an
    /// event's memory then goes back on the thread that allocated it, where the allocator
    /// reuses it at once (a free on another thread goes through the allocating arena's
    /// lock, which a busy Kea thread then waits on). At most [`RETIRED_MAX`]: when no
    /// callout comes for a while, the rest are freed where they are answered.
    pub retired: Vec<Arc<EventEnv>>,
    /// Callouts waiting for room in the buffer (`overflow: "block"`, or `"merge"` past
    /// its budget).
    pub blocked: usize,
}

/// Whether an enqueued event must wake the writer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriterState {
    /// Working: it looks at the buffer again before it waits, so no wake-up is needed.
    Busy,
    /// Waiting for events: any event wakes it.
    Idle,
    /// Waiting a moment for more async events: only a sync event wakes it.
    Lingering,
}

/// One worker's shared part: options, state, wake-ups.
pub(crate) struct Inner {
    /// The script and how it runs.
    pub options: WorkerOptions,
    /// The random id of this load, in every event line.
    pub instance: Arc<str>,
    /// Counters, log, the launcher's stop signal.
    pub context: Arc<RunnerContext>,
    /// The state under the worker's one lock.
    pub state: Mutex<State>,
    /// Wakes the writer: new events, a new process, unload.
    pub writer_wake: Condvar,
    /// Wakes the supervisor at unload.
    pub stop_wake: process::Wake,
    /// Wakes callouts waiting for room (events left the buffer, or unload).
    pub room: Condvar,
}

impl Inner {
    /// An idle worker's shared part, with an empty queue; no thread yet.
    pub fn new(options: WorkerOptions, context: Arc<RunnerContext>) -> std::io::Result<Inner> {
        // A sync worker's events are never merged nor blocked: its buffer is `max-queued`.
        let queue = if options.sync.is_some() {
            Queue::new(options.max_queued)
        } else {
            let queue = Queue::new(options.max_queued);
            if options.overflow.policy == Overflow::Merge {
                queue.with_merge(options.overflow.byte_budget())
            } else {
                queue
            }
        };
        Ok(Inner {
            state: Mutex::new(State {
                queue,
                blocked: 0,
                pipe: None,
                generation: 0,
                writer_done: false,
                writer: WriterState::Busy,
                retired: Vec::new(),
            }),
            options,
            instance: process::random_instance().into(),
            context,
            writer_wake: Condvar::new(),
            stop_wake: process::Wake::new()?,
            room: Condvar::new(),
        })
    }

    /// Locks the state.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // Poisoning is irrelevant: the state is consistent at every unlock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer waits (at most `timeout`) as `state`, which tells callouts whether an
    /// event must wake it; awake again, it is `Busy`.
    pub fn wait_as<'a>(
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

    /// What the worker is asked to answer: an ack (async) or a verdict (sync).
    pub fn reply(&self) -> Reply {
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

    /// The verdict of a sync event that got no answer in time (or no place).
    pub fn on_timeout(&self) -> Verdict {
        self.options
            .sync
            .as_ref()
            .map_or(Verdict::Continue, |(s, _)| s.on_timeout)
    }

    /// Hands a removed event its decision (sync) and accounts it.
    pub fn finish(&self, pending: Pending, decision: Decision) {
        drop_one(&self.context.counters.queued);
        if let Some(on_decision) = pending.on_decision {
            on_decision(decision);
        }
    }

    /// Sync events whose verdict did not come in time get `on-timeout`.
    pub fn expire(&self, expired: Vec<(u64, Pending)>) {
        if expired.is_empty() {
            return;
        }
        if self.lock().blocked > 0 {
            self.room.notify_all();
        }
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
            self.finish(pending, on_timeout.into());
        }
    }

    /// Applies the answers read at once, in order, under one lock (each lock taken on the
    /// answer reader can make a Kea thread wait). `Err` at the first answer that names an
    /// event never sent; the answers before it are applied.
    pub fn answer_all(&self, answers: Vec<Answer>) -> Result<(), String> {
        let mut result = Ok(());
        let mut taken = Vec::with_capacity(answers.len());
        {
            let mut st = self.lock();
            for answer in answers {
                let pending = match st.queue.ack(answer.seq) {
                    Ack::Settled(p) => Some(p),
                    Ack::Stale => None,
                    Ack::Unsent => {
                        result = Err(format!("answer for seq {} before it was sent", answer.seq));
                        break;
                    }
                    Ack::Unknown => {
                        result = Err(format!(
                            "answer for seq {}, which was never sent",
                            answer.seq
                        ));
                        break;
                    }
                };
                if let Some(p) = pending.as_ref().filter(|_| st.retired.len() < RETIRED_MAX) {
                    st.retired.push(Arc::clone(&p.event));
                }
                taken.push((answer, pending));
            }
            if st.blocked > 0 {
                self.room.notify_all();
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
            let hook_point = pending.event.hook_point();
            let verdict = self.verdict(answer.outcome, hook_point.name());
            // Data means something only to a caller waiting for a decision.
            let data = match (&answer.data, &pending.on_decision) {
                (Some(fields), Some(_)) => {
                    let mut problems = Vec::new();
                    let data = AnswerData::from_json(fields, hook_point, &mut problems);
                    self.context
                        .answer_read(&self.options.label, hook_point, &data, &problems);
                    data
                }
                _ => AnswerData::default(),
            };
            self.finish(pending, Decision { verdict, data });
        }
        result
    }
}
