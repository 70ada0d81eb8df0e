//! Which leases an event is about ([`LeaseKey`], [`lease_keys`]), for the `merge`
//! overflow policy and the order of one lease's runs, and an estimate of an event's memory
//! for the merge budget. Pure: reads the event's model.
//!
//! An event is about leases when its hook point reports lease states: `lease4_renew`,
//! `lease4_expire`, `lease4_recover`, `lease4_release`, `lease4_decline`, `lease4_replay`,
//! their v6 twins (and `lease6_rebind`): one lease; `leases4_committed` /
//! `leases6_committed`: every lease in `leases*` and in `deleted_leases*` (a client moved
//! to another address carries its old lease as deleted: that is the old lease's last state,
//! so such an event must keep its place among the events of both leases). Packet hook
//! points (`pkt4_receive`, `subnet4_select`, …) and the `*_select` points (a candidate,
//! not a state) are about none. Only an event about exactly one lease is ever merged; an
//! event about several still orders the events of each (see `worker::queue`).
//!
//! A `lease4_renew` that Kea reports while it answers a DHCPDISCOVER is a fake allocation
//! (Kea stores nothing), not a state of the lease, so it must never replace one (seen in
//! the soak: such a renewal replacing a waiting expiry left the script believing a
//! reclaimed lease was active): it has a key of its own kind, [`LeaseKey::V4Offer`], so
//! that a newer offer replaces only an older waiting offer of the same address (without
//! it, offers to returning clients piled up to the budget).

use std::net::{Ipv4Addr, Ipv6Addr};

use kea_runscript_env::{Event, HookPoint};
use kea_runscript_env::{Lease4, Lease6, LeaseType};

/// The identity of one lease: a v4 address, or a v6 address or prefix with its type,
/// IAID and DUID (Kea's own identity of a v6 lease).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeaseKey {
    /// A DHCPv4 lease, by address.
    V4(Ipv4Addr),
    /// An offer of a DHCPv4 address (a `lease4_renew` while Kea answers a DHCPDISCOVER):
    /// merged only with another offer of it, never with a state of the lease.
    V4Offer(Ipv4Addr),
    /// A DHCPv6 lease.
    V6 {
        /// The address, or the prefix for `IA_PD`.
        address: Ipv6Addr,
        /// The prefix length (128 for an address).
        prefix_len: u8,
        /// `IA_NA`, `IA_TA` or `IA_PD`.
        lease_type: u8,
        /// The IAID.
        iaid: u32,
        /// The client's DUID (empty when the lease has none).
        duid: Vec<u8>,
    },
}

impl LeaseKey {
    fn v4(lease: &Lease4) -> LeaseKey {
        LeaseKey::V4(lease.address)
    }

    fn v6(lease: &Lease6) -> LeaseKey {
        LeaseKey::V6 {
            address: lease.address,
            prefix_len: lease.prefix_len,
            lease_type: match lease.lease_type {
                LeaseType::Na => 0,
                LeaseType::Ta => 1,
                LeaseType::Pd => 2,
                _ => 3,
            },
            iaid: lease.iaid,
            duid: lease.duid.as_ref().map(|d| d.0.clone()).unwrap_or_default(),
        }
    }
}

/// Whether events at `hook_point` may be about leases (known without their model).
pub fn hook_point_has_key(hook_point: HookPoint) -> bool {
    hook_point.reports_lease_state()
}

/// DHCPDISCOVER: Kea answers it with a fake allocation (the offer; nothing stored).
const DHCPDISCOVER: u8 = 1;

/// Whether `event` comes from a fake allocation (Kea's answer to a DHCPDISCOVER).
fn is_fake_allocation(event: &Event) -> bool {
    event
        .query4
        .as_ref()
        .is_some_and(|q| q.msg_type == DHCPDISCOVER)
}

/// The keys of a `leases*_committed` event's leases and deleted leases, in that order.
fn committed<T>(
    leases: Option<&Vec<T>>,
    deleted: Option<&Vec<T>>,
    key: fn(&T) -> LeaseKey,
) -> Vec<LeaseKey> {
    leases
        .into_iter()
        .chain(deleted)
        .flatten()
        .map(key)
        .collect()
}

