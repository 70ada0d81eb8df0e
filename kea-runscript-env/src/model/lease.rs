use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::raw_form::raw_in_binary_formats;
use super::{ClientId, Duid, HwAddr};

/// A DHCPv4 lease as Kea's `Lease4` (the fields Kea's run-script hook renders).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lease4 {
    /// The leased address.
    pub address: Ipv4Addr,
    /// Client last transmission time, seconds since the Unix epoch (`cltt_`).
    pub cltt: i64,
    /// The client's hostname (any bytes Kea holds; a NUL ends the rendered value).
    pub hostname: String,
    /// The client's hardware address, if known.
    pub hwaddr: Option<HwAddr>,
    /// The lease state.
    pub state: LeaseState,
    /// Id of the subnet the lease belongs to.
    pub subnet_id: u32,
    /// Valid lifetime in seconds.
    pub valid_lifetime: u32,
    /// The client identifier, if the client sent one.
    pub client_id: Option<ClientId>,
    /// Whether the lease had expired when Kea called the hook (Kea's `Lease::expired()`:
    /// `cltt + valid_lifetime` is in the past and the lifetime is not infinite).
    #[serde(default, skip_serializing_if = "is_false")]
    pub expired: bool,
    /// Kea's own multi-line dump of the lease (`Lease4::toText()`), when the extraction
    /// asked Kea for it (only the kea-hook-runscript profile renders it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kea_text: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A DHCPv6 lease as Kea's `Lease6` (the fields Kea's run-script hook renders).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lease6 {
    /// The leased address or delegated prefix.
    pub address: Ipv6Addr,
    /// Client last transmission time, seconds since the Unix epoch (`cltt_`).
    pub cltt: i64,
    /// The client's hostname (any bytes Kea holds; a NUL ends the rendered value).
    pub hostname: String,
    /// The client's hardware address, if known.
    pub hwaddr: Option<HwAddr>,
    /// The lease state.
    pub state: LeaseState,
    /// Id of the subnet the lease belongs to.
    pub subnet_id: u32,
    /// Valid lifetime in seconds.
    pub valid_lifetime: u32,
    /// The client's DUID (Kea always has one; `None` renders empty).
    pub duid: Option<Duid>,
    /// The IAID of the IA the lease belongs to.
    pub iaid: u32,
    /// Preferred lifetime in seconds.
    pub preferred_lifetime: u32,
    /// Prefix length: 128 for addresses, the delegated length for prefixes.
    pub prefix_len: u8,
    /// The lease type (IA_NA, IA_TA, IA_PD).
    pub lease_type: LeaseType,
    /// Whether the lease had expired when Kea called the hook (Kea's `Lease::expired()`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub expired: bool,
    /// Kea's own multi-line dump of the lease (`Lease6::toText()`), when the extraction
    /// asked Kea for it (only the kea-hook-runscript profile renders it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kea_text: Option<String>,
}

/// A lease state as Kea's `Lease::state_`.
///
/// JSON: `"default"`, `"declined"`, `"expired_reclaimed"` or `{"other": n}`; binary
/// formats: Kea's raw number.
///
/// Rendered as Kea's `Lease4::statesToText`/`Lease6::statesToText`: `default`, `declined`,
/// `expired-reclaimed`, otherwise `unknown (<n>)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", remote = "Self")]
#[non_exhaustive]
pub enum LeaseState {
    /// 0: `STATE_DEFAULT`, an active (or free) lease.
    Default,
    /// 1: `STATE_DECLINED`, the address was declined and is on probation.
    Declined,
    /// 2: `STATE_EXPIRED_RECLAIMED`, the lease expired and was reclaimed.
    ExpiredReclaimed,
    /// Any other raw state value.
    Other(u32),
}

impl Lease4 {
    /// A lease of `address`; every other field empty (times and ids 0, no hostname,
    /// no hardware address or client id, state `Default`). Set the fields you need:
    ///
    /// ```
    /// use kea_runscript_env::{Lease4, LeaseState};
    ///
    /// let mut lease = Lease4::new("192.0.2.10".parse().unwrap());
    /// lease.valid_lifetime = 3600;
    /// lease.state = LeaseState::Declined;
    /// assert_eq!(lease.state.to_raw(), 1);
    /// ```
    pub fn new(address: Ipv4Addr) -> Lease4 {
        Lease4 {
            address,
            cltt: 0,
            hostname: String::new(),
            hwaddr: None,
            state: LeaseState::Default,
            subnet_id: 0,
            valid_lifetime: 0,
            client_id: None,
            expired: false,
            kea_text: None,
        }
    }
}

impl Lease6 {
    /// A lease of type `lease_type` for `address`/`prefix_len` (128 for an address);
    /// every other field empty (times and ids 0, no hostname, DUID or hardware
    /// address, state `Default`).
    pub fn new(lease_type: LeaseType, address: Ipv6Addr, prefix_len: u8) -> Lease6 {
        Lease6 {
            address,
            cltt: 0,
            hostname: String::new(),
            hwaddr: None,
            state: LeaseState::Default,
            subnet_id: 0,
            valid_lifetime: 0,
            duid: None,
            iaid: 0,
            preferred_lifetime: 0,
            prefix_len,
            lease_type,
            expired: false,
            kea_text: None,
        }
    }
}

impl LeaseState {
    /// The state for Kea's raw `state_` value (0, 1, 2; anything else is [`LeaseState::Other`]).
    pub fn from_raw(raw: u32) -> LeaseState {
        match raw {
            0 => LeaseState::Default,
            1 => LeaseState::Declined,
            2 => LeaseState::ExpiredReclaimed,
            other => LeaseState::Other(other),
        }
    }

    /// Kea's raw `state_` value.
    pub fn to_raw(self) -> u32 {
        match self {
            LeaseState::Default => 0,
            LeaseState::Declined => 1,
            LeaseState::ExpiredReclaimed => 2,
            LeaseState::Other(raw) => raw,
        }
    }
}

/// A lease type as Kea's `Lease::Type`.
///
/// JSON: `"na"`, `"ta"`, `"pd"`, `"v4"` or `{"other": n}`; binary formats: Kea's raw
/// number.
///
/// Rendered as Kea's `Lease::typeToText`: `IA_NA`, `IA_TA`, `IA_PD`, `V4`, otherwise `unknown (<n>)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", remote = "Self")]
pub enum LeaseType {
    /// 0: `TYPE_NA`, a non-temporary address.
    Na,
    /// 1: `TYPE_TA`, a temporary address.
    Ta,
    /// 2: `TYPE_PD`, a delegated prefix.
    Pd,
    /// 3: `TYPE_V4`, an IPv4 address.
    V4,
    /// Any other raw type value.
    Other(u32),
}

impl LeaseType {
    /// The type for Kea's raw `Lease::Type` value (0, 1, 2, 3; anything else is [`LeaseType::Other`]).
    pub fn from_raw(raw: u32) -> LeaseType {
        match raw {
            0 => LeaseType::Na,
            1 => LeaseType::Ta,
            2 => LeaseType::Pd,
            3 => LeaseType::V4,
            other => LeaseType::Other(other),
        }
    }

    /// Kea's raw `Lease::Type` value.
    pub fn to_raw(self) -> u32 {
        match self {
            LeaseType::Na => 0,
            LeaseType::Ta => 1,
            LeaseType::Pd => 2,
            LeaseType::V4 => 3,
            LeaseType::Other(raw) => raw,
        }
    }
}

raw_in_binary_formats!(LeaseState, u32);
raw_in_binary_formats!(LeaseType, u32);
