//! The hook points this library serves and the Kea callout arguments each one renders.
//!
//! Everything here is one table ([`HOOK_POINTS`]); the rest of the crate and the other
//! crates derive their behaviour from it instead of repeating per-hook-point code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Kea hook point (callout name) at which a script can run, plus the library's own
/// `load` and `unload` calls.
///
/// The serde form is the snake_case [`name`](HookPoint::name), e.g. `"lease4_renew"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookPoint {
    /// `lease4_renew`: a DHCPv4 client renews its lease (DHCPREQUEST in RENEWING state).
    Lease4Renew,
    /// `lease4_expire`: the server reclaims an expired DHCPv4 lease.
    Lease4Expire,
    /// `lease4_recover`: a declined DHCPv4 lease comes back from probation.
    Lease4Recover,
    /// `leases4_committed`: DHCPv4 leases were committed (allocated, renewed or released).
    Leases4Committed,
    /// `lease4_release`: a DHCPv4 client releases its lease (DHCPRELEASE).
    Lease4Release,
    /// `lease4_decline`: a DHCPv4 client declines an address (DHCPDECLINE).
    Lease4Decline,
    /// `lease6_renew`: a DHCPv6 client renews a lease (RENEW).
    Lease6Renew,
    /// `lease6_rebind`: a DHCPv6 client rebinds a lease (REBIND).
    Lease6Rebind,
    /// `lease6_expire`: the server reclaims an expired DHCPv6 lease.
    Lease6Expire,
    /// `lease6_recover`: a declined DHCPv6 lease comes back from probation.
    Lease6Recover,
    /// `leases6_committed`: DHCPv6 leases were committed.
    Leases6Committed,
    /// `lease6_release`: a DHCPv6 client releases a lease (RELEASE).
    Lease6Release,
    /// `lease6_decline`: a DHCPv6 client declines an address (DECLINE).
    Lease6Decline,
    /// `addr6_register`: a DHCPv6 client registers an address it chose itself
    /// (ADDR-REG-INFORM, RFC 9686). Kea 3.0 and later; earlier releases never call it.
    Addr6Register,
    /// `pkt4_receive`: a DHCPv4 query was received and parsed.
    Pkt4Receive,
    /// `subnet4_select`: a subnet was selected for a DHCPv4 query.
    Subnet4Select,
    /// `lease4_select`: a DHCPv4 lease is about to be offered or allocated.
    Lease4Select,
    /// `pkt4_send`: a DHCPv4 response is about to be sent.
    Pkt4Send,
    /// `pkt6_receive`: a DHCPv6 query was received and parsed.
    Pkt6Receive,
    /// `subnet6_select`: a subnet was selected for a DHCPv6 query.
    Subnet6Select,
    /// `lease6_select`: a DHCPv6 lease is about to be advertised or allocated.
    Lease6Select,
    /// `pkt6_send`: a DHCPv6 response is about to be sent.
    Pkt6Send,
    /// `load`: the hook library is being loaded (no Kea arguments).
    Load,
    /// `unload`: the hook library is being unloaded (no Kea arguments).
    Unload,
}

