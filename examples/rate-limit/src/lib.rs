//! `libkea_hook_rate_limit.so`: a Kea hook library, written only with `kea-hook-sdk`, that
//! drops the queries of a client sending more than `max-per-second` of them.
//!
//! At `pkt4_receive` (kea-dhcp4) or `pkt6_receive` (kea-dhcp6) each query takes a token
//! from its client's bucket ([`limiter`]); a query finding the bucket empty gets Kea's next
//! step [`NextStep::Drop`]: Kea drops it (its statistic `pkt4-receive-drop` /
//! `pkt6-receive-drop` counts it) and answers nothing. A client is its hardware address
//! (DHCPv4: `chaddr`) or its DUID (DHCPv6: option 1, client identifier); a query without
//! one is not limited. The drops are counted in the Kea statistic `rate-limit.dropped`;
//! the first drop of each flood is logged at debug level (`RATE_LIMIT_DROPPED`).
//!
//! Parameters (README.md): `max-per-second` (required), `burst`, `max-clients`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod limiter;
pub mod params;

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use kea_hook::log::{self, Severity};
use kea_hook::{export_hook, stats, Callout, Family, Hook, HookPoint, Library, NextStep};

use limiter::{Limiter, Verdict};
use params::Parameters;

/// The hook's message ids.
pub mod ids {
    /// Loaded, with the parameters in effect.
    pub const LOADED: &str = "RATE_LIMIT_LOADED";
    /// A client's query was dropped, the first of a run of drops (debug level).
    pub const DROPPED: &str = "RATE_LIMIT_DROPPED";
    /// Unloaded, with the count of dropped queries.
    pub const UNLOADED: &str = "RATE_LIMIT_UNLOADED";
    /// Every id.
    pub const ALL: &[&str] = &[LOADED, DROPPED, UNLOADED];
}

/// The Kea statistic counting dropped queries.
pub const DROPPED_STATISTIC: &str = "rate-limit.dropped";

/// The loaded library: the buckets and the drop count.
pub struct RateLimit {
    /// Every tracked client's bucket.
    limiter: Limiter,
    /// Queries dropped since load; locked while the statistic is set, so that concurrent
    /// drops publish their counts in order.
    dropped: Mutex<i64>,
}

impl RateLimit {
    /// Counts one drop and publishes the count.
    fn count_drop(&self) -> Result<(), String> {
        let mut dropped = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        *dropped += 1;
        stats::set(DROPPED_STATISTIC, *dropped).map_err(String::from)
    }
}

impl Hook for RateLimit {
    const LOGGER: &'static str = "rate-limit";

    fn message_ids() -> Vec<&'static str> {
        ids::ALL.to_vec()
    }

    fn check_parameters(parameters: &str) -> Result<(), String> {
        Parameters::parse(parameters).map(drop)
    }

    fn load(library: &mut Library<'_>) -> Result<Self, String> {
        let parameters = Parameters::parse(&library.parameters()?)?;
        let hook_point = match Family::of_server()? {
            Family::V6 => HookPoint::Pkt6Receive,
            _ => HookPoint::Pkt4Receive,
        };
        if !library.register(hook_point)? {
            return Err(format!("this Kea has no hook point {hook_point}"));
        }
        stats::set(DROPPED_STATISTIC, 0)?;
        log::log(
            Severity::Info,
            ids::LOADED,
            &format!(
                "rate limit at {hook_point}: {} queries per second per client, bursts of {}, \
                 {} clients tracked at most",
                parameters.max_per_second, parameters.burst, parameters.max_clients
            ),
        );
        Ok(RateLimit {
            limiter: Limiter::new(&parameters),
            dropped: Mutex::new(0),
        })
    }

    fn callout(&self, callout: &mut Callout<'_>) -> Result<(), String> {
        let id = match callout.hook_point() {
            HookPoint::Pkt4Receive => callout
                .query4()
                .map_err(|e| e.to_string())?
                .and_then(|query| query.hwaddr)
                .map(|hwaddr| hwaddr.bytes),
            HookPoint::Pkt6Receive => callout
                .query6()
                .map_err(|e| e.to_string())?
                .and_then(|query| query.client_id)
                .map(|duid| duid.0),
            _ => None,
        };
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            return Ok(());
        };
        let Verdict::Drop { first } = self.limiter.admit(&id, Instant::now()) else {
            return Ok(());
        };
        callout.set_next_step(NextStep::Drop)?;
        if first {
            log::log(
                Severity::Debug,
                ids::DROPPED,
                &format!(
                    "client {} is above the limit: its queries are dropped until its \
                     bucket refills",
                    hex(&id)
                ),
            );
        }
        self.count_drop()
    }

    fn unload(&self, _parked_dropped: usize) -> Result<(), String> {
        let dropped = *self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        log::log(
            Severity::Info,
            ids::UNLOADED,
            &format!(
                "unloaded: {dropped} queries dropped, {} clients tracked",
                self.limiter.tracked()
            ),
        );
        Ok(())
    }
}

/// `bytes` as colon-separated hex, as Kea shows hardware addresses and DUIDs.
fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        let _ = write!(text, "{b:02x}");
    }
    text
}

export_hook!(RateLimit);

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_are_shown_as_kea_shows_them() {
        assert_eq!(super::hex(&[0x02, 0xaa, 0, 1]), "02:aa:00:01");
        assert_eq!(super::hex(&[]), "");
    }
}
