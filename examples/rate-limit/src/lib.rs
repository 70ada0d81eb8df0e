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
        // Only the identifier: reading the whole query (`callout.query4()`, options and
        // all) would cost Kea's thread over ten times what the whole callout costs now.
        let id = match callout.hook_point() {
            HookPoint::Pkt4Receive => callout.query4_hwaddr(),
            HookPoint::Pkt6Receive => callout.query6_duid(),
            _ => Ok(None),
        }
        .map_err(|e| e.to_string())?;
        let Some(id) = id else {
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

/// The callout on a real Kea `CalloutHandle` holding Kea's test packets (the SDK's
/// `testing` feature), without a server.
#[cfg(test)]
mod callout_tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use kea_hook::testing::{self, ffi};
    use kea_hook::{Hook, HookPoint, NextStep};

    use super::{Limiter, Parameters, RateLimit};

    fn hook(max_per_second: f64, burst: u32) -> RateLimit {
        RateLimit {
            limiter: Limiter::new(&Parameters {
                max_per_second,
                burst,
                max_clients: 16,
            }),
            dropped: Mutex::new(0),
        }
    }

    #[test]
    fn a_client_above_the_limit_is_dropped_in_both_families() {
        ffi::init_test_logging().unwrap();
        for (hook_point, argument) in [
            (HookPoint::Pkt4Receive, "query4"),
            (HookPoint::Pkt6Receive, "query6"),
        ] {
            let mut handle = ffi::new_test_handle().unwrap();
            match hook_point {
                HookPoint::Pkt4Receive => ffi::set_test_pkt4(handle.pin_mut(), argument),
                _ => ffi::set_test_pkt6(handle.pin_mut(), argument),
            }
            .unwrap();
            // The identifier alone is the one in the whole packet's model.
            let callout = testing::callout(&mut handle, hook_point);
            let (alone, in_model) = match hook_point {
                HookPoint::Pkt4Receive => (
                    callout.query4_hwaddr().unwrap(),
                    callout.query4().unwrap().unwrap().hwaddr.map(|h| h.bytes),
                ),
                _ => (
                    callout.query6_duid().unwrap(),
                    callout.query6().unwrap().unwrap().client_id.map(|d| d.0),
                ),
            };
            assert!(alone.is_some(), "{hook_point}");
            assert_eq!(alone, in_model, "{hook_point}");
            let limited = hook(0.001, 2);
            let mut steps = Vec::new();
            for _ in 0..3 {
                let mut callout = testing::callout(&mut handle, hook_point);
                limited.callout(&mut callout).unwrap();
                steps.push(callout.next_step().unwrap());
            }
            assert_eq!(
                steps,
                [NextStep::Continue, NextStep::Continue, NextStep::Drop],
                "{hook_point}"
            );
            assert_eq!(*limited.dropped.lock().unwrap(), 1);
            assert_eq!(limited.limiter.tracked(), 1);
        }
    }

    /// What a callout costs Kea's thread when nobody is limited (release build:
    /// `cargo test --release -p kea-hook-rate-limit -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn callout_cost() {
        ffi::init_test_logging().unwrap();
        let mut handle = ffi::new_test_handle().unwrap();
        ffi::set_test_pkt4(handle.pin_mut(), "query4").unwrap();
        let unlimited = hook(1e9, 1_000_000);
        let n = 200_000;
        let start = Instant::now();
        for _ in 0..n {
            let mut callout = testing::callout(&mut handle, HookPoint::Pkt4Receive);
            unlimited.callout(&mut callout).unwrap();
        }
        let per_callout = start.elapsed() / n;
        let start = Instant::now();
        for _ in 0..n {
            let callout = testing::callout(&mut handle, HookPoint::Pkt4Receive);
            std::hint::black_box(callout.query4().unwrap());
        }
        let per_query4 = start.elapsed() / n;
        let start = Instant::now();
        for _ in 0..n {
            let callout = testing::callout(&mut handle, HookPoint::Pkt4Receive);
            std::hint::black_box(callout.query4_hwaddr().unwrap());
        }
        let per_hwaddr = start.elapsed() / n;
        println!(
            "callout: {per_callout:?}; query4_hwaddr(): {per_hwaddr:?}, query4() instead: {per_query4:?}"
        );
    }
}
