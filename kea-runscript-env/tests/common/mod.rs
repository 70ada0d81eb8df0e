//! Realistic events shared by the snapshot, docs and property tests.
#![allow(dead_code)]

use kea_runscript_env::{
    ClientId, DhcpOption, Duid, Event, HookPoint, Host4, Host6, HostIdType, HostIdValue, HwAddr,
    Ia, Lease4, Lease6, LeaseState, LeaseType, Pkt4, Pkt6, Proto, Relay6, Subnet4, Subnet6, Text,
};

pub const CLIENT_MAC: [u8; 6] = [0x00, 0x0c, 0x01, 0x02, 0x03, 0x04];
pub const SERVER_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
pub const RELAY_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// Option 82 with circuit-id (1) "eth0/1", remote-id (2) = a MAC, and a
/// vendor-specific sub-option (9) carrying enterprise 3561 (BBF) data.
pub fn option82() -> DhcpOption {
    let mut payload = vec![1, 6];
    payload.extend_from_slice(b"eth0/1");
    payload.extend_from_slice(&[2, 6]);
    payload.extend_from_slice(&RELAY_MAC);
    payload.extend_from_slice(&[9, 9, 0x00, 0x00, 0x0d, 0xe9, 4, 2, 0x01, 0x02, 0x03]);
    DhcpOption { code: 82, payload }
}

pub fn duid() -> Duid {
    // DUID-LLT: type 1, htype 1, time, MAC.
    let mut bytes = vec![0x00, 0x01, 0x00, 0x01, 0x2c, 0x3e, 0x5f, 0x10];
    bytes.extend_from_slice(&CLIENT_MAC);
    Duid(bytes)
}

pub fn client_id() -> ClientId {
    let mut bytes = vec![0x01];
    bytes.extend_from_slice(&CLIENT_MAC);
    ClientId(bytes)
}

pub fn query4(msg_type: u8) -> Pkt4 {
    let mut pkt = Pkt4::new(msg_type, 0x1234_5678);
    pkt.local_addr = "192.0.2.1".parse().unwrap();
    pkt.local_port = 67;
    pkt.remote_addr = "192.0.2.254".parse().unwrap();
    pkt.remote_port = 67;
    pkt.iface_index = 2;
    pkt.iface_name = "eth0".into();
    pkt.hops = 1;
    pkt.secs = 3;
    pkt.flags = 0x8000;
    pkt.ciaddr = "192.0.2.10".parse().unwrap();
    pkt.siaddr = "0.0.0.0".parse().unwrap();
    pkt.yiaddr = "0.0.0.0".parse().unwrap();
    pkt.giaddr = "192.0.2.254".parse().unwrap();
    pkt.hwaddr = Some(HwAddr::ethernet(CLIENT_MAC));
    pkt.local_hwaddr = Some(HwAddr {
        htype: 1,
        bytes: SERVER_MAC.to_vec(),
        source: 0,
    });
    pkt.remote_hwaddr = Some(HwAddr {
        htype: 1,
        bytes: RELAY_MAC.to_vec(),
        source: 1,
    });
    pkt.options = vec![
        DhcpOption {
            code: 53,
            payload: vec![msg_type],
        },
        DhcpOption {
            code: 60,
            payload: b"MSFT 5.0".to_vec(),
        },
        option82(),
    ];
    pkt
}

pub fn response4(msg_type: u8) -> Pkt4 {
    let mut pkt = query4(msg_type);
    pkt.msg_type = msg_type;
    pkt.local_addr = "192.0.2.1".parse().unwrap();
    pkt.remote_addr = "192.0.2.254".parse().unwrap();
    pkt.yiaddr = "192.0.2.10".parse().unwrap();
    pkt.siaddr = "192.0.2.1".parse().unwrap();
    // A response carries no vendor class.
    pkt.options.retain(|o| o.code != 60);
    pkt
}

pub fn subnet4() -> Subnet4 {
    Subnet4::new(1, "192.0.2.0/24".parse().unwrap())
}

