//! DHCPv6 messages built byte by byte, and a client (direct, or behind a simulated relay
//! with interface-id / remote-id / subscriber-id) for REBIND, DECLINE and relay options.

use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

/// DHCPv6 message type SOLICIT.
pub const SOLICIT: u8 = 1;
/// DHCPv6 message type ADVERTISE.
pub const ADVERTISE: u8 = 2;
/// DHCPv6 message type REQUEST.
pub const REQUEST: u8 = 3;
/// DHCPv6 message type RENEW.
pub const RENEW: u8 = 5;
/// DHCPv6 message type REBIND.
pub const REBIND: u8 = 6;
/// DHCPv6 message type REPLY.
pub const REPLY: u8 = 7;
/// DHCPv6 message type RELEASE.
pub const RELEASE: u8 = 8;
/// DHCPv6 message type DECLINE.
pub const DECLINE: u8 = 9;
/// ADDR-REG-INFORM (RFC 9686; Kea 3.0 and later).
pub const ADDR_REG_INFORM: u8 = 36;
/// ADDR-REG-REPLY.
pub const ADDR_REG_REPLY: u8 = 37;
/// DHCPv6 message type RELAY_FORW.
pub const RELAY_FORW: u8 = 12;
/// DHCPv6 message type RELAY_REPL.
pub const RELAY_REPL: u8 = 13;

/// DHCPv6 option code CLIENTID.
pub const OPT_CLIENTID: u16 = 1;
/// DHCPv6 option code SERVERID.
pub const OPT_SERVERID: u16 = 2;
/// DHCPv6 option code IA_NA.
pub const OPT_IA_NA: u16 = 3;
/// DHCPv6 option code IAADDR.
pub const OPT_IAADDR: u16 = 5;
/// DHCPv6 option code ELAPSED.
pub const OPT_ELAPSED: u16 = 8;
/// DHCPv6 option code RELAY_MSG.
pub const OPT_RELAY_MSG: u16 = 9;
/// DHCPv6 option code INTERFACE_ID.
pub const OPT_INTERFACE_ID: u16 = 18;
/// DHCPv6 option code IA_PD.
pub const OPT_IA_PD: u16 = 25;
/// DHCPv6 option code IAPREFIX.
pub const OPT_IAPREFIX: u16 = 26;
/// DHCPv6 option code REMOTE_ID.
pub const OPT_REMOTE_ID: u16 = 37;
/// DHCPv6 option code SUBSCRIBER_ID.
pub const OPT_SUBSCRIBER_ID: u16 = 38;

const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// Appends option `code` with `payload`.
pub fn put(buf: &mut Vec<u8>, code: u16, payload: &[u8]) {
    buf.extend(code.to_be_bytes());
    buf.extend((payload.len() as u16).to_be_bytes());
    buf.extend(payload);
}

/// Splits an option area into (code, payload).
pub fn options(mut b: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let code = u16::from_be_bytes([b[0], b[1]]);
        let len = u16::from_be_bytes([b[2], b[3]]) as usize;
        let Some(payload) = b.get(4..4 + len) else {
            break;
        };
        out.push((code, payload.to_vec()));
        b = &b[4 + len..];
    }
    out
}

/// DUID-LL (type 3, hardware type 1) of a MAC.
pub fn duid_ll(mac: [u8; 6]) -> Vec<u8> {
    let mut d = vec![0, 3, 0, 1];
    d.extend(mac);
    d
}

/// Colon-separated lower-case hex, Kea's DUID text.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A lease carried in an IA of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    Addr(Ipv6Addr),
    Prefix(Ipv6Addr, u8),
}

/// A parsed server message (outer relay wrapper removed).
#[derive(Clone, Debug)]
pub struct Reply {
    /// Message type.
    pub msg_type: u8,
    /// Transaction id.
    pub txid: u32,
    /// Top-level options (code, payload).
    pub options: Vec<(u16, Vec<u8>)>,
}

