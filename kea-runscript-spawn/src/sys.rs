//! Typed raw system calls for code that must stay async-signal-safe: the keeper, the
//! script before `execve`, and the parent while every signal is blocked around
//! `clone`. Each wrapper states its kernel ABI once; callers pass Rust types. None
//! touches `errno`, thread-local storage, locks or the allocator.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::arch::{self, Arg, Entry, Errno, Nr};

/// A kernel signal set (`sigset_t` as the `rt_sig*` calls and `ppoll` take it: one
/// bit per signal 1..=64, 8 bytes), not glibc's 128-byte `sigset_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(super) struct KernelSigSet(u64);

impl KernelSigSet {
    /// Every signal, glibc's internal ones (`SIGCANCEL`, `SIGSETXID`) included.
    pub(super) const FULL: KernelSigSet = KernelSigSet(!0);
    /// No signal.
    pub(super) const EMPTY: KernelSigSet = KernelSigSet(0);
    /// The size argument of the `rt_sig*` calls.
    const BYTES: usize = std::mem::size_of::<KernelSigSet>();
}

/// Highest signal number on Linux (`_NSIG - 1`).
pub(super) const MAX_SIGNAL: c_int = 64;

/// A kernel `struct sigaction`, all zeros: `SIG_DFL`, no flags, empty mask. Four
/// words cover the layout of every supported architecture.
#[repr(C)]
struct DefaultAction([u64; 4]);

/// How a reaped child ended, decoded from its `siginfo_t`.
#[derive(Clone, Copy, Debug)]
pub(super) struct ChildEnd {
    /// `CLD_EXITED`: `value` is the exit code; otherwise `value` is the signal.
    pub exited: bool,
    /// The exit code or the signal number.
    pub value: c_int,
}

/// `getpid()`.
pub(super) fn getpid() -> c_int {
    // SAFETY: getpid takes no arguments and touches no memory.
    let ret = unsafe { arch::syscall0(Nr::new(libc::SYS_getpid)) };
    ret.result().map_or(0, |pid| pid as c_int)
}

/// `getppid()`.
pub(super) fn getppid() -> c_int {
    // SAFETY: getppid takes no arguments and touches no memory.
    let ret = unsafe { arch::syscall0(Nr::new(libc::SYS_getppid)) };
    ret.result().map_or(0, |pid| pid as c_int)
}

/// `prctl(PR_SET_NAME, name)`: the name `ps` shows (the kernel keeps 15 bytes).
pub(super) fn set_process_name(name: &CStr) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string, which `name` is.
    let _ = unsafe {
        arch::syscall5(
            Nr::new(libc::SYS_prctl),
            Arg::int(libc::PR_SET_NAME),
            Arg::ptr(name.as_ptr()),
            Arg::ZERO,
            Arg::ZERO,
            Arg::ZERO,
        )
    };
}

