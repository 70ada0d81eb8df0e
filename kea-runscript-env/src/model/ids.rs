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

/// ARP hardware type of Ethernet (`HTYPE_ETHER`).
const HTYPE_ETHERNET: u16 = 1;
/// ARP hardware type of EUI-64 addresses (IANA hardware type 27).
const HTYPE_EUI64: u16 = 27;

/// An Ethernet address (htype 1, source 0).
///
/// ```
/// use kea_runscript_env::HwAddr;
/// use macaddr::MacAddr6;
///
/// let mac: MacAddr6 = "00:0c:01:02:03:04".parse().unwrap();
/// assert_eq!(HwAddr::from(mac), HwAddr::ethernet([0x00, 0x0c, 0x01, 0x02, 0x03, 0x04]));
/// ```
impl From<macaddr::MacAddr6> for HwAddr {
    fn from(mac: macaddr::MacAddr6) -> HwAddr {
        HwAddr {
            htype: HTYPE_ETHERNET,
            bytes: mac.as_bytes().to_vec(),
            source: 0,
        }
    }
}

/// An EUI-64 address (htype 27, source 0).
impl From<macaddr::MacAddr8> for HwAddr {
    fn from(mac: macaddr::MacAddr8) -> HwAddr {
        HwAddr {
            htype: HTYPE_EUI64,
            bytes: mac.as_bytes().to_vec(),
            source: 0,
        }
    }
}

/// Either of the two above.
impl From<macaddr::MacAddr> for HwAddr {
    fn from(mac: macaddr::MacAddr) -> HwAddr {
        match mac {
            macaddr::MacAddr::V6(mac) => mac.into(),
            macaddr::MacAddr::V8(mac) => mac.into(),
        }
    }
}

/// A [`HwAddr`] whose length fits no `macaddr` type (Kea allows 0 to 20 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HwAddrLengthError {
    /// The address's length in bytes.
    pub len: usize,
}

impl std::fmt::Display for HwAddrLengthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a hardware address of {} bytes is no MAC address (6 or 8 bytes)",
            self.len
        )
    }
}

impl std::error::Error for HwAddrLengthError {}

/// The 6 bytes of the address, whatever its hardware type.
///
/// ```
/// use kea_runscript_env::HwAddr;
/// use macaddr::MacAddr6;
///
/// let hw = HwAddr::ethernet([0x00, 0x0c, 0x01, 0x02, 0x03, 0x04]);
/// let mac = MacAddr6::try_from(&hw).unwrap();
/// assert_eq!(mac.to_string(), "00:0C:01:02:03:04");
/// ```
impl TryFrom<&HwAddr> for macaddr::MacAddr6 {
    type Error = HwAddrLengthError;

    fn try_from(hw: &HwAddr) -> Result<macaddr::MacAddr6, HwAddrLengthError> {
        <[u8; 6]>::try_from(hw.bytes.as_slice())
            .map(macaddr::MacAddr6::from)
            .map_err(|_| HwAddrLengthError {
                len: hw.bytes.len(),
            })
    }
}

/// The 8 bytes of the address, whatever its hardware type.
impl TryFrom<&HwAddr> for macaddr::MacAddr8 {
    type Error = HwAddrLengthError;

    fn try_from(hw: &HwAddr) -> Result<macaddr::MacAddr8, HwAddrLengthError> {
        <[u8; 8]>::try_from(hw.bytes.as_slice())
            .map(macaddr::MacAddr8::from)
            .map_err(|_| HwAddrLengthError {
                len: hw.bytes.len(),
            })
    }
}

/// A 6- or 8-byte address, by its length.
impl TryFrom<&HwAddr> for macaddr::MacAddr {
    type Error = HwAddrLengthError;

    fn try_from(hw: &HwAddr) -> Result<macaddr::MacAddr, HwAddrLengthError> {
        macaddr::MacAddr6::try_from(hw)
            .map(macaddr::MacAddr::from)
            .or_else(|_| macaddr::MacAddr8::try_from(hw).map(macaddr::MacAddr::from))
    }
}

/// A DHCPv4 client identifier (option 61 payload), rendered as colon-separated hex.
/// JSON: a hex string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientId(#[serde(with = "super::hex_bytes")] pub Vec<u8>);

/// A DHCPv6 DUID (option 1 payload), rendered as colon-separated hex. JSON: a hex string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Duid(#[serde(with = "super::hex_bytes")] pub Vec<u8>);

#[cfg(test)]
mod tests {
    use macaddr::{MacAddr, MacAddr6, MacAddr8};

    use super::*;

    #[test]
    fn macaddr_conversions_round_trip_and_refuse_other_lengths() {
        let six = MacAddr6::new(0x00, 0x0c, 0x01, 0x02, 0x03, 0x04);
        let eight = MacAddr8::new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x00, 0x00, 0x01);
        let hw6 = HwAddr::from(six);
        let hw8 = HwAddr::from(eight);
        assert_eq!((hw6.htype, hw6.source), (1, 0));
        assert_eq!((hw8.htype, hw8.source), (27, 0));
        assert_eq!(hw6, HwAddr::ethernet([0x00, 0x0c, 0x01, 0x02, 0x03, 0x04]));
        assert_eq!(MacAddr6::try_from(&hw6), Ok(six));
        assert_eq!(MacAddr8::try_from(&hw8), Ok(eight));
        assert_eq!(MacAddr::try_from(&hw6), Ok(MacAddr::V6(six)));
        assert_eq!(MacAddr::try_from(&hw8), Ok(MacAddr::V8(eight)));
        assert_eq!(HwAddr::from(MacAddr::V8(eight)), hw8);
        assert_eq!(MacAddr6::try_from(&hw8), Err(HwAddrLengthError { len: 8 }));
        assert_eq!(MacAddr8::try_from(&hw6), Err(HwAddrLengthError { len: 6 }));
        // Kea allows other lengths (here 20-byte InfiniBand); no macaddr type fits them.
        let long = HwAddr {
            htype: 32,
            bytes: vec![7; 20],
            source: 0,
        };
        assert_eq!(
            MacAddr::try_from(&long).unwrap_err().to_string(),
            "a hardware address of 20 bytes is no MAC address (6 or 8 bytes)"
        );
        let empty = HwAddr {
            htype: 1,
            bytes: vec![],
            source: 0,
        };
        assert_eq!(MacAddr::try_from(&empty), Err(HwAddrLengthError { len: 0 }));
    }
}
