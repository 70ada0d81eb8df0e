use serde::{Deserialize, Serialize};

/// A hardware (link-layer) address as Kea's `HWAddr`: any length, with its type and source.
///
/// Rendered as lower-case, colon-separated hex bytes (`00:0c:01:02:03:04`, Kea's
/// `HWAddr::toText(false)`); its `_TYPE` variable is `htype` in decimal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HwAddr {
    /// Hardware type (`HWAddr::htype_`), e.g. 1 for Ethernet (ARP hardware type numbers).
    pub htype: u16,
    /// The address bytes, any length (Kea allows up to 20; longer is rendered as well).
    /// JSON: a hex string.
    #[serde(with = "super::hex_bytes")]
    pub bytes: Vec<u8>,
    /// Where Kea learned the address (`HWAddr::source_`, a `HWADDR_SOURCE_*` bit); rendered by the
    /// kea-hook-runscript profile only.
    pub source: u32,
}

impl HwAddr {
    /// An Ethernet (htype 1) address with source 0 (unknown).
    pub fn ethernet(bytes: [u8; 6]) -> HwAddr {
        HwAddr {
            htype: 1,
            bytes: bytes.to_vec(),
            source: 0,
        }
    }
}

/// A DHCPv4 client identifier (option 61 payload), rendered as colon-separated hex.
/// JSON: a hex string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientId(#[serde(with = "super::hex_bytes")] pub Vec<u8>);

/// A DHCPv6 DUID (option 1 payload), rendered as colon-separated hex. JSON: a hex string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Duid(#[serde(with = "super::hex_bytes")] pub Vec<u8>);
