//! Serde form of a user context (Kea's `UserContext::getContext()`, a JSON element) held as
//! compact JSON text: a nested JSON value in human-readable formats (event fixtures stay
//! readable), and Kea's own JSON text (`Element::str()`, not compact) in binary ones (the
//! shim's records), re-written compactly here so that formatting stays in Rust.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// `text` re-written as compact JSON (object keys in order, no spaces); text that is not
/// JSON is kept as it is rather than failing the whole event.
pub(crate) fn compact(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .map_or_else(|_| text.to_owned(), |value| value.to_string())
}

pub(crate) fn serialize<S: Serializer>(
    context: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match context {
        Some(text) if serializer.is_human_readable() => {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(value) => serializer.serialize_some(&value),
                Err(_) => serializer.serialize_some(text),
            }
        }
        Some(text) => serializer.serialize_some(text),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    if deserializer.is_human_readable() {
        let value = Option::<serde_json::Value>::deserialize(deserializer)?;
        return Ok(value.map(|v| v.to_string()));
    }
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|t| {
        if t.contains('\0') {
            Err(D::Error::custom("a user context with a NUL byte"))
        } else {
            Ok(compact(&t))
        }
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn kea_json_becomes_compact_and_other_text_stays() {
        assert_eq!(
            compact(r#"{ "b": [ 1, 2 ], "a": { "x": "y z" } }"#),
            r#"{"a":{"x":"y z"},"b":[1,2]}"#
        );
        assert_eq!(compact("not json"), "not json");
        assert_eq!(compact("\"s\""), "\"s\"");
    }
}
