//! Leases from Kea's JSON, as `libdhcp_lease_cmds.so` takes them (`lease4-update`,
//! `lease4-del`, `lease6-bulk-apply`, …) and gives them (`lease4-get-page`, …): what an
//! HA partner sends. Pure: a `serde_json::Value` in, a model out.
//!
//! The fields read: `ip-address`, `hw-address`, `client-id` (v4) or `duid` and `iaid`
//! (v6), `type` and `prefix-len` (v6), `valid-lft`, `preferred-lft` (v6), `expire` or
//! `cltt` (the client's last transmission time is `expire − valid-lft`, as lease_cmds
//! computes it), `subnet-id`, `hostname`, `state` and `user-context`. Others (`fqdn-fwd`,
//! `force-create`, `origin`, …) are ignored.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use super::{ClientId, Duid, HwAddr, Lease4, Lease6, LeaseState, LeaseType, Text};

/// Why a JSON lease was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeaJsonError(pub String);

impl std::fmt::Display for KeaJsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeaJsonError {}

fn error(text: impl Into<String>) -> KeaJsonError {
    KeaJsonError(text.into())
}

/// The object's fields, or an error naming what it was.
fn object(value: &Value) -> Result<&Map<String, Value>, KeaJsonError> {
    value
        .as_object()
        .ok_or_else(|| error(format!("a lease must be a JSON object, not {value}")))
}

fn uint(lease: &Map<String, Value>, key: &str) -> Result<Option<u64>, KeaJsonError> {
    match lease.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| error(format!("'{key}' must be a non-negative integer, not {v}"))),
    }
}

fn u32_field(lease: &Map<String, Value>, key: &str) -> Result<Option<u32>, KeaJsonError> {
    uint(lease, key)?
        .map(|v| u32::try_from(v).map_err(|_| error(format!("'{key}' {v} is out of range"))))
        .transpose()
}

fn string<'a>(lease: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, KeaJsonError> {
    match lease.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(error(format!("'{key}' must be a string, not {v}"))),
    }
}

/// Colon-separated (or bare) hex, as Kea prints hardware addresses, client ids and DUIDs;
/// `None` for an empty string.
fn hex(lease: &Map<String, Value>, key: &str) -> Result<Option<Vec<u8>>, KeaJsonError> {
    let Some(text) = string(lease, key)? else {
        return Ok(None);
    };
    let digits: Vec<u8> = text.bytes().filter(|&b| b != b':').collect();
    if digits.is_empty() {
        return Ok(None);
    }
    if digits.len() % 2 != 0 {
        return Err(error(format!("'{key}' {text:?} is not hex bytes")));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| error(format!("'{key}' {text:?} is not hex bytes")))
        })
        .collect::<Result<Vec<u8>, _>>()
        .map(Some)
}

/// The fields both families share.
struct Common {
    cltt: i64,
    valid: u32,
    subnet: u32,
    hostname: Text,
    hwaddr: Option<HwAddr>,
    state: LeaseState,
    context: Option<String>,
}

/// Sets the [`Common`] fields of a `Lease4` or a `Lease6` (same field names).
macro_rules! set_common {
    ($lease:ident, $common:expr) => {{
        let c = $common;
        $lease.cltt = c.cltt;
        $lease.valid_lifetime = c.valid;
        $lease.subnet_id = c.subnet;
        $lease.hostname = c.hostname;
        $lease.hwaddr = c.hwaddr;
        $lease.state = c.state;
        $lease.user_context = c.context;
    }};
}

fn common(lease: &Map<String, Value>) -> Result<Common, KeaJsonError> {
    let valid = u32_field(lease, "valid-lft")?.ok_or_else(|| error("'valid-lft' is missing"))?;
    let cltt = match (uint(lease, "cltt")?, uint(lease, "expire")?) {
        (Some(cltt), _) => cltt as i64,
        (None, Some(expire)) => expire as i64 - i64::from(valid),
        (None, None) => return Err(error("'expire' (or 'cltt') is missing")),
    };
    let subnet = u32_field(lease, "subnet-id")?.unwrap_or(0);
    let hostname = Text::from(string(lease, "hostname")?.unwrap_or(""));
    let hwaddr = hex(lease, "hw-address")?.map(|bytes| HwAddr {
        // lease_cmds reads a hardware address as Ethernet, its source unknown.
        htype: 1,
        bytes,
        source: 0,
    });
    let state = LeaseState::from_raw(u32_field(lease, "state")?.unwrap_or(0));
    let context = match lease.get("user-context") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.to_string()),
    };
    Ok(Common {
        cltt,
        valid,
        subnet,
        hostname,
        hwaddr,
        state,
        context,
    })
}

impl Lease4 {
    /// The DHCPv4 lease in Kea's JSON (see the module documentation).
    ///
    /// ```
    /// use kea_runscript_env::Lease4;
    ///
    /// let json = serde_json::json!({"ip-address": "10.0.0.10", "hw-address": "00:0c:01:00:00:00",
    ///     "client-id": "01:00:0c:01:00:00:00", "expire": 1796639346, "valid-lft": 3600,
    ///     "subnet-id": 2, "hostname": "", "state": 0, "force-create": true});
    /// let lease = Lease4::from_kea_json(&json).unwrap();
    /// assert_eq!(lease.address.to_string(), "10.0.0.10");
    /// assert_eq!(lease.cltt, 1796639346 - 3600);
    /// ```
    pub fn from_kea_json(value: &Value) -> Result<Lease4, KeaJsonError> {
        let lease = object(value)?;
        let address: Ipv4Addr = string(lease, "ip-address")?
            .ok_or_else(|| error("'ip-address' is missing"))?
            .parse()
            .map_err(|_| error(format!("'ip-address' {} is not IPv4", lease["ip-address"])))?;
        let mut out = Lease4::new(address);
        set_common!(out, common(lease)?);
        out.client_id = hex(lease, "client-id")?.map(ClientId);
        Ok(out)
    }
}

