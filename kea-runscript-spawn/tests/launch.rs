//! The launcher on its own: exit statuses, timeout and stop (to the whole process
//! group), and fds 0-2 from pipes. (The fault-injection seam: `tests/fault.rs`.)

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{limits, shell};
use kea_runscript_spawn::{spawn, spawn_with, ExitStatus, FailedStep, Program, Stdio, StopSignal};

mod common;

#[test]
fn exit_codes_and_signals_are_reported() {
    let (_dir, program) = shell("exit 7\n");
    let report = spawn(program, limits(None, None)).unwrap().wait().unwrap();
    assert_eq!(report.status, ExitStatus::Exited(7));
    assert!(!report.timed_out && !report.stopped);

    let (_dir, program) = shell("kill -USR1 $$\n");
    let report = spawn(program, limits(None, None)).unwrap().wait().unwrap();
    assert_eq!(report.status, ExitStatus::Signaled(libc::SIGUSR1));
    assert_eq!(
        report.status.to_string(),
        format!("killed by signal {} (SIGUSR1)", libc::SIGUSR1)
    );
}

#[test]
fn a_missing_program_fails_at_exec() {
    let program = Program::new(
        CString::new("/nonexistent/program").unwrap(),
        CString::new("x").unwrap(),
        Vec::new(),
    );
    let err = spawn(program, limits(None, None))
        .unwrap()
        .wait()
        .unwrap_err();
    assert_eq!(err.step, FailedStep::Exec);
    assert_eq!(err.error.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn a_timeout_ends_the_whole_process_group() {
    // The script's child ignores SIGTERM; the group's SIGKILL after the grace ends it.
    let (dir, program) = shell("(trap '' TERM; sleep 60) &\necho $! > \"$0.child\"\nwait\n");
    let started = Instant::now();
    let report = spawn(program, limits(Some(Duration::from_millis(200)), None))
        .unwrap()
        .wait()
        .unwrap();
    assert!(report.timed_out);
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: i32 = std::fs::read_to_string(dir.path().join("script.sh.child"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The grandchild is gone (reaped by init once killed) within a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    // SAFETY: signal 0 only checks whether the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            break;
        }
        assert!(Instant::now() < deadline, "the script's child survived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_stop_signal_terminates_a_running_program() {
    let stop = Arc::new(StopSignal::new().unwrap());
    let (_dir, program) = shell("sleep 60\n");
    let mut child = spawn(program, limits(None, Some(Arc::clone(&stop)))).unwrap();
    assert!(child.try_wait().is_none());
    stop.trigger();
    let report = child.wait().unwrap();
    assert!(report.stopped && !report.timed_out);
    assert_eq!(report.status, ExitStatus::Signaled(libc::SIGTERM));
}

#[test]
fn stdio_pipes_become_fds_0_to_2() {
    let pipe = || {
        let mut fds = [-1; 2];
        // SAFETY: pipe2 writes two fds into the array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: a fresh fd that nothing else owns.
        let read = unsafe { std::fs::File::from_raw_fd(fds[0]) };
        // SAFETY: as above.
        let write = unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[1]) };
        (read, write)
    };
    let (mut out_read, out_write) = pipe();
    let (_dir, program) = shell("echo \"fds: $(ls /proc/self/fd | wc -l)\"\n");
    let write_fd = out_write.as_raw_fd();
    let mut child = spawn_with(
        program,
        limits(None, None),
        Stdio {
            fds: [None, Some(out_write), None],
            die_with_thread: false,
        },
    )
    .unwrap();
    let report = child.wait().unwrap();
    assert_eq!(report.status, ExitStatus::Exited(0));
    // The host's copy of the write end was closed by the keeper: reading ends.
    // SAFETY: F_GETFD only asks whether the fd is open.
    assert_eq!(unsafe { libc::fcntl(write_fd, libc::F_GETFD) }, -1);
    let mut text = String::new();
    out_read.read_to_string(&mut text).unwrap();
    // `ls` itself sees 0-2 and the directory it reads: 4 entries.
    assert_eq!(text, "fds: 4\n");
}
