use std::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::Ipv6Network;
use serde::{Deserialize, Serialize};

/// The host reservation of a DHCPv4 client in the selected subnet, as Kea's `Host` (the
/// fields rendered as `HOST4_*` for a script with `"host-reservation": true`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Host4 {
    /// The reserved hostname (`getHostname()`; empty when none).
    pub hostname: String,
    /// The reserved IPv4 address (`getIPv4Reservation()`; `None` when 0.0.0.0, none).
    pub ipv4_address: Option<Ipv4Addr>,
    /// The reservation's DHCPv4 client classes (`getClientClasses4()`), in Kea's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// The reservation's user context as compact JSON (`getContext()`).
    #[serde(
        default,
        with = "super::user_context",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_context: Option<String>,
}

/// The host reservation of a DHCPv6 client in the selected subnet, as Kea's `Host` (the
/// fields rendered as `HOST6_*` for a script with `"host-reservation": true`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Host6 {
    /// The reserved hostname (`getHostname()`; empty when none).
    pub hostname: String,
    /// The reserved addresses (`getIPv6Reservations(TYPE_NA)`), in Kea's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_addresses: Vec<Ipv6Addr>,
    /// The reserved prefixes (`getIPv6Reservations(TYPE_PD)`), in Kea's order.
    #[serde(
        default,
        serialize_with = "super::raw_form::serialize_networks6",
        deserialize_with = "super::raw_form::deserialize_networks6",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ipv6_prefixes: Vec<Ipv6Network>,
    /// The reservation's DHCPv6 client classes (`getClientClasses6()`), in Kea's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// The reservation's user context as compact JSON (`getContext()`).
    #[serde(
        default,
        with = "super::user_context",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_context: Option<String>,
}

impl Host4 {
    /// A reservation with nothing reserved (no hostname, address, classes or context).
    pub fn new() -> Host4 {
        Host4 {
            hostname: String::new(),
            ipv4_address: None,
            classes: Vec::new(),
            user_context: None,
        }
    }
}

impl Default for Host4 {
    fn default() -> Host4 {
        Host4::new()
    }
}

impl Host6 {
    /// A reservation with nothing reserved (no hostname, addresses, prefixes, classes or
    /// context).
    pub fn new() -> Host6 {
        Host6 {
            hostname: String::new(),
            ipv6_addresses: Vec::new(),
            ipv6_prefixes: Vec::new(),
            classes: Vec::new(),
            user_context: None,
        }
    }
}

impl Default for Host6 {
    fn default() -> Host6 {
        Host6::new()
    }
}
