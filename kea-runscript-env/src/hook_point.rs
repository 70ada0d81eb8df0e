//! The hook points this library serves and the Kea callout arguments each one renders.
//!
//! Everything here is one table ([`HOOK_POINTS`]); the rest of the crate and the other
//! crates derive their behaviour from it instead of repeating per-hook-point code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::KeaVersion;

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
    /// `name`: the name of the control command Kea processed (`command_processed`),
    /// rendered as `COMMAND_NAME`.
    CommandName,
    /// `arguments`: the command's arguments (`command_processed`; absent when the command
    /// had none), rendered as `COMMAND_ARGUMENTS` (compact JSON, bounded) and
    /// `COMMAND_ARGUMENTS_TRUNCATED`.
    CommandArguments,
    /// `response`: Kea's answer to the command (`command_processed`), rendered as
    /// `COMMAND_RESULT` (its `result`) and `COMMAND_TEXT` (its `text`).
    CommandResponse,
    /// `hostname` (`ddns4_update`/`ddns6_update`): the host name (FQDN) Kea is about to use
    /// for the DNS update, rendered as `DDNS_HOSTNAME` (not `HOSTNAME`, which shells set).
    DdnsHostname,
    /// `fwd-update` (`ddns4_update`/`ddns6_update`): whether Kea updates the forward (A/AAAA)
    /// zone, rendered as `DDNS_FWD_UPDATE`.
    DdnsFwdUpdate,
    /// `rev-update` (`ddns4_update`/`ddns6_update`): whether Kea updates the reverse (PTR)
    /// zone, rendered as `DDNS_REV_UPDATE`.
    DdnsRevUpdate,
    /// `offer_lifetime` (`lease4_offer`): the lifetime of the lease Kea stores for the offer
    /// (`offer-lifetime`; 0 when the offer stores no lease), rendered as `OFFER_LIFETIME`.
    OfferLifetime,
    /// `old_lease` (`lease4_offer`): the lease the client had before (null when none),
    /// rendered as `OLD_LEASE4_*` like `LEASE4_*` (empty when absent).
    OldLease4,
    /// `id_type` (`host4_identifier`/`host6_identifier`): the type of the identifier asked
    /// for (`flex-id`), rendered as `HOST_ID_TYPE`.
    HostIdType,
    /// `id_value` (`host4_identifier`/`host6_identifier`): the identifier so far (empty
    /// unless an earlier callout set it), rendered as `HOST_ID_VALUE`.
    HostIdValue,
}

/// The argument table: per [`Argument`], in declaration order, Kea's argument name and the
/// variable-name prefix it renders under (the same as Kea's hook uses).
const ARGUMENTS: &[(Argument, &str, &str)] = &[
    (Argument::Query4, "query4", "QUERY4"),
    (Argument::Response4, "response4", "RESPONSE4"),
    (Argument::Subnet4, "subnet4", "SUBNET4"),
    (Argument::ClientId, "clientid", "PKT4_CLIENT_ID"),
    (Argument::HwAddr, "hwaddr", "PKT4_HWADDR"),
    (Argument::Lease4, "lease4", "LEASE4"),
    (Argument::Leases4, "leases4", "LEASES4"),
    (
        Argument::DeletedLeases4,
        "deleted_leases4",
        "DELETED_LEASES4",
    ),
    (Argument::RemoveLease, "remove_lease", "REMOVE_LEASE"),
    (
        Argument::FakeAllocation,
        "fake_allocation",
        "FAKE_ALLOCATION",
    ),
    (Argument::Query6, "query6", "QUERY6"),
    (Argument::Response6, "response6", "RESPONSE6"),
    (Argument::Subnet6, "subnet6", "SUBNET6"),
    (Argument::Lease6, "lease6", "LEASE6"),
    (Argument::Leases6, "leases6", "LEASES6"),
    (
        Argument::DeletedLeases6,
        "deleted_leases6",
        "DELETED_LEASES6",
    ),
    (Argument::Ia, "ia_na", "PKT6_IA"),
    (Argument::Address6, "address6", "ADDRESS6"),
    (Argument::OldLease6, "old_lease6", "OLD_LEASE6"),
    (Argument::NewLease6, "new_lease6", "NEW_LEASE6"),
    (Argument::CommandName, "name", "COMMAND_NAME"),
    (Argument::CommandArguments, "arguments", "COMMAND_ARGUMENTS"),
    (Argument::CommandResponse, "response", "COMMAND"),
    (Argument::DdnsHostname, "hostname", "DDNS_HOSTNAME"),
    (Argument::DdnsFwdUpdate, "fwd-update", "DDNS_FWD_UPDATE"),
    (Argument::DdnsRevUpdate, "rev-update", "DDNS_REV_UPDATE"),
    (Argument::OfferLifetime, "offer_lifetime", "OFFER_LIFETIME"),
    (Argument::OldLease4, "old_lease", "OLD_LEASE4"),
    (Argument::HostIdType, "id_type", "HOST_ID_TYPE"),
    (Argument::HostIdValue, "id_value", "HOST_ID_VALUE"),
];