/// The leases `event` reports the state of (see the module documentation); empty: the
/// event is about no lease (never merged, never waits for another event).
pub fn lease_keys(event: &Event) -> Vec<LeaseKey> {
    use HookPoint as H;
    let one = |key: Option<LeaseKey>| key.into_iter().collect();
    match event.hook_point {
        H::Lease4Renew if is_fake_allocation(event) => {
            one(event.lease4.as_ref().map(|l| LeaseKey::V4Offer(l.address)))
        }
        H::Lease4Renew
        | H::Lease4Expire
        | H::Lease4Recover
        | H::Lease4Release
        | H::Lease4Decline
        | H::Lease4ServerDecline
        | H::Lease4Replay => one(event.lease4.as_ref().map(LeaseKey::v4)),
        H::Leases4Committed => committed(
            event.leases4.as_ref(),
            event.deleted_leases4.as_ref(),
            LeaseKey::v4,
        ),
        H::Lease6Renew
        | H::Lease6Rebind
        | H::Lease6Expire
        | H::Lease6Recover
        | H::Lease6Release
        | H::Lease6Decline
        | H::Lease6Replay => one(event.lease6.as_ref().map(LeaseKey::v6)),
        H::Leases6Committed => committed(
            event.leases6.as_ref(),
            event.deleted_leases6.as_ref(),
            LeaseKey::v6,
        ),
        _ => Vec::new(),
    }
}

/// Estimated bytes of an event whose model was not made: what a waiting DHCPv4
/// `leases4_committed` event of a perfdhcp client measured, rounded up (the copied Kea
/// objects, then its model and its rendered variables).
pub const UNMADE_EVENT_BYTES: usize = 4096;

/// Estimated bytes an event holds while it waits (its model, and the variables rendered
/// from it once it is sent or started): a fixed part for the structures and the rendered
/// variables, plus what grows with the packet (options, relays, classes), the leases and a
/// control command's JSON (`command_processed`: arguments and response can be a whole
/// configuration; the arguments are also rendered, up to their bound).
pub fn approx_bytes(event: &Event) -> usize {
    const FIXED: usize = 3072;
    const PER_LEASE: usize = 1024;
    let options = |opts: &[kea_runscript_env::DhcpOption]| -> usize {
        opts.iter().map(|o| 3 * o.payload.len() + 48).sum()
    };
    let mut bytes = FIXED;
    for pkt in [&event.query4, &event.response4].into_iter().flatten() {
        bytes += options(&pkt.options) + pkt.classes.iter().map(|c| c.len() + 32).sum::<usize>();
    }
    for pkt in [&event.query6, &event.response6].into_iter().flatten() {
        bytes += options(&pkt.options)
            + pkt
                .relays
                .iter()
                .map(|r| options(&r.options) + 64)
                .sum::<usize>();
    }
    let v4 = event.leases4.as_ref().map_or(0, Vec::len)
        + event.deleted_leases4.as_ref().map_or(0, Vec::len)
        + usize::from(event.lease4.is_some());
    let v6 = event.leases6.as_ref().map_or(0, Vec::len)
        + event.deleted_leases6.as_ref().map_or(0, Vec::len)
        + usize::from(event.lease6.is_some());
    let command = event.command_name.as_ref().map_or(0, |n| n.len())
        + event.command_arguments.as_ref().map_or(0, |a| {
            a.len() + a.len().min(kea_runscript_env::COMMAND_VALUE_MAX_BYTES)
        })
        + event.command_response.as_ref().map_or(0, String::len);
    bytes + (v4 + v6) * PER_LEASE + command
}

#[cfg(test)]
mod tests {
    use super::*;
    use kea_runscript_env::{Duid, LeaseState, Text};

    fn lease4(a: u8) -> Lease4 {
        let mut lease = lease4_template();
        lease.address = Ipv4Addr::new(10, 0, 0, a);
        lease
    }

    fn lease4_template() -> Lease4 {
        serde_json::from_value(serde_json::json!({
            "address": "10.0.0.1", "cltt": 0, "hostname": "", "state": "default",
            "subnet_id": 1, "valid_lifetime": 3600
        }))
        .expect("a minimal lease4")
    }

    fn lease6(iaid: u32, duid: &[u8], lease_type: LeaseType) -> Lease6 {
        let mut l: Lease6 = serde_json::from_value(serde_json::json!({
            "address": "2001:db8::1", "cltt": 0, "hostname": "", "state": "default",
            "subnet_id": 1, "valid_lifetime": 3600, "iaid": 1, "preferred_lifetime": 1,
            "prefix_len": 128, "lease_type": "na"
        }))
        .expect("a minimal lease6");
        l.iaid = iaid;
        l.duid = Some(Duid(duid.to_vec()));
        l.lease_type = lease_type;
        l.hostname = Text::default();
        l.state = LeaseState::Default;
        l
    }

    fn with4(hp: HookPoint, f: impl FnOnce(&mut Event)) -> Event {
        let mut e = Event::new(hp);
        f(&mut e);
        e
    }

    #[test]
    fn one_lease_hook_points_have_the_lease_address_as_key() {
        for hp in [
            HookPoint::Lease4Renew,
            HookPoint::Lease4Expire,
            HookPoint::Lease4Release,
            HookPoint::Lease4Decline,
            HookPoint::Lease4Recover,
        ] {
            let e = with4(hp, |e| e.lease4 = Some(lease4(7)));
            assert_eq!(
                lease_keys(&e),
                [LeaseKey::V4(Ipv4Addr::new(10, 0, 0, 7))],
                "{hp}"
            );
            assert!(hook_point_has_key(hp));
        }
        // Without its lease (a malformed event): no key.
        assert_eq!(lease_keys(&Event::new(HookPoint::Lease4Expire)), []);
    }

