//! Shared pieces of the fuzz targets: the rendering invariants, and the shim's records
//! (`kea-hook-sdk/src/record.rs`) built from fuzzer bytes, field by field as
//! `shim/extract.cc` writes them, with any values and now and then a wrong tag or a missing
//! field.

use arbitrary::{Result, Unstructured};

/// What rendering guarantees (kea-runscript-env's crate docs): names `[A-Z0-9_]+`, each
/// once, and no NUL byte in a name or a value.
pub fn check_vars(vars: &[(String, kea_runscript_env::Text)]) {
    let mut seen = std::collections::HashSet::new();
    for (name, value) in vars {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "bad name {name:?}"
        );
        assert!(seen.insert(name.as_str()), "{name} rendered twice");
        assert!(!value.contains(&0), "NUL in the value of {name}");
    }
}

/// Renders `event` twice: both give the same variables, and they hold [`check_vars`].
pub fn check_rendering(event: &kea_runscript_env::Event) {
    let vars = kea_runscript_env::render(event);
    check_vars(&vars);
    assert_eq!(
        vars,
        kea_runscript_env::render(event),
        "rendering is deterministic"
    );
}

/// Bytes of any length, often short and often of the lengths Kea uses (4, 6, 16).
fn bytes(u: &mut Unstructured) -> Result<Vec<u8>> {
    let len = match u.int_in_range(0..=7u8)? {
        0 => 4,
        1 => 6,
        2 => 16,
        _ => u.int_in_range(0..=300usize)?,
    };
    Ok(u.bytes(len.min(u.len()))?.to_vec())
}

/// How a field's value is written (the shim's writer for it).
#[derive(Clone, Copy)]
pub enum Kind {
    /// An unsigned integer.
    Uint,
    /// A signed integer.
    Int,
    /// A boolean.
    Bool,
    /// Bytes (text, addresses, payloads).
    Bytes,
    /// Absent (`n`) or present (`s`) bytes: a client-id or DUID.
    OptBytes,
    /// Absent or present hardware-address map.
    HwAddr,
    /// A sequence of option maps.
    Options,
    /// A sequence of DHCPv6 relay maps.
    Relays,
    /// `[address, length]`.
    Prefix,
}

use Kind::*;

const HWADDR: &[(&str, Kind)] = &[("htype", Uint), ("bytes", Bytes), ("source", Uint)];
const OPTION: &[(&str, Kind)] = &[("code", Uint), ("payload", Bytes)];
const RELAY6: &[(&str, Kind)] = &[
    ("msg_type", Uint),
    ("hop_count", Uint),
    ("link_addr", Bytes),
    ("peer_addr", Bytes),
    ("options", Options),
];
const LEASE_COMMON: &[(&str, Kind)] = &[
    ("cltt", Int),
    ("hostname", Bytes),
    ("hwaddr", HwAddr),
    ("state", Uint),
    ("subnet_id", Uint),
    ("valid_lifetime", Uint),
    ("expired", Bool),
];
/// The fields the shim writes first for a packet of either family (`pkt_header`).
const PKT_HEADER: &[(&str, Kind)] = &[
    ("msg_type", Uint),
    ("transid", Uint),
    ("local_addr", Bytes),
    ("local_port", Uint),
    ("remote_addr", Bytes),
    ("remote_port", Uint),
    ("iface_index", Uint),
    ("iface_name", Bytes),
];
/// The shim's `pkt4` (after the header fields).
const PKT4: &[(&str, Kind)] = &[
    ("hops", Uint),
    ("secs", Uint),
    ("flags", Uint),
    ("ciaddr", Bytes),
    ("siaddr", Bytes),
    ("yiaddr", Bytes),
    ("giaddr", Bytes),
    ("hwaddr", HwAddr),
    ("local_hwaddr", HwAddr),
    ("remote_hwaddr", HwAddr),
    ("options", Options),
];
/// The shim's `pkt6` (after the header fields).
const PKT6: &[(&str, Kind)] = &[
    ("remote_hwaddr", HwAddr),
    ("proto", Uint),
    ("client_id", OptBytes),
    ("mac", HwAddr),
    ("options", Options),
    ("relays", Relays),
];
/// The shim's `lease4` (after the common fields).
const LEASE4: &[(&str, Kind)] = &[("address", Bytes), ("client_id", OptBytes)];
/// The shim's `lease6` (after the common fields).
const LEASE6: &[(&str, Kind)] = &[
    ("address", Bytes),
    ("duid", OptBytes),
    ("iaid", Uint),
    ("preferred_lifetime", Uint),
    ("prefix_len", Uint),
    ("lease_type", Uint),
];
/// The shim's `subnet`.
const SUBNET: &[(&str, Kind)] = &[("id", Uint), ("prefix", Prefix)];
/// The shim's `ia`.
const IA: &[(&str, Kind)] = &[("iaid", Uint), ("ia_type", Uint), ("t1", Uint), ("t2", Uint)];

/// A record being written from fuzzer choices.
pub struct Record<'a, 'u> {
    u: &'a mut Unstructured<'u>,
    /// The record's bytes so far.
    pub out: Vec<u8>,
}

impl<'a, 'u> Record<'a, 'u> {
    /// An empty record drawing from `u`.
    pub fn new(u: &'a mut Unstructured<'u>) -> Self {
        Record { u, out: Vec::new() }
    }

    /// Mostly `tag`; now and then another tag byte (the reader must reject it cleanly).
    fn tag(&mut self, tag: u8) -> Result<()> {
        let tag = if self.u.ratio(1, 64)? { self.u.arbitrary()? } else { tag };
        self.out.push(tag);
        Ok(())
    }

