//! Property tests: any event renders, without panic, to well-formed, unique, deterministic
//! variables.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use kea_runscript_env::{
    render, render_extras, render_options, Argument, ClientId, DhcpOption, Duid, Event, Extras,
    HookPoint, Host4, Host6, HostIdType, HostIdValue, HwAddr, Ia, Lease4, Lease6, LeaseState,
    LeaseType, Pkt4, Pkt6, Profile, Proto, Relay6, Subnet4, Subnet6, Text,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

/// Any string, biased towards NULs, control bytes, '=' and non-ASCII.
/// Kea's free-form text: any bytes (a host name or interface name need not be UTF-8).
/// Boxed: the event strategy nests it many times, and unboxed it overflows the test
/// thread's stack in debug builds.
fn text() -> BoxedStrategy<Text> {
    prop_oneof![
        any::<String>().prop_map(Text::from),
        "[\\x00-\\x1f=a-z\u{e9}\u{1F600}]{0,24}".prop_map(Text::from),
        vec(any::<u8>(), 0..32).prop_map(Text::from),
    ]
    .boxed()
}

fn hwaddr() -> impl Strategy<Value = Option<HwAddr>> {
    proptest::option::of((any::<u16>(), bytes(40), any::<u32>()).prop_map(
        |(htype, bytes, source)| HwAddr {
            htype,
            bytes,
            source,
        },
    ))
}

/// Option 82 payloads: well-formed TLV lists (sub-options of any code) or arbitrary bytes.
fn option82_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec((any::<u8>(), bytes(12)), 0..8).prop_map(|subs| {
            let mut payload = Vec::new();
            for (code, value) in subs {
                payload.push(code);
                payload.push(value.len() as u8);
                payload.extend(value);
            }
            payload
        }),
        bytes(64),
    ]
}

fn options(codes: impl Strategy<Value = u16>) -> impl Strategy<Value = Vec<DhcpOption>> {
    vec(
        (codes, bytes(32)).prop_map(|(code, payload)| DhcpOption { code, payload }),
        0..4,
    )
}

fn pkt4() -> impl Strategy<Value = Option<Pkt4>> {
    let header = (
        any::<u8>(),
        any::<u32>(),
        any::<Ipv4Addr>(),
        any::<u16>(),
        any::<Ipv4Addr>(),
        any::<u16>(),
        any::<u32>(),
        text(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
    );
    let addrs = (
        any::<Ipv4Addr>(),
        any::<Ipv4Addr>(),
        any::<Ipv4Addr>(),
        prop_oneof![
            Just(Ipv4Addr::UNSPECIFIED),
            Just(Ipv4Addr::BROADCAST),
            any::<Ipv4Addr>()
        ],
        hwaddr(),
        hwaddr(),
        hwaddr(),
        options(prop_oneof![Just(82u16), any::<u16>()]),
        proptest::option::of(option82_payload()),
    );
    proptest::option::of((header, addrs).prop_map(|(h, a)| {
        let mut options = a.7;
        if let Some(payload) = a.8 {
            options.push(DhcpOption { code: 82, payload });
        }
        let mut pkt = Pkt4::new(h.0, h.1);
        pkt.local_addr = h.2;
        pkt.local_port = h.3;
        pkt.remote_addr = h.4;
        pkt.remote_port = h.5;
        pkt.iface_index = h.6;
        pkt.iface_name = h.7;
        pkt.hops = h.8;
        pkt.secs = h.9;
        pkt.flags = h.10;
        pkt.ciaddr = a.0;
        pkt.siaddr = a.1;
        pkt.yiaddr = a.2;
        pkt.giaddr = a.3;
        pkt.hwaddr = a.4;
        pkt.local_hwaddr = a.5;
        pkt.remote_hwaddr = a.6;
        pkt.options = options;
        pkt
    }))
}

fn relay6() -> impl Strategy<Value = Relay6> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<Ipv6Addr>(),
        any::<Ipv6Addr>(),
        options(prop_oneof![
            Just(18u16),
            Just(37u16),
            Just(38u16),
            any::<u16>()
        ]),
    )
        .prop_map(|(msg_type, hop_count, link_addr, peer_addr, options)| {
            let mut relay = Relay6::new(msg_type, hop_count, link_addr, peer_addr);
            relay.options = options;
            relay
        })
}

