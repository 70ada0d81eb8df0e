//! Load-time checks of the script file, through the public entry point.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use common::{js, script};
use kea_runscript_core::log::StderrSink;
use kea_runscript_core::{Config, Engine};

#[test]
fn each_failed_file_check_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let ok = script(dir.path(), "ok", "exit 0");
    let not_exec = script(dir.path(), "plain", "exit 0");
    std::fs::set_permissions(&not_exec, std::fs::Permissions::from_mode(0o644)).unwrap();
    let missing = dir.path().join("missing");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&ok, &link).unwrap();
    let shown = |p: &std::path::Path| p.display().to_string();

    let table = [
        (
            format!(r#"{{"name": {}}}"#, js(&missing)),
            format!("parameter 'name': \"{}\" does not exist", shown(&missing)),
        ),
        (
            format!(r#"{{"name": {}}}"#, js(dir.path())),
            format!(
                "parameter 'name': \"{}\" is not a regular file",
                shown(dir.path())
            ),
        ),
        (
            format!(
                r#"{{"scripts": [{{"name": {}}}, {{"script": {}}}]}}"#,
                js(&ok),
                js(&not_exec)
            ),
            format!(
                "parameter 'scripts[1].name': \"{}\" is not executable (mode 0644)",
                shown(&not_exec)
            ),
        ),
    ];
    for (json, expected) in table {
        let err = Engine::from_json(&json, Arc::new(StderrSink))
            .err()
            .expect(&json);
        assert_eq!(err.to_string(), expected);
    }
    // A symlink to an executable file is fine; parse alone never touches the file system.
    Config::load(&format!(r#"{{"name": {}}}"#, js(&link))).unwrap();
    Config::parse(&format!(r#"{{"name": {}}}"#, js(&missing))).unwrap();
}