impl Reply {
    /// The payload of option `code`, if present.
    pub fn option(&self, code: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    /// Addresses and prefixes in the IA_NA / IA_PD options.
    pub fn held(&self) -> Vec<Held> {
        let mut out = Vec::new();
        for (code, payload) in &self.options {
            if (*code == OPT_IA_NA || *code == OPT_IA_PD) && payload.len() >= 12 {
                for (sub, v) in options(&payload[12..]) {
                    if sub == OPT_IAADDR && v.len() >= 24 {
                        out.push(Held::Addr(addr(&v[..16])));
                    }
                    if sub == OPT_IAPREFIX && v.len() >= 25 {
                        out.push(Held::Prefix(addr(&v[9..25]), v[8]));
                    }
                }
            }
        }
        out
    }
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let a: [u8; 16] = b.try_into().expect("16 bytes");
    Ipv6Addr::from(a)
}

/// Relay-agent options a relayed client's messages carry.
#[derive(Clone, Debug)]
pub struct Relay {
    /// Link address (selects the subnet).
    pub link_addr: Ipv6Addr,
    /// The client's address as the relay saw it.
    pub peer_addr: Ipv6Addr,
    /// (code, payload), e.g. interface-id, remote-id, subscriber-id.
    pub options: Vec<(u16, Vec<u8>)>,
}

/// A crafted DHCPv6 client; create it inside the client namespace (`in_netns`).
pub struct Client6 {
    sock: UdpSocket,
    scope: u32,
    /// MAC the client's DUID-LL is made of.
    pub mac: [u8; 6],
    /// The relay the messages go through, if any.
    pub relay: Option<Relay>,
    /// Further relays between `relay` and the server, in order: each wraps the previous
    /// hop's RELAY-FORW in its own (hop count 1, 2, …).
    pub outer_relays: Vec<Relay>,
    /// IAID of its IA_NA and IA_PD.
    pub iaid: u32,
    /// Options added to every client message (after the client id and elapsed time).
    pub extra: Vec<(u16, Vec<u8>)>,
}

impl Client6 {
    /// A direct client (port 546) or, with `relay`, a relay agent (port 547).
    pub fn new(ifindex: u32, mac: [u8; 6], relay: Option<Relay>) -> Client6 {
        let port = if relay.is_some() { 547 } else { 546 };
        let addr = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0);
        let mut last_error = None;
        // A port just released by a previous client socket may take a moment.
        let sock = super::wait_for(Duration::from_secs(2), || {
            UdpSocket::bind(addr).map_err(|e| last_error = Some(e)).ok()
        })
        .unwrap_or_else(|| panic!("bind v6 client socket to port {port}: {last_error:?}"));
        Client6 {
            sock,
            scope: ifindex,
            mac,
            relay,
            outer_relays: Vec::new(),
            iaid: 1,
            extra: Vec::new(),
        }
    }

    /// The client's DUID (DUID-LL of `mac`).
    pub fn duid(&self) -> Vec<u8> {
        duid_ll(self.mac)
    }

    /// The client message: type, txid, client id, elapsed time, then `body` options.
    fn message(&self, msg_type: u8, txid: u32, body: &[u8]) -> Vec<u8> {
        let mut m = vec![msg_type];
        m.extend(&txid.to_be_bytes()[1..]);
        put(&mut m, OPT_CLIENTID, &self.duid());
        put(&mut m, OPT_ELAPSED, &[0, 0]);
        for (code, payload) in &self.extra {
            put(&mut m, *code, payload);
        }
        m.extend(body);
        m
    }

    /// Sends a client message (wrapped in RELAY-FORW when relayed) to All_DHCP_Relay_Agents_and_Servers.
    pub fn send(&self, msg_type: u8, txid: u32, body: &[u8]) {
        let msg = self.message(msg_type, txid, body);
        let wire = match &self.relay {
            None => msg,
            Some(r) => {
                let mut w = relay_forw(r, 0, &msg);
                for (hop, outer) in self.outer_relays.iter().enumerate() {
                    w = relay_forw(outer, hop as u8 + 1, &w);
                }
                w
            }
        };
        let dest = SocketAddrV6::new(ALL_SERVERS, 547, 0, self.scope);
        self.sock.send_to(&wire, dest).expect("send DHCPv6");
    }

    /// The next reply with `txid` (unwrapped from RELAY-REPL), or None after `timeout`.
    pub fn recv(&self, txid: u32, timeout: Duration) -> Option<Reply> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else {
                continue;
            };
            // Unwrap every RELAY-REPL (one per relay hop).
            let mut inner = buf[..n].to_vec();
            while inner.first() == Some(&RELAY_REPL) && inner.len() >= 34 {
                let Some((_, m)) = options(&inner[34..])
                    .into_iter()
                    .find(|(c, _)| *c == OPT_RELAY_MSG)
                else {
                    break;
                };
                inner = m;
            }
            let b = &inner[..];
            if b.first() == Some(&RELAY_REPL) {
                continue;
            }
            if b.len() < 4 {
                continue;
            }
            let got = u32::from_be_bytes([0, b[1], b[2], b[3]]);
            if got == txid {
                return Some(Reply {
                    msg_type: b[0],
                    txid: got,
                    options: options(&b[4..]),
                });
            }
        }
    }

    /// Sends and waits up to 3 s for the reply.
    pub fn exchange(&self, msg_type: u8, txid: u32, body: &[u8]) -> Option<Reply> {
        self.send(msg_type, txid, body);
        self.recv(txid, Duration::from_secs(3))
    }
}

/// `inner` (a client message or a RELAY-FORW) wrapped in a RELAY-FORW from relay `r`.
fn relay_forw(r: &Relay, hop_count: u8, inner: &[u8]) -> Vec<u8> {
    let mut w = vec![RELAY_FORW, hop_count];
    w.extend(r.link_addr.octets());
    w.extend(r.peer_addr.octets());
    for (code, payload) in &r.options {
        put(&mut w, *code, payload);
    }
    put(&mut w, OPT_RELAY_MSG, inner);
    w
}

