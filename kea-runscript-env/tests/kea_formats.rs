//! Kea 2.2's text formats, checked value by value against literal expectations derived
//! from Kea's sources (named per test) and, for IPv6, from glibc's `inet_ntop`.

mod common;

use kea_runscript_env::format::{
    ipv6_text, lease_state_text, lease_type_text, option82_sub_options, pkt4_type_name,
    pkt6_type_name, push_colon_hex, push_option_hex,
};
use kea_runscript_env::{
    render, Argument, DhcpOption, Event, HookPoint, HwAddr, LeaseState, LeaseType, Text,
};

fn value<'a>(vars: &'a [(String, Text)], name: &str) -> Option<&'a str> {
    vars.iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.to_str())
}

fn hwaddr_vars(bytes: Vec<u8>, htype: u16) -> (String, String) {
    let mut event = Event::new(HookPoint::Lease4Renew);
    event.hwaddr = Some(HwAddr {
        htype,
        bytes,
        source: 0,
    });
    let vars = render(&event);
    (
        value(&vars, "PKT4_HWADDR").unwrap().to_owned(),
        value(&vars, "PKT4_HWADDR_TYPE").unwrap().to_owned(),
    )
}

/// hwaddr.cc `HWAddr::toText(false)`: two lower-case hex digits per byte, ':' between.
#[test]
fn hwaddr_of_any_length() {
    assert_eq!(hwaddr_vars(vec![], 1), ("".into(), "1".into()));
    assert_eq!(hwaddr_vars(vec![0x0a], 6), ("0a".into(), "6".into()));
    assert_eq!(
        hwaddr_vars(vec![0x00, 0x0c, 0x01, 0x02, 0x03, 0x04], 1),
        ("00:0c:01:02:03:04".into(), "1".into())
    );
    let twenty: Vec<u8> = (0xf0..=0xff).chain(0..4).collect();
    assert_eq!(
        hwaddr_vars(twenty, 32),
        (
            "f0:f1:f2:f3:f4:f5:f6:f7:f8:f9:fa:fb:fc:fd:fe:ff:00:01:02:03".into(),
            "32".into()
        )
    );
    assert_eq!(hwaddr_vars(vec![0xff; 6], 65535).1, "65535");
}

/// duid.cc `DUID::toText` / `ClientId::toText`: same format as hardware addresses.
#[test]
fn duid_and_client_id() {
    let mut out = String::new();
    push_colon_hex(&mut out, &[0x00, 0x01, 0x00, 0x01, 0xab, 0xCD]);
    assert_eq!(out, "00:01:00:01:ab:cd");
    let mut event = Event::new(HookPoint::Lease4Renew);
    event.client_id = Some(common::client_id());
    assert_eq!(
        value(&render(&event), "PKT4_CLIENT_ID"),
        Some("01:00:0c:01:02:03:04")
    );
}

/// option.cc `Option::toHexString(false)`: "0x" + upper-case hex, empty payload -> "".
#[test]
fn option_hex() {
    let hex = |bytes: &[u8]| {
        let mut out = String::new();
        push_option_hex(&mut out, bytes);
        out
    };
    assert_eq!(hex(&[]), "");
    assert_eq!(hex(&[0x00]), "0x00");
    assert_eq!(hex(&[0x0a, 0xbc, 0xde, 0xff]), "0x0ABCDEFF");
}

