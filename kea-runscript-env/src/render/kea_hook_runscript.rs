//! The kea-hook-runscript (v1.4.0) profile: its `KEA_*` names, its order and formats.
//!
//! Where it differs from Kea's hook (all reproduced on purpose, so its users' scripts see
//! the same values): booleans are `0`/`1`; `IFINDEX` and `CLIENT_LAST_TRANSMISSION` are signed;
//! the DHCPv6 hardware address is Kea's `getMAC(any source)`; `KEA_QUERY6_DUID` is always
//! empty (a TODO there); `*_DEBUG` carry Kea's own `toText()` dumps; `KEA_QUERY4_OPTION60` is
//! the option's text, and the option 82 variables are set only when present.
//!
//! Kea-hook-runscript dereferences a null query or lease (Kea never passes one); here such an
//! object renders its unconditional variables empty, as it does for a missing subnet or
//! hardware address.

use std::fmt::Write as _;

use super::env::Env;
use crate::format::{
    lease_state_text, lease_type_text, option82_sub_options, pkt4_type_name, pkt6_type_name,
    push_colon_hex, push_ipv4, push_ipv6, push_option_hex,
};
use crate::{
    Argument, Event, HwAddr, Lease4, Lease6, LeaseType, Pkt4, Pkt6, Subnet4, Subnet6, Vars,
};

/// Option 60 (vendor class identifier) and 82 (relay agent information).
const OPTION_VENDOR_CLASS: u16 = 60;
const OPTION_RAI: u16 = 82;
/// RAI sub-options it names: circuit-id, remote-id.
const RAI_CIRCUIT_ID: u8 = 1;
const RAI_REMOTE_ID: u8 = 2;

/// Renders `arguments` (its list for the event's hook point, from the profile's table) of
/// `event`.
pub(crate) fn render(event: &Event, arguments: &[Argument]) -> Vars {
    let mut env = Env::with_capacity(40);
    for &argument in arguments {
        match argument {
            Argument::Query4 => env.scoped("KEA_QUERY4", |e| pkt4(e, event.query4.as_ref())),
            Argument::Response4 => {
                env.scoped("KEA_RESPONSE4", |e| pkt4(e, event.response4.as_ref()))
            }
            Argument::Query6 => env.scoped("KEA_QUERY6", |e| pkt6(e, event.query6.as_ref())),
            Argument::Response6 => {
                env.scoped("KEA_RESPONSE6", |e| pkt6(e, event.response6.as_ref()))
            }
            Argument::Subnet4 => env.scoped("KEA_SUBNET4", |e| subnet4(e, event.subnet4.as_ref())),
            Argument::Subnet6 => env.scoped("KEA_SUBNET6", |e| subnet6(e, event.subnet6.as_ref())),
            Argument::Lease4 => env.scoped("KEA_LEASE4", |e| lease4(e, event.lease4.as_ref())),
            Argument::Lease6 => env.scoped("KEA_LEASE6", |e| lease6(e, event.lease6.as_ref())),
            Argument::FakeAllocation => env.scoped("KEA_FAKE_ALLOCATION", |e| {
                flag(e, "", event.fake_allocation)
            }),
            Argument::RemoveLease => {
                env.scoped("KEA_REMOVE_LEASE", |e| flag(e, "", event.remove_lease))
            }
            // Not in its table (clientid, hwaddr, ia_*, lease collections).
            _ => {}
        }
    }
    env.into_vars()
}

/// A C++ `bool` through `std::to_string`: `1` or `0`.
fn flag(env: &mut Env, suffix: &str, value: Option<bool>) {
    env.word(suffix, value.map(|b| if b { "1" } else { "0" }));
}

/// A signed decimal (`std::to_string` of an `int` or `time_t`).
fn signed(env: &mut Env, suffix: &str, value: Option<i64>) {
    env.set(suffix, value, |out, n| {
        let _ = write!(out, "{n}");
    });
}