/// One Kea callout argument a hook point renders, i.e. one model object of an [`Event`](crate::Event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Argument {
    /// `query4`: the DHCPv4 query ([`Pkt4`](crate::Pkt4)), rendered as `QUERY4_*`.
    Query4,
    /// `response4`: the DHCPv4 response ([`Pkt4`](crate::Pkt4)), rendered as `RESPONSE4_*`.
    Response4,
    /// `subnet4`: the selected IPv4 subnet, rendered as `SUBNET4_*`.
    Subnet4,
    /// `clientid`: the client identifier of the query, rendered as `PKT4_CLIENT_ID`.
    ClientId,
    /// `hwaddr`: the hardware address of the query, rendered as `PKT4_HWADDR` and `PKT4_HWADDR_TYPE`.
    HwAddr,
    /// `lease4`: one DHCPv4 lease, rendered as `LEASE4_*`.
    Lease4,
    /// `leases4`: committed DHCPv4 leases, rendered as `LEASES4_SIZE` and `LEASES4_AT<i>_*`.
    Leases4,
    /// `deleted_leases4`: DHCPv4 leases deleted by the transaction, rendered as `DELETED_LEASES4_*`.
    DeletedLeases4,
    /// `remove_lease`: whether an expired lease is removed (`true`) or kept, rendered as `REMOVE_LEASE`.
    RemoveLease,
    /// `fake_allocation`: whether the allocation is only an offer/advertise, rendered as `FAKE_ALLOCATION`.
    FakeAllocation,
    /// `query6`: the DHCPv6 query ([`Pkt6`](crate::Pkt6)), rendered as `QUERY6_*`.
    Query6,
    /// `response6`: the DHCPv6 response ([`Pkt6`](crate::Pkt6)), rendered as `RESPONSE6_*`.
    Response6,
    /// `subnet6`: the selected IPv6 subnet, rendered as `SUBNET6_*`.
    Subnet6,
    /// `lease6`: one DHCPv6 lease, rendered as `LEASE6_*`.
    Lease6,
    /// `leases6`: committed DHCPv6 leases, rendered as `LEASES6_SIZE` and `LEASES6_AT<i>_*`.
    Leases6,
    /// `deleted_leases6`: DHCPv6 leases deleted by the transaction, rendered as `DELETED_LEASES6_*`.
    DeletedLeases6,
    /// `ia_na` or `ia_pd`: the IA option of the query the lease belongs to, rendered as `PKT6_IA_*`.
    ///
    /// Kea passes both arguments at `lease6_renew`/`lease6_rebind`; like Kea's own hook, the
    /// caller reads `"ia_na"` when the lease type is IA_NA and `"ia_pd"` otherwise
    /// ([`Argument::kea_name`] returns `"ia_na"`; see [`Argument::kea_name_for`]).
    Ia,
    /// `address6`: the address a client registers, rendered as `ADDRESS6`.
    Address6,
    /// `old_lease6`: the registration being replaced, rendered as `OLD_LEASE6_*` only when
    /// there is one (Kea's hook renders nothing for a first registration).
    OldLease6,
    /// `new_lease6`: the registration, rendered as `NEW_LEASE6_*`.
    NewLease6,
}

impl Argument {
    /// Kea's callout argument name, the string to pass to `CalloutHandle::getArgument`.
    ///
    /// For [`Argument::Ia`] this is `"ia_na"`; use [`Argument::kea_name_for`] with the lease
    /// type to get `"ia_pd"` for prefix delegations, as Kea's own hook does.
    pub fn kea_name(self) -> &'static str {
        match self {
            Argument::Query4 => "query4",
            Argument::Response4 => "response4",
            Argument::Subnet4 => "subnet4",
            Argument::ClientId => "clientid",
            Argument::HwAddr => "hwaddr",
            Argument::Lease4 => "lease4",
            Argument::Leases4 => "leases4",
            Argument::DeletedLeases4 => "deleted_leases4",
            Argument::RemoveLease => "remove_lease",
            Argument::FakeAllocation => "fake_allocation",
            Argument::Query6 => "query6",
            Argument::Response6 => "response6",
            Argument::Subnet6 => "subnet6",
            Argument::Lease6 => "lease6",
            Argument::Leases6 => "leases6",
            Argument::DeletedLeases6 => "deleted_leases6",
            Argument::Ia => "ia_na",
            Argument::Address6 => "address6",
            Argument::OldLease6 => "old_lease6",
            Argument::NewLease6 => "new_lease6",
        }
    }

    /// The variable-name prefix this argument renders under (`"QUERY4"`, `"PKT4_HWADDR"`,
    /// `"REMOVE_LEASE"`, …), the same as Kea's hook uses.
    pub fn prefix(self) -> &'static str {
        match self {
            Argument::Query4 => "QUERY4",
            Argument::Response4 => "RESPONSE4",
            Argument::Subnet4 => "SUBNET4",
            Argument::ClientId => "PKT4_CLIENT_ID",
            Argument::HwAddr => "PKT4_HWADDR",
            Argument::Lease4 => "LEASE4",
            Argument::Leases4 => "LEASES4",
            Argument::DeletedLeases4 => "DELETED_LEASES4",
            Argument::RemoveLease => "REMOVE_LEASE",
            Argument::FakeAllocation => "FAKE_ALLOCATION",
            Argument::Query6 => "QUERY6",
            Argument::Response6 => "RESPONSE6",
            Argument::Subnet6 => "SUBNET6",
            Argument::Lease6 => "LEASE6",
            Argument::Leases6 => "LEASES6",
            Argument::DeletedLeases6 => "DELETED_LEASES6",
            Argument::Ia => "PKT6_IA",
            Argument::Address6 => "ADDRESS6",
            Argument::OldLease6 => "OLD_LEASE6",
            Argument::NewLease6 => "NEW_LEASE6",
        }
    }

    /// Kea's argument name given the type of the event's `lease6`: for [`Argument::Ia`]
    /// `"ia_na"` when the lease is IA_NA and `"ia_pd"` for any other type (Kea's hook
    /// makes the same choice); for every other argument the same as [`Argument::kea_name`].
    pub fn kea_name_for(self, lease_type: crate::LeaseType) -> &'static str {
        match (self, lease_type) {
            (Argument::Ia, crate::LeaseType::Na) => "ia_na",
            (Argument::Ia, _) => "ia_pd",
            (other, _) => other.kea_name(),
        }
    }
}

