//! The hook `parameters` the tool runs a script with: the `--config` file's, adjusted so that
//! the tool runs exactly one script, synchronously, one event after another.

use std::path::{Path, PathBuf};

use kea_runscript_env::HookPoint;
use serde_json::{Map, Value};

/// Keys that only apply to async scripts; the tool waits for each run, so they are dropped.
const ASYNC_ONLY: &[&str] = &["max-in-flight", "max-queued"];

/// The parameters JSON for `script`: the `config` file's object (or `{}`), with `name` set to
/// the script's absolute path, `sync` set to true, and `hook-points` defaulting to
/// `hook_points`.
pub fn build(
    script: &Path,
    config: Option<&Path>,
    hook_points: &[HookPoint],
) -> Result<String, String> {
    let mut object = match config {
        Some(path) => read_object(path)?,
        None => Map::new(),
    };
    if object.contains_key("scripts") {
        return Err(format!(
            "{}: give one script's settings (without \"scripts\"); the script is the SCRIPT argument",
            config.map_or_else(String::new, |p| p.display().to_string())
        ));
    }
    for key in ["script", "wait"].iter().chain(ASYNC_ONLY) {
        object.remove(*key);
    }
    let script = absolute(script)?;
    object.insert(
        "name".into(),
        Value::String(script.to_string_lossy().into_owned()),
    );
    object.insert("sync".into(), Value::Bool(true));
    object.entry("hook-points").or_insert_with(|| {
        Value::Array(
            hook_points
                .iter()
                .map(|hp| Value::String(hp.name().into()))
                .collect(),
        )
    });
    Ok(Value::Object(object).to_string())
}

fn read_object(path: &Path) -> Result<Map<String, Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read parameters file {}: {e}", path.display()))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(format!(
            "parameters file {}: expected a JSON object",
            path.display()
        )),
        Err(e) => Err(format!("parameters file {}: {e}", path.display())),
    }
}

/// The hook requires an absolute path; a relative one is taken from the current directory.
fn absolute(script: &Path) -> Result<PathBuf, String> {
    if script.is_absolute() {
        return Ok(script.to_path_buf());
    }
    std::env::current_dir()
        .map(|dir| dir.join(script))
        .map_err(|e| format!("cannot resolve {}: {e}", script.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_sets_name_and_sync_and_defaults_hook_points() {
        let json = build(Path::new("/bin/true"), None, &[HookPoint::Pkt4Receive]).unwrap();
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["name"], "/bin/true");
        assert_eq!(value["sync"], true);
        assert_eq!(value["hook-points"], serde_json::json!(["pkt4_receive"]));
    }

    #[test]
    fn async_only_keys_and_aliases_are_dropped_and_hook_points_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(
            &path,
            r#"{"script": "/x", "wait": false, "max-in-flight": 2, "hook-points": ["lease4_renew"], "env": {"A": "1"}}"#,
        )
        .unwrap();
        let json = build(
            Path::new("/bin/true"),
            Some(&path),
            &[HookPoint::Pkt4Receive],
        )
        .unwrap();
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value.get("script"), None);
        assert_eq!(value.get("wait"), None);
        assert_eq!(value.get("max-in-flight"), None);
        assert_eq!(value["hook-points"], serde_json::json!(["lease4_renew"]));
        assert_eq!(value["env"]["A"], "1");
    }
}
