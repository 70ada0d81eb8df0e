//! Kea's library entry points, generic over the [`Hook`], behind [`crate::export_hook!`].
//! Not called directly by hooks.

use std::os::raw::c_int;
use std::pin::Pin;
use std::sync::Arc;

use crate::bridge::ffi::{self, LibraryHandle};
use crate::error::EntryPoint;
use crate::hook::Hook;
use crate::library::{self, Library};
use crate::loaded::{guarded, replace};
use crate::{log, parking};

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
