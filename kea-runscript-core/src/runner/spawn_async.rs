//! Spawn-async: a process per event, not waited for. At most `max-in-flight`
//! processes of the script run at once; further events wait in a queue (the worker's
//! delivery state machine, [`Queue`], used as a plain queue) started by the reaper as
//! slots free up. When it is full, the script's `overflow` policy applies:
//! - `merge` (default): a waiting event of the same lease is replaced by the newer one
//!   (counted `merged`); the queue is bounded by the byte budget (and by `max-queued` when
//!   given); past it, as `block`;
//! - `block`: the calling (Kea) thread waits for room, at most `block-ms`, then drops;
//! - `drop`: dropped at once.
//!
//! Every drop is counted and logged (rate-limited). Under `merge` and `block`, the runs of
//! one lease never overlap: an event whose lease has a run going, or an earlier event
//! waiting, waits for them, so a script sees one lease's events start in order, each
//! after the previous one ended. An event about several leases (a commit that moves a
//! client: its new and its deleted lease) takes its place among the events of each.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, Weak};

use kea_runscript_env::HookPoint;

use super::reaper::{NotWatched, Reaper, RunOwner};
use super::{EventEnv, Runner, RunnerContext, ScriptTarget};
use crate::block_wait::BlockWait;
use crate::config::{AsyncSettings, Overflow, OverflowSettings};
use crate::counters::{bump, drop_one};
use crate::lease_key::LeaseKey;
use crate::log::{self, Severity};
use crate::verdict::Decision;
use crate::worker::queue::{Pushed, Queue, Refused};
use kea_runscript_spawn::{ExitStatus, FailedStep, Report, SpawnError};

struct State {
    /// Slots taken: processes running or being started.
    in_flight: usize,
    /// The events waiting for a slot.
    queue: Queue<Arc<EventEnv>>,
    /// Leases with a run going (`merge`, `block`), and how many (one, unless a run of the
    /// lease was started before it was known as busy: never, by construction).
    running: HashMap<LeaseKey, usize>,
    /// Callers waiting for room (`block`).
    blocked: usize,
    stopping: bool,
}

/// The spawn-async strategy for one script.
pub(crate) struct SpawnAsync {
    target: ScriptTarget,
    settings: AsyncSettings,
    overflow: OverflowSettings,
    context: Arc<RunnerContext>,
    reaper: Arc<Reaper>,
    state: Mutex<State>,
    /// Signalled when room frees up, for blocked callers.
    room: Condvar,
    me: Weak<SpawnAsync>,
}

/// The owner of one run about leases: tells the runner which leases' run ended.
struct LeaseRun {
    runner: Arc<SpawnAsync>,
    keys: Vec<LeaseKey>,
}

impl RunOwner for LeaseRun {
    fn run_ended(&self, hook_point: HookPoint, result: Result<Report, SpawnError>) {
        self.runner.ended(hook_point, result, &self.keys);
    }
}

