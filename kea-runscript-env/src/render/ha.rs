//! The HA variables (`"ha"` settings of the library, [`Extras::ha`](super::Extras)):
//! where a lease event comes from, and per lease an id of the change that is the same on
//! both servers of a pair.
//!
//! - `KEA_EVENT_ORIGIN`: `local`, `partner` or `command` ([`Origin`]);
//! - `KEA_HA_PARTNER`: the partner's name on a partner's event, else empty;
//! - `LEASE4_CHANGE_ID`, `LEASES4_AT<i>_CHANGE_ID`, `DELETED_LEASES4_AT<i>_CHANGE_ID` and
//!   their v6 twins: 16 lower-case hex digits, the 64-bit FNV-1a hash of the change's
//!   canonical text ([`canonical4`], [`canonical6`]).
//!
//! The canonical text holds only what both servers hold alike for the same change: the
//! kind ([`LeaseChange`]), the address (and prefix length, type, IAID), the client's
//! identity (client id or DUID, hardware address), the client's last transmission time
//! and the valid lifetime. A partner's `lease4-update` carries `expire` = cltt + valid
//! lifetime, from which the partner's lease gets the same cltt, so the primary's commit and
//! the standby's partner event of it have the same id; a renewal changes the cltt, so it
//! is a new change with a new id.

use super::env::Env;
use crate::{Argument, Event, HookPoint, Lease4, Lease6, LeaseChange, Origin};

/// Renders the HA variables of `event` (at hook points that report lease states only).
pub(crate) fn render(env: &mut Env, event: &Event) {
    let hook_point = event.hook_point;
    if !hook_point.reports_lease_state() {
        return;
    }
    env.scoped("KEA", |env| {
        env.word(
            "_EVENT_ORIGIN",
            Some(event.origin.unwrap_or(Origin::Local).name()),
        );
        env.text("_HA_PARTNER", event.partner.as_deref());
    });
    for &argument in hook_point.arguments() {
        env.scoped(argument.prefix(), |env| match argument {
            Argument::Lease4 => id(env, event.lease4.as_ref().zip(change(hook_point)).map(v4)),
            Argument::Lease6 => id(env, event.lease6.as_ref().zip(change(hook_point)).map(v6)),
            Argument::Leases4 => ids(
                env,
                event.leases4.as_deref(),
                LeaseChange::Commit,
                canonical4,
            ),
            Argument::DeletedLeases4 => ids(
                env,
                event.deleted_leases4.as_deref(),
                LeaseChange::Remove,
                canonical4,
            ),
            Argument::Leases6 => ids(
                env,
                event.leases6.as_deref(),
                LeaseChange::Commit,
                canonical6,
            ),
            Argument::DeletedLeases6 => ids(
                env,
                event.deleted_leases6.as_deref(),
                LeaseChange::Remove,
                canonical6,
            ),
            _ => {}
        });
    }
}

fn change(hook_point: HookPoint) -> Option<LeaseChange> {
    hook_point.lease_change()
}

fn v4((lease, change): (&Lease4, LeaseChange)) -> String {
    canonical4(lease, change)
}

fn v6((lease, change): (&Lease6, LeaseChange)) -> String {
    canonical6(lease, change)
}

/// `<P>_CHANGE_ID` of one lease (empty without it).
fn id(env: &mut Env, canonical: Option<String>) {
    env.set("_CHANGE_ID", canonical, |out, text| push_hash(out, &text));
}

/// `<P>_AT<i>_CHANGE_ID` for each lease of a collection.
fn ids<L>(
    env: &mut Env,
    leases: Option<&[L]>,
    change: LeaseChange,
    canonical: fn(&L, LeaseChange) -> String,
) {
    for (index, lease) in leases.unwrap_or_default().iter().enumerate() {
        env.indexed(index, |env| id(env, Some(canonical(lease, change))));
    }
}

