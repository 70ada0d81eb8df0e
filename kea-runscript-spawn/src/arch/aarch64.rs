//! aarch64 system calls: number in `x8`, arguments in `x0..x5`, result in `x0`
//! (`svc 0` preserves every other register).

use std::arch::asm;
use std::ffi::c_void;

use super::reg::{Arg, Entry, Nr, Ret};

/// A system call without arguments.
///
/// # Safety
/// `nr` must be safe to call without arguments (it reads and writes no memory of ours).
#[inline(always)]
pub(crate) unsafe fn syscall0(nr: Nr) -> Ret {
    let ret: isize;
    // SAFETY: the caller vouches for `nr`; the asm touches only the named registers.
    unsafe {
        asm!("svc 0", in("x8") nr.raw(), lateout("x0") ret, options(nostack));
    }
    Ret::from_raw(ret)
}

/// A system call with one argument.
///
/// # Safety
/// `a0` must be valid for `nr` (pointers live and of the size the kernel uses).
#[inline(always)]
pub(crate) unsafe fn syscall1(nr: Nr, a0: Arg) -> Ret {
    let ret: isize;
    // SAFETY: as for `syscall0`, plus the caller's promise about `a0`.
    unsafe {
        asm!("svc 0", in("x8") nr.raw(), inlateout("x0") a0.raw() as isize => ret,
             options(nostack));
    }
    Ret::from_raw(ret)
}

/// A system call with two arguments.
///
/// # Safety
/// As [`syscall1`], for each argument.
#[inline(always)]
pub(crate) unsafe fn syscall2(nr: Nr, a0: Arg, a1: Arg) -> Ret {
    let ret: isize;
    // SAFETY: as for `syscall1`.
    unsafe {
        asm!("svc 0", in("x8") nr.raw(), inlateout("x0") a0.raw() as isize => ret,
             in("x1") a1.raw(), options(nostack));
    }
    Ret::from_raw(ret)
}

/// A system call with three arguments.
///
/// # Safety
/// As [`syscall1`], for each argument.
#[inline(always)]
pub(crate) unsafe fn syscall3(nr: Nr, a0: Arg, a1: Arg, a2: Arg) -> Ret {
    let ret: isize;
    // SAFETY: as for `syscall1`.
    unsafe {
        asm!("svc 0", in("x8") nr.raw(), inlateout("x0") a0.raw() as isize => ret,
             in("x1") a1.raw(), in("x2") a2.raw(), options(nostack));
    }
    Ret::from_raw(ret)
}

/// A system call with four arguments.
///
/// # Safety
/// As [`syscall1`], for each argument.
#[inline(always)]
pub(crate) unsafe fn syscall4(nr: Nr, a0: Arg, a1: Arg, a2: Arg, a3: Arg) -> Ret {
    let ret: isize;
    // SAFETY: as for `syscall1`.
    unsafe {
        asm!("svc 0", in("x8") nr.raw(), inlateout("x0") a0.raw() as isize => ret,
             in("x1") a1.raw(), in("x2") a2.raw(), in("x3") a3.raw(), options(nostack));
    }
    Ret::from_raw(ret)
}

/// A system call with five arguments.
///
/// # Safety
/// As [`syscall1`], for each argument.
#[inline(always)]
pub(crate) unsafe fn syscall5(nr: Nr, a0: Arg, a1: Arg, a2: Arg, a3: Arg, a4: Arg) -> Ret {
    let ret: isize;
    // SAFETY: as for `syscall1`.
    unsafe {
        asm!("svc 0", in("x8") nr.raw(), inlateout("x0") a0.raw() as isize => ret,
             in("x1") a1.raw(), in("x2") a2.raw(), in("x3") a3.raw(), in("x4") a4.raw(),
             options(nostack));
    }
    Ret::from_raw(ret)
}

/// `clone(flags, stack_top, pidfd, 0, 0)` (aarch64 order: flags, newsp, parent_tid,
/// tls, child_tid); the new process calls `entry(arg)` on `stack_top` and exits with
/// its result. Returns the child's pid (or `-errno`) in the caller.
///
/// # Safety
/// As the x86_64 variant: a valid 16-byte-aligned stack that outlives the new
/// process's use of it, a writable `pidfd` with `CLONE_PIDFD`, and an `entry` that
/// only does what is safe in a process sharing the caller's memory.
pub(crate) unsafe fn clone_with_entry(
    flags: Arg,
    stack_top: *mut c_void,
    pidfd: Arg,
    entry: Entry,
    arg: *mut c_void,
) -> Ret {
    let ret: isize;
    // SAFETY: the caller vouches for the stack and entry. In the child (x0 == 0) sp is
    // the new stack: clear the frame and link registers, call entry(arg) from x21/x22
    // (which the syscall preserves) and exit with its result; it never returns here.
    unsafe {
        asm!(
            "svc 0",
            "cbnz x0, 2f",
            "mov x29, xzr",
            "mov x30, xzr",
            "mov x0, x22",
            "blr x21",
            "mov x8, #93", // exit
            "svc 0",
            "brk #0",
            "2:",
            in("x8") libc::SYS_clone,
            inlateout("x0") flags.raw() as isize => ret,
            in("x1") stack_top,
            in("x2") pidfd.raw(),
            in("x3") 0usize,
            in("x4") 0usize,
            in("x21") entry as usize,
            in("x22") arg,
            lateout("x30") _,
        );
    }
    Ret::from_raw(ret)
}