/// `_HWADDR`, `_HWADDR_TYPE`, `_HWADDR_SOURCE`; all three empty without an address.
fn hwaddr(env: &mut Env, hw: Option<&HwAddr>) {
    env.colon_hex("_HWADDR", hw.map(|h| &h.bytes[..]));
    env.int("_HWADDR_TYPE", hw.map(|h| u64::from(h.htype)));
    env.int("_HWADDR_SOURCE", hw.map(|h| u64::from(h.source)));
}

/// Kea stores the interface index as `int`; the models hold its bits as `u32`.
fn ifindex(index: u32) -> i64 {
    i64::from(index as i32)
}

fn pkt4(env: &mut Env, pkt: Option<&Pkt4>) {
    env.word("_TYPE", pkt.map(|p| pkt4_type_name(p.msg_type)));
    env.text("_INTERFACE", pkt.map(|p| &p.iface_name[..]));
    signed(env, "_IFINDEX", pkt.map(|p| ifindex(p.iface_index)));
    hwaddr(env, pkt.and_then(|p| p.hwaddr.as_ref()));
    env.ipv4("_CIADDR", pkt.map(|p| p.ciaddr));
    env.ipv4("_SIADDR", pkt.map(|p| p.siaddr));
    env.ipv4("_YIADDR", pkt.map(|p| p.yiaddr));
    env.ipv4("_GIADDR", pkt.map(|p| p.giaddr));
    flag(env, "_RELAYED", pkt.map(Pkt4::is_relayed));
    env.int("_RELAY_HOPS", pkt.map(|p| u64::from(p.hops)));
    let Some(pkt) = pkt else { return };
    if let Some(vendor_class) = pkt.option(OPTION_VENDOR_CLASS) {
        // Kea parses option 60 as a string option; `toString()` is its text.
        // Its bytes as they are, as the string option holds them.
        env.text("_OPTION60", Some(&vendor_class.payload[..]));
    }
    if let Some(rai) = pkt.option(OPTION_RAI) {
        env.set("_RAI", Some(&rai.payload[..]), push_option_hex);
        let subs = option82_sub_options(&rai.payload);
        for (code, suffix) in [
            (RAI_CIRCUIT_ID, "_RAI_CIRCUIT_ID"),
            (RAI_REMOTE_ID, "_RAI_REMOTE_ID"),
        ] {
            // Kea's getOption finds the first occurrence.
            if let Some(&(_, value)) = subs.iter().find(|(c, _)| *c == code) {
                env.set(suffix, Some(value), push_option_hex);
            }
        }
    }
}

/// Kea's `Pkt6::getLabel()`: `duid=[<DUID>], tid=0x<hex>`, `no info` without a DUID.
fn push_label(out: &mut String, pkt: &Pkt6) {
    out.push_str("duid=[");
    match &pkt.client_id {
        Some(duid) => push_colon_hex(out, &duid.0),
        None => out.push_str("no info"),
    }
    let _ = write!(out, "], tid=0x{:x}", pkt.transid);
}

fn pkt6(env: &mut Env, pkt: Option<&Pkt6>) {
    env.word("_TYPE", pkt.map(|p| pkt6_type_name(p.msg_type)));
    env.text("_INTERFACE", pkt.map(|p| &p.iface_name[..]));
    signed(env, "_IFINDEX", pkt.map(|p| ifindex(p.iface_index)));
    hwaddr(env, pkt.and_then(|p| p.mac.as_ref()));
    env.ipv6("_LOCAL_ADDRESS", pkt.map(|p| p.local_addr));
    env.int("_LOCAL_PORT", pkt.map(|p| u64::from(p.local_port)));
    env.ipv6("_REMOTE_ADDRESS", pkt.map(|p| p.remote_addr));
    env.int("_REMOTE_PORT", pkt.map(|p| u64::from(p.remote_port)));
    env.set("_LABEL", pkt, push_label);
    env.int("_TRANSACTION_ID", pkt.map(|p| u64::from(p.transid)));
    // Always empty there ("TODO").
    env.word("_DUID", None);
    env.text("_DEBUG", pkt.and_then(|p| p.kea_text.as_deref()));
}