/// `prctl(PR_SET_PDEATHSIG, signal)`: `signal` when the parent dies.
pub(super) fn set_parent_death_signal(signal: c_int) {
    // SAFETY: PR_SET_PDEATHSIG reads no memory.
    let _ = unsafe {
        arch::syscall5(
            Nr::new(libc::SYS_prctl),
            Arg::int(libc::PR_SET_PDEATHSIG),
            Arg::int(signal),
            Arg::ZERO,
            Arg::ZERO,
            Arg::ZERO,
        )
    };
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit capability sets, as two 32-bit halves.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The kernel's `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

/// The kernel's `struct __user_cap_data_struct`: one 32-bit half of each set.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's capability sets, one bit per capability number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct CapabilitySets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// `capget(0)`: the calling thread's capability sets.
pub(super) fn capabilities() -> Result<CapabilitySets, Errno> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: a live version-3 header and the two data structs that version writes.
    let ret = unsafe {
        arch::syscall2(
            Nr::new(libc::SYS_capget),
            Arg::mut_ptr(&mut header),
            Arg::mut_ptr(data.as_mut_ptr()),
        )
    };
    ret.result()?;
    let join = |low: u32, high: u32| u64::from(low) | (u64::from(high) << 32);
    Ok(CapabilitySets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// `prctl(PR_CAPBSET_READ, cap)`: whether capability `cap` is in the bounding set.
pub(super) fn in_bounding_set(cap: u32) -> Result<bool, Errno> {
    // SAFETY: PR_CAPBSET_READ reads no memory.
    let ret = unsafe {
        arch::syscall5(
            Nr::new(libc::SYS_prctl),
            Arg::int(libc::PR_CAPBSET_READ),
            Arg::uint(cap),
            Arg::ZERO,
            Arg::ZERO,
            Arg::ZERO,
        )
    };
    ret.result().map(|held| held == 1)
}

/// Makes `caps` (one bit per capability number) the calling process's inheritable and
/// ambient sets, and nothing else there: `capset` with the inheritable set replaced
/// (effective and permitted as they are), then `PR_CAP_AMBIENT_CLEAR_ALL` and one
/// `PR_CAP_AMBIENT_RAISE` per capability. A non-root `execve` then gives the program
/// exactly `caps` as permitted, effective and ambient capabilities. Each capability must
/// be in the permitted set (and in the bounding or inheritable set).
pub(super) fn set_ambient_capabilities(caps: u64) -> Result<(), Errno> {
    let now = capabilities()?;
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let half = |set: u64, high: bool| if high { (set >> 32) as u32 } else { set as u32 };
    let data: [CapData; 2] = [false, true].map(|high| CapData {
        effective: half(now.effective, high),
        permitted: half(now.permitted, high),
        inheritable: half(caps, high),
    });
    // SAFETY: a live version-3 header and the two data structs that version reads.
    let ret = unsafe {
        arch::syscall2(
            Nr::new(libc::SYS_capset),
            Arg::mut_ptr(&mut header),
            Arg::ptr(data.as_ptr()),
        )
    };
    ret.result()?;
    let ambient = |op: c_int, cap: u32| {
        // SAFETY: PR_CAP_AMBIENT reads no memory.
        let ret = unsafe {
            arch::syscall5(
                Nr::new(libc::SYS_prctl),
                Arg::int(libc::PR_CAP_AMBIENT),
                Arg::int(op),
                Arg::uint(cap),
                Arg::ZERO,
                Arg::ZERO,
            )
        };
        ret.result().map(drop)
    };
    ambient(libc::PR_CAP_AMBIENT_CLEAR_ALL, 0)?;
    for cap in (0..64).filter(|cap| caps & (1 << cap) != 0) {
        ambient(libc::PR_CAP_AMBIENT_RAISE, cap)?;
    }
    Ok(())
}

/// The kernel's `struct rlimit64` (what `prlimit64` takes): soft and hard limit.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawLimit {
    pub soft: u64,
    pub hard: u64,
}

/// One resource limit to set: the `RLIMIT_*` number and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResourceLimit {
    pub resource: c_int,
    pub limit: RawLimit,
}

/// `prlimit64(0, resource, limit, NULL)`: sets the calling process's limit.
pub(super) fn set_resource_limit(resource: c_int, limit: &RawLimit) -> Result<(), Errno> {
    // SAFETY: prlimit64 reads a live rlimit64; no old-limit pointer.
    let ret = unsafe {
        arch::syscall4(
            Nr::new(libc::SYS_prlimit64),
            Arg::ZERO,
            Arg::int(resource),
            Arg::ptr(limit),
            Arg::null(),
        )
    };
    ret.result().map(drop)
}

/// `setgroups(groups)`: exactly these supplementary groups for the calling process.
pub(super) fn set_groups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: setgroups reads `groups.len()` 32-bit gids from a live slice.
    let ret = unsafe {
        arch::syscall2(
            Nr::new(libc::SYS_setgroups),
            Arg::size(groups.len()),
            Arg::ptr(groups.as_ptr()),
        )
    };
    ret.result().map(drop)
}

/// `setresgid(gid, gid, gid)`: real, effective and saved group id.
pub(super) fn set_gid(gid: u32) -> Result<(), Errno> {
    // SAFETY: setresgid reads no memory.
    let ret = unsafe {
        arch::syscall3(
            Nr::new(libc::SYS_setresgid),
            Arg::uint(gid),
            Arg::uint(gid),
            Arg::uint(gid),
        )
    };
    ret.result().map(drop)
}

/// `setresuid(uid, uid, uid)`: real, effective and saved user id.
pub(super) fn set_uid(uid: u32) -> Result<(), Errno> {
    // SAFETY: setresuid reads no memory.
    let ret = unsafe {
        arch::syscall3(
            Nr::new(libc::SYS_setresuid),
            Arg::uint(uid),
            Arg::uint(uid),
            Arg::uint(uid),
        )
    };
    ret.result().map(drop)
}

