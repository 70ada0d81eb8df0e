//! What the child inherits: fds, signal mask, signal dispositions — and what the
//! host keeps (its own mask and dispositions are untouched by a spawn).

mod common;

use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;

use common::{engine, js, script};
use kea_runscript_env::HookPoint;
use nix::fcntl::{fcntl, open, FcntlArg, FdFlag, OFlag};
use nix::sys::signal::{pthread_sigmask, signal, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
use nix::sys::stat::Mode;

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

/// The current disposition of `sig` (`SIG_DFL`, `SIG_IGN` or a handler), unchanged.
fn disposition(sig: Signal) -> libc::sighandler_t {
    let mut act = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one into `act`.
    let rc = unsafe { libc::sigaction(sig as libc::c_int, std::ptr::null(), act.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: zero-initialised, then filled by a successful sigaction.
    unsafe { act.assume_init() }.sa_sigaction
}

#[test]
fn child_gets_only_fds_0_1_2_empty_mask_default_dispositions() {
    let dir = tempfile::tempdir().unwrap();
    // A file opened WITHOUT O_CLOEXEC, and a socket without SOCK_CLOEXEC.
    let leak_path = dir.path().join("leaked-file");
    std::fs::write(&leak_path, "").unwrap();
    let leak_fd = open(&leak_path, OFlag::O_RDONLY, Mode::empty()).unwrap();
    assert!(leak_fd > 2);
    let flags = FdFlag::from_bits_retain(fcntl(leak_fd, FcntlArg::F_GETFD).unwrap());
    assert!(!flags.contains(FdFlag::FD_CLOEXEC));
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::empty(),
        None,
    )
    .unwrap();
    assert!(sock.as_raw_fd() > 2);

    // SIGTERM blocked in this (the calling) thread; SIGINT ignored, SIGUSR1 handled
    // process-wide.
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).unwrap();
    // SAFETY: ignoring a signal installs no code.
    unsafe { signal(Signal::SIGINT, SigHandler::SigIgn) }.unwrap();
    extern "C" fn on_usr1(_: libc::c_int) {}
    // SAFETY: the handler does nothing, which is async-signal-safe.
    unsafe { signal(Signal::SIGUSR1, SigHandler::Handler(on_usr1)) }.unwrap();

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
    let now = SigSet::thread_get_mask().unwrap();
    assert!(now.contains(Signal::SIGTERM));
    assert!(!now.contains(Signal::SIGUSR1));
    assert_eq!(disposition(Signal::SIGINT), libc::SIG_IGN);
    assert_ne!(disposition(Signal::SIGUSR1), libc::SIG_DFL);
    // The leaked fds are still open in the host.
    assert!(fcntl(leak_fd, FcntlArg::F_GETFD).is_ok());
    nix::unistd::close(leak_fd).unwrap();
    drop(sock);
}
