//! The engine's counters as Kea statistics (`kea-runscript.events`, `…started`, …), so
//! `statistic-get-all` over Kea's control socket, and the exporters that read it, show them.
//!
//! Published from Kea's own threads only — after each callout that ran scripts, and at load
//! and unload — because without multi-threading Kea's statistics manager takes no lock.
//! So the values are those of the last DHCP event: an async run that ends later shows at
//! the next event (sync runs have ended by then). Only changed values are written; a new
//! configuration (reload) starts again from zero, as its engine does.

use std::sync::{LazyLock, Mutex};

use kea_runscript_core::{Counters, Engine};

/// What was published last (`None`: nothing yet, so write every value).
static PUBLISHED: Mutex<Option<Counters>> = Mutex::new(None);

/// The statistic name of counter `field`.
pub fn statistic_name(field: &str) -> String {
    format!("kea-runscript.{field}")
}

/// The statistic names of the counters, in [`Counters::fields`] order: made once, not
/// per event.
static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    Counters::default()
        .fields()
        .iter()
        .map(|(field, _)| statistic_name(field))
        .collect()
});

/// Writes the counters of `engine` that changed since the last call (all of them after
/// [`reset`]). A failure (an exception in Kea) is returned for the caller to log.
pub fn publish(engine: &Engine) -> Result<(), String> {
    let mut last = PUBLISHED.lock().unwrap_or_else(|e| e.into_inner());
    // Read under the lock: a later snapshot is never overwritten by an earlier one.
    let now = engine.counters();
    let before = last.map(|c| c.fields());
    for (i, ((_, value), name)) in now.fields().into_iter().zip(NAMES.iter()).enumerate() {
        if before.is_some_and(|b| b[i].1 == value) {
            continue;
        }
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        kea_hook::stats::set(name, value)?;
    }
    *last = Some(now);
    Ok(())
}

/// Forgets what was published, so the next [`publish`] (of a new engine) writes every value.
pub fn reset() {
    *PUBLISHED.lock().unwrap_or_else(|e| e.into_inner()) = None;
}