pub fn lease4(last_octet: u8) -> Lease4 {
    let mut lease = Lease4::new([192, 0, 2, last_octet].into());
    lease.cltt = 1_700_000_000;
    lease.hostname = "client1.example.org".into();
    lease.hwaddr = Some(HwAddr::ethernet(CLIENT_MAC));
    lease.state = LeaseState::Default;
    lease.subnet_id = 1;
    lease.valid_lifetime = 4000;
    lease.client_id = Some(client_id());
    lease.kea_text = Some(format!(
        "Address:       192.0.2.{last_octet}\nValid life:    4000\nCltt:          1700000000\n\
         Hardware addr: 00:0c:01:02:03:04\nClient id:     01:00:0c:01:02:03:04\n\
         Subnet ID:     1\nState:         default\n"
    ));
    lease
}

pub fn query6(msg_type: u8) -> Pkt6 {
    let mut pkt = Pkt6::new(msg_type, 0x00ab_cdef);
    pkt.local_addr = "2001:db8::1".parse().unwrap();
    pkt.local_port = 547;
    pkt.remote_addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
    pkt.remote_port = 547;
    pkt.iface_index = 2;
    pkt.iface_name = "eth0".into();
    pkt.remote_hwaddr = Some(HwAddr {
        htype: 1,
        bytes: RELAY_MAC.to_vec(),
        source: 1,
    });
    pkt.proto = Proto::Udp;
    pkt.client_id = Some(duid());
    pkt.options = vec![DhcpOption {
        code: 1,
        payload: duid().0,
    }];
    // Kea's getMAC(any source) finds it in the DUID-LLT (source 2).
    pkt.mac = Some(HwAddr {
        htype: 1,
        bytes: CLIENT_MAC.to_vec(),
        source: 2,
    });
    pkt.kea_text = Some(format!(
        "localAddr=[2001:db8::1]:547 remoteAddr=[fe80::5054:ff:fe12:3456]:547\n\
         msgtype={msg_type}({}), transid=0xabcdef\n\
         type=00001, len=00014: 00:01:00:01:2c:3e:5f:10:00:0c:01:02:03:04\n\
         No relays traversed.\n",
        kea_runscript_env::format::pkt6_type_name(msg_type)
    ));
    pkt.relays = vec![
        // Outermost relay (next to the server): its remote-id must lose to the inner one.
        {
            let mut relay = Relay6::new(
                12,
                1,
                "2001:db8:ffff::1".parse().unwrap(),
                "fe80::1".parse().unwrap(),
            );
            relay.options = vec![
                DhcpOption {
                    code: 18,
                    payload: b"uplink".to_vec(),
                },
                DhcpOption {
                    code: 37,
                    payload: vec![0, 0, 0x0d, 0xe9, 0xee],
                },
            ];
            relay
        },
        // Relay closest to the client.
        {
            let mut relay = Relay6::new(
                12,
                0,
                "2001:db8:1::1".parse().unwrap(),
                "fe80::20c:1ff:fe02:304".parse().unwrap(),
            );
            relay.options = vec![
                DhcpOption {
                    code: 37,
                    payload: vec![0, 0, 0x0d, 0xe9, 0x01, 0x02, 0x03],
                },
                DhcpOption {
                    code: 38,
                    payload: b"sub-42".to_vec(),
                },
            ];
            relay
        },
    ];
    pkt
}

pub fn subnet6() -> Subnet6 {
    Subnet6::new(1, "2001:db8:1::/64".parse().unwrap())
}

