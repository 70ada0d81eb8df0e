use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::raw_form::raw_in_binary_formats;
use super::{Duid, HwAddr};

/// A DHCP option: its code and its payload as Kea packs it (without the code/length header).
///
/// Rendered as `0x` followed by the upper-case hex of the payload (Kea's `Option::toHexString`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DhcpOption {
    /// The option code (DHCPv4 codes fit in a byte).
    pub code: u16,
    /// The packed payload (for option 82: the sub-option TLVs). JSON: a hex string.
    #[serde(with = "super::hex_bytes")]
    pub payload: Vec<u8>,
}

/// A DHCPv4 packet as Kea's `Pkt4` (the fields Kea's run-script hook renders).
///
/// `QUERY4_RELAYED` is derived from `giaddr` as Kea's `Pkt4::isRelayed` does
/// (relayed when `giaddr` is neither `0.0.0.0` nor `255.255.255.255`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pkt4 {
    /// The DHCP message type (option 53), e.g. 3 for DHCPREQUEST; Kea's `getType()`.
    pub msg_type: u8,
    /// The transaction id.
    pub transid: u32,
    /// The server-side address the packet was received on (or is sent from).
    pub local_addr: Ipv4Addr,
    /// The server-side UDP port.
    pub local_port: u16,
    /// The peer's address.
    pub remote_addr: Ipv4Addr,
    /// The peer's UDP port.
    pub remote_port: u16,
    /// The interface index.
    pub iface_index: u32,
    /// The interface name (a NUL ends the rendered value).
    pub iface_name: String,
    /// The `hops` header field.
    pub hops: u8,
    /// The `secs` header field.
    pub secs: u16,
    /// The `flags` header field (0x8000 = broadcast), rendered in decimal.
    pub flags: u16,
    /// The `ciaddr` header field.
    pub ciaddr: Ipv4Addr,
    /// The `siaddr` header field.
    pub siaddr: Ipv4Addr,
    /// The `yiaddr` header field.
    pub yiaddr: Ipv4Addr,
    /// The `giaddr` header field (relay agent address).
    pub giaddr: Ipv4Addr,
    /// The client hardware address (`chaddr`/`htype`), Kea's `getHWAddr()`.
    pub hwaddr: Option<HwAddr>,
    /// The local (server interface) hardware address, Kea's `getLocalHWAddr()`.
    pub local_hwaddr: Option<HwAddr>,
    /// The remote (sender's) hardware address, Kea's `getRemoteHWAddr()`.
    pub remote_hwaddr: Option<HwAddr>,
    /// The packet's options (only option 82 is rendered).
    pub options: Vec<DhcpOption>,
}

impl Pkt4 {
    /// A packet of type `msg_type` with transaction id `transid`; every other field
    /// empty (addresses unspecified, ports and counters 0, no options). Set the
    /// fields you need:
    ///
    /// ```
    /// use kea_runscript_env::{HwAddr, Pkt4};
    ///
    /// let mut query = Pkt4::new(3, 0x1234); // DHCPREQUEST
    /// query.hwaddr = Some(HwAddr::ethernet([0x00, 0x0c, 0x01, 0x02, 0x03, 0x04]));
    /// assert!(!query.is_relayed());
    /// ```
    pub fn new(msg_type: u8, transid: u32) -> Pkt4 {
        Pkt4 {
            msg_type,
            transid,
            local_addr: Ipv4Addr::UNSPECIFIED,
            local_port: 0,
            remote_addr: Ipv4Addr::UNSPECIFIED,
            remote_port: 0,
            iface_index: 0,
            iface_name: String::new(),
            hops: 0,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            hwaddr: None,
            local_hwaddr: None,
            remote_hwaddr: None,
            options: Vec::new(),
        }
    }

    /// The first option with this code.
    pub fn option(&self, code: u16) -> Option<&DhcpOption> {
        self.options.iter().find(|o| o.code == code)
    }

    /// Whether the packet came through a relay, as Kea's `Pkt4::isRelayed`: `giaddr` is
    /// neither `0.0.0.0` nor `255.255.255.255`.
    pub fn is_relayed(&self) -> bool {
        !self.giaddr.is_unspecified() && !self.giaddr.is_broadcast()
    }
}

/// The transport a DHCPv6 packet came on (Kea's `Pkt6::DHCPv6Proto`).
///
/// JSON: `"udp"` or `"tcp"`; binary formats: Kea's raw number (1 TCP, anything else UDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", remote = "Self")]
pub enum Proto {
    /// UDP, rendered `UDP`.
    #[default]
    Udp,
    /// TCP (bulk leasequery), rendered `TCP`.
    Tcp,
}

