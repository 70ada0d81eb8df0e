//! The register types every architecture shares, so a call site states what it passes
//! (an int, a pointer, a length) instead of casting to `usize` by hand.

use std::ffi::{c_int, c_long, c_void};

/// A system call number (`libc::SYS_*`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Nr(c_long);

impl Nr {
    /// Wraps `libc::SYS_*`.
    pub(crate) const fn new(nr: c_long) -> Nr {
        Nr(nr)
    }

    /// The number for the `asm!` register.
    pub(super) fn raw(self) -> c_long {
        self.0
    }
}

/// One argument register, built from what the kernel expects there.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub(crate) struct Arg(usize);

impl Arg {
    /// An unused argument.
    pub(crate) const ZERO: Arg = Arg(0);

    /// A C `int` (sign-extended, as the kernel reads the low 32 bits).
    pub(crate) fn int(value: c_int) -> Arg {
        Arg(value as isize as usize)
    }

    /// An unsigned `int` (flags, fd bounds).
    pub(crate) fn uint(value: u32) -> Arg {
        Arg(value as usize)
    }

    /// A size or length.
    pub(crate) fn size(value: usize) -> Arg {
        Arg(value)
    }

    /// A pointer the kernel reads from.
    pub(crate) fn ptr<T>(value: *const T) -> Arg {
        Arg(value as usize)
    }

    /// A pointer the kernel writes to.
    pub(crate) fn mut_ptr<T>(value: *mut T) -> Arg {
        Arg(value as usize)
    }

    /// A null pointer.
    pub(crate) fn null() -> Arg {
        Arg::ptr(std::ptr::null::<c_void>())
    }

    /// The value for the `asm!` register.
    pub(super) fn raw(self) -> usize {
        self.0
    }
}

/// The return register: a value, or `-errno` in `-4095..=-1`.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub(crate) struct Ret(isize);

impl Ret {
    /// Wraps the `asm!` result register.
    pub(super) fn from_raw(value: isize) -> Ret {
        Ret(value)
    }

    /// The value, or the error number.
    pub(crate) fn result(self) -> Result<usize, Errno> {
        if (-4095..0).contains(&self.0) {
            Err(Errno(-self.0 as c_int))
        } else {
            Ok(self.0 as usize)
        }
    }
}

/// An error number from a raw system call (never read from or written to `errno`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub c_int);

/// The entry point of a process started by `clone_with_entry`: runs on the new stack;
/// its return value is the process's exit code.
pub(crate) type Entry = extern "C" fn(*mut c_void) -> c_int;
