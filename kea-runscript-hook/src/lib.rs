//! `libkea_runscript.so`: a Kea DHCP hook library that runs scripts at hook points.
//!
//! Kea finds a hook library's entry points by symbol name. A Rust cdylib does not export
//! symbols defined in the C++ objects it links, so every entry point — `version`, `load`,
//! `unload`, `multi_threading_compatible`, `dhcpX_srv_configured` — is a `#[no_mangle]
//! extern "C"` function here. The callouts of the hook points are not exported (Kea would
//! register every one): `load` registers those the configuration selects. The C++ shim
//! (`shim/`) only reads Kea's objects, sets the next-step status and logs.
//!
//! Data flows one way: callout → the shim writes Kea's arguments as records of the models'
//! fields ([`bridge`]) → [`record`] reads them into the `kea-runscript-env` `Event`
//! → the engine (`kea-runscript-core`) runs the scripts → [`verdict`] sets Kea's next step.
//! Every entry point catches panics and C++ exceptions, logs them through Kea and returns as
//! Kea expects: nothing unwinds across the FFI boundary.

#![warn(missing_docs)]

pub mod bridge;
pub mod eval;
pub mod extract;
pub mod logging;
pub mod parking;
pub mod record;
pub mod replay;
pub mod stats;
#[cfg(test)]
mod testing;
pub mod verdict;

use std::any::Any;
use std::ffi::{CStr, OsStr};
use std::os::raw::c_int;
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use kea_runscript_env::{Event, HookPoint, Profile};

use bridge::ffi::{self, CalloutHandle, LibraryHandle};
use kea_runscript_core::log::Severity;
use kea_runscript_core::Engine;

/// The Kea release this library is built against, from `KEA_HOOKS_VERSION` in the installed
/// `hooks/hooks.h` (build.rs): events carry it so scripts get that release's texts.
pub const KEA_VERSION: kea_runscript_env::KeaVersion =
    kea_runscript_env::KeaVersion::from_hooks_version(decimal(env!("KRS_KEA_HOOKS_VERSION")));

/// A decimal number at compile time (build.rs writes only digits).
const fn decimal(digits: &str) -> u32 {
    let digits = digits.as_bytes();
    let (mut value, mut i) = (0, 0);
    while i < digits.len() {
        value = value * 10 + (digits[i] - b'0') as u32;
        i += 1;
    }
    value
}

/// A new event for `hook_point` from the Kea release built against, so that it renders that
/// release's texts.
fn new_event(hook_point: HookPoint) -> Event {
    let mut event = Event::new(hook_point);
    event.kea_version = KEA_VERSION;
    event
}

/// The engine of the loaded library: set by `load`, taken by `unload`. Callouts clone the
/// `Arc` under a short read lock, so `unload` never frees an engine a callout still uses.
static ENGINE: RwLock<Option<Arc<Engine>>> = RwLock::new(None);

/// Publishes the loaded engine's counters as Kea statistics (called on Kea's threads only);
/// errors and panics are logged, never passed to the caller.
fn publish_statistics_now() {
    guarded(
        "statistics",
        logging::CALLOUT_ERROR,
        Report::Limited,
        0,
        || {
            if let Some(engine) = current_engine() {
                stats::publish(&engine)?;
            }
            Ok(0)
        },
    );
}

