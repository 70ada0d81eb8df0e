//! Raw system calls for the keeper and the script before `execve`: no libc wrapper
//! (which could write `errno`, a thread-local of the *parent* thread, or take a lock),
//! no allocation. One file per architecture holds the `asm!`; `reg` holds the typed
//! registers they share (the layout of rustix's `backend/linux_raw/arch`).

mod reg;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub(super) use aarch64::{
    clone_with_entry, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5,
};
pub(super) use reg::{Arg, Entry, Errno, Nr};
#[cfg(target_arch = "x86_64")]
pub(super) use x86_64::{
    clone_with_entry, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5,
};

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("kea-runscript-spawn supports x86_64 and aarch64 Linux");