impl Lease6 {
    /// The DHCPv6 lease (address or delegated prefix) in Kea's JSON (see the module
    /// documentation); `type` is `IA_NA` (default), `IA_TA` or `IA_PD`.
    pub fn from_kea_json(value: &Value) -> Result<Lease6, KeaJsonError> {
        let lease = object(value)?;
        let address: Ipv6Addr = string(lease, "ip-address")?
            .ok_or_else(|| error("'ip-address' is missing"))?
            .parse()
            .map_err(|_| error(format!("'ip-address' {} is not IPv6", lease["ip-address"])))?;
        let lease_type = match string(lease, "type")?.unwrap_or("IA_NA") {
            "IA_NA" => LeaseType::Na,
            "IA_TA" => LeaseType::Ta,
            "IA_PD" => LeaseType::Pd,
            other => return Err(error(format!("'type' {other:?} is not a lease type"))),
        };
        let prefix_len = match u32_field(lease, "prefix-len")? {
            Some(len @ 0..=128) => len as u8,
            Some(len) => return Err(error(format!("'prefix-len' {len} is out of range"))),
            None => 128,
        };
        let mut out = Lease6::new(lease_type, address, prefix_len);
        set_common!(out, common(lease)?);
        out.duid = hex(lease, "duid")?.map(Duid);
        out.iaid = u32_field(lease, "iaid")?.unwrap_or(0);
        out.preferred_lifetime = u32_field(lease, "preferred-lft")?.unwrap_or(0);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_replicated_v4_lease_reads_as_kea_holds_it() {
        let lease = Lease4::from_kea_json(&json!({
            "client-id": "01:00:0c:01:00:00:00", "expire": 1796639346, "force-create": true,
            "fqdn-fwd": false, "fqdn-rev": false, "hostname": "host-a",
            "hw-address": "00:0c:01:00:00:00", "ip-address": "10.0.0.10", "state": 0,
            "subnet-id": 2, "valid-lft": 3600, "user-context": {"site": "a"},
            "origin": "ha-partner"
        }))
        .unwrap();
        assert_eq!(lease.address, Ipv4Addr::new(10, 0, 0, 10));
        assert_eq!(lease.cltt, 1_796_635_746);
        assert_eq!(lease.valid_lifetime, 3600);
        assert_eq!(lease.subnet_id, 2);
        assert_eq!(&lease.hostname[..], b"host-a");
        assert_eq!(lease.hwaddr, Some(HwAddr::ethernet([0, 0x0c, 1, 0, 0, 0])));
        assert_eq!(
            lease.client_id,
            Some(ClientId(vec![1, 0, 0x0c, 1, 0, 0, 0]))
        );
        assert_eq!(lease.user_context.as_deref(), Some(r#"{"site":"a"}"#));
        assert_eq!(lease.state, LeaseState::Default);
    }

    #[test]
    fn a_v6_prefix_reads_with_its_type_length_duid_and_iaid() {
        let lease = Lease6::from_kea_json(&json!({
            "duid": "00:01:00:01:32:a9:39:45:00:0c:01:00:00:00", "expire": 1796639445,
            "hostname": "", "iaid": 7, "ip-address": "2001:db8:100::", "preferred-lft": 2700,
            "prefix-len": 56, "state": 0, "subnet-id": 1, "type": "IA_PD", "valid-lft": 3600
        }))
        .unwrap();
        assert_eq!(lease.lease_type, LeaseType::Pd);
        assert_eq!(lease.prefix_len, 56);
        assert_eq!(lease.iaid, 7);
        assert_eq!(lease.cltt, 1_796_639_445 - 3600);
        assert_eq!(lease.duid.unwrap().0.len(), 14);
        assert_eq!(lease.preferred_lifetime, 2700);
    }

    #[test]
    fn bad_leases_are_refused_with_the_field_named() {
        let cases = [
            (json!([]), "JSON object"),
            (
                json!({"expire": 1, "valid-lft": 1}),
                "'ip-address' is missing",
            ),
            (
                json!({"ip-address": "2001:db8::1", "expire": 1, "valid-lft": 1}),
                "not IPv4",
            ),
            (
                json!({"ip-address": "10.0.0.1", "expire": 1}),
                "'valid-lft'",
            ),
            (
                json!({"ip-address": "10.0.0.1", "valid-lft": 1}),
                "'expire'",
            ),
            (
                json!({"ip-address": "10.0.0.1", "expire": 1, "valid-lft": -1}),
                "'valid-lft'",
            ),
            (
                json!({"ip-address": "10.0.0.1", "expire": 1, "valid-lft": 1, "hw-address": "zz"}),
                "'hw-address'",
            ),
            (
                json!({"ip-address": "10.0.0.1", "expire": 1, "valid-lft": 1, "client-id": 5}),
                "'client-id'",
            ),
        ];
        for (value, expected) in cases {
            let e = Lease4::from_kea_json(&value).unwrap_err();
            assert!(e.0.contains(expected), "{value}: {e}");
        }
        let e = Lease6::from_kea_json(
            &json!({"ip-address": "2001:db8::1", "expire": 1, "valid-lft": 1, "type": "X"}),
        )
        .unwrap_err();
        assert!(e.0.contains("'type'"), "{e}");
    }
}