fn current_engine() -> Option<Arc<Engine>> {
    match ENGINE.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn replace_engine(engine: Option<Arc<Engine>>) -> Option<Arc<Engine>> {
    let mut guard = match ENGINE.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    std::mem::replace(&mut *guard, engine)
}

fn panic_text(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

/// How a failed entry point is logged.
#[derive(Clone, Copy)]
enum Report {
    /// Every time (library-level: load, unload, version).
    Always,
    /// Under the rate limit (callouts: one failure may repeat for every packet).
    Limited,
}

/// Runs `body`, turning an error or a panic into one log line with `id`, and `on_error`.
fn guarded(
    what: &str,
    id: &'static str,
    report: Report,
    on_error: c_int,
    body: impl FnOnce() -> Result<c_int, String>,
) -> c_int {
    let message = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => return code,
        Ok(Err(message)) => format!("{what}: {message}"),
        Err(panic) => format!("{what}: panic: {}", panic_text(panic.as_ref())),
    };
    // Logging itself must not unwind out of here either.
    let _ = catch_unwind(AssertUnwindSafe(|| match report {
        Report::Always => logging::log(Severity::Error, id, &message),
        Report::Limited => logging::limited(Severity::Error, id, || message),
    }));
    on_error
}

/// Runs the script(s) for a `load`/`unload` event, if the configuration selects that hook point.
fn run_library_event(engine: &Engine, hook_point: HookPoint) {
    if engine.wants(hook_point) {
        let _ = engine.handle(new_event(hook_point));
    }
}

/// This shared object's path as the dynamic loader opened it.
fn own_path() -> Option<PathBuf> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    let address = version as *const () as *const libc::c_void;
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
/// reload, before anything is applied) reject a bad configuration with core's message.
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
/// ones it failed and left Kea with no hook library at all (found by
/// `tests/e2e_reloads.rs`). So a rejection marks the staged configuration (its user
/// context), and a marked one is not judged again: `load` checks the real parameters.
/// A new parse starts from a new staging configuration, without the mark.
fn check_staged_parameters() -> Result<(), String> {
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
            logging::log(
                Severity::Warn,
                logging::LOAD_ERROR,
                &format!("cannot read the configuration being parsed, parameters are checked at load: {e}"),
            );
            return Ok(());
        }
    };
    for library in staged {
        if std::fs::canonicalize(&library.path).ok().as_ref() != Some(&own) {
            continue;
        }
        checked_config(&library.parameters).map_err(|e| {
            if let Err(mark) = ffi::mark_staged_config_rejected() {
                logging::log(
                    Severity::Warn,
                    logging::LOAD_ERROR,
                    &format!("cannot mark the rejected configuration: {mark}"),
                );
            }
            format!("{}: {e}", library.path)
        })?;
    }
    Ok(())
}

/// The parameters checked as `load` needs them: core's checks, those that depend on the
/// server's family, and Kea's parse of every expression (returned for use).
fn checked_config(
    parameters: &str,
) -> Result<(kea_runscript_core::Config, Option<Arc<eval::Expressions>>), String> {
    let config = kea_runscript_core::Config::load(parameters).map_err(|e| e.to_string())?;
    let family = eval::server_family()?;
    config.check_family(family).map_err(|e| e.to_string())?;
    let expressions = if config.has_expressions() {
        Some(Arc::new(
            eval::Expressions::parse(&config, family).map_err(|e| e.to_string())?,
        ))
    } else {
        None
    };
    Ok((config, expressions))
}

/// Kea: the hooks API version this library was built against — or 0, which makes Kea reject
/// the library, when its staged parameters are invalid (checked here because Kea 2.2 calls
/// only `version()` while it parses a configuration, e.g. under `kea-dhcp4 -t`).
#[no_mangle]
pub extern "C" fn version() -> c_int {
    guarded(
        "invalid configuration",
        logging::LOAD_ERROR,
        Report::Always,
        0,
        || {
            check_staged_parameters()?;
            Ok(ffi::hooks_version())
        },
    )
}

/// Kea: the library may be used with Kea's multi-threading on.
#[no_mangle]
pub extern "C" fn multi_threading_compatible() -> c_int {
    1
}

