//! Kea 3.0's rule on where hook scripts live, applied as Kea's own run-script hook applies
//! it: from 3.0 on a script must sit directly in Kea's scripts directory
//! (/usr/share/kea/scripts, or `KEA_HOOK_SCRIPTS_PATH`; `-X` lifts the rule), checked at
//! `load`, so Kea refuses to start otherwise; before 3.0 there is no such rule. Both
//! libraries are started the same way and must agree.

mod common;

use std::path::Path;

use common::kea::{hook, kea_hooks_version, start_outcome_with, Family, Settings};
use common::{our_library, require_prereqs, Scratch, KEA_RUN_SCRIPT};
use serde_json::json;

/// Kea 3.0's default scripts directory on Debian.
const KEA_SCRIPTS_DIR: &str = "/usr/share/kea/scripts";

/// Whether Kea started with `library` running `script`, with the rule enforced (no `-X`)
/// and `KEA_HOOK_SCRIPTS_PATH` set to `scripts_dir` if given; and everything Kea printed.
fn starts(
    scratch: &Scratch,
    library: &Path,
    script: &Path,
    scripts_dir: Option<&Path>,
) -> (bool, String) {
    let log = scratch.join(&format!("kea-{}.log", common::unique()));
    let config = Settings::new(
        Family::V4,
        false,
        vec![hook(library, json!({"name": script, "sync": false}))],
    )
    .config_without_interfaces(&log);
    start_outcome_with(Family::V4, scratch, &config, &log, |paths| {
        paths.args.clear();
        paths.scripts_dir = scripts_dir.map(Path::to_path_buf);
    })
}

#[test]
fn script_directory_rule_is_keas() {
    if !require_prereqs() {
        return;
    }
    let scratch = Scratch::new("paths");
    let (dir, script) = scratch.script_dir("scripts", "dump.sh");
    for library in [Path::new(KEA_RUN_SCRIPT).to_path_buf(), our_library()] {
        let which = library.display().to_string();
        let (ok, out) = starts(&scratch, &library, &script, None);
        if kea_hooks_version() >= 30000 {
            assert!(
                !ok,
                "{which}: Kea 3.0 must refuse a script outside {KEA_SCRIPTS_DIR}:\n{out}"
            );
            assert!(
                out.contains(&format!("supported path is '{KEA_SCRIPTS_DIR}'")),
                "{which}: the error must name the supported directory:\n{out}"
            );
            if library == our_library() {
                assert!(
                    out.contains("KEA_RUNSCRIPT_") && out.contains(&*script.to_string_lossy()),
                    "our error must be ours and name the script:\n{out}"
                );
            }
            let (ok, out) = starts(&scratch, &library, &script, Some(&dir));
            assert!(
                ok,
                "{which}: KEA_HOOK_SCRIPTS_PATH={} must allow it:\n{out}",
                dir.display()
            );
        } else {
            assert!(
                ok,
                "{which}: Kea before 3.0 has no script directory rule:\n{out}"
            );
        }
    }
}
