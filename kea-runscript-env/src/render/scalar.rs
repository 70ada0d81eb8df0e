//! Renderers of the small models: hardware address, client-id/DUID, subnets, IA, booleans.

use super::env::Env;
use crate::{HwAddr, Ia, Subnet4, Subnet6};

/// `<P>` = the address, `<P>_TYPE` = its hardware type.
pub(crate) fn hwaddr(env: &mut Env, hwaddr: Option<&HwAddr>) {
    env.colon_hex("", hwaddr.map(|hw| &hw.bytes[..]));
    env.int("_TYPE", hwaddr.map(|hw| u64::from(hw.htype)));
}

/// `<P>` = a client-id or DUID.
pub(crate) fn id(env: &mut Env, bytes: Option<&[u8]>) {
    env.colon_hex("", bytes);
}

/// `<P>` = `true` or `false`.
pub(crate) fn boolean(env: &mut Env, value: Option<bool>) {
    env.word("", value.map(|b| if b { "true" } else { "false" }));
}

pub(crate) fn subnet4(env: &mut Env, subnet: Option<&Subnet4>) {
    env.int("_ID", subnet.map(|s| u64::from(s.id)));
    env.set("_NAME", subnet, |out, s| {
        crate::format::push_ipv4(out, s.prefix.ip());
        push_prefix_len(out, s.prefix.prefix());
    });
    env.ipv4("_PREFIX", subnet.map(|s| s.prefix.ip()));
    env.int("_PREFIX_LEN", subnet.map(|s| u64::from(s.prefix.prefix())));
}

pub(crate) fn subnet6(env: &mut Env, subnet: Option<&Subnet6>) {
    env.int("_ID", subnet.map(|s| u64::from(s.id)));
    env.set("_NAME", subnet, |out, s| {
        crate::format::push_ipv6(out, s.prefix.ip());
        push_prefix_len(out, s.prefix.prefix());
    });
    env.ipv6("_PREFIX", subnet.map(|s| s.prefix.ip()));
    env.int("_PREFIX_LEN", subnet.map(|s| u64::from(s.prefix.prefix())));
}

/// Kea's `Subnet::toText` is `<prefix>/<len>`.
fn push_prefix_len(out: &mut String, len: u8) {
    use std::fmt::Write as _;
    let _ = write!(out, "/{len}");
}

/// Kea names these `<P>_IAID`, `<P>_IA_TYPE`, `<P>_IA_T1`, `<P>_IA_T2` (so `PKT6_IA_IA_TYPE`).
pub(crate) fn ia(env: &mut Env, ia: Option<&Ia>) {
    env.int("_IAID", ia.map(|ia| u64::from(ia.iaid)));
    env.int("_IA_TYPE", ia.map(|ia| u64::from(ia.ia_type)));
    env.int("_IA_T1", ia.map(|ia| u64::from(ia.t1)));
    env.int("_IA_T2", ia.map(|ia| u64::from(ia.t2)));
}
