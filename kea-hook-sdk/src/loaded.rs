//! The loaded hook (set by `load`, taken by `unload`) and the dispatch of Kea's calls to it,
//! each behind the panic guard.

use std::any::Any;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use kea_runscript_env::HookPoint;

use crate::bridge::ffi::{self, CalloutHandle};
use crate::callout::{Callout, SrvConfigured};
use crate::error::EntryPoint;

/// What the SDK calls on the loaded hook, whatever its type.
pub(crate) trait Loaded: Send + Sync {
    fn callout(&self, callout: &mut Callout<'_>) -> Result<(), String>;
    fn srv_configured(&self, configured: &mut SrvConfigured<'_>) -> Result<(), String>;
    fn parked_query_resolved(&self) -> Result<(), String>;
    fn unload(&self, parked_dropped: usize) -> Result<(), String>;
    fn replaced(&self);
    fn report(&self, entry: EntryPoint, message: &str);
}

/// The loaded hook: set by `load`, taken by `unload`. Callouts clone the `Arc` under a short
/// read lock, so `unload` never frees a hook a callout still uses.
pub(crate) static LOADED: RwLock<Option<Arc<dyn Loaded>>> = RwLock::new(None);

pub(crate) fn current() -> Option<Arc<dyn Loaded>> {
    match LOADED.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

pub(crate) fn replace(hook: Option<Arc<dyn Loaded>>) -> Option<Arc<dyn Loaded>> {
    let mut guard = match LOADED.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    std::mem::replace(&mut *guard, hook)
}

fn panic_text(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

/// Runs `body`, turning an error or a panic into one `report` of `entry`, and `on_error`.
pub(crate) fn guarded(
    entry: EntryPoint,
    report: impl FnOnce(EntryPoint, &str),
    on_error: c_int,
    body: impl FnOnce() -> Result<c_int, String>,
) -> c_int {
    let message = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => return code,
        Ok(Err(message)) => message,
        Err(panic) => format!("panic: {}", panic_text(panic.as_ref())),
    };
    // Reporting itself must not unwind out of here either.
    let _ = catch_unwind(AssertUnwindSafe(|| report(entry, &message)));
    on_error
}

/// Kea's thread, as a parked query is resolved (from the shim).
pub(crate) fn parked_query_resolved() {
    if let Some(hook) = current() {
        guarded(
            EntryPoint::ParkedQueryResolved,
            |entry, message| hook.report(entry, message),
            0,
            || hook.parked_query_resolved().map(|()| 0),
        );
    }
}

/// The body of every callout trampoline.
pub(crate) fn callout(hook_point: HookPoint, handle: *mut CalloutHandle) -> c_int {
    let Some(hook) = current() else {
        return 0;
    };
    guarded(
        EntryPoint::Callout(hook_point),
        |entry, message| hook.report(entry, message),
        0,
        || {
            // SAFETY: Kea passes its CalloutHandle&, valid and used by nothing else during
            // the call; null is refused.
            let handle = unsafe { handle.as_mut() }.ok_or("null callout handle")?;
            // SAFETY: Kea owns the handle and never moves it.
            let mut callout = Callout::new(hook_point, unsafe { Pin::new_unchecked(handle) });
            hook.callout(&mut callout).map(|()| 0)
        },
    )
}

/// The `dhcpX_srv_configured` callouts: keep Kea's IO service (parked queries are resumed on
/// it), then [`crate::Hook::srv_configured`].
pub(crate) fn srv_configured(family: u8, handle: *mut CalloutHandle) -> c_int {
    let Some(hook) = current() else {
        return 0;
    };
    guarded(
        EntryPoint::SrvConfigured(family),
        |entry, message| hook.report(entry, message),
        0,
        || {
            // SAFETY: as in `callout`.
            let handle = unsafe { handle.as_mut() }.ok_or("null callout handle")?;
            ffi::capture_io_service(handle)
                .map_err(|e| format!("keeping Kea's IO service: {e}"))?;
            // SAFETY: as in `callout`.
            let mut configured = SrvConfigured::new(family, unsafe { Pin::new_unchecked(handle) });
            hook.srv_configured(&mut configured).map(|()| 0)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_returns_the_body_code_or_the_error_code_and_never_unwinds() {
        let quiet = |_: EntryPoint, _: &str| {};
        assert_eq!(guarded(EntryPoint::Load, quiet, 9, || Ok(3)), 3);
        assert_eq!(guarded(EntryPoint::Load, quiet, 9, || Err("bad".into())), 9);
        assert_eq!(guarded(EntryPoint::Load, quiet, 9, || panic!("boom")), 9);
        let mut seen = String::new();
        let owned = String::from("owned payload");
        let code = guarded(
            EntryPoint::Unload,
            |entry, message| seen = format!("{entry}: {message}"),
            9,
            || std::panic::panic_any(owned),
        );
        assert_eq!((code, seen.as_str()), (9, "unload: panic: owned payload"));
        // A report that panics does not unwind either.
        assert_eq!(
            guarded(
                EntryPoint::Load,
                |_, _| panic!("report"),
                5,
                || Err("x".into())
            ),
            5
        );
    }
}