/// io_address.cc `IOAddress::toText` = boost.asio `to_string` = glibc `inet_ntop`.
/// Expectations produced by glibc (`python3 -c 'socket.inet_ntop(AF_INET6, …)'`).
#[test]
fn ipv6_like_glibc_inet_ntop() {
    let cases = [
        ("::", "::"),
        ("::1", "::1"),
        ("::2", "::2"),
        ("::ffff", "::ffff"),
        ("::1:2", "::0.1.0.2"),
        ("::1.2.3.4", "::1.2.3.4"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::ffff:0:0", "::ffff:0.0.0.0"),
        ("::ffff:1:2:3", "::ffff:1:2:3"),
        ("0:0:0:0:1:ffff:102:304", "::1:ffff:102:304"),
        ("64:ff9b::1.2.3.4", "64:ff9b::102:304"),
        ("1::", "1::"),
        ("0:0:1::", "0:0:1::"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("0:0:0:0:0:1:0:0", "::1:0:0"),
        ("fe80::1", "fe80::1"),
    ];
    for (input, expected) in cases {
        assert_eq!(ipv6_text(input.parse().unwrap()), expected, "{input}");
    }
}

/// pkt4.cc `Pkt4::getName`: the 16 names, "UNKNOWN" otherwise (0 = no type option).
#[test]
fn pkt4_type_names() {
    let named = [
        (1, "DHCPDISCOVER"),
        (2, "DHCPOFFER"),
        (3, "DHCPREQUEST"),
        (4, "DHCPDECLINE"),
        (5, "DHCPACK"),
        (6, "DHCPNAK"),
        (7, "DHCPRELEASE"),
        (8, "DHCPINFORM"),
        (10, "DHCPLEASEQUERY"),
        (11, "DHCPLEASEUNASSIGNED"),
        (12, "DHCPLEASEUNKNOWN"),
        (13, "DHCPLEASEACTIVE"),
        (14, "DHCPBULKLEASEQUERY"),
        (15, "DHCPLEASEQUERYDONE"),
        (17, "DHCPLEASEQUERYSTATUS"),
        (18, "DHCPTLS"),
    ];
    assert_type_names(pkt4_type_name, &named);
}

/// Every message type code gets its name from `named`, any other code `UNKNOWN`.
fn assert_type_names(type_name: fn(u8) -> &'static str, named: &[(u8, &str)]) {
    for code in 0..=255u8 {
        let expected = named
            .iter()
            .find(|(c, _)| *c == code)
            .map_or("UNKNOWN", |(_, n)| n);
        assert_eq!(type_name(code), expected, "{code}");
    }
}

/// pkt6.cc `Pkt6::getName`: the 17 names, "UNKNOWN" otherwise.
#[test]
fn pkt6_type_names() {
    let named = [
        (1, "SOLICIT"),
        (2, "ADVERTISE"),
        (3, "REQUEST"),
        (4, "CONFIRM"),
        (5, "RENEW"),
        (6, "REBIND"),
        (7, "REPLY"),
        (8, "RELEASE"),
        (9, "DECLINE"),
        (10, "RECONFIGURE"),
        (11, "INFORMATION_REQUEST"),
        (12, "RELAY_FORWARD"),
        (13, "RELAY_REPLY"),
        (14, "LEASEQUERY"),
        (15, "LEASEQUERY_REPLY"),
        (20, "DHCPV4_QUERY"),
        (21, "DHCPV4_RESPONSE"),
    ];
    assert_type_names(pkt6_type_name, &named);
}

/// lease.cc `Lease::basicStatesToText` and `Lease::typeToText`.
#[test]
fn lease_states_and_types() {
    assert_eq!(lease_state_text(LeaseState::from_raw(0)), "default");
    assert_eq!(lease_state_text(LeaseState::from_raw(1)), "declined");
    assert_eq!(
        lease_state_text(LeaseState::from_raw(2)),
        "expired-reclaimed"
    );
    assert_eq!(lease_state_text(LeaseState::from_raw(3)), "unknown (3)");
    assert_eq!(lease_state_text(LeaseState::Other(1)), "declined");
    assert_eq!(
        lease_state_text(LeaseState::from_raw(u32::MAX)),
        "unknown (4294967295)"
    );
    assert_eq!(lease_type_text(LeaseType::from_raw(0)), "IA_NA");
    assert_eq!(lease_type_text(LeaseType::from_raw(1)), "IA_TA");
    assert_eq!(lease_type_text(LeaseType::from_raw(2)), "IA_PD");
    assert_eq!(lease_type_text(LeaseType::from_raw(3)), "V4");
    assert_eq!(lease_type_text(LeaseType::from_raw(4)), "unknown (4)");
    assert_eq!(LeaseType::from_raw(7).to_raw(), 7);
    assert_eq!(LeaseState::from_raw(2), LeaseState::ExpiredReclaimed);
}

/// pkt4.cc `Pkt4::isRelayed`: giaddr neither 0.0.0.0 nor 255.255.255.255.
#[test]
fn relayed_follows_giaddr() {
    for (giaddr, relayed) in [
        ("0.0.0.0", "false"),
        ("255.255.255.255", "false"),
        ("192.0.2.254", "true"),
    ] {
        let mut event = Event::new(HookPoint::Pkt4Receive);
        let mut query = common::query4(1);
        query.giaddr = giaddr.parse().unwrap();
        event.query4 = Some(query);
        assert_eq!(
            value(&render(&event), "QUERY4_RELAYED"),
            Some(relayed),
            "{giaddr}"
        );
    }
}

/// run_script.cc casts `cltt_` (int64) to uint64_t before lexical_cast.
#[test]
fn negative_cltt_wraps_like_kea() {
    let mut event = Event::new(HookPoint::Lease4Recover);
    let mut lease = common::lease4(10);
    lease.cltt = -1;
    event.lease4 = Some(lease);
    assert_eq!(
        value(&render(&event), "LEASE4_CLTT"),
        Some("18446744073709551615")
    );
}

fn option82_vars(payload: Vec<u8>) -> Vec<(String, Text)> {
    let mut event = Event::new(HookPoint::Pkt4Receive);
    let mut query = common::query4(1);
    query.options = vec![DhcpOption { code: 82, payload }];
    event.query4 = Some(query);
    render(&event)
        .into_iter()
        .filter(|(n, _)| n.starts_with("QUERY4_OPTION_"))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, Text)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), Text::from(*v)))
        .collect()
}