pub fn lease6(lease_type: LeaseType, last: u16) -> Lease6 {
    let (address, prefix_len) = match lease_type {
        LeaseType::Pd => ([0x2001, 0xdb8, 0x100, last, 0, 0, 0, 0].into(), 56),
        _ => ([0x2001, 0xdb8, 1, 0, 0, 0, 0, last].into(), 128),
    };
    let mut lease = Lease6::new(lease_type, address, prefix_len);
    lease.cltt = 1_700_000_000;
    lease.hostname = "client1.example.org".into();
    lease.hwaddr = Some(HwAddr::ethernet(CLIENT_MAC));
    lease.state = LeaseState::Default;
    lease.subnet_id = 1;
    lease.valid_lifetime = 7200;
    lease.duid = Some(duid());
    lease.iaid = 0x0102_0304;
    lease.preferred_lifetime = 3600;
    lease.kea_text = Some(format!(
        "Type:          {}({})\nAddress:       {}\nPrefix length: {prefix_len}\n\
         IAID:          16909060\nPref life:     3600\nValid life:    7200\n\
         Cltt:          1700000000\nDUID:          00:01:00:01:2c:3e:5f:10:00:0c:01:02:03:04\n\
         Hardware addr: 00:0c:01:02:03:04\nSubnet ID:     1\nState:         default\n",
        kea_runscript_env::format::lease_type_text(lease_type),
        lease_type.to_raw(),
        kea_runscript_env::format::ipv6_text(address),
    ));
    lease
}

/// The v4 message type a query has at this hook point.
fn query4_type(hook_point: HookPoint) -> u8 {
    match hook_point {
        HookPoint::Lease4Release => 7,
        HookPoint::Lease4Decline => 4,
        HookPoint::Pkt4Receive
        | HookPoint::Subnet4Select
        | HookPoint::Lease4Offer
        | HookPoint::Lease4ServerDecline
        | HookPoint::Host4Identifier => 1,
        _ => 3,
    }
}

fn query6_type(hook_point: HookPoint) -> u8 {
    match hook_point {
        HookPoint::Lease6Renew => 5,
        HookPoint::Lease6Rebind => 6,
        HookPoint::Lease6Release => 8,
        HookPoint::Lease6Decline => 9,
        HookPoint::Pkt6Receive | HookPoint::Subnet6Select | HookPoint::Host6Identifier => 1,
        HookPoint::Addr6Register => 36,
        _ => 3,
    }
}

