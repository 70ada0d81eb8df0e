//! Raw shim structs → `kea-runscript-env` models. Pure: no Kea, no I/O, unit-tested here.
//!
//! `present == false` becomes `None`. Byte strings that should be text (interface names,
//! hostnames) are decoded lossily: the env models hold `String`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use kea_runscript_env::{
    ClientId, DhcpOption, Duid, HwAddr, Ia, Lease4, Lease6, LeaseState, LeaseType, Pkt4, Pkt6,
    Proto, Relay6, Subnet4, Subnet6,
};

use crate::bridge::ffi::{
    RawBool, RawBytes, RawHwAddr, RawIa, RawLease4, RawLease6, RawLeases4, RawLeases6, RawOption,
    RawPkt4, RawPkt6, RawRelay6, RawSubnet4, RawSubnet6,
};

/// A raw value the models cannot hold (e.g. an address of the wrong length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError(String);

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConvertError {}

type Result<T> = std::result::Result<T, ConvertError>;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// 16 bytes are an IPv6 address; 4 bytes (an IPv4 address where Kea had one) become the
/// IPv4-mapped IPv6 address.
fn ipv6(bytes: &[u8], what: &str) -> Result<Ipv6Addr> {
    if let Ok(octets) = <[u8; 16]>::try_from(bytes) {
        Ok(Ipv6Addr::from(octets))
    } else if let Ok(octets) = <[u8; 4]>::try_from(bytes) {
        Ok(Ipv4Addr::from(octets).to_ipv6_mapped())
    } else {
        Err(ConvertError(format!(
            "{what}: address of {} bytes, expected 16",
            bytes.len()
        )))
    }
}

/// A hardware address.
pub fn hwaddr(raw: RawHwAddr) -> Option<HwAddr> {
    raw.present.then_some(HwAddr {
        htype: raw.htype,
        bytes: raw.bytes,
        source: raw.source,
    })
}

/// A client identifier.
pub fn client_id(raw: RawBytes) -> Option<ClientId> {
    raw.present.then_some(ClientId(raw.bytes))
}

fn duid(raw: RawBytes) -> Option<Duid> {
    raw.present.then_some(Duid(raw.bytes))
}

fn options(raw: Vec<RawOption>) -> Vec<DhcpOption> {
    raw.into_iter()
        .map(|o| DhcpOption {
            code: o.code,
            payload: o.payload,
        })
        .collect()
}

/// A DHCPv4 packet.
pub fn pkt4(raw: RawPkt4) -> Option<Pkt4> {
    raw.present.then(|| Pkt4 {
        msg_type: raw.msg_type,
        transid: raw.transid,
        local_addr: Ipv4Addr::from(raw.local_addr),
        local_port: raw.local_port,
        remote_addr: Ipv4Addr::from(raw.remote_addr),
        remote_port: raw.remote_port,
        iface_index: raw.iface_index,
        iface_name: text(&raw.iface_name),
        hops: raw.hops,
        secs: raw.secs,
        flags: raw.flags,
        ciaddr: Ipv4Addr::from(raw.ciaddr),
        siaddr: Ipv4Addr::from(raw.siaddr),
        yiaddr: Ipv4Addr::from(raw.yiaddr),
        giaddr: Ipv4Addr::from(raw.giaddr),
        hwaddr: hwaddr(raw.hwaddr),
        local_hwaddr: hwaddr(raw.local_hwaddr),
        remote_hwaddr: hwaddr(raw.remote_hwaddr),
        options: options(raw.options),
    })
}

fn relay6(raw: RawRelay6) -> Result<Relay6> {
    Ok(Relay6 {
        msg_type: raw.msg_type,
        hop_count: raw.hop_count,
        link_addr: ipv6(&raw.link_addr, "relay link-addr")?,
        peer_addr: ipv6(&raw.peer_addr, "relay peer-addr")?,
        options: options(raw.options),
    })
}

