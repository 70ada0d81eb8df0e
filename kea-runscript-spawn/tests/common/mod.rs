//! Helpers shared by the launcher's integration tests: a `/bin/sh` script as a
//! [`Program`], [`Limits`], and the root check.
#![allow(dead_code)]

use std::ffi::CString;
use std::sync::Arc;
use std::time::Duration;

use kea_runscript_spawn::{Limits, Program, StopSignal, KILL_GRACE};

#[path = "../../../test-support/root.rs"]
mod root;
#[allow(unused_imports)] // not every test binary needs root
pub use root::is_root;

/// `/bin/sh -c`-less shell: `sh` reads `script` from a file given as `argv[1]` (in the
/// returned directory, which must outlive the run).
pub fn shell(script: &str) -> (tempfile::TempDir, Program) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.sh");
    std::fs::write(&file, script).unwrap();
    let program = Program::new(
        CString::new("/bin/sh").unwrap(),
        CString::new(file.to_str().unwrap()).unwrap(),
        vec![CString::new("PATH=/usr/bin:/bin").unwrap()],
    );
    (dir, program)
}

/// Limits with `timeout` and `stop`, and the launcher's own kill grace.
pub fn limits(timeout: Option<Duration>, stop: Option<Arc<StopSignal>>) -> Limits {
    Limits {
        timeout,
        grace: KILL_GRACE,
        stop,
    }
}