/// An event with every object populated with realistic values (only the hook point's
/// arguments are rendered).
pub fn full_event(hook_point: HookPoint) -> Event {
    let mut event = Event::new(hook_point);
    let reclaimed = matches!(
        hook_point,
        HookPoint::Lease4Expire | HookPoint::Lease6Expire
    );
    let mut lease4 = lease4(10);
    let mut lease6 = lease6(LeaseType::Na, 0x100);
    if reclaimed {
        lease4.state = LeaseState::ExpiredReclaimed;
        lease6.state = LeaseState::ExpiredReclaimed;
        lease4.expired = true;
        lease6.expired = true;
    }
    if matches!(
        hook_point,
        HookPoint::Lease4Decline | HookPoint::Lease4Recover | HookPoint::Lease4ServerDecline
    ) {
        lease4.state = LeaseState::Declined;
    }
    if matches!(
        hook_point,
        HookPoint::Lease6Decline | HookPoint::Lease6Recover
    ) {
        lease6.state = LeaseState::Declined;
    }
    event.query4 = Some(query4(query4_type(hook_point)));
    // DHCPOFFER at lease4_offer, DHCPACK elsewhere.
    event.response4 = Some(response4(if hook_point == HookPoint::Lease4Offer {
        2
    } else {
        5
    }));
    event.subnet4 = Some(subnet4());
    event.client_id = Some(client_id());
    event.hwaddr = Some(HwAddr::ethernet(CLIENT_MAC));
    event.lease4 = Some(lease4);
    event.leases4 = Some(vec![self::lease4(10), self::lease4(11)]);
    event.deleted_leases4 = Some(vec![self::lease4(9)]);
    event.query6 = Some(query6(query6_type(hook_point)));
    event.response6 = Some({
        let mut pkt = query6(7);
        pkt.msg_type = 7;
        pkt.relays = Vec::new();
        pkt
    });
    event.subnet6 = Some(subnet6());
    event.lease6 = Some(lease6);
    event.leases6 = Some(vec![
        self::lease6(LeaseType::Na, 0x100),
        self::lease6(LeaseType::Pd, 0x42),
    ]);
    event.deleted_leases6 = Some(vec![self::lease6(LeaseType::Na, 0xff)]);
    event.ia = Some(Ia::new(0x0102_0304, 3, 1800, 2880));
    event.remove_lease = Some(true);
    event.fake_allocation = Some(false);
    add_extras(&mut event);
    // A second registration of one address, as Kea 3.0 (the first release with the hook
    // point) passes it: both leases in state 4, `registered`, IAID 0.
    let registered = |valid_lifetime| {
        let mut lease = self::lease6(LeaseType::Na, 0x77);
        lease.iaid = 0;
        lease.state = LeaseState::from_raw(4);
        lease.valid_lifetime = valid_lifetime;
        lease
    };
    event.address6 = Some(registered(0).address);
    event.old_lease6 = Some(registered(1800));
    event.new_lease6 = Some(registered(3600));
    // A control command as an operator (or an HA partner) sends it.
    event.command_name = Some("lease4-del".into());
    event.command_arguments = Some(r#"{"ip-address":"192.0.2.10","subnet-id":1}"#.into());
    event.command_response = Some(r#"{"result":0,"text":"IPv4 lease deleted."}"#.into());
    // The DNS update Kea decided: forward only.
    event.ddns_hostname = Some("client1.example.org.".into());
    event.ddns_fwd_update = Some(true);
    event.ddns_rev_update = Some(false);
    // An offer stored for 60 s (`offer-lifetime`), to a client that had 192.0.2.9.
    event.offer_lifetime = Some(60);
    event.old_lease4 = Some(self::lease4(9));
    // Kea asks for a flexible identifier; an earlier callout already set one.
    event.host_id_type = Some(HostIdType::Flex);
    event.host_id_value = Some(HostIdValue(b"sub-42".to_vec()));
    // Each hook point's event comes from the first release that calls it.
    let first = hook_point.min_kea_version();
    if first > kea_runscript_env::KeaVersion::OLDEST {
        event.kea_version = first;
    }
    event
}

/// The opt-in data (classes, user contexts, host reservations): present on the query, the
/// subnet, the single lease and the first lease of each collection; absent on the others.
fn add_extras(event: &mut Event) {
    let v4_classes = ["ALL", "VENDOR_CLASS_MSFT 5.0", "voip", "KNOWN"];
    if let Some(q) = event.query4.as_mut() {
        q.classes = v4_classes.iter().map(|c| c.to_string()).collect();
    }
    if let Some(q) = event.query6.as_mut() {
        q.classes = vec!["ALL".into(), "KNOWN".into(), "cpe".into()];
    }
    let context = |what: &str| Some(format!(r#"{{"owner":"{what}","tags":[1,"a b"]}}"#));
    if let Some(s) = event.subnet4.as_mut() {
        s.user_context = context("subnet4");
    }
    if let Some(s) = event.subnet6.as_mut() {
        s.user_context = context("subnet6");
    }
    if let Some(l) = event.lease4.as_mut() {
        l.user_context = context("lease4");
    }
    if let Some(l) = event.lease6.as_mut() {
        l.user_context = context("lease6");
    }
    for leases in [event.leases4.as_mut(), event.deleted_leases4.as_mut()]
        .into_iter()
        .flatten()
    {
        if let Some(first) = leases.first_mut() {
            first.user_context = Some(r#"{"ISC":{"relay-agent-info":"0x0104"}}"#.into());
        }
    }
    for leases in [event.leases6.as_mut(), event.deleted_leases6.as_mut()]
        .into_iter()
        .flatten()
    {
        if let Some(first) = leases.first_mut() {
            first.user_context = Some(r#"{"site":"b"}"#.into());
        }
    }
    let mut host4 = Host4::new();
    host4.hostname = "printer.example.org".into();
    host4.ipv4_address = Some("192.0.2.100".parse().unwrap());
    host4.classes = vec!["printers".into(), "floor 2".into()];
    host4.user_context = context("host4");
    event.host4 = Some(host4);
    let mut host6 = Host6::new();
    host6.hostname = "cpe.example.org".into();
    host6.ipv6_addresses = vec![
        "2001:db8:1::100".parse().unwrap(),
        "2001:db8:1::101".parse().unwrap(),
    ];
    host6.ipv6_prefixes = vec!["2001:db8:100::/56".parse().unwrap()];
    host6.classes = vec!["cpe".into()];
    host6.user_context = None;
    event.host6 = Some(host6);
}

/// `NAME=value` lines, the form a script sees; a byte that is not part of valid UTF-8
/// shows as `\xNN`.
pub fn env_text(vars: &[(String, Text)]) -> String {
    let mut text = String::new();
    for (name, value) in vars {
        text.push_str(name);
        text.push('=');
        for piece in value.pieces() {
            match piece {
                Ok(valid) => text.push_str(valid),
                Err(byte) => text.push_str(&format!("\\x{byte:02x}")),
            }
        }
        text.push('\n');
    }
    text
}

/// The event with only the hook point's arguments kept (what a fixture needs).
pub fn arguments_only(event: Event) -> Event {
    use kea_runscript_env::Argument as A;
    let hook_point = event.hook_point;
    let keep = |argument: A| hook_point.arguments().contains(&argument);
    let mut built = Event::new(hook_point);
    built.query4 = event.query4.filter(|_| keep(A::Query4));
    built.response4 = event.response4.filter(|_| keep(A::Response4));
    built.subnet4 = event.subnet4.filter(|_| keep(A::Subnet4));
    built.client_id = event.client_id.filter(|_| keep(A::ClientId));
    built.hwaddr = event.hwaddr.filter(|_| keep(A::HwAddr));
    built.lease4 = event.lease4.filter(|_| keep(A::Lease4));
    built.leases4 = event.leases4.filter(|_| keep(A::Leases4));
    built.deleted_leases4 = event.deleted_leases4.filter(|_| keep(A::DeletedLeases4));
    built.query6 = event.query6.filter(|_| keep(A::Query6));
    built.response6 = event.response6.filter(|_| keep(A::Response6));
    built.subnet6 = event.subnet6.filter(|_| keep(A::Subnet6));
    built.lease6 = event.lease6.filter(|_| keep(A::Lease6));
    built.leases6 = event.leases6.filter(|_| keep(A::Leases6));
    built.deleted_leases6 = event.deleted_leases6.filter(|_| keep(A::DeletedLeases6));
    built.ia = event.ia.filter(|_| keep(A::Ia));
    built.remove_lease = event.remove_lease.filter(|_| keep(A::RemoveLease));
    built.fake_allocation = event.fake_allocation.filter(|_| keep(A::FakeAllocation));
    // The reservations go with the query they are looked up for.
    built.host4 = event.host4.filter(|_| keep(A::Query4));
    built.host6 = event.host6.filter(|_| keep(A::Query6));
    built.address6 = event.address6.filter(|_| keep(A::Address6));
    built.old_lease6 = event.old_lease6.filter(|_| keep(A::OldLease6));
    built.new_lease6 = event.new_lease6.filter(|_| keep(A::NewLease6));
    built.command_name = event.command_name.filter(|_| keep(A::CommandName));
    built.command_arguments = event
        .command_arguments
        .filter(|_| keep(A::CommandArguments));
    built.command_response = event.command_response.filter(|_| keep(A::CommandResponse));
    built.ddns_hostname = event.ddns_hostname.filter(|_| keep(A::DdnsHostname));
    built.ddns_fwd_update = event.ddns_fwd_update.filter(|_| keep(A::DdnsFwdUpdate));
    built.ddns_rev_update = event.ddns_rev_update.filter(|_| keep(A::DdnsRevUpdate));
    built.offer_lifetime = event.offer_lifetime.filter(|_| keep(A::OfferLifetime));
    built.old_lease4 = event.old_lease4.filter(|_| keep(A::OldLease4));
    built.host_id_type = event.host_id_type.filter(|_| keep(A::HostIdType));
    built.host_id_value = event.host_id_value.filter(|_| keep(A::HostIdValue));
    built.kea_version = event.kea_version;
    built
}