fn pkt6() -> impl Strategy<Value = Option<Pkt6>> {
    let fields = (
        (any::<u8>(), any::<u32>(), any::<Ipv6Addr>(), any::<u16>()),
        (any::<Ipv6Addr>(), any::<u16>(), any::<u32>(), text()),
        hwaddr(),
        any::<bool>(),
        proptest::option::of(bytes(140).prop_map(Duid)),
        options(any::<u16>()),
        vec(relay6(), 0..4),
        hwaddr(),
        proptest::option::of(text()),
    );
    proptest::option::of(fields.prop_map(
        |(a, b, remote_hwaddr, tcp, client_id, options, relays, mac, kea_text)| {
            let mut pkt = Pkt6::new(a.0, a.1);
            pkt.local_addr = a.2;
            pkt.local_port = a.3;
            pkt.remote_addr = b.0;
            pkt.remote_port = b.1;
            pkt.iface_index = b.2;
            pkt.iface_name = b.3;
            pkt.remote_hwaddr = remote_hwaddr;
            pkt.proto = if tcp { Proto::Tcp } else { Proto::Udp };
            pkt.client_id = client_id;
            pkt.options = options;
            pkt.relays = relays;
            pkt.mac = mac;
            pkt.kea_text = kea_text.map(|t| t.to_string());
            pkt
        },
    ))
}

fn lease4() -> impl Strategy<Value = Lease4> {
    (
        any::<Ipv4Addr>(),
        any::<i64>(),
        text(),
        hwaddr(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of(bytes(40).prop_map(ClientId)),
        any::<bool>(),
        proptest::option::of(text()),
    )
        .prop_map(|f| {
            let mut lease = Lease4::new(f.0);
            lease.cltt = f.1;
            lease.hostname = f.2;
            lease.hwaddr = f.3;
            lease.state = LeaseState::from_raw(f.4 % 5);
            lease.subnet_id = f.5;
            lease.valid_lifetime = f.6;
            lease.client_id = f.7;
            lease.expired = f.8;
            lease.kea_text = f.9.map(|t| t.to_string());
            lease
        })
}

fn lease6() -> impl Strategy<Value = Lease6> {
    (
        (
            any::<Ipv6Addr>(),
            any::<i64>(),
            text(),
            hwaddr(),
            any::<u32>(),
        ),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::option::of(bytes(140).prop_map(Duid)),
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u32>(),
            any::<bool>(),
            proptest::option::of(text()),
        ),
    )
        .prop_map(|(a, b)| {
            let mut lease = Lease6::new(LeaseType::from_raw(b.6 % 6), a.0, b.5);
            lease.cltt = a.1;
            lease.hostname = a.2;
            lease.hwaddr = a.3;
            lease.state = LeaseState::from_raw(a.4 % 5);
            lease.subnet_id = b.0;
            lease.valid_lifetime = b.1;
            lease.duid = b.2;
            lease.iaid = b.3;
            lease.preferred_lifetime = b.4;
            lease.expired = b.7;
            lease.kea_text = b.8.map(|t| t.to_string());
            lease
        })
}

fn event() -> impl Strategy<Value = Event> {
    let v4 = (
        pkt4(),
        pkt4(),
        proptest::option::of((any::<u32>(), any::<Ipv4Addr>(), 0u8..=32)),
        proptest::option::of(bytes(40).prop_map(ClientId)),
        hwaddr(),
        proptest::option::of(lease4()),
        proptest::option::of(vec(lease4(), 0..4)),
        proptest::option::of(vec(lease4(), 0..3)),
    );
    let v6 = (
        pkt6(),
        pkt6(),
        proptest::option::of((any::<u32>(), any::<Ipv6Addr>(), 0u8..=128)),
        proptest::option::of(lease6()),
        proptest::option::of(vec(lease6(), 0..4)),
        proptest::option::of(vec(lease6(), 0..3)),
        proptest::option::of((any::<u32>(), any::<u16>(), any::<u32>(), any::<u32>())),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
    );
    (proptest::sample::select(HookPoint::ALL), v4, v6).prop_map(|(hook_point, a, b)| {
        let mut event = Event::new(hook_point);
        event.query4 = a.0;
        event.response4 = a.1;
        event.subnet4 = a
            .2
            .map(|(id, ip, len)| Subnet4::new(id, ipnetwork::Ipv4Network::new(ip, len).unwrap()));
        event.client_id = a.3;
        event.hwaddr = a.4;
        event.lease4 = a.5;
        event.leases4 = a.6;
        event.deleted_leases4 = a.7;
        event.query6 = b.0;
        event.response6 = b.1;
        event.subnet6 = b
            .2
            .map(|(id, ip, len)| Subnet6::new(id, ipnetwork::Ipv6Network::new(ip, len).unwrap()));
        event.lease6 = b.3;
        event.leases6 = b.4;
        event.deleted_leases6 = b.5;
        event.ia =
            b.6.map(|(iaid, ia_type, t1, t2)| Ia::new(iaid, ia_type, t1, t2));
        event.remove_lease = b.7;
        event.fake_allocation = b.8;
        event
    })
}

