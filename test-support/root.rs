//! Shared by the test suites of kea-runscript-spawn and kea-runscript-core (included with
//! `#[path]`): whether a test that needs root can run.

/// True when the test runs as root. Otherwise `what` (the test, or what needs root) is
/// skipped with a loud line, or fails under `CI=true`: a missing prerequisite never
/// passes silently there.
pub fn is_root(what: &str) -> bool {
    // SAFETY: geteuid() cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs root; CI=true"
    );
    eprintln!("******** SKIP: {what} needs root ********");
    false
}