impl Argument {
    fn row(self) -> &'static (Argument, &'static str, &'static str) {
        // The table is in declaration order (checked by a test), so the discriminant indexes it.
        &ARGUMENTS[self as usize]
    }

    /// Kea's callout argument name, the string to pass to `CalloutHandle::getArgument`.
    ///
    /// For [`Argument::Ia`] this is `"ia_na"`; use [`Argument::kea_name_for`] with the lease
    /// type to get `"ia_pd"` for prefix delegations, as Kea's own hook does.
    pub fn kea_name(self) -> &'static str {
        self.row().1
    }

    /// The variable-name prefix this argument renders under (`"QUERY4"`, `"PKT4_HWADDR"`,
    /// `"REMOVE_LEASE"`, …), the same as Kea's hook uses.
    pub fn prefix(self) -> &'static str {
        self.row().2
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

/// Which next steps Kea acts on when a callout sets them at a hook point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NextSteps {
    /// Kea acts on `NEXT_STEP_SKIP` (skips its own processing of this step).
    pub skip: bool,
    /// Kea acts on `NEXT_STEP_DROP` (drops the packet).
    pub drop: bool,
}

/// One row of the hook-point table.
struct HookPointInfo {
    hook_point: HookPoint,
    name: &'static str,
    callout: bool,
    kea_default: bool,
    next_steps: NextSteps,
    sync: bool,
    park: bool,
    since: KeaVersion,
    arguments: &'static [Argument],
}

