//! Renderers of DHCPv4 and DHCPv6 packets.

use super::env::Env;
use super::scalar;
use crate::format::{option82_sub_options, pkt4_type_name};
use crate::{Pkt4, Pkt6, Proto};

/// Relay agent information option (82).
const OPTION_RAI: u16 = 82;
/// DHCPv6 relay options rendered from the relay closest to the client:
/// interface-id (18), remote-id (37), subscriber-id (38).
const RELAY6_OPTIONS: [u16; 3] = [18, 37, 38];

pub(crate) fn pkt4(env: &mut Env, pkt: Option<&Pkt4>) {
    env.word("_TYPE", pkt.map(|p| pkt4_type_name(p.msg_type)));
    env.int("_TXID", pkt.map(|p| u64::from(p.transid)));
    env.ipv4("_LOCAL_ADDR", pkt.map(|p| p.local_addr));
    env.int("_LOCAL_PORT", pkt.map(|p| u64::from(p.local_port)));
    env.ipv4("_REMOTE_ADDR", pkt.map(|p| p.remote_addr));
    env.int("_REMOTE_PORT", pkt.map(|p| u64::from(p.remote_port)));
    env.int("_IFACE_INDEX", pkt.map(|p| u64::from(p.iface_index)));
    env.text("_IFACE_NAME", pkt.map(|p| &p.iface_name[..]));
    env.int("_HOPS", pkt.map(|p| u64::from(p.hops)));
    env.int("_SECS", pkt.map(|p| u64::from(p.secs)));
    env.int("_FLAGS", pkt.map(|p| u64::from(p.flags)));
    env.ipv4("_CIADDR", pkt.map(|p| p.ciaddr));
    env.ipv4("_SIADDR", pkt.map(|p| p.siaddr));
    env.ipv4("_YIADDR", pkt.map(|p| p.yiaddr));
    env.ipv4("_GIADDR", pkt.map(|p| p.giaddr));
    env.word(
        "_RELAYED",
        pkt.map(|p| if p.is_relayed() { "true" } else { "false" }),
    );
    env.scoped("_HWADDR", |env| {
        scalar::hwaddr(env, pkt.and_then(|p| p.hwaddr.as_ref()))
    });
    env.scoped("_LOCAL_HWADDR", |env| {
        scalar::hwaddr(env, pkt.and_then(|p| p.local_hwaddr.as_ref()))
    });
    env.scoped("_REMOTE_HWADDR", |env| {
        scalar::hwaddr(env, pkt.and_then(|p| p.remote_hwaddr.as_ref()))
    });
    if let Some(rai) = pkt.and_then(|p| p.option(OPTION_RAI)) {
        option82(env, &rai.payload);
    }
}

/// `<P>_OPTION_82` = the whole payload, then `<P>_OPTION_82_SUB_OPTION_<code>` for each
/// sub-option in code order (Kea's hook renders codes 1 and 2 this way); a code present
/// twice renders its first occurrence, as Kea's `getOption` finds it.
fn option82(env: &mut Env, payload: &[u8]) {
    env.option(OPTION_RAI, payload);
    let mut subs = option82_sub_options(payload);
    subs.sort_by_key(|&(code, _)| code); // stable: the first occurrence stays first
    subs.dedup_by_key(|&mut (code, _)| code);
    env.scoped("_OPTION_82_SUB", |env| {
        for (code, value) in subs {
            env.option(u16::from(code), value);
        }
    });
}

pub(crate) fn pkt6(env: &mut Env, pkt: Option<&Pkt6>) {
    env.word("_TYPE", pkt.map(|p| env.kea.pkt6_type_name(p.msg_type)));
    env.int("_TXID", pkt.map(|p| u64::from(p.transid)));
    env.ipv6("_LOCAL_ADDR", pkt.map(|p| p.local_addr));
    env.int("_LOCAL_PORT", pkt.map(|p| u64::from(p.local_port)));
    env.ipv6("_REMOTE_ADDR", pkt.map(|p| p.remote_addr));
    env.int("_REMOTE_PORT", pkt.map(|p| u64::from(p.remote_port)));
    env.int("_IFACE_INDEX", pkt.map(|p| u64::from(p.iface_index)));
    env.text("_IFACE_NAME", pkt.map(|p| &p.iface_name[..]));
    env.scoped("_REMOTE_HWADDR", |env| {
        scalar::hwaddr(env, pkt.and_then(|p| p.remote_hwaddr.as_ref()))
    });
    env.word(
        "_PROTO",
        pkt.map(|p| match p.proto {
            Proto::Udp => "UDP",
            Proto::Tcp => "TCP",
        }),
    );
    env.scoped("_CLIENT_ID", |env| {
        scalar::id(
            env,
            pkt.and_then(|p| p.client_id.as_ref()).map(|id| &id.0[..]),
        )
    });
    if let Some(pkt) = pkt {
        for code in RELAY6_OPTIONS {
            if let Some(option) = pkt.relay_option_from_client(code) {
                env.option(code, &option.payload);
            }
        }
    }
}