/// `prctl(PR_SET_KEEPCAPS, 1)`: the permitted capabilities survive the switch from
/// uid 0 to another uid (the ambient set is raised again afterwards).
pub(super) fn keep_capabilities() -> Result<(), Errno> {
    // SAFETY: PR_SET_KEEPCAPS reads no memory.
    let ret = unsafe {
        arch::syscall5(
            Nr::new(libc::SYS_prctl),
            Arg::int(libc::PR_SET_KEEPCAPS),
            Arg::int(1),
            Arg::ZERO,
            Arg::ZERO,
            Arg::ZERO,
        )
    };
    ret.result().map(drop)
}

/// `setpgid(0, 0)`: the caller leads a new process group.
pub(super) fn lead_new_process_group() -> Result<(), Errno> {
    // SAFETY: setpgid reads no memory.
    let ret = unsafe { arch::syscall2(Nr::new(libc::SYS_setpgid), Arg::ZERO, Arg::ZERO) };
    ret.result().map(drop)
}

/// `rt_sigprocmask(SIG_SETMASK, set)`; returns the previous mask.
pub(super) fn set_signal_mask(set: &KernelSigSet) -> Result<KernelSigSet, Errno> {
    let mut previous = KernelSigSet::EMPTY;
    // SAFETY: both pointers are to live 8-byte sets, the size passed.
    let ret = unsafe {
        arch::syscall4(
            Nr::new(libc::SYS_rt_sigprocmask),
            Arg::int(libc::SIG_SETMASK),
            Arg::ptr(set),
            Arg::mut_ptr(&mut previous),
            Arg::size(KernelSigSet::BYTES),
        )
    };
    ret.result().map(|_| previous)
}

/// `rt_sigaction(signal, SIG_DFL)`: the default disposition, even for signals the
/// host ignores (`execve` keeps `SIG_IGN`).
pub(super) fn set_default_action(signal: c_int) -> Result<(), Errno> {
    let action = DefaultAction([0; 4]);
    // SAFETY: a live all-zero kernel sigaction (SIG_DFL), no old-action pointer.
    let ret = unsafe {
        arch::syscall4(
            Nr::new(libc::SYS_rt_sigaction),
            Arg::int(signal),
            Arg::ptr(&action),
            Arg::null(),
            Arg::size(KernelSigSet::BYTES),
        )
    };
    ret.result().map(drop)
}

/// `ppoll(fds, timeout, mask)`: the number of ready fds (0 on timeout).
pub(super) fn ppoll(
    fds: &mut [libc::pollfd],
    timeout: Option<&libc::timespec>,
    mask: &KernelSigSet,
) -> Result<usize, Errno> {
    let timeout = timeout.map_or(Arg::null(), |t| Arg::ptr(t));
    // SAFETY: `fds` is a live, writable array of `fds.len()` pollfds; the timeout is
    // null or a live timespec; the mask is a live 8-byte set.
    let ret = unsafe {
        arch::syscall5(
            Nr::new(libc::SYS_ppoll),
            Arg::mut_ptr(fds.as_mut_ptr()),
            Arg::size(fds.len()),
            timeout,
            Arg::ptr(mask),
            Arg::size(KernelSigSet::BYTES),
        )
    };
    ret.result()
}

/// Monotonic time in ms (`clock_gettime(CLOCK_MONOTONIC)`).
pub(super) fn monotonic_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a live timespec.
    let _ = unsafe {
        arch::syscall2(
            Nr::new(libc::SYS_clock_gettime),
            Arg::int(libc::CLOCK_MONOTONIC),
            Arg::mut_ptr(&mut ts),
        )
    };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// `kill(-pgid, signal)`: signals a whole process group.
pub(super) fn kill_group(pgid: c_int, signal: c_int) -> Result<(), Errno> {
    // SAFETY: kill reads no memory.
    let ret = unsafe { arch::syscall2(Nr::new(libc::SYS_kill), Arg::int(-pgid), Arg::int(signal)) };
    ret.result().map(drop)
}

/// `pidfd_send_signal(pidfd, signal, NULL, 0)`.
pub(super) fn pidfd_send_signal(pidfd: c_int, signal: c_int) -> Result<(), Errno> {
    // SAFETY: no siginfo pointer; the call reads no memory.
    let ret = unsafe {
        arch::syscall4(
            Nr::new(libc::SYS_pidfd_send_signal),
            Arg::int(pidfd),
            Arg::int(signal),
            Arg::null(),
            Arg::ZERO,
        )
    };
    ret.result().map(drop)
}

