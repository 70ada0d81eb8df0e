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

/// The user Kea runs as: this process's effective uid.
pub(super) fn kea_uid() -> u32 {
    // SAFETY: geteuid() cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// What trust needs to know of one file or directory (from `stat`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub is_dir: bool,
}

/// Why one entry is not trusted, or `None`. Trusted: owned by root or `kea_uid`, and
/// writable by nobody else — no group or other write bit — except that a root-owned
/// directory with the sticky bit (`/tmp`) may be writable by anyone: there nobody can
/// rename or remove an entry they do not own, and the entries below it are checked
/// on their own.
pub(super) fn distrust(entry: Entry, kea_uid: u32) -> Option<String> {
    let mode = entry.mode & 0o7777;
    if entry.uid != 0 && entry.uid != kea_uid {
        return Some(format!(
            "is owned by uid {} (only root or Kea's user, uid {kea_uid}, may own it)",
            entry.uid
        ));
    }
    if entry.is_dir && entry.uid == 0 && mode & 0o1000 != 0 {
        return None;
    }
    if mode & 0o002 != 0 {
        return Some(format!("is writable by every user (mode {mode:04o})"));
    }
    if mode & 0o020 != 0 {
        return Some(format!(
            "is writable by the members of group {} (mode {mode:04o})",
            entry.gid
        ));
    }
    None
}

fn entry(path: &Path) -> Result<Entry, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("\"{}\" cannot be examined: {e}", path.display()))?;
    Ok(Entry {
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode(),
        is_dir: meta.is_dir(),
    })
}

/// Checks that nobody but root and `kea_uid` can change what `path` runs: the file and
/// every directory above it, both along the path as written (a symbolic link in it
/// could be replaced by whoever can write its directory) and along the resolved path.
/// The error names the offending file or directory, its permission and the fix.
pub(super) fn trusted(path: &Path, kea_uid: u32) -> Result<(), String> {
    let resolved = std::fs::canonicalize(path)
        .map_err(|e| format!("\"{}\" cannot be resolved: {e}", path.display()))?;
    let mut checked = std::collections::HashSet::new();
    for start in [path, resolved.as_path()] {
        for item in start.ancestors() {
            if !checked.insert(item.to_path_buf()) {
                continue;
            }
            let found = entry(item)?;
            if let Some(problem) = distrust(found, kea_uid) {
                let what = if found.is_dir { "directory" } else { "file" };
                return Err(format!(
                    "\"{}\" is not trusted: {what} \"{}\" {problem}, so someone other than \
                     root or Kea's user could change what Kea runs; make root or uid {kea_uid} \
                     its owner and remove the write bits of others (chown root \"{1}\"; chmod \
                     go-w \"{1}\"), or set \"trust-check\": false for this script",
                    path.display(),
                    item.display(),
                ));
            }
        }
    }
    Ok(())
}
