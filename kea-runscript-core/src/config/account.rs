//! `user`, `group` and `limits`: who a script runs as and under which resource limits.
//! Names are resolved at load (here, through the system's user and group databases),
//! never between `clone` and `execve`; Kea's privilege to switch and each limit are
//! checked at load too; and the script must be readable and executable by that user.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use kea_runscript_spawn::{Ids, Resource};
use nix::unistd::{Gid, Group, Uid, User};

/// A user or group as configured: a name or a numeric id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account {
    /// A name in the user or group database (`"nobody"`).
    Name(String),
    /// A numeric id (`65534`); it must exist in the database too.
    Id(u32),
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Name(name) => write!(f, "\"{name}\""),
            Account::Id(id) => write!(f, "{id}"),
        }
    }
}

/// `CAP_SETGID` and `CAP_SETUID` (capabilities(7) numbers 6 and 7), `CAP_SYS_RESOURCE` (24).
const CAP_SETGID: u64 = 1 << 6;
const CAP_SETUID: u64 = 1 << 7;
const CAP_SYS_RESOURCE: u64 = 1 << 24;

/// Kea's effective capabilities (bits); what it may do for its scripts.
fn effective() -> Result<u64, String> {
    kea_runscript_spawn::effective_capabilities().map_err(|e| format!("capget failed: {e}"))
}

/// The user's entry, or why there is none.
fn find_user(user: &Account) -> Result<User, String> {
    let found = match user {
        Account::Name(name) => User::from_name(name),
        Account::Id(id) => User::from_uid(Uid::from_raw(*id)),
    };
    match found {
        Ok(Some(entry)) => Ok(entry),
        Ok(None) => Err(format!(
            "user {user} does not exist on this system (no entry in the user database)"
        )),
        Err(e) => Err(format!("user {user} cannot be looked up: {e}")),
    }
}

/// The group's entry, or why there is none.
fn find_group(group: &Account) -> Result<Group, String> {
    let found = match group {
        Account::Name(name) => Group::from_name(name),
        Account::Id(id) => Group::from_gid(Gid::from_raw(*id)),
    };
    match found {
        Ok(Some(entry)) => Ok(entry),
        Ok(None) => Err(format!(
            "group {group} does not exist on this system (no entry in the group database)"
        )),
        Err(e) => Err(format!("group {group} cannot be looked up: {e}")),
    }
}

/// Which key an error is about: `user` or `group`.
pub(super) enum Key {
    User,
    Group,
}

/// Resolves `user`/`group` into the ids the script runs with: the user's uid, the group's
/// gid (default: the user's primary group) and the supplementary groups of the user's
/// entries (`initgroups`-style; with `group` alone, only that group). Refused when an
/// account does not exist or Kea could not switch to it (no `CAP_SETUID`/`CAP_SETGID`,
/// e.g. Kea already runs as `_kea`).
pub(super) fn resolve(
    user: Option<&Account>,
    group: Option<&Account>,
) -> Result<Ids, (Key, String)> {
    let user_entry = user
        .map(find_user)
        .transpose()
        .map_err(|m| (Key::User, m))?;
    let group_entry = group
        .map(find_group)
        .transpose()
        .map_err(|m| (Key::Group, m))?;
    let kea_uid = Uid::effective().as_raw();
    let uid = user_entry.as_ref().map_or(kea_uid, |u| u.uid.as_raw());
    let gid = match (&group_entry, &user_entry) {
        (Some(g), _) => g.gid,
        (None, Some(u)) => u.gid,
        (None, None) => unreachable!("resolve is called with a user or a group"),
    };
    let groups = match &user_entry {
        Some(u) => {
            let name = std::ffi::CString::new(u.name.as_bytes()).map_err(|_| {
                (
                    Key::User,
                    format!("user {} has a name with NUL", user.expect("user")),
                )
            })?;
            let mut groups = nix::unistd::getgrouplist(&name, gid).map_err(|e| {
                (
                    Key::User,
                    format!("the groups of user \"{}\" cannot be read: {e}", u.name),
                )
            })?;
            groups.sort_by_key(|g| g.as_raw());
            groups.dedup();
            groups.into_iter().map(Gid::as_raw).collect()
        }
        None => vec![gid.as_raw()],
    };
    // setgroups and setresgid need CAP_SETGID; setresuid to another uid CAP_SETUID.
    let held = effective().map_err(|m| (Key::User, m))?;
    let mut missing = Vec::new();
    if held & CAP_SETGID == 0 {
        missing.push("CAP_SETGID");
    }
    if uid != kea_uid && held & CAP_SETUID == 0 {
        missing.push("CAP_SETUID");
    }
    if !missing.is_empty() {
        let (key, target) = match (user, group) {
            (Some(user), _) => (Key::User, format!("user {user} (uid {uid})")),
            (None, Some(group)) => (Key::Group, format!("group {group} (gid {gid})")),
            (None, None) => unreachable!("resolve is called with a user or a group"),
        };
        return Err((
            key,
            format!(
                "Kea (uid {kea_uid}) cannot run the script as {target}: it lacks {} \
                 (Kea runs unprivileged); remove the key, or run Kea as root",
                missing.join(" and ")
            ),
        ));
    }
    Ok(Ids {
        uid,
        gid: gid.as_raw(),
        groups,
    })
}