/// The hook-point table: calls `$callback! { rows }` with one row per hook point, Kea's 14
/// first (13 in Kea 2.x, plus `addr6_register` from 3.0 on), then the extended ones, the
/// replays, `load`, `unload`.
///
/// A row is `Variant = name { callout, kea_default, skip, drop, sync, park, since, arguments }`
/// with doc comments in front:
/// - `callout`: whether Kea calls a callout of that name (false for the library's own `load`
///   and `unload`);
/// - `kea_default`: whether Kea's `libdhcp_run_script.so` serves it (in any release: a
///   release that lacks the hook point never calls it);
/// - `skip`, `drop`: whether Kea acts on that next step set by a callout there. The table
///   follows Kea's code (the status each call site tests after its callouts), not only its
///   documentation. `pkt4_send`/`pkt6_send` honour SKIP only as "do not pack the response;
///   the callout built the wire form itself", which a script cannot do, so SKIP counts as
///   not honoured there (Kea would send an empty packet);
/// - `sync`: whether a script may run there with `"sync": true` (the callout waits for its
///   verdict or parks the query); false where a verdict means nothing and the callout must
///   never wait (`command_processed`, `lease4_server_decline`);
/// - `park`: whether Kea lets a callout there park the query (`NEXT_STEP_PARK`), so that a
///   sync script's verdict is awaited without holding a Kea thread (`leases4_committed`,
///   `leases6_committed`, `lease4_offer`);
/// - `since`: the hooks API version (`KEA_HOOKS_VERSION`) of the first stable Kea release
///   that calls it (20200 for what 2.2, the oldest supported, already calls; 20600, 30000);
/// - `arguments`: the Kea arguments rendered, in rendering order. Kea's hook points list
///   exactly the arguments its hook renders, in its order; the extended ones list Kea's
///   callout arguments (queries before responses).
///
/// This crate builds [`HookPoint`] and its table from it; the hook library builds its
/// exported callouts from it, so a hook point is added in this one place.
#[macro_export]
macro_rules! hook_point_table {
    ($callback:ident) => {
        $callback! {
            /// `lease4_renew`: a DHCPv4 client renews its lease (DHCPREQUEST in RENEWING state).
            Lease4Renew = lease4_renew {
                callout: true, kea_default: true, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query4, Subnet4, ClientId, HwAddr, Lease4],
            }
            /// `lease4_expire`: the server reclaims an expired DHCPv4 lease.
            Lease4Expire = lease4_expire {
                callout: true, kea_default: true, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Lease4, RemoveLease],
            }
            /// `lease4_recover`: a declined DHCPv4 lease comes back from probation.
            Lease4Recover = lease4_recover {
                callout: true, kea_default: true, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Lease4],
            }
            /// `leases4_committed`: DHCPv4 leases were committed (allocated, renewed or released).
            Leases4Committed = leases4_committed {
                callout: true, kea_default: true, skip: false, drop: true, sync: true,
                park: true, since: 20200,
                arguments: [Query4, Leases4, DeletedLeases4],
            }
            /// `lease4_release`: a DHCPv4 client releases its lease (DHCPRELEASE).
            Lease4Release = lease4_release {
                callout: true, kea_default: true, skip: true, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query4, Lease4],
            }
            /// `lease4_decline`: a DHCPv4 client declines an address (DHCPDECLINE).
            Lease4Decline = lease4_decline {
                callout: true, kea_default: true, skip: true, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query4, Lease4],
            }
            /// `lease6_renew`: a DHCPv6 client renews a lease (RENEW).
            Lease6Renew = lease6_renew {
                callout: true, kea_default: true, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query6, Lease6, Ia],
            }
            /// `lease6_rebind`: a DHCPv6 client rebinds a lease (REBIND).
            Lease6Rebind = lease6_rebind {
                callout: true, kea_default: true, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query6, Lease6, Ia],
            }
            /// `lease6_expire`: the server reclaims an expired DHCPv6 lease.
            Lease6Expire = lease6_expire {
                callout: true, kea_default: true, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Lease6, RemoveLease],
            }
            /// `lease6_recover`: a declined DHCPv6 lease comes back from probation.
            Lease6Recover = lease6_recover {
                callout: true, kea_default: true, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Lease6],
            }
            /// `leases6_committed`: DHCPv6 leases were committed.
            Leases6Committed = leases6_committed {
                callout: true, kea_default: true, skip: false, drop: true, sync: true,
                park: true, since: 20200,
                arguments: [Query6, Leases6, DeletedLeases6],
            }
            /// `lease6_release`: a DHCPv6 client releases a lease (RELEASE).
            Lease6Release = lease6_release {
                callout: true, kea_default: true, skip: true, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query6, Lease6],
            }
            /// `lease6_decline`: a DHCPv6 client declines an address (DECLINE).
            Lease6Decline = lease6_decline {
                callout: true, kea_default: true, skip: true, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query6, Lease6],
            }
            /// `addr6_register`: a DHCPv6 client registers an address it chose itself
            /// (ADDR-REG-INFORM, RFC 9686). Kea 3.0 and later; earlier releases never call
            /// it, so it is in the default set of every build. SKIP keeps the registration
            /// out of the lease database, DROP drops the query.
            Addr6Register = addr6_register {
                callout: true, kea_default: true, skip: true, drop: true, sync: true,
                park: false, since: 30000,
                arguments: [Query6, Address6, OldLease6, NewLease6],
            }
            /// `pkt4_receive`: a DHCPv4 query was received and parsed.
            Pkt4Receive = pkt4_receive {
                callout: true, kea_default: false, skip: true, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query4],
            }
            /// `subnet4_select`: a subnet was selected for a DHCPv4 query.
            Subnet4Select = subnet4_select {
                callout: true, kea_default: false, skip: true, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query4, Subnet4],
            }
            /// `lease4_select`: a DHCPv4 lease is about to be offered or allocated.
            Lease4Select = lease4_select {
                callout: true, kea_default: false, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query4, Subnet4, FakeAllocation, Lease4],
            }
            /// `pkt4_send`: a DHCPv4 response is about to be sent.
            Pkt4Send = pkt4_send {
                callout: true, kea_default: false, skip: false, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query4, Response4],
            }
            /// `pkt6_receive`: a DHCPv6 query was received and parsed.
            Pkt6Receive = pkt6_receive {
                callout: true, kea_default: false, skip: true, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query6],
            }
            /// `subnet6_select`: a subnet was selected for a DHCPv6 query.
            Subnet6Select = subnet6_select {
                callout: true, kea_default: false, skip: true, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query6, Subnet6],
            }
            /// `lease6_select`: a DHCPv6 lease is about to be advertised or allocated.
            Lease6Select = lease6_select {
                callout: true, kea_default: false, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query6, Subnet6, FakeAllocation, Lease6],
            }
            /// `pkt6_send`: a DHCPv6 response is about to be sent.
            Pkt6Send = pkt6_send {
                callout: true, kea_default: false, skip: false, drop: true, sync: true,
                park: false, since: 20200,
                arguments: [Query6, Response6],
            }
            /// `command_processed`: Kea (`kea-dhcp4` or `kea-dhcp6`, 2.2 and later) has
            /// processed a control command, from its control socket, the control agent or a
            /// High Availability partner, and is about to send the response. Whatever its
            /// result. Kea ignores the next step here, and under HA the callout runs on HA's
            /// listener threads while the partner waits for the answer, so it is async only.
            CommandProcessed = command_processed {
                callout: true, kea_default: false, skip: false, drop: false, sync: false,
                park: false, since: 20200,
                arguments: [CommandName, CommandArguments, CommandResponse],
            }
            /// `ddns4_update`: Kea has decided the DNS update of a DHCPv4 client's lease (host
            /// name and whether to update the forward and the reverse zone), before it
            /// allocates the lease (the response has no address yet). Kea reads `hostname`, `fwd-update` and
            /// `rev-update` back after the callouts (so a sync script's answer can change
            /// them) and ignores the next step. Kea 2.2 and later.
            Ddns4Update = ddns4_update {
                callout: true, kea_default: false, skip: false, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query4, Response4, Subnet4, DdnsHostname, DdnsFwdUpdate, DdnsRevUpdate],
            }
            /// `ddns6_update`: the DHCPv6 twin of [`HookPoint::Ddns4Update`]. Kea 2.2 and later.
            Ddns6Update = ddns6_update {
                callout: true, kea_default: false, skip: false, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query6, Response6, Subnet6, DdnsHostname, DdnsFwdUpdate, DdnsRevUpdate],
            }
            /// `lease4_offer`: Kea built the DHCPOFFER for a DHCPDISCOVER and is about to send
            /// it. Kea parks the query for a callout that asks (like `leases4_committed`) and,
            /// when the query is resumed, reads `offer_address_in_use`: true makes Kea decline
            /// the address (the lease becomes declined, `lease4_server_decline` follows) and
            /// discard the offer. DROP drops the query. Kea 2.6 and later (`response4` from
            /// 3.0 on; 3.0 also passes the reservation as `host`, not rendered: see
            /// `"host-reservation"`).
            Lease4Offer = lease4_offer {
                callout: true, kea_default: false, skip: false, drop: true, sync: true,
                park: true, since: 20600,
                arguments: [Query4, Response4, Leases4, OfferLifetime, OldLease4],
            }
            /// `lease4_server_decline`: after a `lease4_offer` callout reported the offered
            /// address in use, Kea marked its lease declined and discarded the offer. Kea
            /// ignores the next step; the callout runs in the resumed query's completion, so it
            /// is async only. Kea 2.6 and later.
            Lease4ServerDecline = lease4_server_decline {
                callout: true, kea_default: false, skip: false, drop: false, sync: false,
                park: false, since: 20600,
                arguments: [Query4, Lease4],
            }
            /// `host4_identifier`: Kea asks for a DHCPv4 client's flexible identifier, to look
            /// up its host reservation (only when `host-reservation-identifiers` lists
            /// `flex-id`). Kea reads `id_type` and `id_value` back; an empty value, or a next
            /// step other than CONTINUE, means no flexible identifier. Kea 2.2 and later.
            Host4Identifier = host4_identifier {
                callout: true, kea_default: false, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query4, HostIdType, HostIdValue],
            }
            /// `host6_identifier`: the DHCPv6 twin of [`HookPoint::Host4Identifier`]. Kea 2.2
            /// and later.
            Host6Identifier = host6_identifier {
                callout: true, kea_default: false, skip: true, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Query6, HostIdType, HostIdValue],
            }
            /// `lease4_replay`: an active DHCPv4 lease that existed when Kea (re)loaded its
            /// configuration, delivered once to scripts with `"replay-leases": true` (this
            /// library's own event, not a Kea callout; the subnet is the lease's).
            Lease4Replay = lease4_replay {
                callout: false, kea_default: false, skip: false, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Subnet4, Lease4],
            }
            /// `lease6_replay`: the DHCPv6 twin of [`HookPoint::Lease4Replay`].
            Lease6Replay = lease6_replay {
                callout: false, kea_default: false, skip: false, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [Subnet6, Lease6],
            }
            /// `load`: the hook library is being loaded (no Kea arguments).
            Load = load {
                callout: false, kea_default: false, skip: false, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [],
            }
            /// `unload`: the hook library is being unloaded (no Kea arguments).
            Unload = unload {
                callout: false, kea_default: false, skip: false, drop: false, sync: true,
                park: false, since: 20200,
                arguments: [],
            }
        }
    };
}

