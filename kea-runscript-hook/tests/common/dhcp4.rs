//! DHCPv4 messages built byte by byte, and a client that speaks them over UDP from the
//! client namespace — for what perfdhcp cannot send (DECLINE, direct clients, option 82).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// DHCPv4 message type DISCOVER (option 53).
pub const DISCOVER: u8 = 1;
/// DHCPv4 message type OFFER (option 53).
pub const OFFER: u8 = 2;
/// DHCPv4 message type REQUEST (option 53).
pub const REQUEST: u8 = 3;
/// DHCPv4 message type DECLINE (option 53).
pub const DECLINE: u8 = 4;
/// DHCPv4 message type ACK (option 53).
pub const ACK: u8 = 5;
/// DHCPv4 message type NAK (option 53).
pub const NAK: u8 = 6;
/// DHCPv4 message type RELEASE (option 53).
pub const RELEASE: u8 = 7;

const MAGIC: [u8; 4] = [99, 130, 83, 99];

/// A BOOTP/DHCPv4 message (only the fields the tests set or read).
#[derive(Clone, Debug)]
pub struct Msg {
    /// BOOTP op: 1 request, 2 reply.
    pub op: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// Flags (0x8000: broadcast).
    pub flags: u16,
    /// Client address (renewing, releasing).
    pub ciaddr: Ipv4Addr,
    /// Address the server gives ("your" address).
    pub yiaddr: Ipv4Addr,
    /// Relay agent address.
    pub giaddr: Ipv4Addr,
    /// Client MAC.
    pub chaddr: [u8; 6],
    /// (code, payload) in order; message type, end and padding are added by `encode`.
    pub options: Vec<(u8, Vec<u8>)>,
    /// DHCP message type (option 53).
    pub msg_type: u8,
}

impl Msg {
    /// A client message of `msg_type` from `mac`, no options.
    pub fn new(msg_type: u8, xid: u32, mac: [u8; 6]) -> Msg {
        Msg {
            op: 1,
            hops: 0,
            xid,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: mac,
            options: Vec::new(),
            msg_type,
        }
    }

    /// The payload of option `code`, if present.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    /// Adds option `code`.
    pub fn with(mut self, code: u8, payload: &[u8]) -> Msg {
        self.options.push((code, payload.to_vec()));
        self
    }

    /// The wire form (padded to the BOOTP minimum of 300 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![self.op, 1, 6, self.hops];
        b.extend(self.xid.to_be_bytes());
        b.extend(self.secs.to_be_bytes());
        b.extend(self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, Ipv4Addr::UNSPECIFIED, self.giaddr] {
            b.extend(a.octets());
        }
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&self.chaddr);
        b.extend(chaddr);
        b.extend([0u8; 192]); // sname + file
        b.extend(MAGIC);
        b.extend([53, 1, self.msg_type]);
        for (code, payload) in &self.options {
            b.push(*code);
            b.push(payload.len() as u8);
            b.extend(payload);
        }
        b.push(255);
        while b.len() < 300 {
            b.push(0);
        }
        b
    }

    /// Parses a message; None when it is not DHCP.
    pub fn decode(b: &[u8]) -> Option<Msg> {
        if b.len() < 240 || b[236..240] != MAGIC {
            return None;
        }
        let addr = |i: usize| Ipv4Addr::new(b[i], b[i + 1], b[i + 2], b[i + 3]);
        let mut m = Msg {
            op: b[0],
            hops: b[3],
            xid: u32::from_be_bytes(b[4..8].try_into().ok()?),
            secs: u16::from_be_bytes([b[8], b[9]]),
            flags: u16::from_be_bytes([b[10], b[11]]),
            ciaddr: addr(12),
            yiaddr: addr(16),
            giaddr: addr(24),
            chaddr: b[28..34].try_into().ok()?,
            options: Vec::new(),
            msg_type: 0,
        };
        let mut i = 240;
        while i < b.len() {
            let code = b[i];
            if code == 255 {
                break;
            }
            if code == 0 {
                i += 1;
                continue;
            }
            let len = *b.get(i + 1)? as usize;
            let payload = b.get(i + 2..i + 2 + len)?.to_vec();
            if code == 53 {
                m.msg_type = *payload.first()?;
            } else {
                m.options.push((code, payload));
            }
            i += 2 + len;
        }
        Some(m)
    }
}