    fn uint(&mut self) -> Result<()> {
        self.tag(b'u')?;
        // Mostly small numbers (Kea's u8/u16/u32 fields), sometimes any.
        let n: u64 = if self.u.arbitrary()? { self.u.arbitrary::<u16>()?.into() } else { self.u.arbitrary()? };
        self.out.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    fn bytes(&mut self) -> Result<()> {
        self.tag(b'b')?;
        let b = bytes(self.u)?;
        self.out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&b);
        Ok(())
    }

    /// `n`, or `s` and then `present`.
    fn optional(&mut self, present: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if self.u.arbitrary()? {
            self.tag(b's')?;
            present(self)
        } else {
            self.tag(b'n')
        }
    }

    /// A map of `fields` (each now and then left out).
    pub fn map(&mut self, fields: &[&[(&str, Kind)]]) -> Result<()> {
        self.tag(b'{')?;
        for &(name, kind) in fields.iter().flat_map(|f| f.iter()) {
            if self.u.ratio(1, 128)? {
                continue;
            }
            self.tag(b'k')?;
            self.out.push(name.len() as u8);
            self.out.extend_from_slice(name.as_bytes());
            self.value(kind)?;
        }
        self.tag(b'}')
    }

    /// A sequence of up to `max` items written by `item`.
    pub fn seq(&mut self, max: usize, item: impl Fn(&mut Self) -> Result<()>) -> Result<()> {
        self.tag(b'[')?;
        for _ in 0..self.u.int_in_range(0..=max)? {
            item(self)?;
        }
        self.tag(b']')
    }

    fn value(&mut self, kind: Kind) -> Result<()> {
        match kind {
            Uint => self.uint(),
            Int => {
                self.tag(b'i')?;
                let n: i64 = self.u.arbitrary()?;
                self.out.extend_from_slice(&n.to_le_bytes());
                Ok(())
            }
            Bool => {
                let b: bool = self.u.arbitrary()?;
                self.tag(if b { b't' } else { b'f' })
            }
            Bytes => self.bytes(),
            OptBytes => self.optional(|r| r.bytes()),
            HwAddr => self.optional(|r| r.map(&[HWADDR])),
            Options => self.seq(6, |r| r.map(&[OPTION])),
            Relays => self.seq(3, |r| r.map(&[RELAY6])),
            Prefix => self.seq(2, |r| {
                r.bytes()?;
                r.uint()
            }),
        }
    }

    /// A top-level argument: absent, or present with `write`.
    pub fn argument(mut self, write: impl FnOnce(&mut Self) -> Result<()>) -> Result<Vec<u8>> {
        self.optional(write)?;
        Ok(self.out)
    }
}

/// A record of an optional map of `fields`.
fn map_argument(u: &mut Unstructured, fields: &[&[(&str, Kind)]]) -> Result<Vec<u8>> {
    Record::new(u).argument(|r| r.map(fields))
}

/// A record of an optional sequence of up to 3 maps of `fields` (a lease collection).
fn list_argument(u: &mut Unstructured, fields: &[&[(&str, Kind)]]) -> Result<Vec<u8>> {
    Record::new(u).argument(|r| r.seq(3, |r| r.map(fields)))
}

/// A record of an optional DHCPv4 packet.
pub fn pkt4(u: &mut Unstructured) -> Result<Vec<u8>> {
    map_argument(u, &[PKT_HEADER, PKT4])
}

/// A record of an optional DHCPv6 packet.
pub fn pkt6(u: &mut Unstructured) -> Result<Vec<u8>> {
    map_argument(u, &[PKT_HEADER, PKT6])
}

/// A record of an optional subnet (either family; the address length decides).
pub fn subnet(u: &mut Unstructured) -> Result<Vec<u8>> {
    map_argument(u, &[SUBNET])
}

/// A record of an optional DHCPv4 lease.
pub fn lease4(u: &mut Unstructured) -> Result<Vec<u8>> {
    map_argument(u, &[LEASE_COMMON, LEASE4])
}

/// A record of an optional DHCPv6 lease.
pub fn lease6(u: &mut Unstructured) -> Result<Vec<u8>> {
    map_argument(u, &[LEASE_COMMON, LEASE6])
}

/// A record of an optional DHCPv4 lease collection.
pub fn leases4(u: &mut Unstructured) -> Result<Vec<u8>> {
    list_argument(u, &[LEASE_COMMON, LEASE4])
}

/// A record of an optional DHCPv6 lease collection.
pub fn leases6(u: &mut Unstructured) -> Result<Vec<u8>> {
    list_argument(u, &[LEASE_COMMON, LEASE6])
}

/// A record of an optional client-id, DUID or other bytes.
pub fn id(u: &mut Unstructured) -> Result<Vec<u8>> {
    Record::new(u).argument(|r| r.bytes())
}

/// A record of an optional hardware address.
pub fn hwaddr(u: &mut Unstructured) -> Result<Vec<u8>> {
    map_argument(u, &[HWADDR])
}

/// A record of an optional IA.
pub fn ia(u: &mut Unstructured) -> Result<Vec<u8>> {
    map_argument(u, &[IA])
}

/// A record of an optional boolean.
pub fn boolean(u: &mut Unstructured) -> Result<Vec<u8>> {
    Record::new(u).argument(|r| r.value(Bool))
}

/// A record of an optional unsigned integer (a lifetime, a host identifier type).
pub fn uint(u: &mut Unstructured) -> Result<Vec<u8>> {
    Record::new(u).argument(|r| r.value(Uint))
}
