//! Bytes that are not UTF-8 in JSON strings: the worker protocol's encoding of values.
//!
//! A rendered value is bytes ([`Text`](crate::Text)); JSON strings are Unicode. Each byte that
//! is not part of valid UTF-8 is written as the lone surrogate U+DC80 + (byte - 0x80), i.e.
//! the escape `\udcXX` with `XX` the byte in hex (such bytes are always 0x80 or above); valid
//! UTF-8 is written as itself. This is Python's `surrogateescape` error handler, so a Python
//! worker gets the exact bytes back with `value.encode("utf-8", "surrogateescape")` (and
//! values that are UTF-8 need nothing). Valid UTF-8 never produces a lone surrogate, so the
//! encoding is unambiguous.
//!
//! A Rust worker reads such a value with `serde_json` as bytes (a `Visitor` on
//! `deserialize_bytes`/`deserialize_byte_buf`, e.g. `serde_bytes::ByteBuf`): `serde_json`
//! gives a lone surrogate as its 3-byte WTF-8 form, and [`decode_wtf8`] turns those back into
//! the original bytes. (Read as `String`, `serde_json` rejects the line.)

/// Appends `bytes` as a JSON string literal (with its quotes): valid UTF-8 as itself, with
/// `"`, `\` and control characters escaped as `serde_json` escapes them (so UTF-8 values are
/// written exactly as before), every other byte as `\udcXX`.
pub fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most values (addresses, numbers, hex) are printable ASCII: no UTF-8 decoding needed.
    if bytes
        .iter()
        .all(|&b| matches!(b, 0x20..=0x7e) && b != b'"' && b != b'\\')
    {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    for piece in crate::Utf8Pieces::new(bytes) {
        match piece {
            Ok(text) => push_escaped(out, text),
            Err(byte) => push_hex_escape(out, 0xDC00 | u16::from(byte)),
        }
    }
    out.push(b'"');
}

fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    // Copies runs that need no escape in one go: most values have no escape at all.
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        match short {
            Some(escape) => out.extend_from_slice(escape),
            None => push_hex_escape(out, u16::from(b)),
        }
    }
    out.extend_from_slice(&bytes[run..]);
}

fn push_hex_escape(out: &mut Vec<u8>, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[usize::from((unit >> shift) & 0xf)]);
    }
}

/// The original bytes of a value that `serde_json` deserialized as bytes: each WTF-8
/// sequence of a lone surrogate U+DC80…U+DCFF (`ED B2 80` … `ED B3 BF`) becomes the byte it
/// stands for; everything else is kept. Such sequences never occur in valid UTF-8.
pub fn decode_wtf8(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i..] {
            [0xED, second @ 0xB2..=0xB3, third @ 0x80..=0xBF, ..] => {
                // U+DCxx = 1101 1100 xxxx xxxx: ED, 10 11001x, 10 xxxxxx.
                out.push(((second & 0x01) << 6 | (third & 0x3F)) | 0x80);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_json_string(&mut out, bytes);
        String::from_utf8(out).expect("the encoding is ASCII plus valid UTF-8")
    }

    /// What a Rust worker does: serde_json as bytes, then `decode_wtf8`.
    fn read_back(json: &str) -> Vec<u8> {
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_str<E>(self, v: &str) -> Result<Vec<u8>, E> {
                Ok(v.as_bytes().to_vec())
            }
        }
        use serde::Deserializer as _;
        let mut de = serde_json::Deserializer::from_str(json);
        decode_wtf8(&de.deserialize_bytes(Bytes).expect("valid JSON string"))
    }

    #[test]
    fn invalid_bytes_become_lone_surrogates() {
        assert_eq!(encode(b"a\xffb"), r#""a\udcffb""#);
        assert_eq!(encode(b"caf\xe9"), r#""caf\udce9""#);
        assert_eq!(encode("é\"\\\n\x01".as_bytes()), "\"é\\\"\\\\\\n\\u0001\"");
        assert_eq!(encode(b"\xc3("), r#""\udcc3(""#);
    }

    #[test]
    fn every_byte_string_round_trips_through_serde_json() {
        let cases: [&[u8]; 6] = [
            b"",
            b"plain",
            "h\u{f6}st \u{1F600}".as_bytes(),
            b"\x80\xff\xed\xb2\x80",
            b"\xc3\xa4\xc3",
            b"\"\\\x00\x1f\x7f",
        ];
        for bytes in cases {
            assert_eq!(read_back(&encode(bytes)), bytes, "{:?}", encode(bytes));
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(read_back(&encode(&all)), all);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            proptest::prop_assert_eq!(read_back(&encode(&bytes)), bytes);
        }

        #[test]
        fn text_is_written_as_serde_json_writes_it(text in "\\PC*|[ -~]*") {
            proptest::prop_assert_eq!(encode(text.as_bytes()), serde_json::to_string(&text).unwrap());
        }
    }
}
