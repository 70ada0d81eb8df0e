//! Which Kea release's `libdhcp_run_script.so` the rendering follows.
//!
//! Kea's hook renders a few values differently from one release to the next, because the
//! Kea functions it calls learned new names. Every such difference is one row of the tables
//! below, keyed by the hooks API version (`KEA_HOOKS_VERSION`: 20200 for 2.2.0, 20603 for
//! 2.6.3, 30004 for 3.0.4) of the release that introduced it; the hook library passes the
//! version of the headers it was built against.
//!
//! Not here, because they need no switch: `QUERY6_OPTION_18`/`_37`/`_38` (Kea's hook renders
//! them from 2.7.0 on; this library renders them at every version, an allowed superset), and
//! `LEASE4_CLIENT_ID` (rendered through `ClientId::toText` from 2.4 on instead of
//! `DUID::toText`: the same text).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::LeaseState;

/// A Kea release, as its hooks API version (`KEA_HOOKS_VERSION`, e.g. 20603 for 2.6.3).
///
/// The default is the oldest supported release, 2.2.0.
///
/// ```
/// use kea_runscript_env::{KeaVersion, LeaseState};
///
/// let state = LeaseState::from_raw(3);
/// assert_eq!(KeaVersion::from_hooks_version(20603).lease_state_text(state), "unknown (3)");
/// assert_eq!(KeaVersion::from_hooks_version(30004).lease_state_text(state), "released");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeaVersion(u32);

/// Lease states (`Lease::basicStatesToText`) named from a release on; before it they
/// render as `unknown (<n>)`. States 0-2 are named in every release.
const LEASE_STATES: &[(u32, &str, u32)] = &[(3, "released", 20700), (4, "registered", 20707)];

/// DHCPv6 message types (`Pkt6::getName`) named from a release on; before it `UNKNOWN`.
/// Types 1-15, 20 and 21 are named in every release (see [`crate::format::pkt6_type_name`]).
const PKT6_TYPES: &[(u8, &str, u32)] = &[
    (16, "LEASEQUERY_DATA", 20304),
    (17, "LEASEQUERY_DONE", 20304),
    (36, "ADDR_REG_INFORM", 20707),
    (37, "ADDR_REG_REPLY", 20707),
];

impl Default for KeaVersion {
    fn default() -> KeaVersion {
        KeaVersion::OLDEST
    }
}

impl KeaVersion {
    /// Kea 2.2.0, the oldest release this library supports.
    pub const OLDEST: KeaVersion = KeaVersion(20200);

    /// The release with hooks API version `version` (Kea's `KEA_HOOKS_VERSION`).
    pub const fn from_hooks_version(version: u32) -> KeaVersion {
        KeaVersion(version)
    }

    /// The hooks API version, e.g. 20603.
    pub const fn hooks_version(self) -> u32 {
        self.0
    }

    /// `Lease4::statesToText`/`Lease6::statesToText` of this release.
    pub fn lease_state_text(self, state: LeaseState) -> Cow<'static, str> {
        let raw = state.to_raw();
        match LEASE_STATES.iter().find(|(s, _, _)| *s == raw) {
            Some((_, name, since)) if self.0 >= *since => Cow::Borrowed(name),
            _ => crate::format::lease_state_text(state),
        }
    }

    /// `Pkt6::getName` of this release.
    pub fn pkt6_type_name(self, msg_type: u8) -> &'static str {
        match PKT6_TYPES.iter().find(|(t, _, _)| *t == msg_type) {
            Some((_, name, since)) if self.0 >= *since => name,
            _ => crate::format::pkt6_type_name(msg_type),
        }
    }
}

/// The release as `major.minor.patch` (`2.6.3` for hooks API version 20603).
impl std::fmt::Display for KeaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        write!(f, "{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2_2: KeaVersion = KeaVersion::from_hooks_version(20200);
    const V2_6: KeaVersion = KeaVersion::from_hooks_version(20603);
    const V3_0: KeaVersion = KeaVersion::from_hooks_version(30004);

    #[test]
    fn lease_states_per_release() {
        let rows: &[(u32, &str, &str, &str)] = &[
            (0, "default", "default", "default"),
            (
                2,
                "expired-reclaimed",
                "expired-reclaimed",
                "expired-reclaimed",
            ),
            (3, "unknown (3)", "unknown (3)", "released"),
            (4, "unknown (4)", "unknown (4)", "registered"),
            (5, "unknown (5)", "unknown (5)", "unknown (5)"),
        ];
        for &(raw, v22, v26, v30) in rows {
            let state = LeaseState::from_raw(raw);
            assert_eq!(V2_2.lease_state_text(state), v22, "state {raw} in 2.2");
            assert_eq!(V2_6.lease_state_text(state), v26, "state {raw} in 2.6");
            assert_eq!(V3_0.lease_state_text(state), v30, "state {raw} in 3.0");
        }
    }

    #[test]
    fn pkt6_types_per_release() {
        let rows: &[(u8, &str, &str, &str)] = &[
            (1, "SOLICIT", "SOLICIT", "SOLICIT"),
            (16, "UNKNOWN", "LEASEQUERY_DATA", "LEASEQUERY_DATA"),
            (17, "UNKNOWN", "LEASEQUERY_DONE", "LEASEQUERY_DONE"),
            (36, "UNKNOWN", "UNKNOWN", "ADDR_REG_INFORM"),
            (37, "UNKNOWN", "UNKNOWN", "ADDR_REG_REPLY"),
            (38, "UNKNOWN", "UNKNOWN", "UNKNOWN"),
        ];
        for &(code, v22, v26, v30) in rows {
            assert_eq!(V2_2.pkt6_type_name(code), v22, "type {code} in 2.2");
            assert_eq!(V2_6.pkt6_type_name(code), v26, "type {code} in 2.6");
            assert_eq!(V3_0.pkt6_type_name(code), v30, "type {code} in 3.0");
        }
    }

    #[test]
    fn displays_as_the_release() {
        assert_eq!(V2_6.to_string(), "2.6.3");
        assert_eq!(V3_0.to_string(), "3.0.4");
        assert_eq!(KeaVersion::OLDEST.to_string(), "2.2.0");
    }

    #[test]
    fn default_is_oldest_and_serde_is_the_number() {
        assert_eq!(KeaVersion::default(), KeaVersion::OLDEST);
        assert_eq!(serde_json::to_string(&V2_6).unwrap(), "20603");
        assert_eq!(serde_json::from_str::<KeaVersion>("30004").unwrap(), V3_0);
    }
}