impl SpawnAsync {
    pub fn new(
        target: ScriptTarget,
        settings: AsyncSettings,
        overflow: OverflowSettings,
        context: Arc<RunnerContext>,
        reaper: Arc<Reaper>,
    ) -> Arc<SpawnAsync> {
        let mut queue = Queue::new(settings.max_queued);
        if overflow.policy == Overflow::Merge {
            queue = queue.with_merge(overflow.byte_budget());
        }
        Arc::new_cyclic(|me| SpawnAsync {
            target,
            settings,
            overflow,
            context,
            reaper,
            state: Mutex::new(State {
                in_flight: 0,
                queue,
                running: HashMap::new(),
                blocked: 0,
                stopping: false,
            }),
            room: Condvar::new(),
            me: me.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts `event` (about leases `keys`, already marked running) in a slot already
    /// taken; when launching fails, the slot goes to the next queued event, or is released.
    fn start(&self, mut event: Arc<EventEnv>, mut keys: Vec<LeaseKey>) {
        loop {
            let hook_point = event.hook_point();
            match self.target.spawn(&event, &self.context) {
                Ok(child) => {
                    self.context.started();
                    let me = self.me.upgrade().expect("runner alive while delivering");
                    let owner: Arc<dyn RunOwner> = if keys.is_empty() {
                        me
                    } else {
                        Arc::new(LeaseRun {
                            runner: me,
                            keys: keys.clone(),
                        })
                    };
                    if let Err(NotWatched { child, error }) =
                        self.reaper.register(child, owner, hook_point)
                    {
                        // The reaper cannot watch it (a failed epoll_ctl, or stopped
                        // because unload raced with this event): end it here.
                        if let Some(err) = error {
                            self.context.wait_failed(&self.target, &err);
                        }
                        drop(child);
                        self.context.ended(
                            &self.target,
                            hook_point,
                            &Err(SpawnError {
                                step: FailedStep::Wait,
                                error: std::io::Error::other("killed: engine stopped"),
                            }),
                        );
                        self.release_slot(&keys);
                    }
                    return;
                }
                Err(err) => {
                    self.context.launch_failed(&self.target, hook_point, &err);
                    match self.next_or_release(&keys) {
                        Some((next, next_keys)) => (event, keys) = (next, next_keys),
                        None => return,
                    }
                }
            }
        }
    }

    /// The run about leases `done` is over: takes the next queued event that may start
    /// for the caller's slot (marking its leases running), or releases the slot.
    fn next_or_release(&self, done: &[LeaseKey]) -> Option<(Arc<EventEnv>, Vec<LeaseKey>)> {
        let mut guard = self.lock();
        let state = &mut *guard;
        unmark(&mut state.running, done);
        let next = if state.stopping {
            None
        } else {
            let running = &state.running;
            state.queue.pop_ready(|k| running.contains_key(k))
        };
        let next = match next {
            Some((_, event, keys)) => {
                drop_one(&self.context.counters.queued);
                mark(&mut state.running, &keys);
                Some((event, keys))
            }
            None => {
                state.in_flight -= 1;
                None
            }
        };
        if state.blocked > 0 {
            self.room.notify_all();
        }
        next
    }

    fn release_slot(&self, keys: &[LeaseKey]) {
        let mut state = self.lock();
        state.in_flight -= 1;
        unmark(&mut state.running, keys);
        if state.blocked > 0 {
            self.room.notify_all();
        }
    }

    /// One of this script's runs (about leases `keys`) has ended.
    fn ended(&self, hook_point: HookPoint, result: Result<Report, SpawnError>, keys: &[LeaseKey]) {
        // The next queued event takes the slot before this run is accounted as ended: so
        // the gauges never read "nothing queued, nothing in flight" while an event moves
        // from the queue to a run (a false idle for whoever watches them: wait_idle, the
        // statistics; found by runner.rs's queue test under load).
        if let Some((next, next_keys)) = self.next_or_release(keys) {
            self.start(next, next_keys);
        }
        self.context.ended(&self.target, hook_point, &result);
        if let Ok(Report {
            status: ExitStatus::Exited(code @ 1..),
            ..
        }) = result
        {
            self.context
                .log
                .limited(Severity::Warn, log::NONZERO_EXIT, || {
                    format!(
                        "script {} at {} exited with code {code}",
                        self.target.label,
                        hook_point.name()
                    )
                });
        }
    }

    /// Counts and logs a dropped event (`why`: the bounds that were full).
    fn dropped(&self, event: &EventEnv, why: &str) {
        bump(&self.context.counters.dropped);
        self.context
            .log
            .limited(Severity::Warn, log::EVENT_DROPPED, || {
                format!(
                    "event {} dropped for script {}: {why}",
                    event.hook_point().name(),
                    self.target.label,
                )
            });
    }

    fn full_reason(&self) -> String {
        let base = format!(
            "{} running (max-in-flight) and the queue full",
            self.settings.max_in_flight
        );
        match self.overflow.policy {
            Overflow::Drop => format!(
                "{base} ({} queued, max-queued; overflow: drop)",
                self.settings.max_queued
            ),
            Overflow::Block => format!(
                "{base} ({} queued, max-queued) for {} ms (block-ms)",
                self.settings.max_queued,
                self.overflow.block.as_millis()
            ),
            Overflow::Merge => format!(
                "{base} (merge-budget-bytes {}) for {} ms (block-ms)",
                self.overflow.merge_budget_bytes,
                self.overflow.block.as_millis()
            ),
        }
    }
}

/// One run of each of `keys` more.
fn mark(running: &mut HashMap<LeaseKey, usize>, keys: &[LeaseKey]) {
    for k in keys {
        *running.entry(k.clone()).or_insert(0) += 1;
    }
}

/// One run of each of `keys` fewer.
fn unmark(running: &mut HashMap<LeaseKey, usize>, keys: &[LeaseKey]) {
    for k in keys {
        if let Some(n) = running.get_mut(k) {
            *n -= 1;
            if *n == 0 {
                running.remove(k);
            }
        }
    }
}

impl RunOwner for SpawnAsync {
    /// Called by the reaper when one of this script's runs (of no lease) has ended.
    fn run_ended(&self, hook_point: HookPoint, result: Result<Report, SpawnError>) {
        self.ended(hook_point, result, &[]);
    }
}

impl Runner for SpawnAsync {
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Decision> {
        // The lease keys (merge, and the order of one lease's runs under merge and block)
        // are read before the lock: it may make the event's model, which a run started
        // now needs anyway (its variables are rendered from it on this thread).
        let (keys, bytes) = if self.overflow.policy != Overflow::Drop && event.may_have_lease_key()
        {
            event.lease_facts()
        } else {
            (Vec::new(), event.unmade_bytes())
        };
        let mut state = self.lock();
        let mut wait = BlockWait::default();
        loop {
            if state.stopping {
                drop(state);
                bump(&self.context.counters.dropped);
                return None;
            }
            // Free: no run of its leases going, and no earlier event of them waiting.
            let leases_free = !keys.iter().any(|k| state.running.contains_key(k))
                && !state.queue.holds_any(&keys);
            if state.in_flight < self.settings.max_in_flight && leases_free {
                state.in_flight += 1;
                mark(&mut state.running, &keys);
                drop(state);
                self.start(Arc::clone(event), keys);
                return None;
            }
            match state
                .queue
                .push_keyed(Arc::clone(event), None, keys.clone(), bytes)
            {
                Ok(Pushed::New(_)) => {
                    bump(&self.context.counters.queued);
                    return None;
                }
                Ok(Pushed::Merged { replaced, .. }) => {
                    drop(state);
                    bump(&self.context.counters.merged);
                    drop(replaced);
                    return None;
                }
                Err(Refused::Closed(_)) | Err(Refused::Full(_)) if !self.overflow.blocks() => {
                    drop(state);
                    self.dropped(event, &self.full_reason());
                    return None;
                }
                Err(Refused::Closed(_)) | Err(Refused::Full(_)) => {
                    state = match wait.wait(
                        state,
                        &self.room,
                        self.overflow.block,
                        &self.context.counters.blocked,
                        |s| &mut s.blocked,
                    ) {
                        Ok(state) => state,
                        Err(state) => {
                            drop(state);
                            self.dropped(event, &self.full_reason());
                            return None;
                        }
                    };
                }
            }
        }
    }

    fn has_room(&self) -> bool {
        let state = self.lock();
        state.in_flight < self.settings.max_in_flight && state.queue.len() == 0
    }

    fn shutdown(&self) {
        let discarded = {
            let mut state = self.lock();
            state.stopping = true;
            self.room.notify_all();
            state.queue.drain().len()
        };
        if discarded > 0 {
            for _ in 0..discarded {
                drop_one(&self.context.counters.queued);
                bump(&self.context.counters.dropped);
            }
            self.context.log.always(
                Severity::Warn,
                log::SHUTDOWN,
                &format!(
                    "unload: {discarded} queued events for script {} discarded",
                    self.target.label
                ),
            );
        }
    }
}
