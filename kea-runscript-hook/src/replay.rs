//! Replay of existing leases (`"replay-leases": true`): when Kea has (re)loaded its
//! configuration and lease database (`dhcp4_srv_configured` / `dhcp6_srv_configured`), every
//! active lease is delivered once to the scripts that asked, as a `lease4_replay` /
//! `lease6_replay` event with the `LEASE4_*` / `LEASE6_*` and `SUBNET4_*` / `SUBNET6_*`
//! variables.
//!
//! Kea's thread only takes the snapshot (the lease manager's copy of the active leases and
//! the subnets), which is the one thing that must happen there; a thread of ours then turns
//! one lease at a time into an event with the same extraction as Kea's callouts and hands it
//! to the engine, which paces it by each script's bounds ([`Engine::replay`]). Kea serves
//! packets meanwhile. The snapshot lets go of each lease once delivered. A reload or unload
//! stops a replay in progress (its engine is shut down).

use std::sync::Arc;

use cxx::UniquePtr;
use kea_runscript_core::log::Severity;
use kea_runscript_core::Engine;
use kea_runscript_env::HookPoint;

use crate::bridge::ffi::CalloutHandle;
use crate::{extract, logging};

/// The bridge to `shim/replay.cc`.
// cxx's generated glue puts several unsafe calls in one block; our code has none here.
#[allow(clippy::multiple_unsafe_ops_per_block)]
#[cxx::bridge(namespace = "kea_runscript")]
pub mod ffi {
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

/// The `dhcpX_srv_configured` callout: starts the replay for `hook_point` when a script of
/// `engine` wants it.
///
/// # Safety
/// `handle` is the `CalloutHandle&` Kea passes, valid for the duration of the call.
pub unsafe fn start(
    engine: Arc<Engine>,
    hook_point: HookPoint,
    handle: *mut CalloutHandle,
) -> Result<(), String> {
    if !engine.wants(hook_point) {
        return Ok(());
    }
    // SAFETY: see the function's contract; a shared borrow for the snapshot only.
    let handle = unsafe { handle.as_ref() }.ok_or("null callout handle")?;
    let v6 = hook_point == HookPoint::Lease6Replay;
    let snapshot = ffi::take_lease_snapshot(handle, v6)
        .map_err(|e| format!("cannot read the leases to replay: {e}"))?;
    let size = ffi::snapshot_size(&snapshot);
    logging::log(
        Severity::Info,
        logging::REPLAY,
        &format!("{hook_point}: replaying {size} active leases in the background"),
    );
    std::thread::Builder::new()
        .name("kea-rs-replay".into())
        .spawn(move || run(&engine, hook_point, snapshot, size))
        .map_err(|e| format!("cannot start the replay thread: {e}"))?;
    Ok(())
}

/// The replay thread: each lease of the snapshot, in the lease manager's order.
fn run(
    engine: &Engine,
    hook_point: HookPoint,
    mut snapshot: UniquePtr<ffi::LeaseSnapshot>,
    size: usize,
) {
    if snapshot.is_null() {
        return;
    }
    let mut delivered = 0usize;
    let mut failed = 0usize;
    for index in 0..size {
        let event = ffi::snapshot_select(snapshot.pin_mut(), index)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                extract::event(hook_point, ffi::snapshot_handle(&snapshot))
                    .map_err(|e| e.to_string())
            });
        match event {
            Ok(event) => {
                if !engine.replay(event) {
                    logging::log(
                        Severity::Info,
                        logging::REPLAY,
                        &format!(
                            "{hook_point}: stopped after {delivered} of {size} leases (unload or reload)"
                        ),
                    );
                    return;
                }
                delivered += 1;
            }
            Err(e) => {
                failed += 1;
                logging::limited(Severity::Error, logging::REPLAY, || {
                    format!("{hook_point}: lease {index} not replayed: {e}")
                });
            }
        }
    }
    logging::log(
        Severity::Info,
        logging::REPLAY,
        &format!(
            "{hook_point}: replay done, {delivered} of {size} leases delivered, {failed} failed"
        ),
    );
}
