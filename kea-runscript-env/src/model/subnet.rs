use ipnetwork::{Ipv4Network, Ipv6Network};
use serde::{Deserialize, Serialize};

/// An IPv4 subnet: its Kea subnet id and prefix (rendered as `SUBNET4_*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subnet4 {
    /// Kea's subnet id.
    pub id: u32,
    /// The subnet prefix, e.g. `192.0.2.0/24`, rendered as given (not masked).
    #[serde(with = "super::raw_form::network4")]
    pub prefix: Ipv4Network,
}

/// An IPv6 subnet: its Kea subnet id and prefix (rendered as `SUBNET6_*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subnet6 {
    /// Kea's subnet id.
    pub id: u32,
    /// The subnet prefix, e.g. `2001:db8:1::/64`, rendered as given (not masked).
    #[serde(with = "super::raw_form::network6")]
    pub prefix: Ipv6Network,
}

/// A DHCPv6 identity association option (IA_NA, IA_TA or IA_PD) as Kea's `Option6IA`
/// (rendered as `PKT6_IA_*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ia {
    /// The IAID.
    pub iaid: u32,
    /// The option code: 3 for IA_NA, 4 for IA_TA, 25 for IA_PD (rendered in decimal, as Kea does).
    pub ia_type: u16,
    /// The T1 time in seconds.
    pub t1: u32,
    /// The T2 time in seconds.
    pub t2: u32,
}

impl Subnet4 {
    /// Subnet `id` with `prefix`.
    pub fn new(id: u32, prefix: Ipv4Network) -> Subnet4 {
        Subnet4 { id, prefix }
    }
}

impl Subnet6 {
    /// Subnet `id` with `prefix`.
    pub fn new(id: u32, prefix: Ipv6Network) -> Subnet6 {
        Subnet6 { id, prefix }
    }
}

impl Ia {
    /// An IA with its id, type (3 IA_NA, 25 IA_PD) and renewal times.
    pub fn new(iaid: u32, ia_type: u16, t1: u32, t2: u32) -> Ia {
        Ia {
            iaid,
            ia_type,
            t1,
            t2,
        }
    }
}
