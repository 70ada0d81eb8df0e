//! Parked queries ([`Parked`]): a callout at `leases4_committed` / `leases6_committed` parks
//! the query (`NEXT_STEP_PARK`) and returns, so that a slow decision does not hold a Kea
//! thread; whenever and on whichever thread the decision comes, the query is resumed (Kea
//! goes on and answers) or dropped (no answer), on Kea's own IO service (`shim/parking.cc`).
//!
//! Every parked query is held here until it is resolved, so that `unload` can release the
//! ones still waiting: it drops them (as Kea itself discards parked packets when it is
//! reconfigured or shut down) on Kea's main thread, and resolutions that come later find
//! nothing to resolve.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};

use cxx::UniquePtr;

use crate::bridge::ffi::{self, CalloutHandle, ParkedQuery};
use crate::error::Error;

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

/// At load: parking may start.
pub(crate) fn open() {
    registry().open = true;
}

/// Parks the callout's query (`v6`: `query6`, else `query4`). `Ok(None)`: not parked (no IO
/// service to resume on yet, Kea did not park this query, or the library is unloading).
pub(crate) fn park(handle: Pin<&mut CalloutHandle>, v6: bool) -> Result<Option<Parked>, Error> {
    let mut registry = registry();
    if !registry.open {
        return Ok(None);
    }
    let parked = ffi::park_query(handle, v6).map_err(|e| Error::kea("parking the query", e))?;
    if parked.is_null() {
        return Ok(None);
    }
    registry.next += 1;
    let ticket = registry.next;
    registry.parked.insert(ticket, parked);
    Ok(Some(Parked { ticket }))
}

/// A query parked by [`crate::Callout::park`]: resume or drop it, once, from any thread.
/// Dropped without either, the query stays parked until Kea unloads the library.
#[derive(Debug)]
#[must_use = "a parked query waits until it is resumed or dropped"]
pub struct Parked {
    ticket: u64,
}

impl Parked {
    /// Kea goes on with the query (and answers it).
    pub fn resume(self) -> Result<(), Error> {
        self.resolve(false)
    }

    /// Kea drops the query: no answer.
    pub fn drop_query(self) -> Result<(), Error> {
        self.resolve(true)
    }

    /// Nothing happens when unload already released it.
    fn resolve(self, drop: bool) -> Result<(), Error> {
        let Some(parked) = registry().parked.remove(&self.ticket) else {
            return Ok(());
        };
        ffi::resolve_parked(parked, drop).map_err(|e| Error::kea("resolving a parked query", e))
    }
}

/// At unload, on Kea's main thread: stops parking and drops every query still waiting for
/// its verdict; forgets Kea's IO service. Returns how many were dropped.
pub(crate) fn close() -> usize {
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
pub(crate) fn pin_library(own_path: &std::path::Path) -> bool {
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
