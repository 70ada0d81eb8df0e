//! Event files: the JSON form of `kea_runscript_env::Event` (as in `fixtures/events/`).

use std::path::Path;

use kea_runscript_env::Event;

/// Reads and parses an event file; the error names the file and, for bad JSON, the
/// position and the field (`lease4.address: invalid IP address syntax at line 5 column 27`).
pub fn load(path: &Path) -> Result<Event, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read event file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("event file {}: {e}", path.display()))
}

/// Parses an event from its JSON text.
pub fn parse(text: &str) -> Result<Event, String> {
    let mut json = serde_json::Deserializer::from_str(text);
    let event: Event = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })?;
    json.end().map_err(|e| e.to_string())?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let error =
            parse(r#"{"hook_point": "lease4_expire", "lease4": {"address": "x"}}"#).unwrap_err();
        assert!(error.starts_with("lease4.address: "), "{error}");
        let error = parse(r#"{"hook_point": "lease4_renewx"}"#).unwrap_err();
        assert!(
            error.contains("hook_point") && error.contains("lease4_renewx"),
            "{error}"
        );
        assert!(parse("{} {}").is_err());
    }
}