/// One row of the hook-point table.
struct HookPointInfo {
    hook_point: HookPoint,
    name: &'static str,
    kea_default: bool,
    arguments: &'static [Argument],
}

use Argument as A;

/// The hook-point table: name, whether Kea's `libdhcp_run_script.so` serves it, and
/// the arguments rendered, in rendering order. Kea's 14 hook points list exactly the
/// arguments its hook renders, in its order; the extended ones list Kea's callout
/// arguments (queries before responses).
const HOOK_POINTS: &[HookPointInfo] = &[
    row(
        HookPoint::Lease4Renew,
        "lease4_renew",
        true,
        &[A::Query4, A::Subnet4, A::ClientId, A::HwAddr, A::Lease4],
    ),
    row(
        HookPoint::Lease4Expire,
        "lease4_expire",
        true,
        &[A::Lease4, A::RemoveLease],
    ),
    row(
        HookPoint::Lease4Recover,
        "lease4_recover",
        true,
        &[A::Lease4],
    ),
    row(
        HookPoint::Leases4Committed,
        "leases4_committed",
        true,
        &[A::Query4, A::Leases4, A::DeletedLeases4],
    ),
    row(
        HookPoint::Lease4Release,
        "lease4_release",
        true,
        &[A::Query4, A::Lease4],
    ),
    row(
        HookPoint::Lease4Decline,
        "lease4_decline",
        true,
        &[A::Query4, A::Lease4],
    ),
    row(
        HookPoint::Lease6Renew,
        "lease6_renew",
        true,
        &[A::Query6, A::Lease6, A::Ia],
    ),
    row(
        HookPoint::Lease6Rebind,
        "lease6_rebind",
        true,
        &[A::Query6, A::Lease6, A::Ia],
    ),
    row(
        HookPoint::Lease6Expire,
        "lease6_expire",
        true,
        &[A::Lease6, A::RemoveLease],
    ),
    row(
        HookPoint::Lease6Recover,
        "lease6_recover",
        true,
        &[A::Lease6],
    ),
    row(
        HookPoint::Leases6Committed,
        "leases6_committed",
        true,
        &[A::Query6, A::Leases6, A::DeletedLeases6],
    ),
    row(
        HookPoint::Lease6Release,
        "lease6_release",
        true,
        &[A::Query6, A::Lease6],
    ),
    row(
        HookPoint::Lease6Decline,
        "lease6_decline",
        true,
        &[A::Query6, A::Lease6],
    ),
    // Kea's hook serves it from 3.0 on; Kea releases before never call it, so it is in the
    // default set of every build.
    row(
        HookPoint::Addr6Register,
        "addr6_register",
        true,
        &[A::Query6, A::Address6, A::OldLease6, A::NewLease6],
    ),
    row(HookPoint::Pkt4Receive, "pkt4_receive", false, &[A::Query4]),
    row(
        HookPoint::Subnet4Select,
        "subnet4_select",
        false,
        &[A::Query4, A::Subnet4],
    ),
    row(
        HookPoint::Lease4Select,
        "lease4_select",
        false,
        &[A::Query4, A::Subnet4, A::FakeAllocation, A::Lease4],
    ),
    row(
        HookPoint::Pkt4Send,
        "pkt4_send",
        false,
        &[A::Query4, A::Response4],
    ),
    row(HookPoint::Pkt6Receive, "pkt6_receive", false, &[A::Query6]),
    row(
        HookPoint::Subnet6Select,
        "subnet6_select",
        false,
        &[A::Query6, A::Subnet6],
    ),
    row(
        HookPoint::Lease6Select,
        "lease6_select",
        false,
        &[A::Query6, A::Subnet6, A::FakeAllocation, A::Lease6],
    ),
    row(
        HookPoint::Pkt6Send,
        "pkt6_send",
        false,
        &[A::Query6, A::Response6],
    ),
    row(HookPoint::Load, "load", false, &[]),
    row(HookPoint::Unload, "unload", false, &[]),
];

