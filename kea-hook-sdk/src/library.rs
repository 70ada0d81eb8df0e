//! [`Library`]: what a hook does at load (parameters, callouts, parking), and the check of
//! staged parameters behind `version()`.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::pin::Pin;

use kea_runscript_env::HookPoint;

use crate::bridge::ffi::{self, LibraryHandle};
use crate::error::Error;
use crate::trampolines::{self, CalloutFn};
use crate::{log, parking};

/// Kea's library handle during [`crate::Hook::load`].
pub struct Library<'a> {
    handle: Pin<&'a mut LibraryHandle>,
    registered: Vec<&'static str>,
}

impl<'a> Library<'a> {
    pub(crate) fn new(handle: Pin<&'a mut LibraryHandle>) -> Self {
        Library {
            handle,
            registered: Vec::new(),
        }
    }

    /// The library's `parameters` map of its `hooks-libraries` entry, as JSON text (`{}`
    /// when it has none).
    pub fn parameters(&mut self) -> Result<String, Error> {
        ffi::library_parameters(self.handle.as_mut())
            .map_err(|e| Error::kea("reading parameters", e))
    }

    /// Registers the hook's callout ([`crate::Hook::callout`]) at `hook_point`. Only
    /// registered hook points cost Kea anything: Kea prepares the arguments of a hook point,
    /// and changes how it handles the packet, only when a callout is registered there.
    /// `Ok(false)`: this Kea has no such hook point (a later release's), nothing registered.
    pub fn register(&mut self, hook_point: HookPoint) -> Result<bool, Error> {
        let callout = trampolines::trampoline(hook_point).ok_or_else(|| {
            Error::new(format!(
                "{hook_point} is not a hook point Kea calls a callout at"
            ))
        })?;
        let registered = self.register_named(hook_point.name(), callout)?;
        if registered {
            self.registered.push(hook_point.name());
        }
        Ok(registered)
    }

    /// The hook points registered so far, in order.
    pub fn registered(&self) -> &[&'static str] {
        &self.registered
    }

    /// The hook libraries of the configuration being applied, in order, as `(path,
    /// parameters as JSON text)`: e.g. to find another library's settings (HA's) at load.
    /// Empty when Kea loads libraries outside a configuration (`libreload`).
    pub fn configured_libraries(&self) -> Vec<(String, String)> {
        ffi::staged_libraries()
            .map(|libs| libs.into_iter().map(|l| (l.path, l.parameters)).collect())
            .unwrap_or_default()
    }

    fn register_named(&mut self, name: &str, callout: CalloutFn) -> Result<bool, Error> {
        ffi::register_callout(self.handle.as_mut(), name, callout as usize)
            .map_err(|e| Error::kea(format!("registering the callout at {name}"), e))
    }

    /// The `dhcpX_srv_configured` callouts (Kea's IO service for parking, and
    /// [`crate::Hook::srv_configured`]).
    pub(crate) fn register_srv_configured(&mut self) -> Result<(), Error> {
        for &(name, callout) in trampolines::SRV_CONFIGURED {
            self.register_named(name, callout)?;
        }
        Ok(())
    }

    /// Lets [`crate::Callout::park`] park queries. The library then stays mapped after Kea
    /// unloads it (a resumption posted to Kea's IO service may still run its code), so a
    /// changed `.so` file is only picked up by a restart of Kea. False when that cannot be
    /// arranged: nothing is parked then.
    pub fn enable_parking(&mut self) -> bool {
        let pinned = own_path().is_some_and(|path| parking::pin_library(&path));
        if pinned {
            parking::open();
        }
        pinned
    }
}

/// Errs, naming the allowed directory, when the Kea built against restricts where hook
/// scripts may live (3.0 on: Kea's scripts directory, as Kea's own run-script hook checks in
/// its `load`) and `path` is not there.
pub fn check_script_path(path: &str) -> Result<(), Error> {
    ffi::check_script_path(path).map_err(|e| Error::new(e.what()))
}

/// This shared object's path as the dynamic loader opened it.
fn own_path() -> Option<PathBuf> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    let address = own_path as *const () as *const libc::c_void;
    // SAFETY: dladdr only reads the address and fills `info`.
    if unsafe { libc::dladdr(address, info.as_mut_ptr()) } == 0 {
        return None;
    }
    // SAFETY: zero-initialised, then filled by a successful dladdr.
    let info = unsafe { info.assume_init() };
    if info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname points to a NUL-terminated string owned by the loader that lives as
    // long as this library is loaded.
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    Some(PathBuf::from(OsStr::from_bytes(name.to_bytes())))
}

/// Checks this library's `parameters` in the configuration Kea is parsing, if any.
///
/// Kea 2.2 validates hook libraries while parsing a configuration by opening them and calling
/// `version()` — and under `kea-dhcp4 -t` (or the `config-test` command) that is all it does:
/// `load` never runs. Checking the staged parameters here makes `-t` (and a real start or
/// reload, before anything is applied) reject a bad configuration.
///
/// Every entry whose path resolves to this very file is checked (Kea may list it twice);
/// entries are matched by canonical path because the configured path may be a symlink.
/// Whatever cannot be determined — our own path, the staging configuration — passes: `load`
/// checks the parameters again, so a doubt here never rejects a good configuration.
///
/// Outside parsing (e.g. the `libreload` command) Kea's staging configuration is normally a
/// fresh, empty one and the check passes. But after a rejected `config-set` (or any
/// `config-test`) Kea keeps that configuration staged until the next one, and `libreload`
/// calls `version()` again: judged by the stale, rejected parameters instead of the loaded
/// ones it failed and left Kea with no hook library at all. So a rejection marks the staged
/// configuration (its user context), and a marked one is not judged again: `load` checks the
/// real parameters. A new parse starts from a new staging configuration, without the mark.
pub(crate) fn check_staged_parameters(
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    if ffi::staged_config_rejected().unwrap_or(false) {
        return Ok(());
    }
    let Some(own) = own_path().and_then(|p| std::fs::canonicalize(p).ok()) else {
        return Ok(());
    };
    let staged = match ffi::staged_libraries() {
        Ok(staged) => staged,
        Err(e) => {
            // Not a reason to reject the library: load() still checks the parameters.
            log::log(
                log::Severity::Warn,
                log::ids::HOOK_FAILED,
                &format!("cannot read the configuration being parsed, parameters are checked at load: {e}"),
            );
            return Ok(());
        }
    };
    for library in staged {
        if std::fs::canonicalize(&library.path).ok().as_ref() != Some(&own) {
            continue;
        }
        check(&library.parameters).map_err(|e| {
            if let Err(mark) = ffi::mark_staged_config_rejected() {
                log::log(
                    log::Severity::Warn,
                    log::ids::HOOK_FAILED,
                    &format!("cannot mark the rejected configuration: {mark}"),
                );
            }
            format!("{}: {e}", library.path)
        })?;
    }
    Ok(())
}
