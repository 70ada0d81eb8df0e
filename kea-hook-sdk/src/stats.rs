//! Kea statistics (`statistic-get` over Kea's control socket, and the exporters that read it).

use crate::bridge::ffi;
use crate::error::Error;

/// Sets Kea statistic `name` to `value` in Kea's statistics manager.
///
/// Call it from Kea's threads (a callout, load, unload, `Hook::parked_query_resolved`):
/// without multi-threading Kea's statistics manager takes no lock.
pub fn set(name: &str, value: i64) -> Result<(), Error> {
    ffi::set_statistic(name, value).map_err(|e| Error::kea(format!("setting statistic {name}"), e))
}
