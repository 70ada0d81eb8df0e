//! The reaper: one background thread per engine that waits for the async children
//! (epoll on their pidfds), reaps them, enforces their timeouts, and tells their
//! runner so it can start the next queued event. It never calls `waitpid(-1)`:
//! only our own pidfds are waited for.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use kea_runscript_env::HookPoint;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::spawn_async::SpawnAsync;
use super::{Shared, KILL_GRACE};
use crate::log::{self, Severity};
use crate::spawn::{Child, ExitStatus};

/// epoll token of the wake-up eventfd.
const WAKE: u64 = 0;

/// One running async child.
struct Entry {
    child: Child,
    owner: Arc<SpawnAsync>,
    /// The hook point of the event it runs for (for logs).
    hook_point: HookPoint,
    /// When to send SIGTERM (the script's timeout), if it has one.
    term_at: Option<Instant>,
    /// When to send SIGKILL, once SIGTERM was sent.
    kill_at: Option<Instant>,
    timed_out: bool,
}

struct Entries {
    map: HashMap<u64, Entry>,
    /// Set when the thread has exited: registering then fails.
    closed: bool,
    /// Set by `shutdown`: when to start terminating what still runs.
    stop_at: Option<Instant>,
    /// Children terminated because they outlived the shutdown wait.
    terminated_at_shutdown: usize,
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
        // SAFETY: plain fd-creating calls; the results are checked and owned at once.
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
                stop_at: None,
                terminated_at_shutdown: 0,
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

    /// Hands a started child to the reaper. If the reaper has already stopped, the
    /// child is returned so the caller ends it itself.
    pub fn register(
        &self,
        child: Child,
        owner: Arc<SpawnAsync>,
        hook_point: HookPoint,
    ) -> Result<(), (Child, Arc<SpawnAsync>)> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let fd = child.as_fd().as_raw_fd();
        let timeout = owner.timeout;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.closed {
            return Err((child, owner));
        }
        let term_at = timeout.map(|t| Instant::now() + t);
        entries.map.insert(
            token,
            Entry {
                child,
                owner,
                hook_point,
                term_at,
                kill_at: None,
                timed_out: false,
            },
        );
        // Inserted before it is watched, so an immediate exit finds its entry.
        if let Err(err) = self.watch(fd, token) {
            let entry = entries.map.remove(&token).expect("just inserted");
            drop(entries);
            self.shared.wait_failed(&entry.owner.target, &err);
            return Err((entry.child, entry.owner));
        }
        drop(entries);
        if term_at.is_some() {
            // The thread may be sleeping with a later deadline.
            self.wake();
        }
        Ok(())
    }

    /// Terminates what still runs after [`SHUTDOWN_WAIT`](super::SHUTDOWN_WAIT)
    /// from now (SIGTERM, then SIGKILL after the grace), reaps everything and joins the thread.
    pub fn shutdown(&self, wait: Duration) {
        {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.stop_at.is_none() {
                entries.stop_at = Some(Instant::now() + wait);
            }
        }
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
            let timeout_ms = match self.housekeeping() {
                Some(timeout) => timeout,
                None => break,
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
            let mut ended = Vec::new();
            {
                let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
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
                    match entry.child.try_wait() {
                        Ok(Some(status)) => {
                            let entry = entries.map.remove(&token).expect("present");
                            ended.push((entry, status));
                        }
                        Ok(None) => {}
                        Err(err) => {
                            // Cannot happen for our own pidfd; drop it (Child's drop kills
                            // and reaps) so the loop does not spin on it.
                            let entry = entries.map.remove(&token).expect("present");
                            self.shared.wait_failed(&entry.owner.target, &err);
                            ended.push((entry, ExitStatus::Signaled(libc::SIGKILL)));
                        }
                    }
                }
            }
            // Outside the lock: the owner may start its next queued event and register it.
            for (entry, status) in ended {
                let Entry {
                    child,
                    owner,
                    hook_point,
                    timed_out,
                    ..
                } = entry;
                drop(child); // closes the pidfd (reaped already)
                owner.finished(hook_point, status, timed_out);
            }
        }
    }

    /// Sends due signals; returns the epoll timeout until the next deadline, or `None`
    /// when the thread should exit (stopping and nothing left).
    fn housekeeping(&self) -> Option<libc::c_int> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let stop_at = entries.stop_at;
        if stop_at.is_some() && entries.map.is_empty() {
            entries.closed = true;
            if entries.terminated_at_shutdown > 0 {
                self.shared.log.always(
                    Severity::Warn,
                    log::SHUTDOWN,
                    &format!(
                        "unload: terminated {} script processes still running",
                        entries.terminated_at_shutdown
                    ),
                );
            }
            return None;
        }
        let mut terminated = 0;
        let mut next: Option<Instant> = stop_at.filter(|&t| t > now);
        for entry in entries.map.values_mut() {
            let stopping = stop_at.is_some_and(|t| t <= now);
            let term_due =
                entry.kill_at.is_none() && (stopping || entry.term_at.is_some_and(|t| t <= now));
            if term_due {
                if stopping {
                    terminated += 1;
                } else {
                    entry.timed_out = true;
                    self.shared.timed_out(
                        &entry.owner.target,
                        entry.hook_point,
                        entry.owner.timeout.unwrap_or_default(),
                    );
                }
                let _ = entry.child.signal(libc::SIGTERM);
                entry.kill_at = Some(now + KILL_GRACE);
            } else if entry.kill_at.is_some_and(|t| t <= now) {
                let _ = entry.child.signal(libc::SIGKILL);
                // Stays registered: the pidfd becomes readable when it is dead.
                entry.kill_at = Some(now + Duration::from_secs(3600));
            }
            for t in [
                entry.kill_at,
                if entry.kill_at.is_none() {
                    entry.term_at
                } else {
                    None
                },
            ]
            .into_iter()
            .flatten()
            {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        entries.terminated_at_shutdown += terminated;
        Some(match next {
            None => -1,
            Some(t) => {
                let left = t.saturating_duration_since(now);
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
            }
        })
    }
}
