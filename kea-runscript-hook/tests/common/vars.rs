//! The documented variable names per hook point (Kea's libdhcp_run_script.so for its 13,
//! the same renderers and prefixes for the extra ones), written down independently of the
//! library under test.

use super::dump::Record;

/// A group of variables rendered from one Kea object.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A DHCPv4 packet (`*_TYPE`, `*_TXID`, …).
    Pkt4,
    /// A DHCPv6 packet.
    Pkt6,
    /// A subnet (`*_ID`, `*_NAME`, `*_PREFIX`, `*_PREFIX_LEN`).
    Subnet,
    /// A DHCPv4 lease.
    Lease4,
    /// A DHCPv6 lease.
    Lease6,
    /// An IA option (`PKT6_IA_*`).
    Ia,
    /// A hardware address and its `_TYPE`.
    HwAddr,
    /// One variable named exactly like the prefix.
    Plain,
}

impl Kind {
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Kind::Pkt4 => &[
                "TYPE",
                "TXID",
                "LOCAL_ADDR",
                "LOCAL_PORT",
                "REMOTE_ADDR",
                "REMOTE_PORT",
                "IFACE_INDEX",
                "IFACE_NAME",
                "HOPS",
                "SECS",
                "FLAGS",
                "CIADDR",
                "SIADDR",
                "YIADDR",
                "GIADDR",
                "RELAYED",
                "HWADDR",
                "HWADDR_TYPE",
                "LOCAL_HWADDR",
                "LOCAL_HWADDR_TYPE",
                "REMOTE_HWADDR",
                "REMOTE_HWADDR_TYPE",
            ],
            Kind::Pkt6 => &[
                "TYPE",
                "TXID",
                "LOCAL_ADDR",
                "LOCAL_PORT",
                "REMOTE_ADDR",
                "REMOTE_PORT",
                "IFACE_INDEX",
                "IFACE_NAME",
                "REMOTE_HWADDR",
                "REMOTE_HWADDR_TYPE",
                "PROTO",
                "CLIENT_ID",
            ],
            Kind::Subnet => &["ID", "NAME", "PREFIX", "PREFIX_LEN"],
            Kind::Lease4 => &[
                "ADDRESS",
                "CLTT",
                "HOSTNAME",
                "HWADDR",
                "HWADDR_TYPE",
                "STATE",
                "SUBNET_ID",
                "VALID_LIFETIME",
                "CLIENT_ID",
            ],
            Kind::Lease6 => &[
                "ADDRESS",
                "CLTT",
                "HOSTNAME",
                "HWADDR",
                "HWADDR_TYPE",
                "STATE",
                "SUBNET_ID",
                "VALID_LIFETIME",
                "DUID",
                "IAID",
                "PREFERRED_LIFETIME",
                "PREFIX_LEN",
                "TYPE",
            ],
            Kind::Ia => &["IAID", "IA_TYPE", "IA_T1", "IA_T2"],
            Kind::HwAddr => &["", "_TYPE"],
            Kind::Plain => &[""],
        }
    }
}

use Kind::*;