/// `addr6_register` events (Kea 3.0): its own objects, under each supported release.
fn registration() -> impl Strategy<Value = Event> {
    (
        pkt6(),
        proptest::option::of(any::<[u8; 16]>()),
        proptest::option::of(lease6()),
        proptest::option::of(lease6()),
        proptest::sample::select(&[20200u32, 20603, 30004][..]),
    )
        .prop_map(|(query6, address6, old_lease6, new_lease6, version)| {
            let mut event = Event::new(HookPoint::Addr6Register);
            event.query6 = query6;
            event.address6 = address6.map(Ipv6Addr::from);
            event.old_lease6 = old_lease6;
            event.new_lease6 = new_lease6;
            event.kea_version = kea_runscript_env::KeaVersion::from_hooks_version(version);
            event
        })
}

/// `command_processed` events: any name, any text as the arguments (the model need not hold
/// JSON), and responses with any `result` and `text`, or any text at all.
fn command() -> impl Strategy<Value = Event> {
    let response = prop_oneof![
        (any::<i64>(), any::<String>()).prop_map(|(result, text)| {
            serde_json::json!({"result": result, "text": text}).to_string()
        }),
        any::<String>(),
    ];
    (
        proptest::option::of(text()),
        proptest::option::of(any::<String>()),
        proptest::option::of(response),
    )
        .prop_map(|(name, arguments, response)| {
            let mut event = Event::new(HookPoint::CommandProcessed);
            event.command_name = name;
            event.command_arguments = arguments;
            event.command_response = response;
            event
        })
}