/// Kea: load the library with the `parameters` of its `hooks-libraries` entry. Returns 1 (Kea
/// rejects the configuration) when the parameters are invalid.
///
/// # Safety
/// `handle` is the `LibraryHandle&` Kea passes, valid for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn load(handle: *mut LibraryHandle) -> c_int {
    guarded("load", logging::LOAD_ERROR, Report::Always, 1, || {
        // SAFETY: Kea passes a valid, exclusive LibraryHandle reference for this call.
        let handle = unsafe { handle.as_mut() }.ok_or("null library handle")?;
        // SAFETY: the handle is not moved out of while pinned (Kea owns it).
        let parameters = ffi::library_parameters(unsafe { Pin::new_unchecked(handle) })
            .map_err(|e| format!("reading parameters: {e}"))?;
        let (config, expressions) = checked_config(&parameters)?;
        // In load only, as Kea 3.0's own hook checks it: `kea-dhcpX -t` passes, a start fails.
        check_script_paths(&config)?;
        let engine = Engine::new(config, Arc::new(logging::KeaLog)).map_err(|e| e.to_string())?;
        let engine = Arc::new(engine);
        // SAFETY: the handle is not moved out of while pinned (Kea owns it).
        let registered = register_callouts(&engine, unsafe { Pin::new_unchecked(handle) })?;
        // Installed before the engine that uses them, so no callout of it runs without them.
        eval::install(expressions);
        if let Some(previous) = replace_engine(Some(Arc::clone(&engine))) {
            // Kea shares one instance when the same file is listed twice; one engine serves it.
            logging::log(
                Severity::Warn,
                logging::LOAD,
                "loaded again while loaded: only these parameters apply \
                 (list several scripts in one \"scripts\" list instead)",
            );
            previous.shutdown();
        }
        // Not the parameters themselves: their "env" may carry secrets.
        logging::log(
            Severity::Info,
            logging::LOAD,
            &format!(
                "loaded, {} script(s), hooks API {}, callouts at: {}",
                engine.config().scripts.len(),
                ffi::hooks_version(),
                if registered.is_empty() {
                    "none".to_string()
                } else {
                    registered.join(" ")
                }
            ),
        );
        if parks(&engine) {
            // A resolution posted to Kea's IO service may run after unload.
            if !own_path().is_some_and(|path| parking::pin_library(&path)) {
                logging::log(
                    Severity::Warn,
                    logging::LOAD,
                    "cannot keep the library mapped: packets are not parked, sync scripts at \
                     leases4_committed/leases6_committed hold Kea's thread",
                );
            } else {
                parking::open();
            }
        }
        stats::reset();
        run_library_event(&engine, HookPoint::Load);
        stats::publish(&engine)?;
        Ok(0)
    })
}

/// Registers the callouts of the hook points `engine`'s scripts selected, and only those:
/// Kea does work for every hook point that has a callout (it sets up the arguments, and some
/// points change how it handles the packet), so a callout that returns at once still costs
/// Kea on every packet. (A callout exported under its hook point's name would be registered
/// by Kea for every configuration; so none is.) Returns the names registered.
fn register_callouts(
    engine: &Engine,
    mut handle: Pin<&mut LibraryHandle>,
) -> Result<Vec<&'static str>, String> {
    let mut registered = Vec::new();
    for &(name, hook_point, callout) in CALLOUTS {
        if !engine.wants(hook_point) {
            continue;
        }
        if ffi::register_callout(handle.as_mut(), name, callout as usize)
            .map_err(|e| format!("registering the callout at {name}: {e}"))?
        {
            registered.push(name);
        }
    }
    Ok(registered)
}

/// Applies the Kea version's rule on where hook scripts may live, as Kea's own run-script
/// hook does in its `load`: none before 3.0; from 3.0 on only directly in Kea's scripts
/// directory (`/usr/share/kea/scripts`, or `KEA_HOOK_SCRIPTS_PATH`; `kea-dhcpX -X` lifts it).
/// Kea's own checker decides, so its overrides apply unchanged.
fn check_script_paths(config: &kea_runscript_core::Config) -> Result<(), String> {
    for script in &config.scripts {
        let path = script.path.to_string_lossy();
        ffi::check_script_path(&path).map_err(|e| format!("script {path}: {e}"))?;
    }
    Ok(())
}

/// Kea: unload the library. Runs the `unload` scripts if selected, then shuts the engine
/// down (in-flight scripts end or are killed; no child is left unmanaged).
#[no_mangle]
pub extern "C" fn unload() -> c_int {
    guarded("unload", logging::CALLOUT_ERROR, Report::Always, 0, || {
        let dropped = parking::close();
        if dropped > 0 {
            logging::log(
                Severity::Warn,
                logging::UNLOAD,
                &format!("unload: dropped {dropped} parked packet(s) still waiting for a verdict"),
            );
        }
        if let Some(engine) = replace_engine(None) {
            run_library_event(&engine, HookPoint::Unload);
            engine.shutdown();
            stats::publish(&engine)?;
        }
        eval::install(None);
        logging::log(Severity::Info, logging::UNLOAD, "unloaded");
        Ok(0)
    })
}

