//! Kea's entry points, behind [`crate::export_hook!`]: the loaded hook, the panic guard, and
//! one callout trampoline per hook point. Not called directly by hooks.

use std::any::Any;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use kea_runscript_env::HookPoint;

use crate::bridge::ffi::{self, CalloutHandle, LibraryHandle};
use crate::callout::{Callout, SrvConfigured};
use crate::{library, log, parking, EntryPoint, Hook, Library};

/// What the SDK calls on the loaded hook, whatever its type.
trait Loaded: Send + Sync {
    fn callout(&self, callout: &mut Callout<'_>) -> Result<(), String>;
    fn srv_configured(&self, configured: &mut SrvConfigured<'_>) -> Result<(), String>;
    fn parked_query_resolved(&self) -> Result<(), String>;
    fn unload(&self, parked_dropped: usize) -> Result<(), String>;
    fn replaced(&self);
    fn report(&self, entry: EntryPoint, message: &str);
}

impl<H: Hook> Loaded for H {
    fn callout(&self, callout: &mut Callout<'_>) -> Result<(), String> {
        Hook::callout(self, callout)
    }
    fn srv_configured(&self, configured: &mut SrvConfigured<'_>) -> Result<(), String> {
        Hook::srv_configured(self, configured)
    }
    fn parked_query_resolved(&self) -> Result<(), String> {
        Hook::parked_query_resolved(self)
    }
    fn unload(&self, parked_dropped: usize) -> Result<(), String> {
        Hook::unload(self, parked_dropped)
    }
    fn replaced(&self) {
        Hook::replaced(self)
    }
    fn report(&self, entry: EntryPoint, message: &str) {
        H::report(entry, message)
    }
}

/// The loaded hook: set by `load`, taken by `unload`. Callouts clone the `Arc` under a short
/// read lock, so `unload` never frees a hook a callout still uses.
static LOADED: RwLock<Option<Arc<dyn Loaded>>> = RwLock::new(None);

fn current() -> Option<Arc<dyn Loaded>> {
    match LOADED.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn replace(hook: Option<Arc<dyn Loaded>>) -> Option<Arc<dyn Loaded>> {
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
fn guarded(
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

/// `version()`: Kea's hooks version, or 0 (Kea rejects the library) when the parameters of
/// this library in the configuration Kea is parsing fail [`Hook::check_parameters`].
pub fn version<H: Hook>() -> c_int {
    log::init(H::LOGGER, &H::message_ids());
    guarded(EntryPoint::Version, H::report, 0, || {
        library::check_staged_parameters(H::check_parameters)?;
        Ok(ffi::hooks_version())
    })
}

/// `multi_threading_compatible()`.
pub fn multi_threading_compatible<H: Hook>() -> c_int {
    c_int::from(H::multi_threading_compatible())
}

/// `load(LibraryHandle&)`: 0 when loaded, 1 (Kea rejects the configuration) otherwise.
#[allow(clippy::not_unsafe_ptr_arg_deref)] // Kea's pointer, checked for null; see below.
pub fn load<H: Hook>(handle: *mut LibraryHandle) -> c_int {
    log::init(H::LOGGER, &H::message_ids());
    guarded(EntryPoint::Load, H::report, 1, || {
        // SAFETY: Kea passes a valid, exclusive LibraryHandle reference for this call.
        let handle = unsafe { handle.as_mut() }.ok_or("null library handle")?;
        // SAFETY: the handle is not moved out of while pinned (Kea owns it).
        let mut library = Library::new(unsafe { Pin::new_unchecked(handle) });
        let hook = H::load(&mut library)?;
        library.register_srv_configured()?;
        if let Some(previous) = replace(Some(Arc::new(hook))) {
            // Kea shares one instance when the same file is listed twice.
            previous.replaced();
        }
        Ok(0)
    })
}

/// `unload()`: drops the queries still parked, then [`Hook::unload`].
pub fn unload<H: Hook>() -> c_int {
    guarded(EntryPoint::Unload, H::report, 0, || {
        let dropped = parking::close();
        if let Some(hook) = replace(None) {
            hook.unload(dropped)?;
        }
        Ok(0)
    })
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
fn callout(hook_point: HookPoint, handle: *mut CalloutHandle) -> c_int {
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
/// it), then [`Hook::srv_configured`].
fn srv_configured(family: u8, handle: *mut CalloutHandle) -> c_int {
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

extern "C" fn dhcp4_srv_configured(handle: *mut CalloutHandle) -> c_int {
    srv_configured(4, handle)
}

extern "C" fn dhcp6_srv_configured(handle: *mut CalloutHandle) -> c_int {
    srv_configured(6, handle)
}

/// A callout as Kea calls it.
pub(crate) type CalloutFn = extern "C" fn(*mut CalloutHandle) -> c_int;

/// The `dhcpX_srv_configured` callouts, registered at every load.
pub(crate) const SRV_CONFIGURED: &[(&str, CalloutFn)] = &[
    ("dhcp4_srv_configured", dhcp4_srv_configured),
    ("dhcp6_srv_configured", dhcp6_srv_configured),
];

/// Generates one trampoline per row of the hook-point table
/// ([`kea_runscript_env::hook_point_table!`]) whose `callout` is true, and `CALLOUTS` listing
/// them. Walks the rows one at a time, carrying the list built so far.
macro_rules! trampolines {
    (@list [$($done:tt)*]) => {
        /// Every callout trampoline: its hook point and the function.
        pub(crate) const CALLOUTS: &[(HookPoint, CalloutFn)] = &[$($done)*];
    };
    (@list [$($done:tt)*] $(#[$doc:meta])* $variant:ident = $symbol:ident {
        callout: true, $($row:tt)*
    } $($rest:tt)*) => {
        #[allow(non_snake_case)]
        extern "C" fn $variant(handle: *mut CalloutHandle) -> c_int {
            callout(HookPoint::$variant, handle)
        }
        trampolines!(@list [$($done)* (HookPoint::$variant, $variant as CalloutFn),] $($rest)*);
    };
    (@list [$($done:tt)*] $(#[$doc:meta])* $variant:ident = $symbol:ident {
        callout: false, $($row:tt)*
    } $($rest:tt)*) => {
        trampolines!(@list [$($done)*] $($rest)*);
    };
    ($($rows:tt)*) => {
        trampolines!(@list [] $($rows)*);
    };
}

kea_runscript_env::hook_point_table!(trampolines);

/// The trampoline of `hook_point`, if Kea calls a callout there.
pub(crate) fn trampoline(hook_point: HookPoint) -> Option<CalloutFn> {
    CALLOUTS
        .iter()
        .find(|(hp, _)| *hp == hook_point)
        .map(|&(_, function)| function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_a_trampoline_for_every_hook_point_kea_calls() {
        // Load, unload and the replays are not Kea's callouts.
        let expected: Vec<HookPoint> = HookPoint::ALL
            .iter()
            .copied()
            .filter(|hp| !matches!(hp, HookPoint::Load | HookPoint::Unload) && !hp.is_replay())
            .collect();
        let listed: Vec<HookPoint> = CALLOUTS.iter().map(|(hp, _)| *hp).collect();
        assert_eq!(listed, expected);
        for (hp, function) in CALLOUTS {
            assert!(hp.is_callout(), "{hp}");
            // Nothing is loaded: a trampoline returns 0 at once, even for a null handle.
            assert_eq!(function(std::ptr::null_mut()), 0, "{hp}");
        }
    }

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