fn subnet4(env: &mut Env, subnet: Option<&Subnet4>) {
    env.set("", subnet, |out, s| {
        push_ipv4(out, s.prefix.ip());
        let _ = write!(out, "/{}", s.prefix.prefix());
    });
    env.ipv4("_PREFIX", subnet.map(|s| s.prefix.ip()));
    env.int("_PREFIXLEN", subnet.map(|s| u64::from(s.prefix.prefix())));
}

fn subnet6(env: &mut Env, subnet: Option<&Subnet6>) {
    env.set("", subnet, |out, s| {
        push_ipv6(out, s.prefix.ip());
        let _ = write!(out, "/{}", s.prefix.prefix());
    });
    env.ipv6("_PREFIX", subnet.map(|s| s.prefix.ip()));
    env.int("_PREFIXLEN", subnet.map(|s| u64::from(s.prefix.prefix())));
}

fn lease4(env: &mut Env, lease: Option<&Lease4>) {
    env.word("_TYPE", lease.map(|_| "V4"));
    env.word(
        "_STATE",
        lease.map(|l| lease_state_text(l.state)).as_deref(),
    );
    flag(env, "_IS_EXPIRED", lease.map(|l| l.expired));
    env.ipv4("_ADDRESS", lease.map(|l| l.address));
    env.colon_hex(
        "_HWADDR",
        lease.map(|l| l.hwaddr.as_ref().map_or(&[][..], |h| &h.bytes[..])),
    );
    env.text("_HOSTNAME", lease.map(|l| &l.hostname[..]));
    signed(env, "_CLIENT_LAST_TRANSMISSION", lease.map(|l| l.cltt));
    env.int(
        "_VALID_LIFETIME",
        lease.map(|l| u64::from(l.valid_lifetime)),
    );
    env.text("_DEBUG", lease.and_then(|l| l.kea_text.as_deref()));
}

fn lease6(env: &mut Env, lease: Option<&Lease6>) {
    env.word(
        "_TYPE",
        lease.map(|l| lease_type_text(l.lease_type)).as_deref(),
    );
    env.word(
        "_STATE",
        lease.map(|l| lease_state_text(l.state)).as_deref(),
    );
    flag(env, "_IS_EXPIRED", lease.map(|l| l.expired));
    env.ipv6("_ADDRESS", lease.map(|l| l.address));
    let delegated = lease.filter(|l| LeaseType::from_raw(l.lease_type.to_raw()) == LeaseType::Pd);
    if let Some(l) = delegated {
        env.set("_DELEGATED_PREFIX", Some(l), |out, l| {
            push_ipv6(out, l.address);
            let _ = write!(out, "/{}", l.prefix_len);
        });
        env.int("_DELEGATED_PREFIXLEN", Some(u64::from(l.prefix_len)));
    }
    env.colon_hex(
        "_HWADDR",
        lease.map(|l| l.hwaddr.as_ref().map_or(&[][..], |h| &h.bytes[..])),
    );
    env.text("_HOSTNAME", lease.map(|l| &l.hostname[..]));
    env.colon_hex(
        "_CLIENT_DUID",
        lease.map(|l| l.duid.as_ref().map_or(&[][..], |d| &d.0[..])),
    );
    signed(env, "_CLIENT_LAST_TRANSMISSION", lease.map(|l| l.cltt));
    env.int(
        "_VALID_LIFETIME",
        lease.map(|l| u64::from(l.valid_lifetime)),
    );
    env.int(
        "_PREFERRED_LIFETIME",
        lease.map(|l| u64::from(l.preferred_lifetime)),
    );
    env.int("_IAID", lease.map(|l| u64::from(l.iaid)));
    env.text("_DEBUG", lease.and_then(|l| l.kea_text.as_deref()));
}