/// True when `engine` has a sync script where Kea lets a callout park the packet.
fn parks(engine: &Engine) -> bool {
    [HookPoint::Leases4Committed, HookPoint::Leases6Committed]
        .into_iter()
        .any(|hook_point| engine.waits_for_verdict(hook_point))
}

/// The body shared by every callout: the loaded engine, if any, handles the event.
///
/// # Safety
/// `handle` is the `CalloutHandle&` Kea passes, valid and not otherwise used during the call.
unsafe fn callout(hook_point: HookPoint, handle: *mut CalloutHandle) -> Result<c_int, String> {
    match current_engine() {
        // SAFETY: forwarded contract.
        Some(engine) => unsafe { run_callout(&engine, hook_point, handle) },
        None => Ok(0),
    }
}

/// Selection, status check, extraction, scripts, verdict — for one callout and `engine`.
///
/// # Safety
/// As [`callout`].
unsafe fn run_callout(
    engine: &Engine,
    hook_point: HookPoint,
    handle: *mut CalloutHandle,
) -> Result<c_int, String> {
    // Only selected hook points are registered, but when the same file is listed twice Kea
    // shares one instance, and the first entry's callouts then serve the second entry's
    // engine: an unselected hook point returns before anything crosses into C++.
    if !engine.wants(hook_point) {
        return Ok(0);
    }
    // SAFETY: see the function's contract; each borrow below ends before the next is made.
    let status = ffi::get_status(unsafe { handle.as_ref() }.ok_or("null callout handle")?)
        .map_err(|e| e.to_string())?;
    // Another library already decided; Kea's hook does nothing then either.
    if status == verdict::NEXT_STEP_SKIP || status == verdict::NEXT_STEP_DROP {
        return Ok(0);
    }
    let kea_texts = engine.wants_profile(hook_point, Profile::KeaHookRunscript);
    let hosts = engine.wants_host_reservation(hook_point);
    let event = if kea_texts || hosts {
        // What is added from Kea depends on the arguments read: read them now.
        // SAFETY: as above; each shared borrow ends with its extraction.
        let mut event =
            extract::event(hook_point, unsafe { &*handle }).map_err(|e| e.to_string())?;
        if kea_texts {
            // SAFETY: as above.
            extract::kea_texts(&mut event, unsafe { &*handle }).map_err(|e| e.to_string())?;
        }
        if hosts {
            // SAFETY: as above.
            extract::hosts(&mut event, unsafe { &*handle }).map_err(|e| e.to_string())?;
        }
        event.into()
    } else {
        // SAFETY: as above.
        extract::deferred(hook_point, unsafe { &*handle }).map_err(|e| e.to_string())?
    };
    // A shared borrow of the handle for the expressions' evaluations, ended before the
    // handle is parked or the verdict applied.
    let expressions = eval::current();
    let query_handle = handle;
    let additions = move |index: usize| match &expressions {
        // SAFETY: as above; only shared borrows while the engine renders (a parked
        // handle stays valid and unchanged until it is unparked).
        Some(expressions) => expressions.evaluate(index, hook_point, unsafe { &*query_handle }),
        None => Vec::new(),
    };
    if parking::can_park(hook_point) && engine.waits_for_verdict(hook_point) {
        // SAFETY: as above; the only borrow of the handle now.
        let borrowed = unsafe { &mut *handle };
        // SAFETY: never moved out of while pinned (Kea owns it).
        let pinned = unsafe { Pin::new_unchecked(borrowed) };
        if let Some(ticket) = parking::park(hook_point, pinned)? {
            engine.handle_adding_with(
                event,
                &additions,
                Box::new(move |verdict| parking::resolve(hook_point, ticket, verdict)),
            );
            // The events and starts counted so far; the runs' ends are published when
            // their queries are resolved on Kea's IO service.
            stats::publish(engine)?;
            return Ok(0);
        }
    }
    let verdict = engine.handle_adding(event, &additions);
    // SAFETY: as above; the only borrow of the handle now, and Kea owns (never moves) it.
    let handle = unsafe { &mut *handle };
    // SAFETY: the handle is not moved out of while pinned.
    verdict::apply(hook_point, verdict, unsafe { Pin::new_unchecked(handle) })
        .map_err(|e| format!("setting the next step: {e}"))?;
    stats::publish(engine)?;
    Ok(0)
}

