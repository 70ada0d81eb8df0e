//! Spawn-async: a process per event, not waited for. At most `max-in-flight`
//! processes of the script run at once; further events wait in a queue of at most
//! `max-queued`, started by the reaper as slots free up; past that they are dropped,
//! counted and logged (rate-limited).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use kea_runscript_env::HookPoint;

use super::reaper::{NotWatched, Reaper, RunOwner};
use super::{EventEnv, Runner, RunnerContext, ScriptTarget};
use crate::config::AsyncSettings;
use crate::counters::{bump, drop_one};
use crate::log::{self, Severity};
use crate::verdict::Verdict;
use kea_runscript_spawn::{ExitStatus, FailedStep, Report, SpawnError};

struct State {
    /// Slots taken: processes running or being started.
    in_flight: usize,
    queue: VecDeque<Arc<EventEnv>>,
    stopping: bool,
}

/// The spawn-async strategy for one script.
pub(crate) struct SpawnAsync {
    target: ScriptTarget,
    settings: AsyncSettings,
    context: Arc<RunnerContext>,
    reaper: Arc<Reaper>,
    state: Mutex<State>,
    me: Weak<SpawnAsync>,
}

impl SpawnAsync {
    pub fn new(
        target: ScriptTarget,
        settings: AsyncSettings,
        context: Arc<RunnerContext>,
        reaper: Arc<Reaper>,
    ) -> Arc<SpawnAsync> {
        Arc::new_cyclic(|me| SpawnAsync {
            target,
            settings,
            context,
            reaper,
            state: Mutex::new(State {
                in_flight: 0,
                queue: VecDeque::new(),
                stopping: false,
            }),
            me: me.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts `event` in a slot already taken; when launching fails, the slot goes
    /// to the next queued event, or is released.
    fn start(&self, mut event: Arc<EventEnv>) {
        loop {
            let hook_point = event.hook_point();
            match self.target.spawn(&event, &self.context) {
                Ok(child) => {
                    self.context.started();
                    let me: Arc<dyn RunOwner> =
                        self.me.upgrade().expect("runner alive while delivering");
                    if let Err(NotWatched { child, error }) =
                        self.reaper.register(child, me, hook_point)
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
                        self.release_slot();
                    }
                    return;
                }
                Err(err) => {
                    self.context.launch_failed(&self.target, hook_point, &err);
                    match self.next_or_release() {
                        Some(next) => event = next,
                        None => return,
                    }
                }
            }
        }
    }

    /// Takes the next queued event for the caller's slot, or releases the slot.
    fn next_or_release(&self) -> Option<Arc<EventEnv>> {
        let mut state = self.lock();
        let next = if state.stopping {
            None
        } else {
            state.queue.pop_front()
        };
        match next {
            Some(event) => {
                drop_one(&self.context.counters.queued);
                Some(event)
            }
            None => {
                state.in_flight -= 1;
                None
            }
        }
    }

    fn release_slot(&self) {
        self.lock().in_flight -= 1;
    }
}

impl RunOwner for SpawnAsync {
    /// Called by the reaper when one of this script's runs has ended.
    fn run_ended(&self, hook_point: HookPoint, result: Result<Report, SpawnError>) {
        // The next queued event takes the slot before this run is accounted as ended: so
        // the gauges never read "nothing queued, nothing in flight" while an event moves
        // from the queue to a run (a false idle for whoever watches them: wait_idle, the
        // statistics; found by runner.rs's queue test under load).
        if let Some(next) = self.next_or_release() {
            self.start(next);
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
}

impl Runner for SpawnAsync {
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Verdict> {
        let mut state = self.lock();
        if state.stopping {
            drop(state);
            bump(&self.context.counters.dropped);
            return None;
        }
        if state.in_flight < self.settings.max_in_flight {
            state.in_flight += 1;
            drop(state);
            self.start(Arc::clone(event));
        } else if state.queue.len() < self.settings.max_queued {
            state.queue.push_back(Arc::clone(event));
            bump(&self.context.counters.queued);
        } else {
            drop(state);
            bump(&self.context.counters.dropped);
            self.context.log.limited(Severity::Warn, log::EVENT_DROPPED, || {
                format!(
                    "event {} dropped for script {}: {} running (max-in-flight) and {} queued (max-queued)",
                    event.hook_point().name(),
                    self.target.label,
                    self.settings.max_in_flight,
                    self.settings.max_queued
                )
            });
        }
        None
    }

    fn has_room(&self) -> bool {
        let state = self.lock();
        state.in_flight < self.settings.max_in_flight && state.queue.is_empty()
    }

    fn shutdown(&self) {
        let discarded = {
            let mut state = self.lock();
            state.stopping = true;
            std::mem::take(&mut state.queue).len()
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