impl Proto {
    /// The transport for Kea's raw `DHCPv6Proto` value: 1 is TCP, anything else UDP.
    pub fn from_raw(raw: u8) -> Proto {
        if raw == 1 {
            Proto::Tcp
        } else {
            Proto::Udp
        }
    }

    /// Kea's raw `DHCPv6Proto` value.
    pub fn to_raw(self) -> u8 {
        match self {
            Proto::Udp => 0,
            Proto::Tcp => 1,
        }
    }
}

raw_in_binary_formats!(Proto, u8);

/// One relay encapsulation of a DHCPv6 packet, as Kea's `Pkt6::RelayInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Relay6 {
    /// The relay message type (12 RELAY-FORW, 13 RELAY-REPL).
    pub msg_type: u8,
    /// The hop count.
    pub hop_count: u8,
    /// The link address.
    pub link_addr: Ipv6Addr,
    /// The peer address.
    pub peer_addr: Ipv6Addr,
    /// The options this relay added (e.g. 18 interface-id, 37 remote-id, 38 subscriber-id).
    pub options: Vec<DhcpOption>,
}

/// A DHCPv6 packet as Kea's `Pkt6` (the fields Kea's run-script hook renders).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pkt6 {
    /// The DHCPv6 message type, e.g. 5 for RENEW.
    pub msg_type: u8,
    /// The transaction id (24 bits).
    pub transid: u32,
    /// The server-side address the packet was received on (or is sent from).
    pub local_addr: Ipv6Addr,
    /// The server-side UDP port.
    pub local_port: u16,
    /// The peer's address.
    pub remote_addr: Ipv6Addr,
    /// The peer's UDP port.
    pub remote_port: u16,
    /// The interface index.
    pub iface_index: u32,
    /// The interface name (a NUL ends the rendered value).
    pub iface_name: String,
    /// The remote (sender's) hardware address, Kea's `getRemoteHWAddr()`.
    pub remote_hwaddr: Option<HwAddr>,
    /// The transport.
    pub proto: Proto,
    /// The client's DUID (option 1), Kea's `getClientId()`.
    pub client_id: Option<Duid>,
    /// The packet's own options (not the relays').
    pub options: Vec<DhcpOption>,
    /// The relay encapsulations: `relays[0]` is the outermost one (next to the server),
    /// the last is the relay closest to the client, as Kea's `relay_info_`.
    pub relays: Vec<Relay6>,
    /// The client's hardware address as Kea's `getMAC(HWADDR_SOURCE_ANY)` finds it (raw
    /// socket, relay option 79, DUID, link-local address, remote-id, DOCSIS options, in
    /// Kea's order), with the source that found it. Only the kea-hook-runscript profile
    /// renders it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<HwAddr>,
    /// Kea's own multi-line dump of the packet (`Pkt6::toText()`), when the extraction
    /// asked Kea for it (only the kea-hook-runscript profile renders it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kea_text: Option<String>,
}

impl Relay6 {
    /// A relay layer with its header fields and no options.
    pub fn new(msg_type: u8, hop_count: u8, link_addr: Ipv6Addr, peer_addr: Ipv6Addr) -> Relay6 {
        Relay6 {
            msg_type,
            hop_count,
            link_addr,
            peer_addr,
            options: Vec::new(),
        }
    }
}

impl Pkt6 {
    /// A packet of type `msg_type` with transaction id `transid`; every other field
    /// empty (addresses unspecified, ports 0, UDP, no options, no relays).
    pub fn new(msg_type: u8, transid: u32) -> Pkt6 {
        Pkt6 {
            msg_type,
            transid,
            local_addr: Ipv6Addr::UNSPECIFIED,
            local_port: 0,
            remote_addr: Ipv6Addr::UNSPECIFIED,
            remote_port: 0,
            iface_index: 0,
            iface_name: String::new(),
            remote_hwaddr: None,
            proto: Proto::Udp,
            client_id: None,
            options: Vec::new(),
            relays: Vec::new(),
            mac: None,
            kea_text: None,
        }
    }

    /// The option with this code from the relay closest to the client that carries it
    /// (Kea's `getAnyRelayOption(code, RELAY_SEARCH_FROM_CLIENT)`).
    pub fn relay_option_from_client(&self, code: u16) -> Option<&DhcpOption> {
        self.relays
            .iter()
            .rev()
            .find_map(|relay| relay.options.iter().find(|o| o.code == code))
    }
}
