//! The host identifier Kea asks hooks for at `host4_identifier` / `host6_identifier`: its
//! type (Kea's `Host::IdentifierType`) and its value.

use serde::{Deserialize, Serialize};

use super::raw_form::raw_in_binary_formats;

/// A host identifier type as Kea's `Host::IdentifierType`.
///
/// JSON: `"hw_address"`, `"duid"`, `"circuit_id"`, `"client_id"`, `"flex"` or `{"other": n}`;
/// binary formats: Kea's raw number. Rendered as Kea's `Host::getIdentifierName`:
/// `hw-address`, `duid`, `circuit-id`, `client-id`, `flex-id`, otherwise `unknown (<n>)`.
///
/// ```
/// use kea_runscript_env::HostIdType;
///
/// assert_eq!(HostIdType::from_raw(4), HostIdType::Flex);
/// assert_eq!(HostIdType::Flex.to_raw(), 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", remote = "Self")]
#[non_exhaustive]
pub enum HostIdType {
    /// 0: `IDENT_HWADDR`, the hardware address.
    HwAddress,
    /// 1: `IDENT_DUID`, the DUID.
    Duid,
    /// 2: `IDENT_CIRCUIT_ID`, the relay agent's circuit-id (DHCPv4).
    CircuitId,
    /// 3: `IDENT_CLIENT_ID`, the client identifier (DHCPv4).
    ClientId,
    /// 4: `IDENT_FLEX`, the flexible identifier (what Kea asks for at these hook points).
    Flex,
    /// Any other raw value.
    Other(u32),
}

impl HostIdType {
    /// The type for Kea's raw `Host::IdentifierType` value (0 to 4; anything else is
    /// [`HostIdType::Other`]).
    pub fn from_raw(raw: u32) -> HostIdType {
        match raw {
            0 => HostIdType::HwAddress,
            1 => HostIdType::Duid,
            2 => HostIdType::CircuitId,
            3 => HostIdType::ClientId,
            4 => HostIdType::Flex,
            other => HostIdType::Other(other),
        }
    }

    /// Kea's raw `Host::IdentifierType` value.
    pub fn to_raw(self) -> u32 {
        match self {
            HostIdType::HwAddress => 0,
            HostIdType::Duid => 1,
            HostIdType::CircuitId => 2,
            HostIdType::ClientId => 3,
            HostIdType::Flex => 4,
            HostIdType::Other(raw) => raw,
        }
    }
}

raw_in_binary_formats!(HostIdType, u32);

/// A host identifier's value (`id_value`): bytes, rendered as colon-separated hex.
/// JSON: a hex string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostIdValue(#[serde(with = "super::hex_bytes")] pub Vec<u8>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_round_trip_and_json_names_the_type() {
        for raw in 0..7 {
            assert_eq!(HostIdType::from_raw(raw).to_raw(), raw);
        }
        assert_eq!(
            serde_json::to_string(&HostIdType::Flex).unwrap(),
            "\"flex\""
        );
        assert_eq!(
            serde_json::from_str::<HostIdType>("{\"other\":9}").unwrap(),
            HostIdType::Other(9)
        );
        assert_eq!(
            serde_json::to_string(&HostIdValue(vec![0xab, 1])).unwrap(),
            "\"ab01\""
        );
    }
}
