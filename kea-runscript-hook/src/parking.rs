//! Parked verdicts: a sync script at `leases4_committed` / `leases6_committed` does not hold
//! a Kea thread. The callout parks the query (`NEXT_STEP_PARK`) and returns; the scripts'
//! combined verdict, whenever and on whichever thread it arrives, unparks the query (Kea
//! goes on and answers) or drops it (no answer), on Kea's own IO service (`shim/parking.cc`).
//!
//! Every parked query is held here until its verdict comes, so that `unload` can release
//! the ones still waiting: it drops them (as Kea itself discards parked packets when it is
//! reconfigured or shut down) on Kea's main thread, and verdicts that come later find
//! nothing to resolve.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};

use cxx::UniquePtr;
use kea_runscript_core::log::Severity;
use kea_runscript_core::Verdict;
use kea_runscript_env::HookPoint;

use crate::bridge::ffi::{self, CalloutHandle, ParkedQuery};
use crate::logging;

// SAFETY: a ParkedQuery holds only shared pointers to Kea's parking lot (which locks its own
// mutex) and the query; it is owned by one thread at a time (UniquePtr) and resolved once.
unsafe impl Send for ParkedQuery {}

/// The queries parked by the loaded library, by ticket.
struct Registry {
    /// False outside load..unload: nothing is parked then.
    open: bool,
    next: u64,
    parked: BTreeMap<u64, UniquePtr<ParkedQuery>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    open: false,
    next: 0,
    parked: BTreeMap::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The hook points where Kea 2.2 lets a callout park the packet.
pub fn can_park(hook_point: HookPoint) -> bool {
    matches!(
        hook_point,
        HookPoint::Leases4Committed | HookPoint::Leases6Committed
    )
}

/// At load: parking may start.
pub fn open() {
    registry().open = true;
}

/// Parks the callout's query. `Ok(None)`: not parked (no IO service to unpark on yet, Kea
/// did not park this query, or the library is unloading); the caller then waits for the
/// verdict as at any other hook point.
pub fn park(hook_point: HookPoint, handle: Pin<&mut CalloutHandle>) -> Result<Option<u64>, String> {
    let mut registry = registry();
    if !registry.open {
        return Ok(None);
    }
    let v6 = hook_point == HookPoint::Leases6Committed;
    let parked = ffi::park_query(handle, v6).map_err(|e| format!("parking the query: {e}"))?;
    if parked.is_null() {
        return Ok(None);
    }
    registry.next += 1;
    let ticket = registry.next;
    registry.parked.insert(ticket, parked);
    Ok(Some(ticket))
}

/// The verdict for the query parked under `ticket`: drop drops it, anything else unparks it
/// (Kea honours no skip at these hook points). Nothing happens when unload already released it.
pub fn resolve(hook_point: HookPoint, ticket: u64, verdict: Verdict) {
    let Some(parked) = registry().parked.remove(&ticket) else {
        return;
    };
    let drop = verdict == Verdict::Drop;
    if verdict == Verdict::Skip {
        logging::limited(Severity::Warn, logging::VERDICT_NOT_APPLICABLE, || {
            format!(
                "{}: verdict Skip ignored, Kea does not honour it at this hook point: unparked",
                hook_point.name()
            )
        });
    }
    if let Err(e) = ffi::resolve_parked(parked, drop) {
        logging::limited(Severity::Error, logging::CALLOUT_ERROR, || {
            format!("{}: resolving a parked query: {e}", hook_point.name())
        });
    }
}

/// At unload, on Kea's main thread: stops parking and drops every query still waiting for
/// its verdict; forgets Kea's IO service. Returns how many were dropped.
pub fn close() -> usize {
    let parked = {
        let mut registry = registry();
        registry.open = false;
        std::mem::take(&mut registry.parked)
    };
    let count = parked.len();
    for (_, query) in parked {
        let _ = ffi::drop_parked_now(query);
    }
    let _ = ffi::release_io_service();
    count
}

/// Keeps this library mapped after Kea unloads it (`RTLD_NODELETE`): a resolution posted to
/// Kea's IO service before unload runs this library's code afterwards. The price: a changed
/// `.so` file on disk is only picked up by a restart of Kea, not by a reconfiguration.
pub fn pin_library(own_path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = CString::new(own_path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid C string; RTLD_NOLOAD only takes another reference to the already
    // loaded object (this library), adding the NODELETE flag to it.
    let handle = unsafe {
        libc::dlopen(
            path.as_ptr(),
            libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
        )
    };
    !handle.is_null()
}
