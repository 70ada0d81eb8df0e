//! The serde form of models in binary (not human-readable) formats, which is how the hook's
//! shim hands Kea's objects over: Kea's raw numbers for its enums and (address, length) for
//! prefixes. Human-readable formats (JSON event files) keep names and `"192.0.2.0/24"` text.
//!
//! With it, a model field reaches the hook straight from the shim's record by its name: the
//! shim writes `state` as Kea's number, serde picks the model's field, and no conversion code
//! in between knows the field.

/// Serializes and deserializes `$type` as its derived (named) form in human-readable formats
/// and as Kea's raw `$raw` number (`from_raw`/`to_raw`) in binary ones. The type derives serde
/// with `#[serde(remote = "Self")]`, which makes the derived code inherent functions.
macro_rules! raw_in_binary_formats {
    ($type:ty, $raw:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    <$type>::serialize(self, serializer)
                } else {
                    serializer.serialize_u64(u64::from(self.to_raw()))
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    <$type>::deserialize(deserializer)
                } else {
                    <$raw as serde::Deserialize>::deserialize(deserializer).map(<$type>::from_raw)
                }
            }
        }
    };
}

pub(crate) use raw_in_binary_formats;

/// A prefix (`Ipv4Network`, `Ipv6Network`) as text in human-readable formats and as an
/// (address, length) pair in binary ones; a length too long for the address is an error.
macro_rules! network_form {
    ($module:ident, $network:ty, $addr:ty) => {
        pub(crate) mod $module {
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            pub(crate) fn serialize<S: Serializer>(
                network: &$network,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    network.serialize(serializer)
                } else {
                    (network.ip(), network.prefix()).serialize(serializer)
                }
            }

            pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<$network, D::Error> {
                if deserializer.is_human_readable() {
                    <$network>::deserialize(deserializer)
                } else {
                    let (address, len) = <($addr, u8)>::deserialize(deserializer)?;
                    <$network>::new(address, len).map_err(serde::de::Error::custom)
                }
            }
        }
    };
}

network_form!(network4, ipnetwork::Ipv4Network, std::net::Ipv4Addr);
network_form!(network6, ipnetwork::Ipv6Network, std::net::Ipv6Addr);