/// The `dhcpX_srv_configured` callouts: Kea has (re)loaded its configuration and lease
/// database. Keeps Kea's IO service (parked packets are unparked on it) and starts the replay
/// of the active leases for scripts with `"replay-leases": true` (see [`replay`]).
///
/// # Safety
/// `handle` is the `CalloutHandle&` Kea passes, valid for the duration of the call.
unsafe fn srv_configured(what: &str, hook_point: HookPoint, handle: *mut CalloutHandle) -> c_int {
    let captured = guarded(what, logging::CALLOUT_ERROR, Report::Always, 0, || {
        // SAFETY: see the function's contract.
        let handle = unsafe { handle.as_ref() }.ok_or("null callout handle")?;
        ffi::capture_io_service(handle).map_err(|e| e.to_string())?;
        Ok(0)
    });
    let replayed = guarded(what, logging::REPLAY, Report::Always, 0, || {
        if let Some(engine) = current_engine() {
            // SAFETY: Kea's handle, valid for this call (the function's contract).
            unsafe { replay::start(engine, hook_point, handle) }?;
        }
        Ok(0)
    });
    captured.max(replayed)
}

/// Kea callout `dhcp4_srv_configured`: starts the replay of DHCPv4 leases, if asked for.
///
/// # Safety
/// `handle` is the `CalloutHandle&` Kea passes, valid for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn dhcp4_srv_configured(handle: *mut CalloutHandle) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { srv_configured("dhcp4_srv_configured", HookPoint::Lease4Replay, handle) }
}

/// Kea callout `dhcp6_srv_configured`: starts the replay of DHCPv6 leases, if asked for.
///
/// # Safety
/// `handle` is the `CalloutHandle&` Kea passes, valid for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn dhcp6_srv_configured(handle: *mut CalloutHandle) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { srv_configured("dhcp6_srv_configured", HookPoint::Lease6Replay, handle) }
}

/// Generates one callout per row of the hook-point table
/// ([`kea_runscript_env::hook_point_table!`]) whose `callout` is true, and [`CALLOUTS`]
/// listing them (`load` registers those its scripts use). Walks the rows one at a time, carrying the list built so far.
macro_rules! callouts {
    (@list [$($done:tt)*]) => {
        /// Every callout: its hook point's name, its hook point and the function.
        pub const CALLOUTS: &[(&str, HookPoint, unsafe extern "C" fn(*mut CalloutHandle) -> c_int)] =
            &[$($done)*];
    };
    (@list [$($done:tt)*] $(#[$doc:meta])* $variant:ident = $symbol:ident {
        callout: true, $($row:tt)*
    } $($rest:tt)*) => {
        #[doc = concat!("Kea callout for `", stringify!($symbol), "` (registered in `load`).")]
        ///
        /// # Safety
        /// `handle` is the `CalloutHandle&` Kea passes, valid for the duration of the call.
        pub unsafe extern "C" fn $symbol(handle: *mut CalloutHandle) -> c_int {
            guarded(stringify!($symbol), logging::CALLOUT_ERROR, Report::Limited, 0, || {
                // SAFETY: the caller's contract above is `callout`'s.
                unsafe { callout(HookPoint::$variant, handle) }
            })
        }
        callouts!(@list [$($done)* (stringify!($symbol), HookPoint::$variant, $symbol),] $($rest)*);
    };
    (@list [$($done:tt)*] $(#[$doc:meta])* $variant:ident = $symbol:ident {
        callout: false, $($row:tt)*
    } $($rest:tt)*) => {
        callouts!(@list [$($done)*] $($rest)*);
    };
    ($($rows:tt)*) => {
        callouts!(@list [] $($rows)*);
    };
}