/// Builds [`HookPoint`] and `HOOK_POINTS` from the rows of [`hook_point_table!`].
macro_rules! define_hook_points {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:ident {
            callout: $callout:literal, kea_default: $kea_default:literal,
            skip: $skip:literal, drop: $drop:literal, sync: $sync:literal,
            park: $park:literal, since: $since:literal,
            arguments: [$($argument:ident),* $(,)?] $(,)?
        }
    )*) => {
        /// A Kea hook point (callout name) at which a script can run, plus the library's own
        /// `load` and `unload` calls.
        ///
        /// The serde form is the snake_case [`name`](HookPoint::name), e.g. `"lease4_renew"`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum HookPoint {
            $($(#[$doc])* $variant,)*
        }

        /// The rows of [`hook_point_table!`], in declaration order.
        const HOOK_POINTS: &[HookPointInfo] = &[$(
            HookPointInfo {
                hook_point: HookPoint::$variant,
                name: stringify!($name),
                callout: $callout,
                kea_default: $kea_default,
                next_steps: NextSteps { skip: $skip, drop: $drop },
                sync: $sync,
                park: $park,
                since: KeaVersion::from_hooks_version($since),
                arguments: &[$(Argument::$argument),*],
            },
        )*];
    };
}

hook_point_table!(define_hook_points);