/// The configuration key of a resource (`limits.<key>`).
pub(super) fn limit_key(resource: Resource) -> &'static str {
    match resource {
        Resource::CpuSeconds => "cpu-seconds",
        Resource::AddressSpace => "address-space",
        Resource::OpenFiles => "open-files",
        Resource::Processes => "processes",
    }
}

/// Checks that Kea can set `value` as `resource`'s limit: at most Kea's own hard limit,
/// or Kea holds `CAP_SYS_RESOURCE` (which may raise it). `RLIMIT_NOFILE` can never go
/// above the kernel's `fs.nr_open`.
pub(super) fn check_limit(resource: Resource, value: u64) -> Result<(), String> {
    use nix::sys::resource::{getrlimit, Resource as R};
    let raw = match resource {
        Resource::CpuSeconds => R::RLIMIT_CPU,
        Resource::AddressSpace => R::RLIMIT_AS,
        Resource::OpenFiles => R::RLIMIT_NOFILE,
        Resource::Processes => R::RLIMIT_NPROC,
    };
    let (_, hard) = getrlimit(raw).map_err(|e| format!("getrlimit failed: {e}"))?;
    if resource == Resource::OpenFiles {
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        if let Some(nr_open) = nr_open.filter(|n| value > *n) {
            return Err(format!(
                "{value} is above the kernel's bound on open files (fs.nr_open = {nr_open})"
            ));
        }
    }
    if value > hard && effective()? & CAP_SYS_RESOURCE == 0 {
        return Err(format!(
            "{value} is above Kea's own hard limit ({hard}) and Kea lacks CAP_SYS_RESOURCE \
             to raise it; choose at most {hard}"
        ));
    }
    Ok(())
}

/// Checks that the user of `ids` can read and execute `path` and enter every directory
/// above it (root may, given one execute bit). The error says what that user cannot do.
pub(super) fn check_access(path: &Path, ids: &Ids, who: &str) -> Result<(), String> {
    let may = |meta: &std::fs::Metadata, bits: u32| -> bool {
        let mode = meta.mode();
        if ids.uid == 0 {
            // Root reads and enters anything; it executes what has an execute bit.
            return bits & 0o1 == 0 || meta.is_dir() || mode & 0o111 != 0;
        }
        let granted = if meta.uid() == ids.uid {
            (mode >> 6) & 0o7
        } else if meta.gid() == ids.gid || ids.groups.contains(&meta.gid()) {
            (mode >> 3) & 0o7
        } else {
            mode & 0o7
        };
        granted & bits == bits
    };
    let shown = path.display();
    let resolved =
        std::fs::canonicalize(path).map_err(|e| format!("\"{shown}\" cannot be resolved: {e}"))?;
    for start in [path, resolved.as_path()] {
        for dir in start.ancestors().skip(1) {
            let meta = std::fs::metadata(dir)
                .map_err(|e| format!("\"{}\" cannot be examined: {e}", dir.display()))?;
            if !may(&meta, 0o1) {
                return Err(format!(
                    "\"{shown}\" is out of reach of {who}: it cannot enter directory \"{}\" \
                     (mode {:04o}, owner {}:{}); let it in (chmod o+x, or a group of the \
                     user) or choose another user",
                    dir.display(),
                    meta.mode() & 0o7777,
                    meta.uid(),
                    meta.gid()
                ));
            }
        }
    }
    let meta =
        std::fs::metadata(path).map_err(|e| format!("\"{shown}\" cannot be examined: {e}"))?;
    if !may(&meta, 0o5) {
        return Err(format!(
            "\"{shown}\" is not readable and executable by {who} (mode {:04o}, owner {}:{}); \
             make it so (e.g. chmod o+rx, or a group of the user) or choose another user",
            meta.mode() & 0o7777,
            meta.uid(),
            meta.gid()
        ));
    }
    Ok(())
}
