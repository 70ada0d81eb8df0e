//! Raw system calls for the keeper and the script before `execve`: no libc wrapper
//! (which could write `errno`, a thread-local of the *parent* thread, or take a lock),
//! no allocation. One file per architecture holds the `asm!`; this file holds the
//! register types every architecture shares, so a call site states what it passes
//! (an int, a pointer, a length) instead of casting to `usize` by hand.

use std::ffi::{c_int, c_long, c_void};

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub(super) use aarch64::{
    clone_with_entry, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5,
};
#[cfg(target_arch = "x86_64")]
pub(super) use x86_64::{
    clone_with_entry, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5,
};

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("kea-runscript-core's spawn supports x86_64 and aarch64 Linux");

/// A system call number (`libc::SYS_*`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Nr(c_long);

impl Nr {
    /// Wraps `libc::SYS_*`.
    pub(super) const fn new(nr: c_long) -> Nr {
        Nr(nr)
    }

    fn raw(self) -> c_long {
        self.0
    }
}

/// One argument register, built from what the kernel expects there.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub(super) struct Arg(usize);

impl Arg {
    /// An unused argument.
    pub(super) const ZERO: Arg = Arg(0);

    /// A C `int` (sign-extended, as the kernel reads the low 32 bits).
    pub(super) fn int(value: c_int) -> Arg {
        Arg(value as isize as usize)
    }

    /// An unsigned `int` (flags, fd bounds).
    pub(super) fn uint(value: u32) -> Arg {
        Arg(value as usize)
    }

    /// A size or length.
    pub(super) fn size(value: usize) -> Arg {
        Arg(value)
    }

    /// A pointer the kernel reads from.
    pub(super) fn ptr<T>(value: *const T) -> Arg {
        Arg(value as usize)
    }

    /// A pointer the kernel writes to.
    pub(super) fn mut_ptr<T>(value: *mut T) -> Arg {
        Arg(value as usize)
    }

    /// A null pointer.
    pub(super) fn null() -> Arg {
        Arg::ptr(std::ptr::null::<c_void>())
    }

    fn raw(self) -> usize {
        self.0
    }
}

/// The return register: a value, or `-errno` in `-4095..=-1`.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub(super) struct Ret(isize);

impl Ret {
    fn from_raw(value: isize) -> Ret {
        Ret(value)
    }

    /// The value, or the error number.
    pub(super) fn result(self) -> Result<usize, Errno> {
        if (-4095..0).contains(&self.0) {
            Err(Errno(-self.0 as c_int))
        } else {
            Ok(self.0 as usize)
        }
    }
}

/// An error number from a raw system call (never read from or written to `errno`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Errno(pub c_int);

/// The entry point of a process started by [`clone_with_entry`]: runs on the new
/// stack; its return value is the process's exit code.
pub(super) type Entry = extern "C" fn(*mut c_void) -> c_int;
