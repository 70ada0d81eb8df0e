//! Serde form of byte strings in models: a hex string (`"000c01020304"`, `':'` allowed
//! between bytes, either case), so JSON fixtures stay readable. An array of numbers is
//! accepted on input too.

use std::fmt::{self, Write as _};

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    // Plain lower-case hex. Written here rather than with `format`'s helpers: models sit
    // below `format` (which knows lease states) and do not import it.
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    serializer.serialize_str(&text)
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_any(BytesVisitor)
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hex string such as \"000c01020304\" or an array of bytes")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
        let digits: Vec<u8> = text.bytes().filter(|&b| b != b':').collect();
        if digits.len() % 2 != 0 {
            return Err(E::custom(format!("odd number of hex digits in {text:?}")));
        }
        digits
            .chunks(2)
            .map(|pair| {
                let hex = |d: u8| char::from(d).to_digit(16);
                match (hex(pair[0]), hex(pair[1])) {
                    (Some(high), Some(low)) => Ok((high * 16 + low) as u8),
                    _ => Err(E::custom(format!("invalid hex digit in {text:?}"))),
                }
            })
            .collect()
    }

    /// Binary formats (the hook's shim) hand the bytes over as they are.
    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
        Ok(bytes.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(bytes)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use crate::{DhcpOption, Duid};

    #[test]
    fn hex_string_round_trip_and_array_input() {
        let duid = Duid(vec![0x00, 0x0c, 0xab]);
        assert_eq!(serde_json::to_string(&duid).unwrap(), r#""000cab""#);
        assert_eq!(serde_json::from_str::<Duid>(r#""00:0C:ab""#).unwrap(), duid);
        assert_eq!(serde_json::from_str::<Duid>("[0, 12, 171]").unwrap(), duid);
        assert!(serde_json::from_str::<Duid>(r#""0""#).is_err());
        assert!(serde_json::from_str::<Duid>(r#""zz""#).is_err());
        let option: DhcpOption = serde_json::from_str(r#"{"code": 82, "payload": ""}"#).unwrap();
        assert!(option.payload.is_empty());
    }
}
