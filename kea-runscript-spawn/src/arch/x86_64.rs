//! x86_64 system calls: number in `rax`, arguments in `rdi, rsi, rdx, r10, r8`,
//! result in `rax`; the `syscall` instruction clobbers `rcx` and `r11`.

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
        asm!("syscall", inlateout("rax") nr.raw() as isize => ret,
             lateout("rcx") _, lateout("r11") _, options(nostack));
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
        asm!("syscall", inlateout("rax") nr.raw() as isize => ret, in("rdi") a0.raw(),
             lateout("rcx") _, lateout("r11") _, options(nostack));
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
        asm!("syscall", inlateout("rax") nr.raw() as isize => ret, in("rdi") a0.raw(),
             in("rsi") a1.raw(), lateout("rcx") _, lateout("r11") _, options(nostack));
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
        asm!("syscall", inlateout("rax") nr.raw() as isize => ret, in("rdi") a0.raw(),
             in("rsi") a1.raw(), in("rdx") a2.raw(), lateout("rcx") _, lateout("r11") _,
             options(nostack));
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
        asm!("syscall", inlateout("rax") nr.raw() as isize => ret, in("rdi") a0.raw(),
             in("rsi") a1.raw(), in("rdx") a2.raw(), in("r10") a3.raw(),
             lateout("rcx") _, lateout("r11") _, options(nostack));
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
        asm!("syscall", inlateout("rax") nr.raw() as isize => ret, in("rdi") a0.raw(),
             in("rsi") a1.raw(), in("rdx") a2.raw(), in("r10") a3.raw(), in("r8") a4.raw(),
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    Ret::from_raw(ret)
}

/// `clone(flags, stack_top, pidfd, 0, 0)` (x86_64 order: flags, newsp, parent_tid,
/// child_tid, tls); the new process calls `entry(arg)` on `stack_top` and exits with
/// its result. Returns the child's pid (or `-errno`) in the caller.
///
/// # Safety
/// `stack_top` must be the 16-byte-aligned top of a stack that stays valid until the
/// new process has exited or called `execve`; `pidfd` must be writable when `flags`
/// has `CLONE_PIDFD`; `entry` must only do what is safe in a process sharing the
/// caller's memory (`CLONE_VM`) on a foreign thread pointer.
pub(crate) unsafe fn clone_with_entry(
    flags: Arg,
    stack_top: *mut c_void,
    pidfd: Arg,
    entry: Entry,
    arg: *mut c_void,
) -> Ret {
    let ret: isize;
    // SAFETY: the caller vouches for the stack and entry. In the child (rax == 0) rsp
    // is the new stack: clear the frame pointer, call entry(arg) from r12/r13 (which
    // the syscall preserves) and exit with its result; it never returns here.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, 60", // exit
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone as isize => ret,
            in("rdi") flags.raw(),
            in("rsi") stack_top,
            in("rdx") pidfd.raw(),
            in("r10") 0usize,
            in("r8") 0usize,
            in("r12") entry as usize,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    Ret::from_raw(ret)
}
