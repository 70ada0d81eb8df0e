//! The file-system checks of a configured script (the only I/O of configuration).

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Checks, in order, that `path` is absolute, exists, is a regular file (after
/// following symlinks) and is executable by this process; the error says which
/// check failed.
pub(super) fn script_file(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if !path.is_absolute() {
        return Err(format!("\"{shown}\" is not an absolute path"));
    }
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("\"{shown}\" does not exist"),
        _ => format!("\"{shown}\" cannot be examined: {e}"),
    })?;
    if !meta.is_file() {
        return Err(format!("\"{shown}\" is not a regular file"));
    }
    let mode = meta.permissions().mode();
    if mode & 0o111 == 0 || !executable_by_us(path) {
        return Err(format!(
            "\"{shown}\" is not executable (mode {:04o})",
            mode & 0o7777
        ));
    }
    Ok(())
}

/// `access(X_OK)` with this process's real ids (Kea's user).
fn executable_by_us(path: &Path) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access() on a valid NUL-terminated string.
    unsafe { libc::access(c_path.as_ptr(), libc::X_OK) == 0 }
}
