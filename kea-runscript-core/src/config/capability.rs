//! Linux capabilities by name (`"capabilities"`): the kernel's numbering, as
//! `capabilities(7)` and systemd spell it.

use std::fmt;

/// Capability names by number (`CAP_CHOWN` is 0); the kernel ABI fixes the numbers.
const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A set of Linux capabilities, one bit per capability number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapabilitySet(u64);

impl CapabilitySet {
    /// The empty set.
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    /// The set with these bits (bit `n` is capability number `n`).
    pub const fn from_bits(bits: u64) -> CapabilitySet {
        CapabilitySet(bits)
    }

    /// The bits of the set.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The capability named `name` (`"CAP_NET_ADMIN"`, any case), as a one-element set.
    pub fn named(name: &str) -> Option<CapabilitySet> {
        NAMES
            .iter()
            .position(|known| known.eq_ignore_ascii_case(name))
            .map(|number| CapabilitySet(1 << number))
    }

    /// Both sets' capabilities.
    pub const fn union(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 | other.0)
    }

    /// The capabilities of `self` that `other` lacks.
    pub const fn without(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the capabilities in the set, in number order (`CAP_<n>` for a number
    /// this table does not name).
    pub fn names(self) -> Vec<String> {
        (0..64)
            .filter(|n| self.0 & (1 << n) != 0)
            .map(|n| {
                NAMES
                    .get(n)
                    .map_or_else(|| format!("CAP_{n}"), |s| (*s).to_owned())
            })
            .collect()
    }
}

impl fmt::Display for CapabilitySet {
    /// The names separated by spaces (systemd's spelling); `none` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&self.names().join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kernel_numbers() {
        // Spot checks against linux/capability.h.
        for (name, number) in [
            ("CAP_CHOWN", 0),
            ("CAP_NET_BIND_SERVICE", 10),
            ("CAP_NET_ADMIN", 12),
            ("CAP_NET_RAW", 13),
            ("CAP_SYS_ADMIN", 21),
            ("CAP_CHECKPOINT_RESTORE", 40),
        ] {
            assert_eq!(CapabilitySet::named(name), Some(CapabilitySet(1 << number)));
        }
        assert_eq!(
            CapabilitySet::named("cap_net_admin").unwrap().bits(),
            1 << 12
        );
        assert_eq!(CapabilitySet::named("NET_ADMIN"), None);
        assert_eq!(
            CapabilitySet::from_bits((1 << 12) | (1 << 13) | (1 << 50)).to_string(),
            "CAP_NET_ADMIN CAP_NET_RAW CAP_50"
        );
        assert_eq!(CapabilitySet::EMPTY.to_string(), "none");
    }
}
