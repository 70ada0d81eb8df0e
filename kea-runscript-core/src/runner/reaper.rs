//! The reaper: one background thread per engine that waits for the async runs
//! (epoll on their keepers' pidfds), collects their results and hands them to the
//! run's [`RunOwner`] (the runner that started it, which may start the next queued
//! event). It knows runners only through that trait. Timeouts and termination at
//! unload are enforced by each run's keeper (see [`kea_runscript_spawn`]); the reaper never
//! calls `waitpid(-1)`.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kea_runscript_env::HookPoint;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::RunnerContext;
use crate::log::{self, Severity};
use kea_runscript_spawn::{Child, FailedStep, Report, SpawnError};

/// epoll token of the wake-up eventfd.
const WAKE: u64 = 0;

/// Who started a run the reaper watches: told once when it has ended.
pub(crate) trait RunOwner: Send + Sync {
    /// The run for `hook_point` ended with `result`; its keeper is already reaped.
    fn run_ended(&self, hook_point: HookPoint, result: Result<Report, SpawnError>);
}

/// A run the reaper did not take: the child comes back to the caller, which ends it.
pub(crate) struct NotWatched {
    /// The run, still to be ended by the caller.
    pub child: Child,
    /// Why watching it failed; `None` when the reaper had already stopped.
    pub error: Option<io::Error>,
}

/// One running async script.
struct Entry {
    child: Child,
    owner: Arc<dyn RunOwner>,
    /// The hook point of the event it runs for (for logs).
    hook_point: HookPoint,
}

impl Entry {
    /// Drops the child (reaping its keeper, after killing it if it still runs) and
    /// then hands the run's result to its runner, which may start a queued event.
    fn finish(self, result: Result<Report, SpawnError>) {
        let Entry {
            child,
            owner,
            hook_point,
        } = self;
        drop(child);
        owner.run_ended(hook_point, result);
    }
}

struct Entries {
    map: HashMap<u64, Entry>,
    /// Set when the thread has exited: registering then fails.
    closed: bool,
    /// Set by `shutdown`: give up on runs still going at this time.
    give_up_at: Option<Instant>,
}

/// Handle to the reaper thread, shared by the async runners of an engine.
pub(crate) struct Reaper {
    epoll: Epoll,
    wake: EventFd,
    entries: Mutex<Entries>,
    next_token: AtomicU64,
    context: Arc<RunnerContext>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Reaper {
    /// Creates the epoll set and starts the thread.
    pub fn start(context: Arc<RunnerContext>) -> io::Result<Arc<Reaper>> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let wake = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        let reaper = Arc::new(Reaper {
            epoll,
            wake,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                closed: false,
                give_up_at: None,
            }),
            next_token: AtomicU64::new(WAKE + 1),
            context,
            thread: Mutex::new(None),
        });
        reaper.watch(reaper.wake.as_fd(), WAKE)?;
        let runner = Arc::clone(&reaper);
        let handle = std::thread::Builder::new()
            .name("kea-runscript-reaper".into())
            .spawn(move || runner.run())?;
        *reaper.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(reaper)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn watch(&self, fd: impl AsFd, token: u64) -> io::Result<()> {
        self.epoll
            .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, token))?;
        Ok(())
    }

    fn wake(&self) {
        // Cannot fail short of a counter overflow; the thread drains it on each wake.
        let _ = self.wake.arm();
    }

    /// Hands a started run to the reaper, which tells `owner` when it has ended. If
    /// the reaper has already stopped or cannot watch it, the child is handed back.
    pub fn register(
        &self,
        child: Child,
        owner: Arc<dyn RunOwner>,
        hook_point: HookPoint,
    ) -> Result<(), NotWatched> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.lock();
        if entries.closed {
            return Err(NotWatched { child, error: None });
        }
        // Inserted before it is watched, so an immediate end finds its entry.
        let entry = entries.map.entry(token).or_insert(Entry {
            child,
            owner,
            hook_point,
        });
        if let Err(err) = self.watch(entry.child.as_fd(), token) {
            let entry = entries.map.remove(&token).expect("just inserted");
            return Err(NotWatched {
                child: entry.child,
                error: Some(err),
            });
        }
        Ok(())
    }

    /// For unload, once the keepers were told to stop: waits for the remaining runs
    /// (at most `bound`, then kills their keepers, whose scripts die with them) and
    /// joins the thread.
    pub fn shutdown(&self, bound: Duration) {
        self.lock().give_up_at.get_or_insert(Instant::now() + bound);
        self.wake();
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// The thread's loop.
    fn run(self: Arc<Self>) {
        let mut events = [EpollEvent::empty(); 64];
        loop {
            let timeout_ms = {
                let mut entries = self.lock();
                match entries.give_up_at {
                    Some(_) if entries.map.is_empty() => {
                        entries.closed = true;
                        return;
                    }
                    Some(at) if Instant::now() >= at => {
                        let left = std::mem::take(&mut entries.map);
                        entries.closed = true;
                        drop(entries);
                        self.context.log.always(
                            Severity::Error,
                            log::SHUTDOWN,
                            &format!(
                                "unload: killing {} script keepers that did not end",
                                left.len()
                            ),
                        );
                        for (_, entry) in left {
                            // Still running: the keeper, and so the script, is killed.
                            entry.finish(Err(SpawnError {
                                step: FailedStep::Wait,
                                error: io::Error::other("killed at unload"),
                            }));
                        }
                        return;
                    }
                    Some(_) => Some(50u16),
                    None => None,
                }
            };
            let n = match self.epoll.wait(&mut events, EpollTimeout::from(timeout_ms)) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(err) => {
                    self.context
                        .log
                        .limited(Severity::Error, log::REAPER_FAILED, || {
                            format!("epoll_wait failed: {err}")
                        });
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            let mut ended: Vec<(Entry, Result<Report, SpawnError>)> = Vec::new();
            {
                let mut entries = self.lock();
                for event in &events[..n] {
                    let token = event.data();
                    if token == WAKE {
                        // Drain it (non-blocking; an empty counter is no error here).
                        let _ = self.wake.read();
                        continue;
                    }
                    let Some(entry) = entries.map.get_mut(&token) else {
                        continue;
                    };
                    if let Some(result) = entry.child.try_wait() {
                        let entry = entries.map.remove(&token).expect("present");
                        ended.push((entry, result));
                    }
                }
            }
            // Outside the lock: the owner may start its next queued event and register it.
            for (entry, result) in ended {
                entry.finish(result);
            }
        }
    }
}
