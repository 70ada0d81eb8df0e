//! The shim's records: Kea objects written by `shim/extract.cc` in a small self-describing
//! binary form, read here straight into the `kea-runscript-env` models with serde.
//!
//! Because a record names each field and serde matches the names to the model's fields, a
//! field Kea passes is added in the shim's extraction, the model and its renderer, and in
//! nothing in between. The models take their binary serde form here (`is_human_readable` is
//! false): Kea's raw numbers for enums, `(address, length)` for prefixes, addresses as 4 or 16
//! bytes.
//!
//! The form (`shim/record.h` writes it), one tag byte per value:
//!
//! | tag | value |
//! |---|---|
//! | `n` / `s` | absent / present, followed by the value (an `Option`) |
//! | `f` / `t` | false / true |
//! | `u` / `i` | unsigned / signed integer, 8 bytes little-endian |
//! | `b` | bytes: length (4 bytes little-endian), then the bytes (text, addresses, ids) |
//! | `{` … `}` | a map (a model struct): `k`, name length (1 byte), name, value; repeated |
//! | `[` … `]` | a sequence (a list, or a tuple such as a prefix) |
//!
//! Text is bytes in Kea (interface names, hostnames): the models' `Text` fields take the bytes
//! as they are; a `String` field (Kea's own `toText()` dumps, for display) is decoded lossily.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;

/// A record that does not fit the model it is read into: names the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordError {}

impl de::Error for RecordError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        RecordError(message.to_string())
    }
}

type Result<T> = std::result::Result<T, RecordError>;

/// Reads one value of type `T` from a whole record; the error starts with the path of the
/// field that did not fit (`local_addr: …`).
pub fn read<T: DeserializeOwned>(record: &[u8]) -> Result<T> {
    let mut reader = Reader { input: record };
    // Tracking the path costs on every field of every event: only a record that does not
    // fit is read a second time, with the path, for the message.
    let value = match T::deserialize(&mut reader) {
        Ok(value) => value,
        Err(_) => return Err(read_with_path::<T>(record)),
    };
    if !reader.input.is_empty() {
        return Err(RecordError(format!(
            "{} bytes left over after the value",
            reader.input.len()
        )));
    }
    Ok(value)
}

/// The error of reading `record` as `T`, starting with the path of the field that did not fit.
fn read_with_path<T: DeserializeOwned>(record: &[u8]) -> RecordError {
    let mut reader = Reader { input: record };
    match serde_path_to_error::deserialize::<_, T>(&mut reader) {
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                inner
            } else {
                RecordError(format!("{path}: {inner}"))
            }
        }
        // Not reached: the same record failed without the path.
        Ok(_) => RecordError("the record does not fit its model".into()),
    }
}

/// The unread rest of a record.
struct Reader<'de> {
    input: &'de [u8],
}

impl<'de> Reader<'de> {
    fn peek(&self) -> Result<u8> {
        self.input
            .first()
            .copied()
            .ok_or_else(|| RecordError("record ends early".into()))
    }

    fn take(&mut self, len: usize) -> Result<&'de [u8]> {
        if self.input.len() < len {
            return Err(RecordError("record ends early".into()));
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(head)
    }

