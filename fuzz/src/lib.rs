//! Shared pieces of the fuzz targets: the rendering invariants, and raw shim structs
//! built from fuzzer bytes.

use arbitrary::{Result, Unstructured};
use kea_runscript::bridge::ffi::{
    RawBool, RawBytes, RawHwAddr, RawIa, RawLease4, RawLease6, RawLeases4, RawLeases6, RawOption,
    RawPkt4, RawPkt6, RawRelay6, RawSubnet4, RawSubnet6,
};

/// What rendering guarantees (kea-runscript-env's crate docs): names `[A-Z0-9_]+`, each
/// once, and no NUL byte in a name or a value.
pub fn check_vars(vars: &[(String, String)]) {
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
        assert!(!value.contains('\0'), "NUL in the value of {name}");
    }
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

fn list<T>(u: &mut Unstructured, max: usize, f: fn(&mut Unstructured) -> Result<T>) -> Result<Vec<T>> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| f(u)).collect()
}

/// A `RawHwAddr` with any contents.
pub fn hwaddr(u: &mut Unstructured) -> Result<RawHwAddr> {
    Ok(RawHwAddr {
        present: u.arbitrary()?,
        htype: u.arbitrary()?,
        bytes: bytes(u)?,
        source: u.arbitrary()?,
    })
}

/// A `RawBytes` with any contents.
pub fn raw_bytes(u: &mut Unstructured) -> Result<RawBytes> {
    Ok(RawBytes {
        present: u.arbitrary()?,
        bytes: bytes(u)?,
    })
}

fn option(u: &mut Unstructured) -> Result<RawOption> {
    Ok(RawOption {
        // Mostly codes the renderers treat specially (82, relay options), sometimes any.
        code: if u.arbitrary()? {
            *u.choose(&[82u16, 1, 2, 3, 18, 37, 53, 61, 79])?
        } else {
            u.arbitrary()?
        },
        payload: bytes(u)?,
    })
}

/// A `RawPkt4` with any contents.
pub fn pkt4(u: &mut Unstructured) -> Result<RawPkt4> {
    Ok(RawPkt4 {
        present: u.arbitrary()?,
        msg_type: u.arbitrary()?,
        transid: u.arbitrary()?,
        local_addr: u.arbitrary()?,
        local_port: u.arbitrary()?,
        remote_addr: u.arbitrary()?,
        remote_port: u.arbitrary()?,
        iface_index: u.arbitrary()?,
        iface_name: bytes(u)?,
        hops: u.arbitrary()?,
        secs: u.arbitrary()?,
        flags: u.arbitrary()?,
        ciaddr: u.arbitrary()?,
        siaddr: u.arbitrary()?,
        yiaddr: u.arbitrary()?,
        giaddr: u.arbitrary()?,
        hwaddr: hwaddr(u)?,
        local_hwaddr: hwaddr(u)?,
        remote_hwaddr: hwaddr(u)?,
        options: list(u, 6, option)?,
    })
}

fn relay6(u: &mut Unstructured) -> Result<RawRelay6> {
    Ok(RawRelay6 {
        msg_type: u.arbitrary()?,
        hop_count: u.arbitrary()?,
        link_addr: bytes(u)?,
        peer_addr: bytes(u)?,
        options: list(u, 4, option)?,
    })
}

/// A `RawPkt6` with any contents.
pub fn pkt6(u: &mut Unstructured) -> Result<RawPkt6> {
    Ok(RawPkt6 {
        present: u.arbitrary()?,
        msg_type: u.arbitrary()?,
        transid: u.arbitrary()?,
        local_addr: bytes(u)?,
        local_port: u.arbitrary()?,
        remote_addr: bytes(u)?,
        remote_port: u.arbitrary()?,
        iface_index: u.arbitrary()?,
        iface_name: bytes(u)?,
        remote_hwaddr: hwaddr(u)?,
        proto: u.arbitrary()?,
        client_id: raw_bytes(u)?,
        options: list(u, 6, option)?,
        relays: list(u, 3, relay6)?,
        mac: hwaddr(u)?,
    })
}

/// A `RawLease4` with any contents.
pub fn lease4(u: &mut Unstructured) -> Result<RawLease4> {
    Ok(RawLease4 {
        present: u.arbitrary()?,
        address: u.arbitrary()?,
        cltt: u.arbitrary()?,
        hostname: bytes(u)?,
        hwaddr: hwaddr(u)?,
        state: u.arbitrary()?,
        subnet_id: u.arbitrary()?,
        valid_lifetime: u.arbitrary()?,
        client_id: raw_bytes(u)?,
        expired: u.arbitrary()?,
    })
}

/// A `RawLease6` with any contents.
pub fn lease6(u: &mut Unstructured) -> Result<RawLease6> {
    Ok(RawLease6 {
        present: u.arbitrary()?,
        address: bytes(u)?,
        cltt: u.arbitrary()?,
        hostname: bytes(u)?,
        hwaddr: hwaddr(u)?,
        state: u.arbitrary()?,
        subnet_id: u.arbitrary()?,
        valid_lifetime: u.arbitrary()?,
        duid: raw_bytes(u)?,
        iaid: u.arbitrary()?,
        preferred_lifetime: u.arbitrary()?,
        prefix_len: u.arbitrary()?,
        lease_type: u.arbitrary()?,
        expired: u.arbitrary()?,
    })
}

/// A `RawLeases4` with any contents.
pub fn leases4(u: &mut Unstructured) -> Result<RawLeases4> {
    Ok(RawLeases4 {
        present: u.arbitrary()?,
        leases: list(u, 3, lease4)?,
    })
}

/// A `RawLeases6` with any contents.
pub fn leases6(u: &mut Unstructured) -> Result<RawLeases6> {
    Ok(RawLeases6 {
        present: u.arbitrary()?,
        leases: list(u, 3, lease6)?,
    })
}

/// A `RawSubnet4` with any contents.
pub fn subnet4(u: &mut Unstructured) -> Result<RawSubnet4> {
    Ok(RawSubnet4 {
        present: u.arbitrary()?,
        id: u.arbitrary()?,
        prefix: u.arbitrary()?,
        prefix_len: u.arbitrary()?,
    })
}

/// A `RawSubnet6` with any contents.
pub fn subnet6(u: &mut Unstructured) -> Result<RawSubnet6> {
    Ok(RawSubnet6 {
        present: u.arbitrary()?,
        id: u.arbitrary()?,
        prefix: bytes(u)?,
        prefix_len: u.arbitrary()?,
    })
}

/// A `RawIa` with any contents.
pub fn ia(u: &mut Unstructured) -> Result<RawIa> {
    Ok(RawIa {
        present: u.arbitrary()?,
        iaid: u.arbitrary()?,
        ia_type: u.arbitrary()?,
        t1: u.arbitrary()?,
        t2: u.arbitrary()?,
    })
}

/// A `RawBool` with any contents.
pub fn boolean(u: &mut Unstructured) -> Result<RawBool> {
    Ok(RawBool {
        present: u.arbitrary()?,
        value: u.arbitrary()?,
    })
}
