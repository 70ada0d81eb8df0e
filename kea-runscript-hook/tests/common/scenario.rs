//! The crafted client traffic several tests share: one client per interesting path.

use super::dhcp4::{agent_options, Bound, Client4, Path4};
use super::dhcp6::{
    put, Bound6, Client6, Relay, ADDR_REG_INFORM, ADDR_REG_REPLY, DECLINE, OPT_IAADDR,
    OPT_INTERFACE_ID, OPT_REMOTE_ID, OPT_SUBSCRIBER_ID, REBIND, RELEASE, RENEW,
};
use super::in_netns;
use super::testbed::Testbed;

/// DHCPv4 client A (relayed, client-id, host name, option 82).
pub const MAC_A4: [u8; 6] = [0x02, 0xaa, 0x00, 0x00, 0x00, 0x01];
/// DHCPv4 client B (direct, declines).
pub const MAC_B4: [u8; 6] = [0x02, 0xbb, 0x00, 0x00, 0x00, 0x02];
/// DHCPv4 client C (relayed, its lease expires).
pub const MAC_C4: [u8; 6] = [0x02, 0xcc, 0x00, 0x00, 0x00, 0x03];
/// Option 82 sub-option 1 of client A.
pub const CIRCUIT_ID: &[u8] = b"ge-0/0/1.7";
/// Option 82 sub-option 2 of client A.
pub const REMOTE_ID4: &[u8] = &[0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
/// Option 82 sub-option 6 of client A.
pub const SUBSCRIBER_ID4: &[u8] = b"sub-42";
/// Host name (option 12) client A sends.
pub const HOSTNAME_A4: &[u8] = b"host-a";

/// Transaction ids of client A (v4): DISCOVER, REQUEST = +1, renew, release.
pub const XID_A4: u32 = 0x1000;
/// Transaction id of A's renewing REQUEST.
pub const XID_A4_RENEW: u32 = 0x1010;
/// Transaction id of A's RELEASE.
pub const XID_A4_RELEASE: u32 = 0x1020;
/// Transaction id of B's DISCOVER (REQUEST: +1).
pub const XID_B4: u32 = 0x2000;
/// Transaction id of B's DECLINE.
pub const XID_B4_DECLINE: u32 = 0x2010;
/// Transaction id of C's DISCOVER (REQUEST: +1).
pub const XID_C4: u32 = 0x3000;

/// Option 82 of client A: circuit-id, remote-id and subscriber-id (sub-option 6).
pub fn opt82_a() -> Vec<u8> {
    agent_options(&[(1, CIRCUIT_ID), (2, REMOTE_ID4), (6, SUBSCRIBER_ID4)])
}

/// Client identifier (option 61) of client A: type 1 + MAC.
pub fn client_id_a() -> Vec<u8> {
    [&[1u8][..], &MAC_A4].concat()
}

/// DHCPv4: A (relayed, client-id, option 82) binds, renews and releases; C (relayed)
/// binds and keeps its lease; B (direct) binds and declines. Returns (A, B, C).
pub fn v4_clients(tb: &Testbed) -> (Bound, Bound, Bound) {
    let (a, c) = in_netns(&tb.cli, || {
        let mut relay = Client4::new(Path4::Relayed);
        relay.extra = vec![
            (61, client_id_a()),
            (12, HOSTNAME_A4.to_vec()),
            (82, opt82_a()),
        ];
        let a = relay.dora(MAC_A4, XID_A4).expect("client A bound");
        relay.renew(&a, XID_A4_RENEW);
        relay.release(&a, XID_A4_RELEASE);
        relay.extra.clear();
        let c = relay.dora(MAC_C4, XID_C4).expect("client C bound");
        (a, c)
    });
    let b = in_netns(&tb.cli, || {
        let direct = Client4::new(Path4::Direct);
        let b = direct.dora(MAC_B4, XID_B4).expect("client B bound");
        direct.decline(&b, XID_B4_DECLINE);
        b
    });
    (a, b, c)
}

/// DHCPv4 client D (direct), whose host name is not UTF-8.
pub const MAC_D4: [u8; 6] = [0x02, 0xdd, 0x00, 0x00, 0x04, 0x04];
/// Transaction id of D's DISCOVER (REQUEST: +1).
pub const XID_D4: u32 = 0xd400_0000;
/// D's host name (option 12): bytes that are not UTF-8 in a fully qualified name, which
/// Kea keeps as sent (lower-cased) when its sanitizing is off.
pub const HOSTNAME_D4: &[u8] = b"h\xffst-\xe9\xc3(.example.org";

/// DHCPv4: client D binds with a host name that is not UTF-8 (see [`HOSTNAME_D4`]).
pub fn v4_raw_hostname_client(tb: &Testbed) -> Bound {
    in_netns(&tb.cli, || {
        let mut direct = Client4::new(Path4::Direct);
        direct.extra = vec![(12, HOSTNAME_D4.to_vec())];
        direct.dora(MAC_D4, XID_D4).expect("client D bound")
    })
}

/// DHCPv6 client A (relayed; its DUID-LL is made of this MAC).
pub const MAC_A6: [u8; 6] = [0x02, 0xaa, 0x00, 0x00, 0x06, 0x01];
/// DHCPv6 client B (direct, declines).
pub const MAC_B6: [u8; 6] = [0x02, 0xbb, 0x00, 0x00, 0x06, 0x02];
/// DHCPv6 client C (direct, its leases expire).
pub const MAC_C6: [u8; 6] = [0x02, 0xcc, 0x00, 0x00, 0x06, 0x03];
/// Interface-id (option 18) of A's relay.
pub const INTERFACE_ID: &[u8] = b"port-7/1";
/// Remote-id: enterprise number 4491, then the id.
pub const REMOTE_ID6: &[u8] = &[0, 0, 0x11, 0x8b, 0xde, 0xad, 0xbe, 0xef];
/// Subscriber-id (option 38) of A's relay.
pub const SUBSCRIBER_ID6: &[u8] = b"subscriber-6";

/// Transaction id of A's SOLICIT (REQUEST: +1).
pub const TXID_A6: u32 = 0x10_0000;
/// Transaction id of A's RENEW.
pub const TXID_A6_RENEW: u32 = 0x10_0010;
/// Transaction id of A's REBIND.
pub const TXID_A6_REBIND: u32 = 0x10_0020;
/// Transaction id of A's RELEASE.
pub const TXID_A6_RELEASE: u32 = 0x10_0030;
/// Transaction id of B's SOLICIT (REQUEST: +1).
pub const TXID_B6: u32 = 0x20_0000;
/// Transaction id of B's DECLINE.
pub const TXID_B6_DECLINE: u32 = 0x20_0010;
/// Transaction id of C's SOLICIT (REQUEST: +1).
pub const TXID_C6: u32 = 0x30_0000;

/// DHCPv6 client E (behind two relays).
pub const MAC_E6: [u8; 6] = [0x02, 0xee, 0x00, 0x00, 0x06, 0x05];
/// Transaction id of E's SOLICIT (REQUEST: +1).
pub const TXID_E6: u32 = 0x50_0000;
/// Interface-id (18) of E's first relay (the one next to the client).
pub const INTERFACE_ID_E6_INNER: &[u8] = b"port-9/2";
/// Subscriber-id (38) of E's first relay.
pub const SUBSCRIBER_ID_E6_INNER: &[u8] = b"subscriber-e";
/// Interface-id (18) of E's second relay: hidden by the first relay's.
pub const INTERFACE_ID_E6_OUTER: &[u8] = b"agg-1/0";
/// Remote-id (37) only the second relay adds: enterprise 4491, then the id.
pub const REMOTE_ID_E6_OUTER: &[u8] = &[0, 0, 0x11, 0x8b, 0xe6, 0x0e];

/// DHCPv6 client E binds (IA_NA + IA_PD) through two relays: the first (next to the client)
/// adds interface-id and subscriber-id, the second its own interface-id and a remote-id.
/// Kea searches relay options from the client outwards: 18 and 38 from the first, 37 from
/// the second.
pub fn v6_two_hop_client(tb: &Testbed) -> Bound6 {
    let ifindex = tb.cli_ifindex();
    in_netns(&tb.cli, move || {
        let inner = Relay {
            link_addr: "2001:db8:2::5".parse().expect("addr"),
            peer_addr: "fe80::ee".parse().expect("addr"),
            options: vec![
                (OPT_INTERFACE_ID, INTERFACE_ID_E6_INNER.to_vec()),
                (OPT_SUBSCRIBER_ID, SUBSCRIBER_ID_E6_INNER.to_vec()),
            ],
        };
        let outer = Relay {
            link_addr: "2001:db8:2::6".parse().expect("addr"),
            peer_addr: "fe80::e1".parse().expect("addr"),
            options: vec![
                (OPT_INTERFACE_ID, INTERFACE_ID_E6_OUTER.to_vec()),
                (OPT_REMOTE_ID, REMOTE_ID_E6_OUTER.to_vec()),
            ],
        };
        let mut client = Client6::new(ifindex, MAC_E6, Some(inner));
        client.outer_relays = vec![outer];
        client.sarr(TXID_E6).expect("client E bound")
    })
}

/// DHCPv6, IA_NA + IA_PD each: A (behind a relay with interface-id, remote-id and
/// subscriber-id, link 2001:db8:2::1) binds, renews, rebinds, releases; B (direct) binds
/// and declines its address; C (direct) binds and keeps. Returns (A, B, C).
pub fn v6_clients(tb: &Testbed) -> (Bound6, Bound6, Bound6) {
    let ifindex = tb.cli_ifindex();
    in_netns(&tb.cli, move || {
        let relay = Relay {
            link_addr: "2001:db8:2::1".parse().expect("addr"),
            peer_addr: "fe80::aa".parse().expect("addr"),
            options: vec![
                (OPT_INTERFACE_ID, INTERFACE_ID.to_vec()),
                (OPT_REMOTE_ID, REMOTE_ID6.to_vec()),
                (OPT_SUBSCRIBER_ID, SUBSCRIBER_ID6.to_vec()),
            ],
        };
        let a_client = Client6::new(ifindex, MAC_A6, Some(relay));
        let a = a_client.sarr(TXID_A6).expect("client A bound");
        a_client.extend(RENEW, &a, TXID_A6_RENEW);
        a_client.extend(REBIND, &a, TXID_A6_REBIND);
        a_client.give_back(RELEASE, &a, TXID_A6_RELEASE);
        let b_client = Client6::new(ifindex, MAC_B6, None);
        let b = b_client.sarr(TXID_B6).expect("client B bound");
        b_client.give_back(DECLINE, &b, TXID_B6_DECLINE);
        drop(b_client);
        let c = Client6::new(ifindex, MAC_C6, None)
            .sarr(TXID_C6)
            .expect("client C bound");
        (a, b, c)
    })
}

/// DHCPv6 client D (registers addresses it chose itself).
pub const MAC_D6: [u8; 6] = [0x02, 0xdd, 0x00, 0x00, 0x06, 0x04];
/// The addresses D registers: in subnet 2, outside its pools.
pub const ADDRS_D6: [&str; 2] = ["2001:db8:2::77", "2001:db8:2::78"];
/// Transaction id of D's first ADDR-REG-INFORM (second: +1).
pub const TXID_D6: u32 = 0x40_0000;

/// Kea 3.0's address registration (RFC 9686, hook point `addr6_register`): client D,
/// behind a relay whose link address is the registered address (Kea takes the client's
/// address from the closest relay), registers two addresses, each with a 5 s lifetime, so
/// they expire in the test too.
///
/// Two addresses, not one twice: Kea 3.0.4 fails a re-registration that comes in another
/// second than the first ("unable to update lease ... changed in the database", seen here),
/// so the `old_lease6` case is left to the env snapshot.
pub fn v6_registrations(tb: &Testbed) {
    let ifindex = tb.cli_ifindex();
    in_netns(&tb.cli, move || {
        for (txid, addr) in (TXID_D6..).zip(ADDRS_D6) {
            let addr: std::net::Ipv6Addr = addr.parse().expect("addr");
            let relay = Relay {
                link_addr: addr,
                peer_addr: "fe80::dd".parse().expect("addr"),
                options: vec![],
            };
            let client = Client6::new(ifindex, MAC_D6, Some(relay));
            let mut iaaddr = addr.octets().to_vec();
            iaaddr.extend(3u32.to_be_bytes());
            iaaddr.extend(5u32.to_be_bytes());
            let mut body = Vec::new();
            put(&mut body, OPT_IAADDR, &iaaddr);
            let reply = client
                .exchange(ADDR_REG_INFORM, txid, &body)
                .unwrap_or_else(|| panic!("no ADDR-REG-REPLY to {txid:#x}"));
            assert_eq!(reply.msg_type, ADDR_REG_REPLY, "reply to {txid:#x}");
        }
    });
}