/// Colon-free lower-case hex of `bytes`.
fn hex(bytes: Option<&[u8]>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for b in bytes.unwrap_or_default() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The canonical text of a change of a DHCPv4 lease:
/// `4|<kind>|<address>|<client id hex>|<hardware address hex>|<cltt>|<valid lifetime>`,
/// e.g. `4|commit|10.0.0.10|01000c01000000|000c01000000|1796635746|3600`.
pub fn canonical4(lease: &Lease4, change: LeaseChange) -> String {
    format!(
        "4|{}|{}|{}|{}|{}|{}",
        change.name(),
        lease.address,
        hex(lease.client_id.as_ref().map(|c| &c.0[..])),
        hex(lease.hwaddr.as_ref().map(|h| &h.bytes[..])),
        lease.cltt,
        lease.valid_lifetime
    )
}

/// The canonical text of a change of a DHCPv6 lease:
/// `6|<kind>|<address>/<prefix length>|<type>|<IAID>|<DUID hex>|<cltt>|<valid lifetime>`
/// (type as Kea's raw number: 0 IA_NA, 1 IA_TA, 2 IA_PD).
pub fn canonical6(lease: &Lease6, change: LeaseChange) -> String {
    format!(
        "6|{}|{}/{}|{}|{}|{}|{}|{}",
        change.name(),
        lease.address,
        lease.prefix_len,
        lease.lease_type.to_raw(),
        lease.iaid,
        hex(lease.duid.as_ref().map(|d| &d.0[..])),
        lease.cltt,
        lease.valid_lifetime
    )
}

/// 64-bit FNV-1a of `text`, as 16 lower-case hex digits.
fn push_hash(out: &mut String, text: &str) {
    use std::fmt::Write as _;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let _ = write!(out, "{hash:016x}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{render_extras, ClientId, Extras, HwAddr};

    fn lease(cltt: i64) -> Lease4 {
        let mut l = Lease4::new("10.0.0.10".parse().unwrap());
        l.cltt = cltt;
        l.valid_lifetime = 3600;
        l.client_id = Some(ClientId(vec![1, 0, 0x0c, 1, 0, 0, 0]));
        l.hwaddr = Some(HwAddr::ethernet([0, 0x0c, 1, 0, 0, 0]));
        l
    }

    fn ha() -> Extras {
        Extras::default().with_ha(true)
    }

    fn var<'a>(vars: &'a [(String, crate::Text)], name: &str) -> &'a [u8] {
        &vars
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name}"))
            .1[..]
    }

    #[test]
    fn the_canonical_text_is_documented_and_the_id_is_its_fnv1a() {
        assert_eq!(
            canonical4(&lease(1_796_635_746), LeaseChange::Commit),
            "4|commit|10.0.0.10|01000c01000000|000c01000000|1796635746|3600"
        );
        let mut out = String::new();
        push_hash(&mut out, "");
        assert_eq!(
            out, "cbf29ce484222325",
            "FNV-1a-64 of nothing is its offset basis"
        );
        out.clear();
        push_hash(&mut out, "a");
        assert_eq!(out, "af63dc4c8601ec8c", "FNV-1a-64 test vector");
    }

    #[test]
    fn a_local_commit_and_the_partners_copy_of_it_have_one_id_a_renewal_another() {
        let mut local = Event::new(HookPoint::Leases4Committed);
        local.leases4 = Some(vec![lease(100)]);
        let mut partner = local.clone();
        partner.origin = Some(Origin::Partner);
        partner.partner = Some("s1".into());
        let (l, p) = (render_extras(&local, ha()), render_extras(&partner, ha()));
        assert_eq!(var(&l, "KEA_EVENT_ORIGIN"), b"local");
        assert_eq!(var(&p, "KEA_EVENT_ORIGIN"), b"partner");
        assert_eq!(var(&l, "KEA_HA_PARTNER"), b"");
        assert_eq!(var(&p, "KEA_HA_PARTNER"), b"s1");
        let id = var(&l, "LEASES4_AT0_CHANGE_ID");
        assert_eq!(id.len(), 16);
        assert_eq!(id, var(&p, "LEASES4_AT0_CHANGE_ID"));
        // A release of the same lease: another change; its lease4_release and the
        // commit's deleted lease are one change.
        let mut release = Event::new(HookPoint::Lease4Release);
        release.lease4 = Some(lease(100));
        let mut moved = Event::new(HookPoint::Leases4Committed);
        moved.leases4 = Some(vec![]);
        moved.deleted_leases4 = Some(vec![lease(100)]);
        let r = render_extras(&release, ha());
        assert_ne!(var(&r, "LEASE4_CHANGE_ID"), id);
        assert_eq!(
            var(&r, "LEASE4_CHANGE_ID"),
            var(
                &render_extras(&moved, ha()),
                "DELETED_LEASES4_AT0_CHANGE_ID"
            )
        );
        let mut renewed = local.clone();
        renewed.leases4 = Some(vec![lease(200)]);
        assert_ne!(
            var(&render_extras(&renewed, ha()), "LEASES4_AT0_CHANGE_ID"),
            id
        );
    }

    #[test]
    fn only_lease_events_and_only_when_asked() {
        let mut commit = Event::new(HookPoint::Leases4Committed);
        commit.leases4 = Some(vec![lease(1)]);
        assert!(render_extras(&commit, Extras::default()).is_empty());
        let packet = Event::new(HookPoint::Pkt4Receive);
        assert!(render_extras(&packet, ha()).is_empty());
        let mut v6 = Event::new(HookPoint::Lease6Expire);
        v6.lease6 = Some(Lease6::new(
            crate::LeaseType::Pd,
            "2001:db8:100::".parse().unwrap(),
            56,
        ));
        let vars = render_extras(&v6, ha());
        assert_eq!(var(&vars, "LEASE6_CHANGE_ID").len(), 16);
    }
}
