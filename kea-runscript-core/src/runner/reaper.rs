//! The reaper: one background thread per engine that waits for the async runs
//! (epoll on their keepers' pidfds), collects their results and hands them to their
//! runner, which may start the next queued event. Timeouts and termination at
//! unload are enforced by each run's keeper (see [`crate::spawn`]); the reaper never
//! calls `waitpid(-1)`.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kea_runscript_env::HookPoint;

use super::spawn_async::SpawnAsync;
use super::Shared;
use crate::log::{self, Severity};
use crate::spawn::{Child, FailedStep, Report, SpawnError};

/// epoll token of the wake-up eventfd.
const WAKE: u64 = 0;

/// One running async script.
struct Entry {
    child: Child,
    owner: Arc<SpawnAsync>,
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
        owner.finished(hook_point, result);
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
    epoll: OwnedFd,
    wake: OwnedFd,
    entries: Mutex<Entries>,
    next_token: AtomicU64,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl Reaper {
    /// Creates the epoll set and starts the thread.
    pub fn start(shared: Arc<Shared>) -> io::Result<Arc<Reaper>> {
        // SAFETY: fd-creating calls; results checked and owned at once.
        let epoll =
            unsafe { OwnedFd::from_raw_fd(check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above.
        let wake = unsafe {
            OwnedFd::from_raw_fd(check(libc::eventfd(
                0,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK,
            ))?)
        };
        let reaper = Arc::new(Reaper {
            epoll,
            wake,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                closed: false,
                give_up_at: None,
            }),
            next_token: AtomicU64::new(WAKE + 1),
            shared,
            thread: Mutex::new(None),
        });
        reaper.watch(reaper.wake.as_raw_fd(), WAKE)?;
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

    fn watch(&self, fd: libc::c_int, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: epoll_ctl on our epoll fd with a valid event.
        check(unsafe {
            libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event)
        })?;
        Ok(())
    }

    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: an 8-byte write to our eventfd.
        unsafe {
            libc::write(
                self.wake.as_raw_fd(),
                &one as *const u64 as *const libc::c_void,
                8,
            );
        }
    }

    /// Hands a started run to the reaper. If the reaper has already stopped or cannot
    /// watch it, the child is handed back (`Some`) and the caller ends it.
    pub fn register(
        &self,
        child: Child,
        owner: Arc<SpawnAsync>,
        hook_point: HookPoint,
    ) -> Option<Child> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let fd = child.as_fd().as_raw_fd();
        let mut entries = self.lock();
        if entries.closed {
            return Some(child);
        }
        // Inserted before it is watched, so an immediate end finds its entry.
        entries.map.insert(
            token,
            Entry {
                child,
                owner,
                hook_point,
            },
        );
        if let Err(err) = self.watch(fd, token) {
            let entry = entries.map.remove(&token).expect("just inserted");
            self.shared.wait_failed(&entry.owner.target, &err);
            return Some(entry.child);
        }
        None
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
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
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
                        self.shared.log.always(
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
                    Some(_) => 50,
                    None => -1,
                }
            };
            // SAFETY: epoll_wait into our buffer.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as libc::c_int,
                    timeout_ms,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    self.shared
                        .log
                        .limited(Severity::Error, log::REAPER_FAILED, || {
                            format!("epoll_wait failed: {err}")
                        });
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            let mut ended: Vec<(Entry, Result<Report, SpawnError>)> = Vec::new();
            {
                let mut entries = self.lock();
                for event in &events[..n as usize] {
                    let token = event.u64;
                    if token == WAKE {
                        let mut buf = 0u64;
                        // SAFETY: an 8-byte read from our non-blocking eventfd.
                        unsafe {
                            libc::read(
                                self.wake.as_raw_fd(),
                                &mut buf as *mut u64 as *mut libc::c_void,
                                8,
                            );
                        }
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
