//! Fault injection for tests (cargo feature `fault-injection`, off by default): failures the
//! kernel cannot be made to produce on demand, such as `ENOMEM` from `clone`. Without the
//! feature this module and the checks that consult it are not compiled, so a production
//! build pays nothing.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

/// Launches still to fail, and with which errno.
static FAIL_SPAWNS: AtomicU32 = AtomicU32::new(0);
static ERRNO: AtomicI32 = AtomicI32::new(0);

/// Makes the next `count` launches (spawned scripts, workers) fail to create their keeper
/// with `errno`, as `clone` would under memory pressure (`libc::ENOMEM`). Process-wide: a
/// test that uses it should be alone in its test binary.
pub fn fail_next_spawns(count: u32, errno: i32) {
    ERRNO.store(errno, Ordering::SeqCst);
    FAIL_SPAWNS.store(count, Ordering::SeqCst);
}

/// The errno for this launch if it is to fail (and one failure fewer to come).
pub(crate) fn next_spawn_failure() -> Option<i32> {
    FAIL_SPAWNS
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .ok()
        .map(|_| ERRNO.load(Ordering::SeqCst))
}
