//! Shared by the test suites of kea-runscript-core and kea-runscript-hook (included with
//! `#[path]`): the check that what a test runs as another user is within that user's reach.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Asserts that a user with no relation to any of `path`'s directories (neither owner
/// nor in the group) can enter each of them: otherwise a part run as such a user fails
/// inside the test with a bare `PermissionDenied`. The temporary directory is where the
/// tests put what another user runs, so this fails when `TMPDIR` names a closed one.
pub fn assert_reachable_by_others(path: &Path) {
    for dir in path.ancestors() {
        let mode = std::fs::metadata(dir)
            .unwrap_or_else(|e| panic!("stat {}: {e}", dir.display()))
            .permissions()
            .mode();
        assert!(
            mode & 0o001 != 0,
            "{} (mode {:o}) cannot be entered by other users, so they cannot reach {}; \
             point TMPDIR at a directory they can enter, such as /tmp",
            dir.display(),
            mode & 0o7777,
            path.display()
        );
    }
}