/// Every hook point, in table order (Kea's 14 first).
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
    /// from 3.0 on), then the extended ones, the replays, `load`, `unload`.
    pub const ALL: &'static [HookPoint] = &ALL_HOOK_POINTS;

    fn info(self) -> &'static HookPointInfo {
        // The table is in declaration order (checked by a test), so the discriminant indexes it.
        &HOOK_POINTS[self as usize]
    }

    /// Kea's callout name (`"lease4_renew"`, …), also the script's `argv[1]`.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// True when Kea calls a callout of this name (every hook point but `load`, `unload` and
    /// the replays, which the library itself fires).
    pub fn is_callout(self) -> bool {
        self.info().callout
    }

    /// The next steps Kea acts on when a callout sets them at this hook point.
    pub fn next_steps(self) -> NextSteps {
        self.info().next_steps
    }

    /// True when a script may run here with `"sync": true`; false where Kea ignores every
    /// verdict and a waiting callout would hold up Kea (`command_processed`,
    /// `lease4_server_decline`), so only async scripts run there.
    pub fn allows_sync(self) -> bool {
        self.info().sync
    }

    /// True where Kea lets a callout park the query (`leases4_committed`,
    /// `leases6_committed`, `lease4_offer`): a sync script's verdict is then awaited with
    /// the query parked instead of holding Kea's thread.
    pub fn parks(self) -> bool {
        self.info().park
    }

    /// The first Kea release that calls this hook point (its hooks API version: 2.2.0 for
    /// the points every supported release calls, 2.6.0 for `lease4_offer` and
    /// `lease4_server_decline`, 3.0.0 for `addr6_register`). Earlier releases never call it.
    pub fn min_kea_version(self) -> KeaVersion {
        self.info().since
    }

    /// Whether Kea release `kea` calls this hook point ([`HookPoint::min_kea_version`] or
    /// later). Always true for `load`, `unload` and the replays, which this library fires.
    pub fn called_by(self, kea: KeaVersion) -> bool {
        kea >= self.min_kea_version()
    }

    /// True for the replay events of existing leases ([`HookPoint::Lease4Replay`],
    /// [`HookPoint::Lease6Replay`]): chosen by `"replay-leases"`, never by `"hook-points"`,
    /// and fired by this library rather than by a Kea callout.
    pub fn is_replay(self) -> bool {
        matches!(self, HookPoint::Lease4Replay | HookPoint::Lease6Replay)
    }

    /// The change of a lease's state this hook point reports for its single-lease
    /// argument (`lease4`/`lease6`), or `None` where it reports none (packet points, the
    /// `*_select` candidates, `leases*_committed`, whose collections say it themselves:
    /// `leases*` committed, `deleted_leases*` removed).
    pub fn lease_change(self) -> Option<LeaseChange> {
        use HookPoint as H;
        Some(match self {
            H::Lease4Renew | H::Lease6Renew | H::Lease6Rebind => LeaseChange::Commit,
            H::Lease4Replay | H::Lease6Replay => LeaseChange::Commit,
            H::Lease4Release | H::Lease6Release => LeaseChange::Remove,
            H::Lease4Expire | H::Lease6Expire => LeaseChange::Expire,
            H::Lease4Recover | H::Lease6Recover => LeaseChange::Recover,
            H::Lease4Decline | H::Lease6Decline | H::Lease4ServerDecline => LeaseChange::Decline,
            _ => return None,
        })
    }

    /// True where an event reports lease states: the hook points with a
    /// [`HookPoint::lease_change`], and `leases4_committed` / `leases6_committed`.
    pub fn reports_lease_state(self) -> bool {
        self.lease_change().is_some()
            || matches!(
                self,
                HookPoint::Leases4Committed | HookPoint::Leases6Committed
            )
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

/// What happened to a lease, as far as its state goes: the kind in a
/// `…_CHANGE_ID` (see `docs/variables.md`, HA variables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeaseChange {
    /// Given or extended (committed, renewed, rebound; replayed as held).
    Commit,
    /// Given back or deleted (released; a commit's deleted leases; a partner's delete).
    Remove,
    /// Expired and reclaimed.
    Expire,
    /// Recovered from declined.
    Recover,
    /// Declined.
    Decline,
}