/// Events of the hook points whose arguments are neither packets nor leases alone
/// (`ddns*_update`, `lease4_offer`, `lease4_server_decline`, `host*_identifier`): any host
/// name, flags, lifetime, old lease, identifier type (known or not) and value.
fn answer_points() -> impl Strategy<Value = Event> {
    const POINTS: &[HookPoint] = &[
        HookPoint::Ddns4Update,
        HookPoint::Ddns6Update,
        HookPoint::Lease4Offer,
        HookPoint::Lease4ServerDecline,
        HookPoint::Host4Identifier,
        HookPoint::Host6Identifier,
    ];
    (
        proptest::sample::select(POINTS),
        (pkt4(), pkt6(), proptest::option::of(lease4())),
        (
            proptest::option::of(text()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(lease4()),
            proptest::option::of(0u32..8),
            proptest::option::of(bytes(300)),
        ),
    )
        .prop_map(|(hook_point, (query4, query6, lease4), a)| {
            let mut event = Event::new(hook_point);
            event.query4 = query4;
            event.query6 = query6;
            event.lease4 = lease4;
            event.ddns_hostname = a.0;
            event.ddns_fwd_update = a.1;
            event.ddns_rev_update = a.2;
            event.offer_lifetime = a.3;
            event.old_lease4 = a.4;
            event.host_id_type = a.5.map(HostIdType::from_raw);
            event.host_id_value = a.6.map(HostIdValue);
            event
        })
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The properties of [`render`] for any event: valid, unique names, no NUL, deterministic,
/// and exactly its hook point's arguments rendered.
fn well_formed(event: &Event) -> Result<(), TestCaseError> {
    let vars = render(event);
    let mut seen = HashSet::new();
    for (name, value) in &vars {
        prop_assert!(is_valid_name(name), "bad name {:?}", name);
        prop_assert!(!value.contains(&0), "NUL in value of {}", name);
        prop_assert!(seen.insert(name.as_str()), "{} rendered twice", name);
    }
    prop_assert_eq!(render(event), vars.clone());
    // Every argument's prefix leads at least one variable (but an absent old_lease6,
    // for which Kea's hook renders nothing), and nothing else appears.
    for argument in event.hook_point.arguments() {
        if *argument == Argument::OldLease6 && event.old_lease6.is_none() {
            prop_assert!(!vars.iter().any(|(n, _)| n.starts_with(argument.prefix())));
            continue;
        }
        prop_assert!(vars.iter().any(|(n, _)| n.starts_with(argument.prefix())));
    }
    prop_assert!(vars.iter().all(|(n, _)| event
        .hook_point
        .arguments()
        .iter()
        .any(|a| n.starts_with(a.prefix()))));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_event_renders_well_formed(event in event()) {
        well_formed(&event)?;
    }

    #[test]
    fn any_command_renders_well_formed(event in command()) {
        well_formed(&event)?;
    }

    #[test]
    fn any_registration_renders_well_formed(event in registration()) {
        well_formed(&event)?;
    }

    #[test]
    fn any_answer_point_event_renders_well_formed(event in answer_points()) {
        well_formed(&event)?;
        let vars = render(&event);
        let value = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        if let (Some(hostname), Some(rendered)) = (&event.ddns_hostname, value("DDNS_HOSTNAME")) {
            // The name as Kea holds it, up to a NUL.
            let until_nul = hostname.as_bytes().split(|&b| b == 0).next().unwrap_or_default();
            prop_assert_eq!(rendered.as_bytes(), until_nul);
        }
        if let Some(rendered) = value("HOST_ID_TYPE") {
            let known = ["", "hw-address", "duid", "circuit-id", "client-id", "flex-id", "(unknown)"];
            prop_assert!(known.iter().any(|k| rendered.as_bytes() == k.as_bytes()));
        }
    }

    #[test]
    fn any_option_bytes_render_for_any_codes(
        hook_point in proptest::sample::select(HookPoint::ALL),
        packets in (pkt4(), pkt4(), pkt6(), pkt6()),
        codes in vec(prop_oneof![Just(125u16), Just(17u16), Just(82u16), 1u16..=300], 0..6),
    ) {
        // Only the packets matter to options (a whole event() here overflows the stack of
        // the debug-built strategy).
        let mut event = Event::new(hook_point);
        (event.query4, event.response4, event.query6, event.response6) = packets;
        // Configuration gives distinct codes.
        let mut distinct = Vec::new();
        for code in codes {
            if !distinct.contains(&code) {
                distinct.push(code);
            }
        }
        let vars = render_options(&event, &distinct);
        let mut seen = HashSet::new();
        for (name, value) in &vars {
            prop_assert!(is_valid_name(name), "bad name {:?}", name);
            prop_assert!(name.contains("_OPTION_"), "{}", name);
            prop_assert!(!value.contains(&0), "NUL in value of {}", name);
            prop_assert!(seen.insert(name.as_str()), "{} rendered twice", name);
            prop_assert!(value.is_empty() || value.starts_with(b"0x") || name.ends_with("_ENTERPRISE_ID"));
        }
        prop_assert_eq!(render_options(&event, &distinct), vars);
    }

    #[test]
    fn any_classes_contexts_and_hosts_render_well_formed(
        hook_point in proptest::sample::select(HookPoint::ALL),
        classes in vec(any::<String>(), 0..5),
        contexts in vec(proptest::option::of(any::<String>()), 4),
        lease_count in 0usize..4,
        host in (any::<String>(), proptest::option::of(any::<Ipv4Addr>()), vec(any::<Ipv6Addr>(), 0..3),
                 vec((any::<Ipv6Addr>(), 0u8..=128), 0..3)),
        choice in (any::<bool>(), any::<bool>(), any::<bool>()),
    ) {
        let mut event = Event::new(hook_point);
        let mut query4 = Pkt4::new(1, 1);
        query4.classes = classes.clone();
        let mut query6 = Pkt6::new(1, 1);
        query6.classes = classes.clone();
        (event.query4, event.query6) = (Some(query4), Some(query6));
        let mut subnet4 = Subnet4::new(1, "10.0.0.0/8".parse().unwrap());
        subnet4.user_context = contexts[0].clone();
        let mut subnet6 = Subnet6::new(1, "2001:db8::/32".parse().unwrap());
        subnet6.user_context = contexts[1].clone();
        (event.subnet4, event.subnet6) = (Some(subnet4), Some(subnet6));
        let mut lease4 = Lease4::new(Ipv4Addr::LOCALHOST);
        lease4.user_context = contexts[2].clone();
        let mut lease6 = Lease6::new(LeaseType::Pd, Ipv6Addr::LOCALHOST, 56);
        lease6.user_context = contexts[3].clone();
        event.leases4 = Some(vec![lease4.clone(); lease_count]);
        event.deleted_leases4 = Some(vec![lease4.clone(); lease_count]);
        event.leases6 = Some(vec![lease6.clone(); lease_count]);
        event.deleted_leases6 = Some(vec![lease6.clone(); lease_count]);
        (event.lease4, event.lease6) = (Some(lease4), Some(lease6));
        let mut host4 = Host4::new();
        host4.hostname = host.0.clone();
        host4.ipv4_address = host.1;
        host4.classes = classes.clone();
        host4.user_context = contexts[0].clone();
        let mut host6 = Host6::new();
        host6.hostname = host.0;
        host6.ipv6_addresses = host.2;
        host6.ipv6_prefixes = host.3.into_iter()
            .map(|(ip, len)| ipnetwork::Ipv6Network::new(ip, len).unwrap())
            .collect();
        host6.classes = classes;
        host6.user_context = contexts[1].clone();
        (event.host4, event.host6) = (Some(host4), Some(host6));

        let extras = Extras::new(choice.0, choice.1, choice.2);
        let vars = render_extras(&event, extras);
        let kea = render(&event);
        let mut seen: HashSet<&str> = kea.iter().map(|(n, _)| n.as_str()).collect();
        for (name, value) in &vars {
            prop_assert!(is_valid_name(name), "bad name {:?}", name);
            prop_assert!(!value.contains(&0), "NUL in value of {}", name);
            prop_assert!(seen.insert(name.as_str()), "{} rendered twice", name);
        }
        if !extras.any() {
            prop_assert!(vars.is_empty());
        }
        prop_assert_eq!(render_extras(&event, extras), vars);
    }

    #[test]
    fn string_values_are_cut_at_the_first_nul(hostname in text()) {
        let mut event = Event::new(HookPoint::Lease4Recover);
        event.lease4 = Some({
let mut lease = Lease4::new(Ipv4Addr::LOCALHOST);
lease.cltt = 0;
lease.hostname = hostname.clone();
lease.hwaddr = None;
lease.state = LeaseState::Default;
lease.subnet_id = 0;
lease.valid_lifetime = 0;
lease.client_id = None;
lease
});
        let vars = render(&event);
        let rendered = &vars.iter().find(|(n, _)| n == "LEASE4_HOSTNAME").unwrap().1;
        // Byte for byte up to the first NUL: bytes that are not UTF-8 are kept, not replaced.
        prop_assert_eq!(rendered.as_bytes(), hostname.split(|&b| b == 0).next().unwrap());
    }

    #[test]
    fn any_event_renders_well_formed_for_kea_hook_runscript(event in event()) {
        let profile = Profile::KeaHookRunscript;
        let vars = profile.render(&event);
        let mut seen = HashSet::new();
        for (name, value) in &vars {
            prop_assert!(is_valid_name(name) && name.starts_with("KEA_"), "bad name {:?}", name);
            prop_assert!(!value.contains(&0), "NUL in value of {}", name);
            prop_assert!(seen.insert(name.as_str()), "{} rendered twice", name);
        }
        prop_assert_eq!(profile.render(&event), vars.clone());
        prop_assert_eq!(vars.is_empty(), profile.arguments(event.hook_point).unwrap_or_default().is_empty());
    }

    #[test]
    fn ipv6_text_parses_back(addr in any::<Ipv6Addr>()) {
        let text = kea_runscript_env::format::ipv6_text(addr);
        prop_assert_eq!(text.parse::<Ipv6Addr>().unwrap(), addr);
        prop_assert_eq!(text.to_lowercase(), text.clone());
    }

    #[test]
    fn ipv4_and_integers_are_written_as_display_writes_them(addr in any::<Ipv4Addr>(), n in any::<u64>()) {
        let mut text = String::new();
        kea_runscript_env::format::push_ipv4(&mut text, addr);
        prop_assert_eq!(&text, &addr.to_string());
        text.clear();
        kea_runscript_env::format::push_uint(&mut text, n);
        prop_assert_eq!(text, n.to_string());
    }

    #[test]
    fn option82_parse_is_total(payload in bytes(300)) {
        let subs = kea_runscript_env::format::option82_sub_options(&payload);
        let consumed: usize = subs.iter().map(|(_, v)| v.len() + 2).sum();
        prop_assert!(consumed <= payload.len());
    }
}