/// (hook point, [(prefix, kind)]) — the variables each hook point documents; per family,
/// Kea's own hook points come first, then the opt-in ones.
pub const HOOK_VARS: &[(&str, &[(&str, Kind)])] = &[
    (
        "lease4_renew",
        &[
            ("QUERY4", Pkt4),
            ("SUBNET4", Subnet),
            ("PKT4_CLIENT_ID", Plain),
            ("PKT4_HWADDR", HwAddr),
            ("LEASE4", Lease4),
        ],
    ),
    (
        "lease4_expire",
        &[("LEASE4", Lease4), ("REMOVE_LEASE", Plain)],
    ),
    ("lease4_recover", &[("LEASE4", Lease4)]),
    (
        "leases4_committed",
        &[
            ("QUERY4", Pkt4),
            ("LEASES4_SIZE", Plain),
            ("DELETED_LEASES4_SIZE", Plain),
        ],
    ),
    ("lease4_release", &[("QUERY4", Pkt4), ("LEASE4", Lease4)]),
    ("lease4_decline", &[("QUERY4", Pkt4), ("LEASE4", Lease4)]),
    ("pkt4_receive", &[("QUERY4", Pkt4)]),
    ("subnet4_select", &[("QUERY4", Pkt4), ("SUBNET4", Subnet)]),
    (
        "lease4_select",
        &[
            ("QUERY4", Pkt4),
            ("SUBNET4", Subnet),
            ("FAKE_ALLOCATION", Plain),
            ("LEASE4", Lease4),
        ],
    ),
    ("pkt4_send", &[("QUERY4", Pkt4), ("RESPONSE4", Pkt4)]),
    (
        "lease6_renew",
        &[("QUERY6", Pkt6), ("LEASE6", Lease6), ("PKT6_IA", Ia)],
    ),
    (
        "lease6_rebind",
        &[("QUERY6", Pkt6), ("LEASE6", Lease6), ("PKT6_IA", Ia)],
    ),
    (
        "lease6_expire",
        &[("LEASE6", Lease6), ("REMOVE_LEASE", Plain)],
    ),
    ("lease6_recover", &[("LEASE6", Lease6)]),
    (
        "leases6_committed",
        &[
            ("QUERY6", Pkt6),
            ("LEASES6_SIZE", Plain),
            ("DELETED_LEASES6_SIZE", Plain),
        ],
    ),
    ("lease6_release", &[("QUERY6", Pkt6), ("LEASE6", Lease6)]),
    ("lease6_decline", &[("QUERY6", Pkt6), ("LEASE6", Lease6)]),
    ("pkt6_receive", &[("QUERY6", Pkt6)]),
    ("subnet6_select", &[("QUERY6", Pkt6), ("SUBNET6", Subnet)]),
    (
        "lease6_select",
        &[
            ("QUERY6", Pkt6),
            ("SUBNET6", Subnet),
            ("FAKE_ALLOCATION", Plain),
            ("LEASE6", Lease6),
        ],
    ),
    ("pkt6_send", &[("QUERY6", Pkt6), ("RESPONSE6", Pkt6)]),
];

/// The hook points of [`HOOK_VARS`] for one family (`'4'` or `'6'`, the digit in every
/// hook point name), in the table's order: Kea's own, then the opt-in ones.
pub fn hook_points(family: char) -> Vec<&'static str> {
    HOOK_VARS
        .iter()
        .map(|(hook, _)| *hook)
        .filter(|hook| hook.contains(family))
        .collect()
}

/// Every documented variable name for `record`'s hook point (with the per-lease
/// `LEASES4_AT<i>_*` / `DELETED_LEASES6_AT<i>_*` names its sizes call for).
pub fn expected_names(record: &Record) -> Vec<String> {
    let (_, groups) = HOOK_VARS
        .iter()
        .find(|(h, _)| *h == record.hook)
        .unwrap_or_else(|| panic!("unknown hook point {:?}", record.hook));
    let mut names = Vec::new();
    for (prefix, kind) in *groups {
        for suffix in kind.suffixes() {
            names.push(match kind {
                Plain | HwAddr => format!("{prefix}{suffix}"),
                _ => format!("{prefix}_{suffix}"),
            });
        }
        if let Some(list) = prefix.strip_suffix("_SIZE") {
            let lease = if list.contains('4') { Lease4 } else { Lease6 };
            let size: usize = record.var(prefix).parse().expect("size is a number");
            for i in 0..size {
                names.extend(lease.suffixes().iter().map(|s| format!("{list}_AT{i}_{s}")));
            }
        }
    }
    names
}

/// Panics listing the documented variables `record` lacks.
pub fn assert_documented(record: &Record) {
    let missing: Vec<String> = expected_names(record)
        .into_iter()
        .filter(|n| !record.vars.contains_key(n))
        .collect();
    assert!(
        missing.is_empty(),
        "{} lacks documented variables {missing:?}; it has {:#?}",
        record.hook,
        record.vars
    );
}

/// Panics when `record` carries a variable that is neither documented for its hook point,
/// nor an option variable (`*_OPTION_<code>…`, a superset Kea allows), nor in `allowed`,
/// nor PWD (which /bin/sh sets itself) — e.g. Kea's own environment leaking to scripts.
pub fn assert_nothing_else(record: &Record, allowed: &[&str]) {
    let documented = expected_names(record);
    let unexpected: Vec<&String> = record
        .vars
        .keys()
        .filter(|n| !documented.contains(n) && !n.contains("_OPTION_"))
        .filter(|n| n.as_str() != "PWD" && !allowed.contains(&n.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} has undocumented variables {unexpected:?}",
        record.hook
    );
}