/// The lowercase colon form Kea's hook prints for a MAC.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Option 82 payload from (sub-option code, value) pairs.
pub fn agent_options(subs: &[(u8, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (code, value) in subs {
        v.push(*code);
        v.push(value.len() as u8);
        v.extend(*value);
    }
    v
}

/// `0x` + upper-case hex, Kea's option format.
pub fn hex_upper(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

/// How a crafted client reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path4 {
    /// As a relay agent at the client-side address: giaddr set, unicast to the server
    /// from port 67 (subnet 2, 10.0.0.0/8, selected by relay address).
    Relayed,
    /// As a directly connected client: broadcast from port 68 with the broadcast flag
    /// (subnet 1, 192.0.2.0/24).
    Direct,
}

/// A crafted DHCPv4 client; create it inside the client namespace (`in_netns`).
pub struct Client4 {
    sock: UdpSocket,
    /// Relayed or direct.
    pub path: Path4,
    /// Extra options added to every message (e.g. option 82).
    pub extra: Vec<(u8, Vec<u8>)>,
}

/// What a completed DORA gave.
#[derive(Clone, Debug)]
pub struct Bound {
    /// The client's MAC.
    pub mac: [u8; 6],
    /// The leased address.
    pub addr: Ipv4Addr,
    /// Server identifier (option 54) to send back.
    pub server_id: Vec<u8>,
    /// Transaction id of the DISCOVER.
    pub offer_xid: u32,
    /// Transaction id of the REQUEST.
    pub ack_xid: u32,
}

impl Client4 {
    /// Binds the client socket (call inside the client namespace).
    pub fn new(path: Path4) -> Client4 {
        let sock = match path {
            Path4::Relayed => UdpSocket::bind((super::testbed::CLI4, 67)),
            Path4::Direct => UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 68)),
        }
        .expect("bind client socket");
        sock.set_broadcast(true).expect("SO_BROADCAST");
        Client4 {
            sock,
            path,
            extra: Vec::new(),
        }
    }

    /// Sends `m` (plus `extra` options) the way `path` says.
    pub fn send(&self, mut m: Msg) {
        m.options.extend(self.extra.iter().cloned());
        let dest: SocketAddr = match self.path {
            Path4::Relayed => {
                m.giaddr = super::testbed::CLI4.parse().expect("addr");
                m.hops = 1;
                (super::testbed::SRV4.parse::<Ipv4Addr>().expect("addr"), 67).into()
            }
            Path4::Direct => {
                m.flags |= 0x8000;
                (Ipv4Addr::BROADCAST, 67).into()
            }
        };
        self.sock.send_to(&m.encode(), dest).expect("send DHCPv4");
    }

    /// The next reply with `xid`, or None after `timeout`.
    pub fn recv(&self, xid: u32, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 1500];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                if let Some(m) = Msg::decode(&buf[..n]) {
                    if m.op == 2 && m.xid == xid {
                        return Some(m);
                    }
                }
            }
        }
    }

    /// Sends `m` and waits for the reply with its transaction id.
    pub fn exchange(&self, m: Msg, timeout: Duration) -> Option<Msg> {
        let xid = m.xid;
        self.send(m);
        self.recv(xid, timeout)
    }

    /// DISCOVER → OFFER → REQUEST → ACK. None when no OFFER or no ACK came.
    pub fn dora(&self, mac: [u8; 6], xid: u32) -> Option<Bound> {
        let offer = self.exchange(Msg::new(DISCOVER, xid, mac), Duration::from_secs(3))?;
        assert_eq!(offer.msg_type, OFFER, "reply to DISCOVER: {offer:?}");
        let server_id = offer.option(54).expect("server identifier").to_vec();
        let request = Msg::new(REQUEST, xid + 1, mac)
            .with(50, &offer.yiaddr.octets())
            .with(54, &server_id);
        let ack = self.exchange(request, Duration::from_secs(3))?;
        assert_eq!(ack.msg_type, ACK, "reply to REQUEST: {ack:?}");
        assert_eq!(ack.yiaddr, offer.yiaddr);
        Some(Bound {
            mac,
            addr: ack.yiaddr,
            server_id,
            offer_xid: xid,
            ack_xid: xid + 1,
        })
    }

    /// A renewing REQUEST (ciaddr set, no server id); returns the ACK.
    pub fn renew(&self, b: &Bound, xid: u32) -> Msg {
        let mut m = Msg::new(REQUEST, xid, b.mac);
        m.ciaddr = b.addr;
        let ack = self
            .exchange(m, Duration::from_secs(3))
            .expect("reply to renewing REQUEST");
        assert_eq!(ack.msg_type, ACK, "renew reply: {ack:?}");
        ack
    }

    /// DHCPRELEASE (no reply expected).
    pub fn release(&self, b: &Bound, xid: u32) {
        let mut m = Msg::new(RELEASE, xid, b.mac).with(54, &b.server_id);
        m.ciaddr = b.addr;
        self.send(m);
    }

    /// DHCPDECLINE of the bound address (no reply expected).
    pub fn decline(&self, b: &Bound, xid: u32) {
        let m = Msg::new(DECLINE, xid, b.mac)
            .with(50, &b.addr.octets())
            .with(54, &b.server_id);
        self.send(m);
    }
}
