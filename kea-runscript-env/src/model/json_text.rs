//! Serde form of a JSON value Kea passes as an `isc::data::Element` (a control command's
//! `arguments` and `response`), held as compact JSON text: a nested JSON value in
//! human-readable formats (event fixtures stay readable), and Kea's own JSON text
//! (`Element::str()`) in binary ones (the shim's records), re-written compactly here so that
//! formatting stays in Rust.
//!
//! Unlike a user context, the text comes from whoever sent the command: bytes that are not
//! UTF-8 are replaced (U+FFFD) rather than failing the event (Kea escapes every non-ASCII
//! byte in its JSON text, so this is a guard only).

use serde::{Deserialize, Deserializer, Serializer};

use super::user_context::compact;
use crate::Text;

pub(crate) fn serialize<S: Serializer>(
    json: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    super::user_context::serialize(json, serializer)
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    if deserializer.is_human_readable() {
        let value = Option::<serde_json::Value>::deserialize(deserializer)?;
        return Ok(value.map(|v| v.to_string()));
    }
    let text = Option::<Text>::deserialize(deserializer)?;
    Ok(text.map(|t| compact_json(&t)))
}

/// Kea's JSON text of an element (`Element::str()`, as the shim copies it) re-written as
/// compact JSON (object keys in order, no spaces), the form of [`Event::command_arguments`]
/// and [`Event::command_response`](crate::Event::command_response). Bytes that are not
/// UTF-8 are replaced by U+FFFD; text that is not JSON is kept as it is (a NUL written as
/// `\u0000`) rather than lost.
///
/// [`Event::command_arguments`]: crate::Event::command_arguments
///
/// ```
/// assert_eq!(
///     kea_runscript_env::compact_json(br#"{ "b": [ 1, 2 ], "a": "x" }"#),
///     r#"{"a":"x","b":[1,2]}"#
/// );
/// ```
pub fn compact_json(kea_text: &[u8]) -> String {
    compact(&String::from_utf8_lossy(kea_text)).replace('\0', "\\u0000")
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Holder {
        #[serde(default, with = "super")]
        json: Option<String>,
    }

    #[test]
    fn fixtures_hold_nested_json_and_the_model_compact_text() {
        let holder: Holder =
            serde_json::from_str(r#"{"json": {"b": [1, 2], "a": "x y"}}"#).unwrap();
        assert_eq!(holder.json.as_deref(), Some(r#"{"a":"x y","b":[1,2]}"#));
        assert_eq!(
            serde_json::to_string(&holder).unwrap(),
            r#"{"json":{"a":"x y","b":[1,2]}}"#
        );
        let none: Holder = serde_json::from_str(r#"{"json": null}"#).unwrap();
        assert_eq!(none.json, None);
    }
}