    fn tag(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn expect(&mut self, tag: u8) -> Result<()> {
        match self.tag()? {
            found if found == tag => Ok(()),
            found => Err(RecordError(format!(
                "expected '{}' in the record, found '{}'",
                tag.escape_ascii(),
                found.escape_ascii()
            ))),
        }
    }

    fn word(&mut self) -> Result<[u8; 8]> {
        Ok(self.take(8)?.try_into().expect("8 bytes taken"))
    }

    /// The payload of a `b` value whose tag was read.
    fn bytes(&mut self) -> Result<&'de [u8]> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes taken"));
        self.take(len as usize)
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = RecordError;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tag()? {
            b'n' => visitor.visit_none(),
            b's' => visitor.visit_some(self),
            b'f' => visitor.visit_bool(false),
            b't' => visitor.visit_bool(true),
            b'u' => visitor.visit_u64(u64::from_le_bytes(self.word()?)),
            b'i' => visitor.visit_i64(i64::from_le_bytes(self.word()?)),
            b'b' => visitor.visit_borrowed_bytes(self.bytes()?),
            b'{' => visitor.visit_map(Entries { reader: self }),
            b'[' => {
                let value = visitor.visit_seq(Items { reader: &mut *self })?;
                self.expect(b']')?;
                Ok(value)
            }
            other => Err(RecordError(format!(
                "unknown tag '{}' in the record",
                other.escape_ascii()
            ))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tag()? {
            b'n' => visitor.visit_none(),
            b's' => visitor.visit_some(self),
            other => Err(RecordError(format!(
                "expected an optional value, found tag '{}'",
                other.escape_ascii()
            ))),
        }
    }

    /// A `String` field: Kea's text is bytes and invalid UTF-8 is decoded lossily here (the
    /// models' `Text` fields read the bytes through `deserialize_any` instead).
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.expect(b'b')?;
        match String::from_utf8_lossy(self.bytes()?) {
            std::borrow::Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
            std::borrow::Cow::Owned(text) => visitor.visit_string(text),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    /// Addresses are tuples of bytes in serde's binary form: a `b` value of exactly that
    /// length. A `[` sequence is read as any tuple.
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        if self.peek()? != b'b' {
            return self.deserialize_any(visitor);
        }
        self.tag()?;
        let bytes = self.bytes()?;
        if bytes.len() != len {
            return Err(RecordError(format!(
                "expected {len} bytes, found {}",
                bytes.len()
            )));
        }
        visitor.visit_seq(de::value::SeqDeserializer::<_, RecordError>::new(
            bytes.iter().copied(),
        ))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct seq tuple_struct map struct enum identifier ignored_any
    }
}

/// The entries of a `{` map, up to and including its `}`.
struct Entries<'a, 'de> {
    reader: &'a mut Reader<'de>,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = RecordError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.reader.tag()? {
            b'}' => Ok(None),
            b'k' => {
                let len = self.reader.tag()?;
                let name = std::str::from_utf8(self.reader.take(usize::from(len))?)
                    .map_err(|_| RecordError("a field name is not UTF-8".into()))?;
                seed.deserialize(name.into_deserializer()).map(Some)
            }
            other => Err(RecordError(format!(
                "expected a field name or the end of a map, found tag '{}'",
                other.escape_ascii()
            ))),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.reader)
    }
}

/// The items of a `[` sequence, up to (not including) its `]`.
struct Items<'a, 'de> {
    reader: &'a mut Reader<'de>,
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = RecordError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.reader.peek()? == b']' {
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

/// Writes records in Rust for the tests (the shim writes them in C++).
#[cfg(test)]
pub(crate) mod write {
    /// A record being written.
    #[derive(Default)]
    pub struct Record(pub Vec<u8>);

    impl Record {
        pub fn tag(mut self, tag: u8) -> Self {
            self.0.push(tag);
            self
        }
        pub fn uint(self, value: u64) -> Self {
            let mut r = self.tag(b'u');
            r.0.extend_from_slice(&value.to_le_bytes());
            r
        }
        pub fn int(self, value: i64) -> Self {
            let mut r = self.tag(b'i');
            r.0.extend_from_slice(&value.to_le_bytes());
            r
        }
        pub fn bytes(self, bytes: &[u8]) -> Self {
            let mut r = self.tag(b'b');
            r.0.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            r.0.extend_from_slice(bytes);
            r
        }
        pub fn key(self, name: &str) -> Self {
            let mut r = self.tag(b'k');
            r.0.push(name.len() as u8);
            r.0.extend_from_slice(name.as_bytes());
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use kea_runscript_env::{Ia, Lease6, LeaseState, LeaseType, Pkt6, Proto, Subnet4, Subnet6};

    use super::write::Record;
    use super::*;

    fn ia(r: Record) -> Record {
        r.tag(b'{')
            .key("iaid")
            .uint(1)
            .key("ia_type")
            .uint(25)
            .key("t1")
            .uint(100)
            .key("t2")
            .uint(160)
            .tag(b'}')
    }

    #[test]
    fn absent_and_present_values() {
        assert_eq!(read::<Option<Ia>>(&Record::default().tag(b'n').0), Ok(None));
        let ia = read::<Option<Ia>>(&ia(Record::default().tag(b's')).0).unwrap();
        assert_eq!(ia, Some(Ia::new(1, 25, 100, 160)));
        let bool_record = Record::default().tag(b's').tag(b'f');
        assert_eq!(read::<Option<bool>>(&bool_record.0), Ok(Some(false)));
    }

    #[test]
    fn prefixes_enums_and_text() {
        let subnet = |len: u64| {
            Record::default()
                .tag(b'{')
                .key("id")
                .uint(3)
                .key("prefix")
                .tag(b'[')
                .bytes(&[10, 0, 0, 0])
                .uint(len)
                .tag(b']')
                .tag(b'}')
        };
        let parsed: Subnet4 = read(&subnet(8).0).unwrap();
        assert_eq!(parsed.prefix.to_string(), "10.0.0.0/8");
        let error = read::<Subnet4>(&subnet(33).0).unwrap_err();
        assert!(error.to_string().starts_with("prefix: "), "{error}");

        let v6 = "2001:db8:8000::".parse::<Ipv6Addr>().unwrap().octets();
        let lease = Record::default()
            .tag(b'{')
            .key("address")
            .bytes(&v6)
            .key("cltt")
            .int(-1)
            .key("hostname")
            .bytes(b"h\xffst")
            .key("hwaddr")
            .tag(b'n')
            .key("state")
            .uint(7)
            .key("subnet_id")
            .uint(7)
            .key("valid_lifetime")
            .uint(4000)
            .key("duid")
            .tag(b's')
            .bytes(&[0, 1])
            .key("iaid")
            .uint(9)
            .key("preferred_lifetime")
            .uint(3000)
            .key("prefix_len")
            .uint(56)
            .key("lease_type")
            .uint(2)
            .key("a_field_the_model_lacks")
            .uint(1)
            .tag(b'}');
        let lease: Lease6 = read(&lease.0).unwrap();
        assert_eq!(lease.state, LeaseState::Other(7));
        assert_eq!(lease.lease_type, LeaseType::Pd);
        // A model's text is Kea's bytes, kept as they are.
        assert_eq!(lease.hostname.as_bytes(), b"h\xffst");
        // A `String` field (Kea's own dumps) is decoded lossily.
        let dump: String = read(&Record::default().bytes(b"h\xffst").0).unwrap();
        assert_eq!(dump, "h\u{fffd}st");
        assert_eq!(lease.cltt, -1);
        assert_eq!(lease.duid.unwrap().0, [0, 1]);
    }

    #[test]
    fn a_bad_address_length_or_a_missing_field_names_the_field() {
        let pkt = Record::default()
            .tag(b'{')
            .key("msg_type")
            .uint(5)
            .key("local_addr")
            .bytes(&[1, 2, 3])
            .tag(b'}');
        let error = read::<Pkt6>(&pkt.0).unwrap_err().to_string();
        assert!(
            error.starts_with("local_addr: expected 16 bytes, found 3"),
            "{error}"
        );
        let subnet = Record::default().tag(b'{').key("id").uint(1).tag(b'}');
        let error = read::<Subnet6>(&subnet.0).unwrap_err().to_string();
        assert!(error.contains("missing field `prefix`"), "{error}");
        let too_big = Record::default()
            .tag(b's')
            .tag(b'{')
            .key("iaid")
            .uint(1 << 40);
        assert!(read::<Option<Ia>>(&too_big.0).is_err());
        assert_eq!(
            read::<u8>(&Record::default().uint(300).0).map_err(|_| ()),
            Err(())
        );
        let truncated = &ia(Record::default().tag(b's')).0[..10];
        assert!(read::<Option<Ia>>(truncated).is_err());
        let trailing = Record::default().tag(b'n').tag(b'n');
        assert!(read::<Option<Ia>>(&trailing.0).is_err());
    }

    #[test]
    fn ipv4_addresses_and_protocols() {
        let addr: Ipv4Addr = read(&Record::default().bytes(&[192, 0, 2, 1]).0).unwrap();
        assert_eq!(addr, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(read::<Proto>(&Record::default().uint(1).0), Ok(Proto::Tcp));
        assert_eq!(read::<Proto>(&Record::default().uint(0).0), Ok(Proto::Udp));
    }
}
