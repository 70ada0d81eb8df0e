//! Runs survive a process-wide `SIGCHLD` of `SIG_IGN` (issue 23): another library of the
//! host may ignore `SIGCHLD` (kea-hook-runscript's `"wait": false` does), which makes the
//! kernel reap children by itself. The keeper's own disposition is reset, so exit
//! statuses are still collected, and the host's disposition is left as it was.
//!
//! Its own test binary: the disposition is process-wide, and other tests must not run
//! while it is changed (nextest runs each test in a process of its own anyway).

use std::time::Duration;

use common::{limits, shell};
use kea_runscript_spawn::{spawn, ExitStatus};

mod common;

/// Sets `SIGCHLD`'s disposition (with `flags`) for the whole process; returns the old one.
fn set_sigchld(handler: libc::sighandler_t, flags: libc::c_int) -> libc::sigaction {
    // SAFETY: an all-zero sigaction is a valid value to fill in.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler;
    new.sa_flags = flags;
    // SAFETY: as above, the old action is written by the kernel.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid signal, live pointers.
    let rc = unsafe { libc::sigaction(libc::SIGCHLD, &new, &mut old) };
    assert_eq!(rc, 0, "sigaction: {}", std::io::Error::last_os_error());
    old
}

/// The current `SIGCHLD` handler and flags.
fn sigchld_now() -> (libc::sighandler_t, libc::c_int) {
    // SAFETY: as in set_sigchld.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid signal, null new action, live old pointer.
    let rc = unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0);
    (old.sa_sigaction, old.sa_flags & libc::SA_NOCLDWAIT)
}

fn run(script: &str) -> ExitStatus {
    let (_dir, program) = shell(script);
    let report = spawn(program, limits(Some(Duration::from_secs(20)), None))
        .expect("keeper started")
        .wait()
        .unwrap_or_else(|e| panic!("run of {script:?} failed: {e}"));
    assert!(!report.timed_out);
    report.status
}

fn statuses_are_right() {
    for _ in 0..20 {
        assert_eq!(run("exit 0\n"), ExitStatus::Exited(0));
        assert_eq!(run("exit 3\n"), ExitStatus::Exited(3));
        assert_eq!(run("kill -USR1 $$\n"), ExitStatus::Signaled(libc::SIGUSR1));
        assert_eq!(run("kill -KILL $$\n"), ExitStatus::Signaled(libc::SIGKILL));
    }
}

#[test]
fn exit_statuses_survive_sigchld_ignored_process_wide() {
    let before = set_sigchld(libc::SIG_IGN, 0);
    // Restored even when an assertion fails.
    struct Restore(libc::sigaction);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: valid signal, live pointer to the saved action.
            unsafe { libc::sigaction(libc::SIGCHLD, &self.0, std::ptr::null_mut()) };
        }
    }
    let _restore = Restore(before);
    statuses_are_right();
    // The host's disposition is left as it was: still ignored.
    assert_eq!(sigchld_now(), (libc::SIG_IGN, 0));

    // The same with SA_NOCLDWAIT (children not turned into zombies) and the default
    // action: the kernel reaps them too.
    set_sigchld(libc::SIG_DFL, libc::SA_NOCLDWAIT);
    statuses_are_right();
    assert_eq!(sigchld_now(), (libc::SIG_DFL, libc::SA_NOCLDWAIT));
}
