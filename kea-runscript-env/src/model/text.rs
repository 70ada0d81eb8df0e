//! [`Text`]: a byte string that is usually, but not always, UTF-8.
//!
//! Kea holds host names, interface names and its other free-form text in `std::string`, which
//! is bytes: a client may send a host name that is not UTF-8, and (with
//! `"hostname-char-set": ""`) Kea keeps it as sent. Kea's own run-script hook passes those
//! bytes to the script unchanged, so the models and the rendered values carry bytes, not
//! `String`, and nothing on the way decodes them lossily.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes as Kea holds them in a `std::string`: a model's free-form text (host name, interface
/// name) and every rendered variable's value.
///
/// Built from `&str`, `String`, `&[u8]` or `Vec<u8>`; compares equal to a `str` with the same
/// bytes; dereferences to `[u8]`. `Display` and `Debug` show it lossily (invalid bytes as
/// U+FFFD and `\xNN` respectively); only the bytes themselves are the value.
///
/// Serde: bytes (binary formats, such as the shim's records) or, in human-readable formats
/// such as the JSON event files, a string when the bytes are UTF-8 and an array of byte
/// values otherwise; either form is accepted on input, and a hex-free array of numbers too.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Vec<u8>);

impl Text {
    /// An empty text.
    pub const fn new() -> Text {
        Text(Vec::new())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The text when the bytes are UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The text with each invalid UTF-8 sequence replaced by U+FFFD (for logs and displays,
    /// never for what a script gets).
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Appends `bytes`.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    /// The bytes as runs of valid UTF-8 (`Ok`) and single bytes that are not part of one
    /// (`Err`), in order: for encodings that must keep every byte (the worker protocol's
    /// `\udcXX` escapes, snapshots' `\xNN`).
    pub fn pieces(&self) -> Utf8Pieces<'_> {
        Utf8Pieces(&self.0)
    }
}

/// The iterator of [`Text::pieces`].
#[derive(Clone, Debug)]
pub struct Utf8Pieces<'a>(&'a [u8]);

impl<'a> Utf8Pieces<'a> {
    /// The pieces of any bytes (what [`Text::pieces`] gives for a `Text`).
    pub fn new(bytes: &'a [u8]) -> Utf8Pieces<'a> {
        Utf8Pieces(bytes)
    }
}

impl<'a> Iterator for Utf8Pieces<'a> {
    type Item = Result<&'a str, u8>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.0;
        if bytes.is_empty() {
            return None;
        }
        let valid = match std::str::from_utf8(bytes) {
            Ok(_) => bytes.len(),
            Err(e) => e.valid_up_to(),
        };
        if valid == 0 {
            self.0 = &bytes[1..];
            return Some(Err(bytes[0]));
        }
        self.0 = &bytes[valid..];
        // The prefix up to `valid_up_to` is UTF-8 by from_utf8's contract.
        Some(Ok(std::str::from_utf8(&bytes[..valid]).unwrap_or_default()))
    }
}

impl Deref for Text {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(text.as_bytes().to_vec())
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(text.into_bytes())
    }
}

impl From<&[u8]> for Text {
    fn from(bytes: &[u8]) -> Text {
        Text(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Text {
    fn from(bytes: Vec<u8>) -> Text {
        Text(bytes)
    }
}

impl From<Text> for Vec<u8> {
    fn from(text: Text) -> Vec<u8> {
        text.0
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for Text {
    /// UTF-8 as a string literal, anything else as a byte-string literal (`b"a\xff"`), so a
    /// failing assertion shows the exact bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_str() {
            Some(text) => fmt::Debug::fmt(text, f),
            None => write!(f, "b\"{}\"", self.0.escape_ascii()),
        }
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (serializer.is_human_readable(), self.to_str()) {
            (true, Some(text)) => serializer.serialize_str(text),
            (true, None) => self.0.serialize(serializer),
            (false, _) => serializer.serialize_bytes(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of bytes")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Text, E> {
        Ok(Text::from(text))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Text, E> {
        Ok(Text::from(text))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Text, E> {
        Ok(Text::from(bytes))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Text, E> {
        Ok(Text(bytes))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Text(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_is_a_string_for_utf8_and_bytes_otherwise() {
        let utf8 = Text::from("host-ä");
        assert_eq!(serde_json::to_string(&utf8).unwrap(), r#""host-ä""#);
        let raw = Text::from(&b"h\xffst"[..]);
        assert_eq!(serde_json::to_string(&raw).unwrap(), "[104,255,115,116]");
        for text in [utf8, raw] {
            let json = serde_json::to_string(&text).unwrap();
            assert_eq!(serde_json::from_str::<Text>(&json).unwrap(), text);
        }
    }

    #[test]
    fn pieces_keep_every_byte() {
        let text = Text::from(&b"a\xffb\xc3\xa4\xc3"[..]);
        let pieces: Vec<_> = text.pieces().collect();
        assert_eq!(pieces, [Ok("a"), Err(0xff), Ok("b\u{e4}"), Err(0xc3)]);
        assert_eq!(Text::new().pieces().count(), 0);
    }

    #[test]
    fn compares_with_strings_and_shows_bytes() {
        assert_eq!(Text::from("eth0"), "eth0");
        assert_eq!("eth0", Text::from(String::from("eth0")));
        assert_eq!(format!("{:?}", Text::from(&b"a\xff"[..])), r#"b"a\xff""#);
        assert_eq!(format!("{:?}", Text::from("a")), r#""a""#);
        assert_eq!(Text::from(&b"a\xff"[..]).to_string(), "a\u{fffd}");
    }
}
