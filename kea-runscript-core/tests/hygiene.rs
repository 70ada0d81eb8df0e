//! What the child inherits: fds, signal mask, signal dispositions — and what the
//! host keeps (its own mask and dispositions are untouched by a spawn).

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use common::{engine, js, script};
use kea_runscript_env::HookPoint;

/// Runs a sync script exec'd into `grep` (signal masks from /proc/self/status) and
/// into `ls` (its fd table): the exec'd program sees what we gave the script.
fn child_report(dir: &std::path::Path) -> String {
    let out = dir.join("report.out");
    let s = script(
        dir,
        "report",
        &format!(
            "if [ \"$WHAT\" = fds ]; then exec ls -l /proc/self/fd > '{out}.fd'; fi\n\
             exec grep -E '^Sig(Blk|Ign)' /proc/self/status > '{out}'",
            out = out.display()
        ),
    );
    let (engine, _) = engine(&format!(r#"{{"name": {}, "sync": true}}"#, js(&s)));
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    engine.handle_vars(HookPoint::Lease4Renew, vec![("WHAT".into(), "fds".into())]);
    let fds = std::fs::read_to_string(format!("{}.fd", out.display())).unwrap();
    let status = std::fs::read_to_string(&out).unwrap();
    format!("{status}{fds}")
}

fn status_mask(report: &str, field: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} missing in {report}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

#[test]
fn child_gets_only_fds_0_1_2_empty_mask_default_dispositions() {
    let dir = tempfile::tempdir().unwrap();
    // A file opened WITHOUT O_CLOEXEC, and a socket without SOCK_CLOEXEC.
    let leak_path = dir.path().join("leaked-file");
    std::fs::write(&leak_path, "").unwrap();
    let c_path = CString::new(leak_path.as_os_str().as_bytes()).unwrap();
    let leak_fd = unsafe { libc::open(c_path.as_ptr(), libc::O_RDONLY) };
    assert!(leak_fd > 2);
    assert_eq!(
        unsafe { libc::fcntl(leak_fd, libc::F_GETFD) } & libc::FD_CLOEXEC,
        0
    );
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    assert!(sock > 2);

    // SIGTERM blocked in this (the calling) thread; SIGINT ignored, SIGUSR1 handled
    // process-wide.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
            0
        );
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        extern "C" fn on_usr1(_: libc::c_int) {}
        libc::signal(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t);
    }

    let report = child_report(dir.path());
    eprintln!("{report}");

    // Signals: nothing blocked, nothing ignored (the shell adds nothing for a script).
    assert_eq!(
        status_mask(&report, "SigBlk:"),
        0,
        "SIGTERM must not stay blocked"
    );
    assert_eq!(
        status_mask(&report, "SigIgn:") & bit(libc::SIGINT),
        0,
        "SIGINT must be default"
    );
    assert_eq!(status_mask(&report, "SigIgn:"), 0);

    // Fds (listed by `ls` exec'd in place of the shell): only 0, 1, 2, plus the
    // directory `ls` opens to list them.
    let fd_lines: Vec<&str> = report.lines().filter(|l| l.contains(" -> ")).collect();
    assert!(!fd_lines.is_empty(), "{report}");
    for line in fd_lines {
        let (left, target) = line.split_once(" -> ").unwrap();
        let fd: i32 = left.split_whitespace().last().unwrap().parse().unwrap();
        assert!(
            fd <= 2 || target.starts_with("/proc/"),
            "fd {fd} -> {target} leaked into the child"
        );
        assert!(
            !target.contains("leaked-file") && !target.starts_with("socket:"),
            "{line}"
        );
    }

    // The host is unchanged: this thread's mask still blocks SIGTERM only as before,
    // SIGINT is still ignored, SIGUSR1's handler is still installed.
    unsafe {
        let mut now: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut now);
        assert_eq!(libc::sigismember(&now, libc::SIGTERM), 1);
        assert_eq!(libc::sigismember(&now, libc::SIGUSR1), 0);
        let mut act: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut act);
        assert_eq!(act.sa_sigaction, libc::SIG_IGN);
        libc::sigaction(libc::SIGUSR1, std::ptr::null(), &mut act);
        assert_ne!(act.sa_sigaction, libc::SIG_DFL);
        // The leaked fds are still open in the host.
        assert_ne!(libc::fcntl(leak_fd, libc::F_GETFD), -1);
        libc::close(leak_fd);
        libc::close(sock);
    }
}
