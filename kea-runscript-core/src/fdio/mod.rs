//! The fd plumbing shared by the spawn runners' output collector and the worker's
//! threads: close-on-exec pipes, `O_NONBLOCK`, an eventfd wake-up, `poll`, non-blocking
//! reads and writes, the signal mask of our own threads, and splitting a byte stream into
//! bounded lines ([`LineSplitter`]).
//!
//! A leaf: it imports no other module of this crate (`tests/layers.rs` checks it), so
//! every module above may use it without an import circle.

mod lines;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub use lines::{LineSplitter, Piece};

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A pipe `(read end, write end)`, both close-on-exec and blocking (see
/// [`set_nonblocking`]).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: pipe2 writes two fds into the array.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: a fresh fd that nothing else owns.
    let read = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    // SAFETY: as above.
    let write = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    Ok((read, write))
}

/// Sets `O_NONBLOCK` on `fd`.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    Ok(())
}

/// An eventfd that wakes a `poll` for good once [`Wake::trigger`]ed.
#[derive(Debug)]
pub struct Wake {
    fd: OwnedFd,
}

impl Wake {
    /// Creates the eventfd.
    pub fn new() -> io::Result<Wake> {
        // SAFETY: eventfd creates a new fd that we own at once.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: a fresh fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Wake { fd })
    }

    /// Makes the fd readable (it is never read, so it stays readable).
    pub fn trigger(&self) {
        let one: u64 = 1;
        // SAFETY: an 8-byte write to our eventfd.
        unsafe {
            libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }

    /// The fd to poll.
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// `poll` on `fds` for at most `timeout` (`None`: without limit); retries on `EINTR`
/// with the full timeout (callers re-check their deadlines). Returns the count ready.
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ms = timeout.map_or(-1, |t| {
        // Round up so that a deadline a few µs away does not spin with 0.
        let ms = t.as_micros().div_ceil(1000);
        ms.min(i32::MAX as u128) as libc::c_int
    });
    loop {
        // SAFETY: poll on a valid array of pollfd of the given length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// A `pollfd` waiting for `events` on `fd` (`-1` is ignored by `poll`).
pub fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Outcome of a non-blocking read.
pub enum Read {
    /// This many bytes.
    Data(usize),
    /// Nothing now.
    WouldBlock,
    /// End of stream (or an error, which ends the stream just as well).
    End,
}

/// One non-blocking `read` into `buf`.
pub fn read(fd: RawFd, buf: &mut [u8]) -> Read {
    loop {
        // SAFETY: read into a valid buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            return Read::Data(n as usize);
        }
        if n == 0 {
            return Read::End;
        }
        match io::Error::last_os_error().kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Read::WouldBlock,
            _ => return Read::End,
        }
    }
}

/// One non-blocking `write` of `buf`: bytes written (0 when the pipe is full).
/// Runs only on the writer thread, where `SIGPIPE` is blocked, so a reader gone
/// away is `EPIPE`, not a signal that would end the host.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: write from a valid buffer of the given length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(0),
            _ => return Err(err),
        }
    }
}

/// Blocks every asynchronous signal in the calling thread (one of ours) for its
/// whole life: the host's signals (Kea's `SIGTERM`, `SIGHUP`) are then handled by
/// its own threads, and a write to a pipe whose reader is gone fails with `EPIPE`
/// instead of raising a `SIGPIPE` that would end the host (see [`write`]). Faults
/// (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`) stay unblocked.
pub fn block_async_signals() {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises the set it is given.
    unsafe { libc::sigfillset(set.as_mut_ptr()) };
    // SAFETY: initialised just above.
    let mut set = unsafe { set.assume_init() };
    for fault in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL] {
        // SAFETY: removes a valid signal number from an initialised set.
        unsafe { libc::sigdelset(&mut set, fault) };
    }
    // SAFETY: changes the calling thread's mask only; no old mask is asked for.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}