/// `waitid(P_PIDFD, pidfd, WEXITED)`: reaps the child behind `pidfd`.
pub(super) fn reap_pidfd(pidfd: c_int) -> Result<ChildEnd, Errno> {
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: waitid writes into a live siginfo_t; no rusage pointer.
    let ret = unsafe {
        arch::syscall5(
            Nr::new(libc::SYS_waitid),
            Arg::uint(libc::P_PIDFD),
            Arg::int(pidfd),
            Arg::mut_ptr(info.as_mut_ptr()),
            Arg::int(libc::WEXITED),
            Arg::null(),
        )
    };
    ret.result()?;
    // SAFETY: zero-initialised and then filled by the kernel: a valid siginfo_t.
    let info = unsafe { info.assume_init() };
    // SAFETY: for a waitid result the kernel fills the SIGCHLD fields si_status reads.
    let value = unsafe { info.si_status() };
    Ok(ChildEnd {
        exited: info.si_code == libc::CLD_EXITED,
        value,
    })
}

/// `close(fd)`.
///
/// # Safety
/// The caller owns `fd` and nothing uses it afterwards.
pub(super) unsafe fn close(fd: c_int) {
    // SAFETY: close reads no memory; ownership is the caller's promise.
    let _ = unsafe { arch::syscall1(Nr::new(libc::SYS_close), Arg::int(fd)) };
}

/// `dup3(source, target, 0)`: `target` becomes a copy of `source` (without
/// `FD_CLOEXEC`), closing what `target` was.
///
/// # Safety
/// Nothing in this process relies on what `target` was before.
pub(super) unsafe fn dup_onto(source: c_int, target: c_int) -> Result<(), Errno> {
    // SAFETY: dup3 reads no memory; replacing `target` is the caller's promise.
    let ret = unsafe {
        arch::syscall3(
            Nr::new(libc::SYS_dup3),
            Arg::int(source),
            Arg::int(target),
            Arg::ZERO,
        )
    };
    ret.result().map(drop)
}

/// `close_range(first, u32::MAX, 0)`: closes every fd from `first` up, with or
/// without `FD_CLOEXEC`.
///
/// # Safety
/// Nothing in this process uses those fds afterwards.
pub(super) unsafe fn close_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range reads no memory; the fds are the caller's to close.
    let ret = unsafe {
        arch::syscall3(
            Nr::new(libc::SYS_close_range),
            Arg::uint(first),
            Arg::uint(u32::MAX),
            Arg::ZERO,
        )
    };
    ret.result().map(drop)
}

/// `execve(path, argv, envp)`; returns only on failure.
///
/// # Safety
/// `path` is a NUL-terminated string, `argv` and `envp` null-terminated arrays of
/// NUL-terminated strings, all live.
pub(super) unsafe fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Errno {
    // SAFETY: the caller's promise about the three pointers.
    let ret = unsafe {
        arch::syscall3(
            Nr::new(libc::SYS_execve),
            Arg::ptr(path),
            Arg::ptr(argv),
            Arg::ptr(envp),
        )
    };
    match ret.result() {
        Err(errno) => errno,
        Ok(_) => Errno(0),
    }
}

/// `exit_group(code)`: ends this process (a keeper or pre-exec script shares the
/// parent's memory, not its thread group).
pub(super) fn exit(code: c_int) -> ! {
    loop {
        // SAFETY: exit_group reads no memory and ends only the calling process.
        let _ = unsafe { arch::syscall1(Nr::new(libc::SYS_exit_group), Arg::int(code)) };
    }
}

/// `clone(flags | CLONE_PIDFD)` starting `entry(arg)` on `stack_top`; returns the
/// child's pid and stores its pidfd in `pidfd`.
///
/// # Safety
/// As [`arch::clone_with_entry`]: the stack outlives the child's use of it and
/// `entry` is async-signal-safe code fit for a process sharing our memory.
pub(super) unsafe fn clone_pidfd(
    flags: c_int,
    stack_top: *mut c_void,
    pidfd: &mut c_int,
    entry: Entry,
    arg: *mut c_void,
) -> Result<c_int, Errno> {
    // SAFETY: the caller's promise; `pidfd` is a live int the kernel writes.
    let ret = unsafe {
        arch::clone_with_entry(
            Arg::int(flags | libc::CLONE_PIDFD),
            stack_top,
            Arg::mut_ptr(pidfd),
            entry,
            arg,
        )
    };
    ret.result().map(|pid| pid as c_int)
}