#[test]
fn option82_sub_options_and_malformed_tails() {
    // Absent option 82: no variable at all, as in Kea.
    let mut event = Event::new(HookPoint::Pkt4Receive);
    event.query4 = Some(common::query4(1));
    event.query4.as_mut().unwrap().options.clear();
    assert!(render(&event)
        .iter()
        .all(|(n, _)| !n.starts_with("QUERY4_OPTION")));

    // Empty payload: the option is present with an empty value (toHexString of nothing).
    assert_eq!(option82_vars(vec![]), pairs(&[("QUERY4_OPTION_82", "")]));

    // Sorted by code, first occurrence wins, zero-length sub-option renders empty.
    assert_eq!(
        option82_vars(vec![9, 1, 0xaa, 2, 0, 1, 2, 0x01, 0x02, 1, 1, 0xff]),
        pairs(&[
            ("QUERY4_OPTION_82", "0x0901AA0200010201020101FF"),
            ("QUERY4_OPTION_82_SUB_OPTION_1", "0x0102"),
            ("QUERY4_OPTION_82_SUB_OPTION_2", ""),
            ("QUERY4_OPTION_82_SUB_OPTION_9", "0xAA"),
        ])
    );

    // A length running past the end: sub-options before it render, the tail is ignored.
    assert_eq!(
        option82_vars(vec![1, 1, 0x41, 2, 5, 0x01]),
        pairs(&[
            ("QUERY4_OPTION_82", "0x010141020501"),
            ("QUERY4_OPTION_82_SUB_OPTION_1", "0x41"),
        ])
    );
    // A lone code byte at the end.
    assert_eq!(option82_sub_options(&[1, 0, 7]), vec![(1u8, &[][..])]);
    // Codes 0 and 255 are ordinary sub-options.
    assert_eq!(
        option82_sub_options(&[0, 1, 5, 255, 0]),
        vec![(0u8, &[5u8][..]), (255, &[][..])]
    );
}

/// Recent Kea: `getAnyRelayOption(code, RELAY_SEARCH_FROM_CLIENT)` - the relay closest
/// to the client (the last in `relays`) that carries the option.
#[test]
fn v6_relay_options_from_the_relay_closest_to_the_client() {
    let mut event = Event::new(HookPoint::Pkt6Receive);
    event.query6 = Some(common::query6(1));
    let vars = render(&event);
    // 18 only in the outer relay, 37 in both (inner wins), 38 only in the inner relay.
    assert_eq!(value(&vars, "QUERY6_OPTION_18"), Some("0x75706C696E6B"));
    assert_eq!(value(&vars, "QUERY6_OPTION_37"), Some("0x00000DE9010203"));
    assert_eq!(value(&vars, "QUERY6_OPTION_38"), Some("0x7375622D3432"));

    event.query6.as_mut().unwrap().relays.clear();
    let vars = render(&event);
    assert!(vars.iter().all(|(n, _)| !n.contains("_OPTION_")));
}