impl LeaseChange {
    /// Its name in a change id's canonical text.
    pub fn name(self) -> &'static str {
        match self {
            LeaseChange::Commit => "commit",
            LeaseChange::Remove => "remove",
            LeaseChange::Expire => "expire",
            LeaseChange::Recover => "recover",
            LeaseChange::Decline => "decline",
        }
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
    fn argument_table_is_in_declaration_order() {
        for (i, (argument, name, _)) in ARGUMENTS.iter().enumerate() {
            assert_eq!(*argument as usize, i, "{name}");
        }
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
    fn async_only_are_command_processed_and_lease4_server_decline() {
        let async_only: Vec<_> = HookPoint::ALL
            .iter()
            .filter(|hp| !hp.allows_sync())
            .collect();
        assert_eq!(
            async_only,
            [
                &HookPoint::CommandProcessed,
                &HookPoint::Lease4ServerDecline
            ]
        );
        let hp = HookPoint::CommandProcessed;
        assert!(hp.is_callout() && !hp.kea_default());
        assert_eq!(
            hp.next_steps(),
            NextSteps {
                skip: false,
                drop: false
            }
        );
        let names: Vec<_> = hp.arguments().iter().map(|a| a.kea_name()).collect();
        assert_eq!(names, ["name", "arguments", "response"]);
    }

    #[test]
    fn kea_parks_at_the_committed_points_and_lease4_offer() {
        let parking: Vec<_> = HookPoint::ALL
            .iter()
            .filter(|hp| hp.parks())
            .map(|hp| hp.name())
            .collect();
        assert_eq!(
            parking,
            ["leases4_committed", "leases6_committed", "lease4_offer"]
        );
        // Parking is how a sync verdict is awaited: never where only async scripts run.
        assert!(HookPoint::ALL
            .iter()
            .all(|hp| !hp.parks() || hp.allows_sync()));
    }

    #[test]
    fn first_kea_release_per_hook_point() {
        let v = KeaVersion::from_hooks_version;
        let later: Vec<_> = HookPoint::ALL
            .iter()
            .filter(|hp| hp.min_kea_version() > KeaVersion::OLDEST)
            .map(|hp| (hp.name(), hp.min_kea_version()))
            .collect();
        assert_eq!(
            later,
            [
                ("addr6_register", v(30000)),
                ("lease4_offer", v(20600)),
                ("lease4_server_decline", v(20600))
            ]
        );
        let offer = HookPoint::Lease4Offer;
        assert!(!offer.called_by(v(20200)) && !offer.called_by(v(20507)));
        assert!(offer.called_by(v(20603)) && offer.called_by(v(30004)));
        assert!(HookPoint::Ddns4Update.called_by(KeaVersion::OLDEST));
    }

    #[test]
    fn new_hook_points_pass_kea_s_argument_names() {
        let names =
            |hp: HookPoint| -> Vec<&str> { hp.arguments().iter().map(|a| a.kea_name()).collect() };
        let ddns = ["hostname", "fwd-update", "rev-update"];
        assert_eq!(names(HookPoint::Ddns4Update)[3..], ddns);
        assert_eq!(names(HookPoint::Ddns6Update)[3..], ddns);
        assert_eq!(
            names(HookPoint::Lease4Offer),
            [
                "query4",
                "response4",
                "leases4",
                "offer_lifetime",
                "old_lease"
            ]
        );
        assert_eq!(names(HookPoint::Lease4ServerDecline), ["query4", "lease4"]);
        assert_eq!(
            names(HookPoint::Host6Identifier),
            ["query6", "id_type", "id_value"]
        );
        assert_eq!(
            HookPoint::Lease4ServerDecline.lease_change(),
            Some(LeaseChange::Decline)
        );
        // Names a shell sets itself are not variables.
        for argument in ARGUMENTS.iter().map(|row| row.2) {
            assert!(
                !["HOSTNAME", "HOSTTYPE", "PATH"].contains(&argument),
                "{argument}"
            );
        }
    }

    #[test]
    fn ia_kea_name_follows_lease_type() {
        use crate::LeaseType;
        assert_eq!(Argument::Ia.kea_name_for(LeaseType::Na), "ia_na");
        assert_eq!(Argument::Ia.kea_name_for(LeaseType::Pd), "ia_pd");
        assert_eq!(Argument::Lease6.kea_name_for(LeaseType::Pd), "lease6");
    }
}