/// A DHCPv6 packet.
pub fn pkt6(raw: RawPkt6) -> Result<Option<Pkt6>> {
    if !raw.present {
        return Ok(None);
    }
    Ok(Some(Pkt6 {
        msg_type: raw.msg_type,
        transid: raw.transid,
        local_addr: ipv6(&raw.local_addr, "packet local address")?,
        local_port: raw.local_port,
        remote_addr: ipv6(&raw.remote_addr, "packet remote address")?,
        remote_port: raw.remote_port,
        iface_index: raw.iface_index,
        iface_name: text(&raw.iface_name),
        remote_hwaddr: hwaddr(raw.remote_hwaddr),
        proto: if raw.proto == 1 {
            Proto::Tcp
        } else {
            Proto::Udp
        },
        client_id: duid(raw.client_id),
        options: options(raw.options),
        relays: raw.relays.into_iter().map(relay6).collect::<Result<_>>()?,
    }))
}

/// A DHCPv4 lease.
pub fn lease4(raw: RawLease4) -> Option<Lease4> {
    raw.present.then(|| Lease4 {
        address: Ipv4Addr::from(raw.address),
        cltt: raw.cltt,
        hostname: text(&raw.hostname),
        hwaddr: hwaddr(raw.hwaddr),
        state: LeaseState::from_raw(raw.state),
        subnet_id: raw.subnet_id,
        valid_lifetime: raw.valid_lifetime,
        client_id: client_id(raw.client_id),
    })
}

/// A DHCPv6 lease.
pub fn lease6(raw: RawLease6) -> Result<Option<Lease6>> {
    if !raw.present {
        return Ok(None);
    }
    Ok(Some(Lease6 {
        address: ipv6(&raw.address, "lease6 address")?,
        cltt: raw.cltt,
        hostname: text(&raw.hostname),
        hwaddr: hwaddr(raw.hwaddr),
        state: LeaseState::from_raw(raw.state),
        subnet_id: raw.subnet_id,
        valid_lifetime: raw.valid_lifetime,
        duid: duid(raw.duid),
        iaid: raw.iaid,
        preferred_lifetime: raw.preferred_lifetime,
        prefix_len: raw.prefix_len,
        lease_type: LeaseType::from_raw(raw.lease_type),
    }))
}

/// A collection of DHCPv4 leases.
pub fn leases4(raw: RawLeases4) -> Option<Vec<Lease4>> {
    raw.present
        .then(|| raw.leases.into_iter().filter_map(lease4).collect())
}

/// A collection of DHCPv6 leases.
pub fn leases6(raw: RawLeases6) -> Result<Option<Vec<Lease6>>> {
    if !raw.present {
        return Ok(None);
    }
    let mut leases = Vec::with_capacity(raw.leases.len());
    for lease in raw.leases {
        leases.extend(lease6(lease)?);
    }
    Ok(Some(leases))
}

/// An IPv4 subnet.
pub fn subnet4(raw: RawSubnet4) -> Result<Option<Subnet4>> {
    if !raw.present {
        return Ok(None);
    }
    let prefix = ipnetwork::Ipv4Network::new(Ipv4Addr::from(raw.prefix), raw.prefix_len)
        .map_err(|e| ConvertError(format!("subnet4 {}: {e}", raw.id)))?;
    Ok(Some(Subnet4 { id: raw.id, prefix }))
}

/// An IPv6 subnet.
pub fn subnet6(raw: RawSubnet6) -> Result<Option<Subnet6>> {
    if !raw.present {
        return Ok(None);
    }
    let address = ipv6(&raw.prefix, "subnet6 prefix")?;
    let prefix = ipnetwork::Ipv6Network::new(address, raw.prefix_len)
        .map_err(|e| ConvertError(format!("subnet6 {}: {e}", raw.id)))?;
    Ok(Some(Subnet6 { id: raw.id, prefix }))
}

/// An IA option.
pub fn ia(raw: RawIa) -> Option<Ia> {
    raw.present.then_some(Ia {
        iaid: raw.iaid,
        ia_type: raw.ia_type,
        t1: raw.t1,
        t2: raw.t2,
    })
}

/// A boolean argument.
pub fn boolean(raw: RawBool) -> Option<bool> {
    raw.present.then_some(raw.value)
}
