//! Waiting for room in a full queue (`overflow: "block"`, and `"merge"` past its budget):
//! the Kea thread that brings an event waits at most `block-ms` in all, however often it
//! is woken, and the wait is counted once (`blocked`).

use std::sync::atomic::AtomicU64;
use std::sync::{Condvar, MutexGuard};
use std::time::{Duration, Instant};

use crate::counters::bump;

/// One caller's wait for room, across the wake-ups of one delivery.
#[derive(Default)]
pub(crate) struct BlockWait {
    /// When the wait gives up; set at the first wait.
    until: Option<Instant>,
}

impl BlockWait {
    /// Waits on `room` (under the lock `state`) for what remains of `block`, counting
    /// the first wait in `blocked` and the caller in `waiters(state)` while it waits (so
    /// whoever makes room knows to signal). `Ok`: woken (or timed out) with time left,
    /// to try again; `Err`: the time is up, the event is to be dropped. The lock is held
    /// again either way.
    pub fn wait<'a, S>(
        &mut self,
        mut state: MutexGuard<'a, S>,
        room: &Condvar,
        block: Duration,
        blocked: &AtomicU64,
        waiters: fn(&mut S) -> &mut usize,
    ) -> Result<MutexGuard<'a, S>, MutexGuard<'a, S>> {
        let now = Instant::now();
        let until = *self.until.get_or_insert_with(|| {
            bump(blocked);
            now + block
        });
        if now >= until {
            return Err(state);
        }
        *waiters(&mut state) += 1;
        let mut state = room
            .wait_timeout(state, until - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        *waiters(&mut state) -= 1;
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn the_wait_is_counted_once_and_bounded_in_all() {
        let state = Mutex::new(0usize);
        let room = Condvar::new();
        let blocked = AtomicU64::new(0);
        let mut wait = BlockWait::default();
        let block = Duration::from_millis(30);
        let t0 = Instant::now();
        let mut guard = state.lock().unwrap();
        let mut tries = 0;
        while let Ok(g) = wait.wait(guard, &room, block, &blocked, |s| s) {
            assert_eq!(*g, 0, "the waiter count is back");
            guard = g;
            tries += 1;
        }
        assert!(tries >= 1);
        assert!(t0.elapsed() >= block);
        assert_eq!(blocked.load(Ordering::Relaxed), 1);
    }
}
