//! Parked queries ([`Parked`]): a callout where Kea allows it ([`HookPoint::parks`]:
//! `leases4_committed`, `leases6_committed`, `lease4_offer`) parks the query (`NEXT_STEP_PARK`) and returns, so that a slow decision does not hold a Kea
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

/// Parks the callout's query (`v6`: `query6`, else `query4`; `offer`: at `lease4_offer`).
/// `Ok(None)`: not parked (no IO service to resume on yet, Kea did not park this query, or the
/// library is unloading).
pub(crate) fn park(
    handle: Pin<&mut CalloutHandle>,
    v6: bool,
    offer: bool,
) -> Result<Option<Parked>, Error> {
    let mut registry = registry();
    if !registry.open {
        return Ok(None);
    }
    let parked =
        ffi::park_query(handle, v6, offer).map_err(|e| Error::kea("parking the query", e))?;
    if parked.is_null() {
        return Ok(None);
    }
    Ok(Some(hold(&mut registry, parked)))
}

/// Keeps `parked` in the registry until it is resolved.
fn hold(registry: &mut Registry, parked: UniquePtr<ParkedQuery>) -> Parked {
    registry.next += 1;
    let ticket = registry.next;
    registry.parked.insert(ticket, parked);
    Parked { ticket }
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

    /// At `lease4_offer`: whether the offered address is in use, which Kea reads when the
    /// query is resumed ([`Parked::resume`]): `true` makes Kea decline the address (its lease
    /// becomes declined, `lease4_server_decline` is called) and discard the offer instead of
    /// sending it; `false` (also what a resumed offer reports when this was never called)
    /// sends the offer. Call it before `resume`; the last call counts. The flag is written
    /// to the query's callout handle just before Kea unparks the query, on Kea's IO service
    /// like the resumption itself.
    ///
    /// Errs when the query was not parked at `lease4_offer` (Kea reads the flag nowhere
    /// else). Does nothing when unload already released the query.
    pub fn set_offer_address_in_use(&self, in_use: bool) -> Result<(), Error> {
        let mut registry = registry();
        let Some(parked) = registry.parked.get_mut(&self.ticket) else {
            return Ok(());
        };
        let offer = ffi::set_parked_offer_address_in_use(parked.pin_mut(), in_use)
            .map_err(|e| Error::kea("setting offer_address_in_use", e))?;
        if offer {
            Ok(())
        } else {
            Err(Error::new(
                "offer_address_in_use: the query was not parked at lease4_offer",
            ))
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ffi as kea;

    /// A test query parked as Kea parks it, held by the registry as `park` holds it.
    fn parked(offer: bool) -> Parked {
        let query = kea::new_test_parked_query(offer).expect("a parked query");
        hold(&mut registry(), query)
    }

    /// Resumes `parked` on this thread (not on Kea's IO service): what Kea's unpark
    /// callback read (-1 not run, 0/1 the flag, 2 missing).
    fn resume_here(parked: Parked) -> i8 {
        let query = registry()
            .parked
            .remove(&parked.ticket)
            .expect("still parked");
        kea::resume_test_parked(query).expect("resumed")
    }

    #[test]
    fn a_resumed_offer_carries_the_in_use_flag_to_kea() {
        let offer = parked(true);
        offer.set_offer_address_in_use(true).unwrap();
        assert_eq!(
            resume_here(offer),
            1,
            "Kea reads true: declines the address"
        );

        let offer = parked(true);
        offer.set_offer_address_in_use(true).unwrap();
        offer.set_offer_address_in_use(false).unwrap();
        assert_eq!(resume_here(offer), 0, "the last call counts");

        // Never set: false, so that Kea finds the argument (it logs an error otherwise).
        assert_eq!(resume_here(parked(true)), 0);
    }

    #[test]
    fn in_use_is_refused_for_a_query_parked_elsewhere() {
        let committed = parked(false);
        let error = committed.set_offer_address_in_use(true).unwrap_err();
        assert!(error.to_string().contains("lease4_offer"), "{error}");
        assert_eq!(resume_here(committed), 2, "nothing set on its handle");
    }

    #[test]
    fn in_use_after_unload_released_the_query_does_nothing() {
        let offer = parked(true);
        let query = registry().parked.remove(&offer.ticket).unwrap();
        drop(query);
        assert!(offer.set_offer_address_in_use(true).is_ok());
        assert!(offer.resume().is_ok());
    }
}