/// IA_NA option with optional address.
pub fn ia_na(iaid: u32, addr: Option<Ipv6Addr>) -> Vec<u8> {
    let mut p = iaid.to_be_bytes().to_vec();
    p.extend([0u8; 8]);
    if let Some(a) = addr {
        let mut sub = a.octets().to_vec();
        sub.extend([0u8; 8]);
        put(&mut p, OPT_IAADDR, &sub);
    }
    let mut o = Vec::new();
    put(&mut o, OPT_IA_NA, &p);
    o
}

/// IA_PD option with optional prefix.
pub fn ia_pd(iaid: u32, prefix: Option<(Ipv6Addr, u8)>) -> Vec<u8> {
    let mut p = iaid.to_be_bytes().to_vec();
    p.extend([0u8; 8]);
    if let Some((a, len)) = prefix {
        let mut sub = vec![0u8; 8];
        sub.push(len);
        sub.extend(a.octets());
        put(&mut p, OPT_IAPREFIX, &sub);
    }
    let mut o = Vec::new();
    put(&mut o, OPT_IA_PD, &p);
    o
}

/// What a completed SOLICIT/REQUEST exchange gave.
#[derive(Clone, Debug)]
pub struct Bound6 {
    /// The leased address (IA_NA).
    pub addr: Ipv6Addr,
    /// The delegated prefix and its length (IA_PD).
    pub prefix: (Ipv6Addr, u8),
    /// Server identifier to send back.
    pub server_id: Vec<u8>,
}

impl Client6 {
    /// SOLICIT → ADVERTISE → REQUEST → REPLY for one address and one prefix.
    pub fn sarr(&self, txid: u32) -> Option<Bound6> {
        let mut body = ia_na(self.iaid, None);
        body.extend(ia_pd(self.iaid, None));
        let adv = self.exchange(SOLICIT, txid, &body)?;
        assert_eq!(adv.msg_type, ADVERTISE, "reply to SOLICIT: {adv:?}");
        let server_id = adv.option(OPT_SERVERID).expect("server id").to_vec();
        let (addr, prefix) = split_held(&adv.held());
        let mut req = Vec::new();
        put(&mut req, OPT_SERVERID, &server_id);
        req.extend(ia_na(self.iaid, Some(addr)));
        req.extend(ia_pd(self.iaid, Some(prefix)));
        let reply = self.exchange(REQUEST, txid + 1, &req)?;
        assert_eq!(reply.msg_type, REPLY, "reply to REQUEST: {reply:?}");
        let (addr, prefix) = split_held(&reply.held());
        Some(Bound6 {
            addr,
            prefix,
            server_id,
        })
    }

    /// The IA_NA and IA_PD of a bound client, for RENEW/REBIND/RELEASE.
    pub fn ias(&self, b: &Bound6) -> Vec<u8> {
        let mut body = ia_na(self.iaid, Some(b.addr));
        body.extend(ia_pd(self.iaid, Some(b.prefix)));
        body
    }

    /// RENEW (with server id) or REBIND (without), expecting a REPLY.
    pub fn extend(&self, msg_type: u8, b: &Bound6, txid: u32) -> Reply {
        let mut body = Vec::new();
        if msg_type != REBIND {
            put(&mut body, OPT_SERVERID, &b.server_id);
        }
        body.extend(self.ias(b));
        self.expect_reply(msg_type, txid, &body)
    }

    /// Sends `msg_type` with `body` and returns the server's REPLY; panics without one.
    fn expect_reply(&self, msg_type: u8, txid: u32, body: &[u8]) -> Reply {
        let reply = self
            .exchange(msg_type, txid, body)
            .unwrap_or_else(|| panic!("no reply to message type {msg_type}"));
        assert_eq!(reply.msg_type, REPLY);
        reply
    }

    /// RELEASE of everything, or DECLINE of the address, expecting a REPLY.
    pub fn give_back(&self, msg_type: u8, b: &Bound6, txid: u32) -> Reply {
        let mut body = Vec::new();
        put(&mut body, OPT_SERVERID, &b.server_id);
        if msg_type == DECLINE {
            body.extend(ia_na(self.iaid, Some(b.addr)));
        } else {
            body.extend(self.ias(b));
        }
        self.expect_reply(msg_type, txid, &body)
    }
}

fn split_held(held: &[Held]) -> (Ipv6Addr, (Ipv6Addr, u8)) {
    let addr = held.iter().find_map(|h| match h {
        Held::Addr(a) => Some(*a),
        _ => None,
    });
    let prefix = held.iter().find_map(|h| match h {
        Held::Prefix(a, l) => Some((*a, *l)),
        _ => None,
    });
    (
        addr.unwrap_or_else(|| panic!("no address in {held:?}")),
        prefix.unwrap_or_else(|| panic!("no prefix in {held:?}")),
    )
}