/// Kea's environment values are C strings: a NUL ends the value.
#[test]
fn nul_cuts_string_values() {
    let mut event = Event::new(HookPoint::Lease4Recover);
    let mut lease = common::lease4(10);
    lease.hostname = "host\0evil=1".into();
    event.lease4 = Some(lease);
    assert_eq!(value(&render(&event), "LEASE4_HOSTNAME"), Some("host"));
}

/// Kea's strings are bytes: a host name or interface name that is not UTF-8 reaches the
/// script byte for byte (not as U+FFFD), in both profiles.
#[test]
fn non_utf8_text_is_passed_byte_for_byte() {
    use kea_runscript_env::Profile;
    let raw_host = &b"h\xffst\xc3(\x80"[..];
    let raw_iface = &b"eth\xfe0"[..];
    let mut event = Event::new(HookPoint::Lease4Renew);
    let mut lease = common::lease4(10);
    lease.hostname = raw_host.into();
    event.lease4 = Some(lease);
    let mut query = common::query4(1);
    query.iface_name = raw_iface.into();
    event.query4 = Some(query);
    let find = |vars: &[(String, Text)], name: &str| {
        vars.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_bytes().to_vec())
    };
    let vars = render(&event);
    assert_eq!(find(&vars, "LEASE4_HOSTNAME").as_deref(), Some(raw_host));
    assert_eq!(find(&vars, "QUERY4_IFACE_NAME").as_deref(), Some(raw_iface));
    let khr = Profile::KeaHookRunscript.render(&event);
    assert_eq!(find(&khr, "KEA_LEASE4_HOSTNAME").as_deref(), Some(raw_host));
    assert_eq!(
        find(&khr, "KEA_QUERY4_INTERFACE").as_deref(),
        Some(raw_iface)
    );
}

/// Absent booleans render empty (Kea always passes them; this is our choice).
#[test]
fn booleans() {
    let mut event = Event::new(HookPoint::Lease6Expire);
    assert_eq!(value(&render(&event), "REMOVE_LEASE"), Some(""));
    event.remove_lease = Some(false);
    assert_eq!(value(&render(&event), "REMOVE_LEASE"), Some("false"));
    let mut event = Event::new(HookPoint::Lease4Select);
    event.fake_allocation = Some(true);
    assert_eq!(value(&render(&event), "FAKE_ALLOCATION"), Some("true"));
}

/// Kea's callout argument names (dhcp4_hooks.dox / dhcp6_hooks.dox, Kea 2.2).
#[test]
fn kea_argument_names() {
    let lease4_renew: Vec<_> = HookPoint::Lease4Renew
        .arguments()
        .iter()
        .map(|a| a.kea_name())
        .collect();
    assert_eq!(
        lease4_renew,
        ["query4", "subnet4", "clientid", "hwaddr", "lease4"]
    );
    assert_eq!(
        HookPoint::Leases6Committed
            .arguments()
            .iter()
            .map(|a| a.kea_name())
            .collect::<Vec<_>>(),
        ["query6", "leases6", "deleted_leases6"]
    );
    assert_eq!(Argument::Ia.kea_name_for(LeaseType::Pd), "ia_pd");
    assert_eq!(Argument::FakeAllocation.kea_name(), "fake_allocation");
    assert_eq!(Argument::RemoveLease.kea_name(), "remove_lease");
}