    #[test]
    fn a_renewal_while_answering_a_discover_is_keyed_as_an_offer() {
        use kea_runscript_env::Pkt4;
        let renew = |msg_type| {
            with4(HookPoint::Lease4Renew, |e| {
                e.lease4 = Some(lease4(7));
                e.query4 = Some(Pkt4::new(msg_type, 1));
            })
        };
        assert_eq!(
            lease_keys(&renew(1)),
            [LeaseKey::V4Offer(Ipv4Addr::new(10, 0, 0, 7))],
            "DISCOVER: a fake allocation, its own kind of key"
        );
        assert_eq!(
            lease_keys(&renew(3)),
            [LeaseKey::V4(Ipv4Addr::new(10, 0, 0, 7))],
            "REQUEST"
        );
    }

    #[test]
    fn committed_is_about_its_leases_and_its_deleted_leases() {
        let hp = HookPoint::Leases4Committed;
        let v4 = |a| LeaseKey::V4(Ipv4Addr::new(10, 0, 0, a));
        let one = with4(hp, |e| e.leases4 = Some(vec![lease4(1)]));
        assert_eq!(lease_keys(&one), [v4(1)]);
        let deleted = with4(hp, |e| {
            e.leases4 = Some(vec![]);
            e.deleted_leases4 = Some(vec![lease4(2)]);
        });
        assert_eq!(lease_keys(&deleted), [v4(2)]);
        let two = with4(hp, |e| e.leases4 = Some(vec![lease4(1), lease4(2)]));
        assert_eq!(lease_keys(&two), [v4(1), v4(2)]);
        // A client moved from .2 to .1: the event is the last state of .2 as well.
        let moved = with4(hp, |e| {
            e.leases4 = Some(vec![lease4(1)]);
            e.deleted_leases4 = Some(vec![lease4(2)]);
        });
        assert_eq!(lease_keys(&moved), [v4(1), v4(2)]);
        assert_eq!(lease_keys(&Event::new(hp)), []);
    }

    #[test]
    fn packet_and_select_hook_points_have_no_key() {
        for hp in [
            HookPoint::Pkt4Receive,
            HookPoint::Subnet4Select,
            HookPoint::Lease4Select,
            HookPoint::Pkt4Send,
        ] {
            let e = with4(hp, |e| e.lease4 = Some(lease4(1)));
            assert_eq!(lease_keys(&e), [], "{hp}");
            assert!(!hook_point_has_key(hp));
        }
    }

    #[test]
    fn v6_keys_tell_iaid_duid_and_type_apart() {
        let key = |iaid, duid: &[u8], t| {
            let mut e = Event::new(HookPoint::Lease6Release);
            e.lease6 = Some(lease6(iaid, duid, t));
            let keys = lease_keys(&e);
            assert_eq!(keys.len(), 1);
            keys[0].clone()
        };
        let base = key(1, b"a", LeaseType::Na);
        assert_eq!(base, key(1, b"a", LeaseType::Na));
        assert_ne!(base, key(2, b"a", LeaseType::Na));
        assert_ne!(base, key(1, b"b", LeaseType::Na));
        assert_ne!(base, key(1, b"a", LeaseType::Pd));
        let mut committed = Event::new(HookPoint::Leases6Committed);
        committed.leases6 = Some(vec![lease6(1, b"a", LeaseType::Na)]);
        assert_eq!(lease_keys(&committed), [base]);
    }

    #[test]
    fn the_estimate_grows_with_leases_and_options() {
        let none = approx_bytes(&Event::new(HookPoint::Leases4Committed));
        let one = approx_bytes(&with4(HookPoint::Leases4Committed, |e| {
            e.leases4 = Some(vec![lease4(1)])
        }));
        assert!(one > none && none >= 3072);
    }

    #[test]
    fn the_estimate_counts_a_commands_json() {
        let bare = approx_bytes(&Event::new(HookPoint::CommandProcessed));
        let mut event = Event::new(HookPoint::CommandProcessed);
        event.command_name = Some("config-set".into());
        event.command_arguments = Some("x".repeat(100_000));
        event.command_response = Some("y".repeat(1_000));
        let big = approx_bytes(&event);
        // The JSON held, and the arguments rendered up to their bound.
        assert_eq!(
            big - bare,
            10 + 100_000 + kea_runscript_env::COMMAND_VALUE_MAX_BYTES + 1_000
        );
        assert_eq!(lease_keys(&event), [], "about no lease");
    }
}