kea_runscript_env::hook_point_table!(callouts);

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use cxx::UniquePtr;
    use kea_runscript_core::log::StderrSink;

    use super::*;
    use crate::testing::ffi as kea;

    /// A directory for this test's scripts, removed when dropped.
    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary directory")
    }

    /// An executable `/bin/sh` script with `body` in `dir`.
    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn engine(parameters: String) -> Engine {
        Engine::from_json(&parameters, Arc::new(StderrSink)).expect("valid parameters")
    }

    /// A sync engine running `path` at `hook_point`, exit 3 → skip, 4 → drop.
    fn sync_engine(path: &Path, hook_point: HookPoint) -> Engine {
        engine(format!(
            r#"{{"name": "{}", "sync": true, "hook-points": ["{}"], "exit-codes": {{"3": "skip", "4": "drop"}}}}"#,
            path.display(),
            hook_point.name()
        ))
    }

    fn query4_handle() -> UniquePtr<CalloutHandle> {
        let mut handle = kea::new_test_handle().unwrap();
        kea::set_test_pkt4(handle.pin_mut(), "query4").unwrap();
        kea::set_test_subnet4(handle.pin_mut(), "subnet4").unwrap();
        kea::set_test_bool(handle.pin_mut(), "fake_allocation", false).unwrap();
        kea::set_test_lease4(handle.pin_mut(), "lease4", 10).unwrap();
        handle
    }

    /// Runs one callout of `engine` on `handle` and returns Kea's resulting next-step status.
    fn run(engine: &Engine, hook_point: HookPoint, handle: &mut UniquePtr<CalloutHandle>) -> i32 {
        // SAFETY: the pointer is only used in place; the handle is never moved.
        let raw: *mut CalloutHandle = unsafe { handle.pin_mut().get_unchecked_mut() };
        // SAFETY: `raw` comes from a live handle borrowed for the whole call.
        assert_eq!(unsafe { run_callout(engine, hook_point, raw) }, Ok(0));
        ffi::get_status(handle).unwrap()
    }

    #[test]
    fn sync_verdicts_set_kea_next_step_where_kea_honours_them() {
        let dir = scratch();
        let drop = script(
            dir.path(),
            "drop.sh",
            "test \"$QUERY4_HWADDR\" = 00:0c:01:02:03:04 && exit 4; exit 0",
        );
        let skip = script(dir.path(), "skip.sh", "exit 3");
        let mut handle = query4_handle();
        let engine4 = sync_engine(&drop, HookPoint::Pkt4Receive);
        assert_eq!(
            run(&engine4, HookPoint::Pkt4Receive, &mut handle),
            verdict::NEXT_STEP_DROP
        );

        // Kea ignores DROP at lease4_select: the status stays CONTINUE (0).
        let mut handle = query4_handle();
        let engine_select = sync_engine(&drop, HookPoint::Lease4Select);
        assert_eq!(run(&engine_select, HookPoint::Lease4Select, &mut handle), 0);

        let mut handle = query4_handle();
        let engine_skip = sync_engine(&skip, HookPoint::Lease4Select);
        assert_eq!(
            run(&engine_skip, HookPoint::Lease4Select, &mut handle),
            verdict::NEXT_STEP_SKIP
        );
        for engine in [engine4, engine_select, engine_skip] {
            engine.shutdown();
        }
    }

    #[test]
    fn a_callout_does_nothing_when_another_library_set_skip_or_drop() {
        let dir = scratch();
        let marker = dir.path().join("ran");
        let touch = script(
            dir.path(),
            "touch.sh",
            &format!("touch {}", marker.display()),
        );
        let engine = sync_engine(&touch, HookPoint::Pkt4Receive);
        let mut handle = query4_handle();
        ffi::set_status(handle.pin_mut(), verdict::NEXT_STEP_SKIP).unwrap();
        assert_eq!(
            run(&engine, HookPoint::Pkt4Receive, &mut handle),
            verdict::NEXT_STEP_SKIP
        );
        assert!(!marker.exists(), "the script must not run");

        let mut handle = query4_handle();
        assert_eq!(run(&engine, HookPoint::Pkt4Receive, &mut handle), 0);
        assert!(
            marker.exists(),
            "the script runs when the status is CONTINUE"
        );
        engine.shutdown();
    }

    #[test]
    fn an_unselected_hook_point_reads_no_argument() {
        let dir = scratch();
        let engine = sync_engine(
            &script(dir.path(), "true.sh", "exit 0"),
            HookPoint::Pkt4Receive,
        );
        let mut handle = kea::new_test_handle().unwrap();
        // Reading this would fail (wrong type): success proves nothing was extracted.
        kea::set_test_wrong_type(handle.pin_mut(), "query4").unwrap();
        assert_eq!(run(&engine, HookPoint::Pkt4Send, &mut handle), 0);
        // SAFETY: as in `run`.
        let raw: *mut CalloutHandle = unsafe { handle.pin_mut().get_unchecked_mut() };
        // SAFETY: as in `run`.
        let error = unsafe { run_callout(&engine, HookPoint::Pkt4Receive, raw) }.unwrap_err();
        assert!(error.contains("query4"), "{error}");
        engine.shutdown();
    }

    #[test]
    fn guarded_returns_the_body_code_or_the_error_code_and_never_unwinds() {
        assert_eq!(
            guarded("t", logging::CALLOUT_ERROR, Report::Limited, 9, || Ok(3)),
            3
        );
        assert_eq!(
            guarded("t", logging::CALLOUT_ERROR, Report::Limited, 9, || Err(
                "bad".into()
            )),
            9
        );
        assert_eq!(
            guarded("t", logging::CALLOUT_ERROR, Report::Limited, 9, || panic!(
                "boom"
            )),
            9
        );
        let owned = String::from("owned payload");
        assert_eq!(
            guarded("t", logging::CALLOUT_ERROR, Report::Limited, 9, || {
                std::panic::panic_any(owned)
            }),
            9
        );
    }

    #[test]
    fn a_null_handle_is_an_error_not_a_crash() {
        // SAFETY (each): the entry points must cope with what a broken caller passes.
        // SAFETY: see above.
        assert_eq!(unsafe { lease4_renew(std::ptr::null_mut()) }, 0);
        // SAFETY: see above.
        assert_eq!(unsafe { pkt6_send(std::ptr::null_mut()) }, 0);
        // SAFETY: see above.
        assert_eq!(unsafe { load(std::ptr::null_mut()) }, 1);
        assert_eq!(unload(), 0);
    }

    #[test]
    fn version_and_multi_threading() {
        // No Kea configuration is being parsed here, so nothing is checked.
        assert_eq!(version(), ffi::hooks_version());
        assert!(version() >= 20200, "built against Kea 2.2 or later");
        assert_eq!(multi_threading_compatible(), 1);
    }

    #[test]
    fn build_time_kea_version_is_the_headers_one() {
        // build.rs parsed hooks.h for Rust; the C++ side compiled the header's constant.
        assert_eq!(KEA_VERSION.hooks_version() as i32, ffi::hooks_version());
    }

    #[test]
    fn there_is_a_callout_for_every_hook_point_but_load_and_unload() {
        // Replays are fired by this library, not by Kea.
        let expected: Vec<&str> = HookPoint::ALL
            .iter()
            .filter(|hp| !matches!(hp, HookPoint::Load | HookPoint::Unload) && !hp.is_replay())
            .map(|hp| hp.name())
            .collect();
        let exported: Vec<&str> = CALLOUTS.iter().map(|(symbol, _, _)| *symbol).collect();
        assert_eq!(exported, expected);
        for (symbol, hp, function) in CALLOUTS {
            assert_eq!(*symbol, hp.name());
            assert!(hp.is_callout(), "{symbol}");
            // SAFETY: a null handle is refused before anything is read (no engine is loaded).
            assert_eq!(unsafe { function(std::ptr::null_mut()) }, 0, "{symbol}");
        }
    }
}
