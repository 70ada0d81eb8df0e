//! Control commands sent from inside Kea ([`process`]): a hook asks Kea, or another hook
//! library (HA's `ha-heartbeat`, `config-get`, …), exactly as the control channel would,
//! without a socket or a network round trip.
//!
//! Kea fires `command_processed` for such a command too, on the calling thread and before
//! [`process`] returns; [`is_own`] tells a `command_processed` callout that the command is
//! the hook's own (to be ignored: acting on it could recurse). Kea logs each command
//! (`COMMAND_RECEIVED`, INFO): send them sparingly.

use std::cell::Cell;

use crate::bridge::ffi;
use crate::error::Error;

thread_local! {
    /// Set while this thread waits in [`process`].
    static OWN: Cell<bool> = const { Cell::new(false) };
}

/// Resets [`OWN`] when [`process`] returns, or unwinds.
struct OwnGuard(bool);

impl Drop for OwnGuard {
    fn drop(&mut self) {
        OWN.with(|own| own.set(self.0));
    }
}

/// Kea's answer (JSON text) to `command` (JSON text, e.g.
/// `{"command": "ha-heartbeat"}`). Call it from Kea's threads (a callout, load), never
/// where Kea holds a critical section for the command.
pub fn process(command: &str) -> Result<String, Error> {
    let _reset = OwnGuard(OWN.with(|own| own.replace(true)));
    ffi::process_command(command).map_err(|e| Error::kea("sending a control command", e))
}

/// Whether this thread is inside [`process`]: a `command_processed` callout now is for the
/// hook's own command.
pub fn is_own() -> bool {
    OWN.with(Cell::get)
}

/// Whether the calling thread is Kea's main thread (the process's first thread, where Kea
/// runs its control channel and timers; HA's listener and the packet threads are others).
pub fn on_main_thread() -> bool {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    u32::try_from(tid).is_ok_and(|tid| tid == std::process::id())
}
