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

fn hw(raw: RawHwAddr) -> Option<HwAddr> {
    raw.present.then_some(HwAddr {
        htype: raw.htype,
        bytes: raw.bytes,
        source: raw.source,
    })
}

fn id(raw: RawBytes) -> Option<ClientId> {
    raw.present.then_some(ClientId(raw.bytes))
}

/// A hardware address.
pub fn hwaddr(raw: RawHwAddr) -> Result<Option<HwAddr>> {
    Ok(hw(raw))
}

/// A client identifier.
pub fn client_id(raw: RawBytes) -> Result<Option<ClientId>> {
    Ok(id(raw))
}

/// An `IOAddress` argument (`address6`).
pub fn address6(raw: RawBytes) -> Result<Option<Ipv6Addr>> {
    if !raw.present {
        return Ok(None);
    }
    ipv6(&raw.bytes, "address6").map(Some)
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
pub fn pkt4(raw: RawPkt4) -> Result<Option<Pkt4>> {
    Ok(raw.present.then(|| {
        let mut pkt = Pkt4::new(raw.msg_type, raw.transid);
        pkt.local_addr = Ipv4Addr::from(raw.local_addr);
        pkt.local_port = raw.local_port;
        pkt.remote_addr = Ipv4Addr::from(raw.remote_addr);
        pkt.remote_port = raw.remote_port;
        pkt.iface_index = raw.iface_index;
        pkt.iface_name = text(&raw.iface_name);
        pkt.hops = raw.hops;
        pkt.secs = raw.secs;
        pkt.flags = raw.flags;
        pkt.ciaddr = Ipv4Addr::from(raw.ciaddr);
        pkt.siaddr = Ipv4Addr::from(raw.siaddr);
        pkt.yiaddr = Ipv4Addr::from(raw.yiaddr);
        pkt.giaddr = Ipv4Addr::from(raw.giaddr);
        pkt.hwaddr = hw(raw.hwaddr);
        pkt.local_hwaddr = hw(raw.local_hwaddr);
        pkt.remote_hwaddr = hw(raw.remote_hwaddr);
        pkt.options = options(raw.options);
        pkt
    }))
}

fn relay6(raw: RawRelay6) -> Result<Relay6> {
    let mut relay = Relay6::new(
        raw.msg_type,
        raw.hop_count,
        ipv6(&raw.link_addr, "relay link-addr")?,
        ipv6(&raw.peer_addr, "relay peer-addr")?,
    );
    relay.options = options(raw.options);
    Ok(relay)
}

/// A DHCPv6 packet.
pub fn pkt6(raw: RawPkt6) -> Result<Option<Pkt6>> {
    if !raw.present {
        return Ok(None);
    }
    let mut pkt = Pkt6::new(raw.msg_type, raw.transid);
    pkt.local_addr = ipv6(&raw.local_addr, "packet local address")?;
    pkt.local_port = raw.local_port;
    pkt.remote_addr = ipv6(&raw.remote_addr, "packet remote address")?;
    pkt.remote_port = raw.remote_port;
    pkt.iface_index = raw.iface_index;
    pkt.iface_name = text(&raw.iface_name);
    pkt.remote_hwaddr = hw(raw.remote_hwaddr);
    pkt.proto = if raw.proto == 1 {
        Proto::Tcp
    } else {
        Proto::Udp
    };
    pkt.client_id = duid(raw.client_id);
    pkt.options = options(raw.options);
    pkt.relays = raw.relays.into_iter().map(relay6).collect::<Result<_>>()?;
    pkt.mac = hw(raw.mac);
    // Kea's dump only on request (extract::kea_texts).
    Ok(Some(pkt))
}

fn v4_lease(raw: RawLease4) -> Option<Lease4> {
    raw.present.then(|| {
        let mut lease = Lease4::new(Ipv4Addr::from(raw.address));
        lease.cltt = raw.cltt;
        lease.hostname = text(&raw.hostname);
        lease.hwaddr = hw(raw.hwaddr);
        lease.state = LeaseState::from_raw(raw.state);
        lease.subnet_id = raw.subnet_id;
        lease.valid_lifetime = raw.valid_lifetime;
        lease.client_id = id(raw.client_id);
        lease.expired = raw.expired;
        lease
    })
}

/// A DHCPv4 lease.
pub fn lease4(raw: RawLease4) -> Result<Option<Lease4>> {
    Ok(v4_lease(raw))
}

/// A DHCPv6 lease.
pub fn lease6(raw: RawLease6) -> Result<Option<Lease6>> {
    if !raw.present {
        return Ok(None);
    }
    let mut lease = Lease6::new(
        LeaseType::from_raw(raw.lease_type),
        ipv6(&raw.address, "lease6 address")?,
        raw.prefix_len,
    );
    lease.cltt = raw.cltt;
    lease.hostname = text(&raw.hostname);
    lease.hwaddr = hw(raw.hwaddr);
    lease.state = LeaseState::from_raw(raw.state);
    lease.subnet_id = raw.subnet_id;
    lease.valid_lifetime = raw.valid_lifetime;
    lease.duid = duid(raw.duid);
    lease.iaid = raw.iaid;
    lease.preferred_lifetime = raw.preferred_lifetime;
    lease.expired = raw.expired;
    Ok(Some(lease))
}

/// A collection of DHCPv4 leases.
pub fn leases4(raw: RawLeases4) -> Result<Option<Vec<Lease4>>> {
    Ok(raw
        .present
        .then(|| raw.leases.into_iter().filter_map(v4_lease).collect()))
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
    Ok(Some(Subnet4::new(raw.id, prefix)))
}

/// An IPv6 subnet.
pub fn subnet6(raw: RawSubnet6) -> Result<Option<Subnet6>> {
    if !raw.present {
        return Ok(None);
    }
    let address = ipv6(&raw.prefix, "subnet6 prefix")?;
    let prefix = ipnetwork::Ipv6Network::new(address, raw.prefix_len)
        .map_err(|e| ConvertError(format!("subnet6 {}: {e}", raw.id)))?;
    Ok(Some(Subnet6::new(raw.id, prefix)))
}

/// An IA option.
pub fn ia(raw: RawIa) -> Result<Option<Ia>> {
    Ok(raw
        .present
        .then_some(Ia::new(raw.iaid, raw.ia_type, raw.t1, raw.t2)))
}

/// A boolean argument.
pub fn boolean(raw: RawBool) -> Result<Option<bool>> {
    Ok(raw.present.then_some(raw.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> RawHwAddr {
        RawHwAddr {
            present: true,
            htype: 1,
            bytes: vec![0, 0x0c, 1, 2, 3, last],
            source: 4,
        }
    }

    fn v6_bytes(text: &str) -> Vec<u8> {
        text.parse::<Ipv6Addr>().unwrap().octets().to_vec()
    }

    #[test]
    fn absent_objects_become_none() {
        assert_eq!(pkt4(RawPkt4::default()), Ok(None));
        assert_eq!(pkt6(RawPkt6::default()), Ok(None));
        assert_eq!(lease4(RawLease4::default()), Ok(None));
        assert_eq!(lease6(RawLease6::default()), Ok(None));
        assert_eq!(leases4(RawLeases4::default()), Ok(None));
        assert_eq!(leases6(RawLeases6::default()), Ok(None));
        assert_eq!(subnet4(RawSubnet4::default()), Ok(None));
        assert_eq!(subnet6(RawSubnet6::default()), Ok(None));
        assert_eq!(hwaddr(RawHwAddr::default()), Ok(None));
        assert_eq!(client_id(RawBytes::default()), Ok(None));
        assert_eq!(ia(RawIa::default()), Ok(None));
        assert_eq!(boolean(RawBool::default()), Ok(None));
    }

    #[test]
    fn present_but_empty_collection_is_an_empty_list() {
        let raw = RawLeases4 {
            present: true,
            leases: vec![],
        };
        assert_eq!(leases4(raw), Ok(Some(vec![])));
    }

    #[test]
    fn pkt4_fields_map_one_to_one() {
        let raw = RawPkt4 {
            present: true,
            msg_type: 3,
            transid: 0xdead_beef,
            local_addr: u32::from(Ipv4Addr::new(192, 0, 2, 1)),
            local_port: 67,
            remote_addr: u32::from(Ipv4Addr::new(192, 0, 2, 2)),
            remote_port: 68,
            iface_index: 7,
            iface_name: b"veth\xff0".to_vec(),
            hops: 1,
            secs: 5,
            flags: 0x8000,
            ciaddr: 0,
            siaddr: u32::from(Ipv4Addr::new(192, 0, 2, 1)),
            yiaddr: u32::from(Ipv4Addr::new(10, 0, 0, 10)),
            giaddr: u32::from(Ipv4Addr::new(192, 0, 2, 2)),
            hwaddr: mac(4),
            local_hwaddr: RawHwAddr::default(),
            remote_hwaddr: mac(9),
            options: vec![RawOption {
                code: 82,
                payload: vec![1, 2, 0xab, 0xcd],
            }],
        };
        let pkt = pkt4(raw).unwrap().unwrap();
        assert_eq!(pkt.msg_type, 3);
        assert_eq!(pkt.transid, 0xdead_beef);
        assert_eq!(pkt.local_addr, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(pkt.remote_port, 68);
        // Not UTF-8: decoded lossily, never dropped.
        assert_eq!(pkt.iface_name, "veth\u{fffd}0");
        assert_eq!(pkt.flags, 0x8000);
        assert_eq!(pkt.yiaddr, Ipv4Addr::new(10, 0, 0, 10));
        assert!(pkt.is_relayed());
        assert_eq!(
            pkt.hwaddr.as_ref().unwrap().bytes,
            vec![0, 0x0c, 1, 2, 3, 4]
        );
        assert_eq!(pkt.hwaddr.as_ref().unwrap().source, 4);
        assert_eq!(pkt.local_hwaddr, None);
        assert_eq!(pkt.remote_hwaddr.as_ref().unwrap().bytes[5], 9);
        assert_eq!(pkt.option(82).unwrap().payload, vec![1, 2, 0xab, 0xcd]);
    }

    #[test]
    fn pkt6_with_relays_and_duid() {
        let raw = RawPkt6 {
            present: true,
            msg_type: 5,
            transid: 0x12_3456,
            local_addr: v6_bytes("ff02::1:2"),
            local_port: 547,
            remote_addr: v6_bytes("fe80::1"),
            remote_port: 547,
            iface_index: 3,
            iface_name: b"vs".to_vec(),
            remote_hwaddr: RawHwAddr::default(),
            proto: 1,
            client_id: RawBytes {
                present: true,
                bytes: vec![0, 3, 0, 1, 1, 2, 3, 4, 5, 6],
            },
            options: vec![],
            relays: vec![RawRelay6 {
                msg_type: 12,
                hop_count: 0,
                link_addr: v6_bytes("2001:db8:1::1"),
                peer_addr: v6_bytes("fe80::2"),
                options: vec![RawOption {
                    code: 18,
                    payload: b"eth0".to_vec(),
                }],
            }],
            mac: mac(6),
        };
        let pkt = pkt6(raw).unwrap().unwrap();
        assert_eq!(pkt.mac.as_ref().map(|m| m.bytes[5]), Some(6));
        assert_eq!(pkt.kea_text, None);
        assert_eq!(pkt.proto, Proto::Tcp);
        assert_eq!(
            pkt.client_id,
            Some(Duid(vec![0, 3, 0, 1, 1, 2, 3, 4, 5, 6]))
        );
        assert_eq!(pkt.relays.len(), 1);
        assert_eq!(
            pkt.relays[0].link_addr,
            "2001:db8:1::1".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(pkt.relay_option_from_client(18).unwrap().payload, b"eth0");
    }

    #[test]
    fn a_bad_address_length_is_an_error_not_a_panic() {
        let raw = RawPkt6 {
            present: true,
            local_addr: vec![1, 2, 3],
            remote_addr: v6_bytes("::1"),
            ..RawPkt6::default()
        };
        let error = pkt6(raw).unwrap_err();
        assert!(error.to_string().contains("3 bytes"), "{error}");
    }

    #[test]
    fn a_four_byte_address_becomes_ipv4_mapped() {
        let raw = RawSubnet6 {
            present: true,
            id: 1,
            prefix: vec![192, 0, 2, 0],
            prefix_len: 120,
        };
        let subnet = subnet6(raw).unwrap().unwrap();
        assert_eq!(
            subnet.prefix.ip(),
            Ipv4Addr::new(192, 0, 2, 0).to_ipv6_mapped()
        );
    }

    #[test]
    fn lease6_state_type_and_lifetimes() {
        let raw = RawLease6 {
            present: true,
            address: v6_bytes("2001:db8:8000::"),
            cltt: 1_700_000_000,
            hostname: b"host".to_vec(),
            hwaddr: mac(4),
            state: 1,
            subnet_id: 7,
            valid_lifetime: 4000,
            duid: RawBytes {
                present: true,
                bytes: vec![0, 1],
            },
            iaid: 9,
            preferred_lifetime: 3000,
            prefix_len: 56,
            lease_type: 2,
            expired: true,
        };
        let lease = lease6(raw).unwrap().unwrap();
        assert!(lease.expired);
        assert_eq!(lease.state, LeaseState::Declined);
        assert_eq!(lease.lease_type, LeaseType::Pd);
        assert_eq!(lease.prefix_len, 56);
        assert_eq!(lease.preferred_lifetime, 3000);
        assert_eq!(lease.duid, Some(Duid(vec![0, 1])));
        assert_eq!(lease.hostname, "host");
    }

    #[test]
    fn leases4_keep_order_and_client_ids() {
        let lease = |last: u8| RawLease4 {
            present: true,
            address: u32::from(Ipv4Addr::new(10, 0, 0, last)),
            cltt: 1,
            hostname: vec![],
            hwaddr: mac(last),
            state: 2,
            subnet_id: 2,
            valid_lifetime: 4,
            client_id: RawBytes {
                present: true,
                bytes: vec![1, last],
            },
            expired: last == 11,
        };
        let leases = leases4(RawLeases4 {
            present: true,
            leases: vec![lease(10), lease(11)],
        })
        .unwrap()
        .unwrap();
        assert_eq!(leases[0].address, Ipv4Addr::new(10, 0, 0, 10));
        assert_eq!(leases[1].client_id, Some(ClientId(vec![1, 11])));
        assert_eq!(leases[1].state, LeaseState::ExpiredReclaimed);
        assert_eq!((leases[0].expired, leases[1].expired), (false, true));
    }

    #[test]
    fn subnet4_with_an_impossible_prefix_length_is_an_error() {
        let raw = RawSubnet4 {
            present: true,
            id: 3,
            prefix: 0,
            prefix_len: 33,
        };
        assert!(subnet4(raw).is_err());
    }

    #[test]
    fn ia_and_bool() {
        let raw = RawIa {
            present: true,
            iaid: 1,
            ia_type: 25,
            t1: 100,
            t2: 160,
        };
        assert_eq!(ia(raw), Ok(Some(Ia::new(1, 25, 100, 160))));
        let raw = RawBool {
            present: true,
            value: false,
        };
        assert_eq!(boolean(raw), Ok(Some(false)));
    }
}