const fn row(
    hook_point: HookPoint,
    name: &'static str,
    kea_default: bool,
    arguments: &'static [Argument],
) -> HookPointInfo {
    HookPointInfo {
        hook_point,
        name,
        kea_default,
        arguments,
    }
}

/// Every hook point, in table order (Kea's 13 first).
const ALL_HOOK_POINTS: [HookPoint; HOOK_POINTS.len()] = {
    let mut all = [HookPoint::Load; HOOK_POINTS.len()];
    let mut i = 0;
    while i < HOOK_POINTS.len() {
        all[i] = HOOK_POINTS[i].hook_point;
        i += 1;
    }
    all
};

impl HookPoint {
    /// Every hook point, Kea's 14 default ones first (13 in Kea 2.x, plus `addr6_register`
    /// from 3.0 on), then the extended ones, `load`, `unload`.
    pub const ALL: &'static [HookPoint] = &ALL_HOOK_POINTS;

    fn info(self) -> &'static HookPointInfo {
        // The table is in declaration order (checked by a test), so the discriminant indexes it.
        &HOOK_POINTS[self as usize]
    }

    /// Kea's callout name (`"lease4_renew"`, …), also the script's `argv[1]`.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// True for the hook points served by Kea's own `libdhcp_run_script.so`: 13 in Kea 2.x,
    /// and `addr6_register` from 3.0 on (which earlier releases never call).
    pub fn kea_default(self) -> bool {
        self.info().kea_default
    }

    /// The arguments this hook point renders, in the order their variables are rendered.
    pub fn arguments(self) -> &'static [Argument] {
        self.info().arguments
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error of parsing a [`HookPoint`] from a name that is not one; it names the bad value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownHookPoint(pub String);

impl fmt::Display for UnknownHookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown hook point {:?} (expected one of: ", self.0)?;
        for (i, hp) in HookPoint::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(hp.name())?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownHookPoint {}

impl FromStr for HookPoint {
    type Err = UnknownHookPoint;

    /// Parses Kea's callout name, e.g. `"lease4_renew"` (exact, case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HOOK_POINTS
            .iter()
            .find(|info| info.name == s)
            .map(|info| info.hook_point)
            .ok_or_else(|| UnknownHookPoint(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_declaration_order() {
        for (i, info) in HOOK_POINTS.iter().enumerate() {
            assert_eq!(info.hook_point as usize, i, "{}", info.name);
        }
        assert_eq!(HookPoint::ALL.len(), HOOK_POINTS.len());
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for &hp in HookPoint::ALL {
            assert_eq!(hp.name().parse::<HookPoint>(), Ok(hp));
            let json = serde_json::to_string(&hp).unwrap();
            assert_eq!(json, format!("\"{}\"", hp.name()));
        }
    }

    #[test]
    fn bad_name_is_named_in_error() {
        let err = "lease4_renewx".parse::<HookPoint>().unwrap_err();
        assert!(err.to_string().contains("\"lease4_renewx\""), "{err}");
    }

    #[test]
    fn kea_default_is_keas_hook_points() {
        let defaults: Vec<_> = HookPoint::ALL
            .iter()
            .filter(|hp| hp.kea_default())
            .map(|hp| hp.name())
            .collect();
        assert_eq!(
            defaults,
            [
                "lease4_renew",
                "lease4_expire",
                "lease4_recover",
                "leases4_committed",
                "lease4_release",
                "lease4_decline",
                "lease6_renew",
                "lease6_rebind",
                "lease6_expire",
                "lease6_recover",
                "leases6_committed",
                "lease6_release",
                "lease6_decline",
                "addr6_register"
            ]
        );
    }

    #[test]
    fn ia_kea_name_follows_lease_type() {
        use crate::LeaseType;
        assert_eq!(Argument::Ia.kea_name_for(LeaseType::Na), "ia_na");
        assert_eq!(Argument::Ia.kea_name_for(LeaseType::Pd), "ia_pd");
        assert_eq!(Argument::Lease6.kea_name_for(LeaseType::Pd), "lease6");
    }
}