/// Events are JSON fixtures: they survive a round trip, and omitted objects are absent.
#[test]
fn events_round_trip_through_json() {
    for &hook_point in HookPoint::ALL {
        let event = common::full_event(hook_point);
        let json = serde_json::to_string(&event).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
    }
    let minimal: Event = serde_json::from_str(r#"{"hook_point": "lease4_expire"}"#).unwrap();
    assert_eq!(minimal, Event::new(HookPoint::Lease4Expire));
}

fn names(event: &Event) -> Vec<String> {
    render(event).into_iter().map(|(n, _)| n).collect()
}

/// Names and order transcribed by hand from Kea 2.2's run_script.cc / run_script_callouts.cc
/// (`extractPkt4` with option 82 and sub-options 1 and 2, `extractSubnet4`, `extractDUID`,
/// `extractHWAddr`, `extractLease4`).
#[test]
fn lease4_renew_names_in_kea_order() {
    let mut event = common::full_event(HookPoint::Lease4Renew);
    // Only the sub-options Kea 2.2 knows, so the list is exactly Kea's.
    event.query4.as_mut().unwrap().options = vec![DhcpOption {
        code: 82,
        payload: vec![1, 1, 0x41, 2, 1, 0x42],
    }];
    let expected = "QUERY4_TYPE QUERY4_TXID QUERY4_LOCAL_ADDR QUERY4_LOCAL_PORT QUERY4_REMOTE_ADDR \
        QUERY4_REMOTE_PORT QUERY4_IFACE_INDEX QUERY4_IFACE_NAME QUERY4_HOPS QUERY4_SECS QUERY4_FLAGS \
        QUERY4_CIADDR QUERY4_SIADDR QUERY4_YIADDR QUERY4_GIADDR QUERY4_RELAYED QUERY4_HWADDR \
        QUERY4_HWADDR_TYPE QUERY4_LOCAL_HWADDR QUERY4_LOCAL_HWADDR_TYPE QUERY4_REMOTE_HWADDR \
        QUERY4_REMOTE_HWADDR_TYPE QUERY4_OPTION_82 QUERY4_OPTION_82_SUB_OPTION_1 \
        QUERY4_OPTION_82_SUB_OPTION_2 SUBNET4_ID SUBNET4_NAME SUBNET4_PREFIX SUBNET4_PREFIX_LEN \
        PKT4_CLIENT_ID PKT4_HWADDR PKT4_HWADDR_TYPE LEASE4_ADDRESS LEASE4_CLTT LEASE4_HOSTNAME \
        LEASE4_HWADDR LEASE4_HWADDR_TYPE LEASE4_STATE LEASE4_SUBNET_ID LEASE4_VALID_LIFETIME \
        LEASE4_CLIENT_ID";
    assert_eq!(
        names(&event),
        expected.split_whitespace().collect::<Vec<_>>()
    );
}

/// `extractPkt6` (absent branch), `extractLeases6` with a null collection.
#[test]
fn leases6_committed_absent_names_in_kea_order() {
    let expected =
        "QUERY6_TYPE QUERY6_TXID QUERY6_LOCAL_ADDR QUERY6_LOCAL_PORT QUERY6_REMOTE_ADDR \
        QUERY6_REMOTE_PORT QUERY6_IFACE_INDEX QUERY6_IFACE_NAME QUERY6_REMOTE_HWADDR \
        QUERY6_REMOTE_HWADDR_TYPE QUERY6_PROTO QUERY6_CLIENT_ID LEASES6_SIZE DELETED_LEASES6_SIZE";
    let vars = render(&Event::new(HookPoint::Leases6Committed));
    let got: Vec<_> = vars.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got, expected.split_whitespace().collect::<Vec<_>>());
    assert_eq!(value(&vars, "LEASES6_SIZE"), Some("0"));
    assert!(vars[..12].iter().all(|(_, v)| v.is_empty()));
}

/// `extractLease6` + `extractOptionIA` with prefix "PKT6_IA" (hence `PKT6_IA_IA_TYPE`).
#[test]
fn lease6_rebind_names_in_kea_order() {
    let got = names(&common::full_event(HookPoint::Lease6Rebind));
    let lease_and_ia: Vec<_> = got.iter().skip_while(|n| n.starts_with("QUERY6")).collect();
    let expected = "LEASE6_ADDRESS LEASE6_CLTT LEASE6_HOSTNAME LEASE6_HWADDR LEASE6_HWADDR_TYPE \
        LEASE6_STATE LEASE6_SUBNET_ID LEASE6_VALID_LIFETIME LEASE6_DUID LEASE6_IAID \
        LEASE6_PREFERRED_LIFETIME LEASE6_PREFIX_LEN LEASE6_TYPE PKT6_IA_IAID PKT6_IA_IA_TYPE \
        PKT6_IA_IA_T1 PKT6_IA_IA_T2";
    assert_eq!(
        lease_and_ia,
        expected.split_whitespace().collect::<Vec<_>>()
    );
}
