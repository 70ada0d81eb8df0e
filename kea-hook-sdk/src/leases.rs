//! [`LeaseSnapshot`]: Kea's active leases and their subnets, copied at
//! `dhcp4_srv_configured` / `dhcp6_srv_configured` on Kea's thread (the one thing that must
//! happen there), then read one lease at a time on any thread while Kea serves packets. The
//! snapshot lets go of each lease once read past.

use cxx::UniquePtr;
use kea_runscript_env::{Event, HookPoint};

use crate::bridge::ffi::CalloutHandle;
use crate::error::Error;
use crate::extract;

// cxx's generated glue puts several unsafe calls in one block; our code has none here.
#[allow(clippy::multiple_unsafe_ops_per_block)]
#[cxx::bridge(namespace = "kea_runscript")]
pub(crate) mod ffi {
    unsafe extern "C++" {
        include!("kea_runscript_replay.h");

        /// Kea's per-packet callout handle (the bridge module's type).
        #[namespace = "isc::hooks"]
        type CalloutHandle = crate::bridge::ffi::CalloutHandle;

        /// The active leases of one family, their subnets and a handle to read them through.
        type LeaseSnapshot;

        /// Takes the snapshot on Kea's thread (in the `dhcpX_srv_configured` callout).
        fn take_lease_snapshot(
            configured: &CalloutHandle,
            v6: bool,
        ) -> Result<UniquePtr<LeaseSnapshot>>;
        /// Number of leases in the snapshot.
        fn snapshot_size(snapshot: &LeaseSnapshot) -> usize;
        /// Makes lease `index` (and its subnet) the arguments of the snapshot's handle.
        fn snapshot_select(snapshot: Pin<&mut LeaseSnapshot>, index: usize) -> Result<()>;
        /// The snapshot's handle.
        fn snapshot_handle(snapshot: &LeaseSnapshot) -> &CalloutHandle;
    }
}

// SAFETY: the snapshot holds Kea's copies of leases and shared pointers to the configuration's
// subnets, plus a callout handle of its own; after it is taken only the replay thread touches
// it (moved there, never shared).
unsafe impl Send for ffi::LeaseSnapshot {}

/// A copy of Kea's active leases (all of one family) and their subnets.
pub struct LeaseSnapshot {
    snapshot: UniquePtr<ffi::LeaseSnapshot>,
    len: usize,
}

impl LeaseSnapshot {
    /// Takes the snapshot from Kea's lease manager; at `dhcpX_srv_configured` only.
    pub(crate) fn take(configured: &CalloutHandle, v6: bool) -> Result<Self, Error> {
        let snapshot = ffi::take_lease_snapshot(configured, v6)
            .map_err(|e| Error::kea("reading the active leases", e))?;
        let len = snapshot.as_ref().map_or(0, ffi::snapshot_size);
        Ok(LeaseSnapshot { snapshot, len })
    }

    /// How many leases it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no lease.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Lease `index` (below [`LeaseSnapshot::len`]) as the event of `hook_point` (a replay
    /// hook point: `lease4_replay` / `lease6_replay`), with the lease and its subnet. Leases
    /// before `index` may be released by Kea's copy: read them in order.
    pub fn event(&mut self, index: usize, hook_point: HookPoint) -> Result<Event, Error> {
        let Some(snapshot) = self.snapshot.as_mut() else {
            return Err(Error::new("no snapshot"));
        };
        ffi::snapshot_select(snapshot, index)
            .map_err(|e| Error::kea(format!("selecting lease {index}"), e))?;
        let Some(snapshot) = self.snapshot.as_ref() else {
            return Err(Error::new("no snapshot"));
        };
        extract::event(hook_point, ffi::snapshot_handle(snapshot))
            .map_err(|e| Error::new(e.to_string()))
    }
}

impl std::fmt::Debug for LeaseSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseSnapshot")
            .field("len", &self.len)
            .finish()
    }
}
