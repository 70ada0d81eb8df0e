//! The ready scripts of `examples/` do what their headers promise inside the real Kea:
//! `examples/selftest.sh` runs `routes.sh`, `nft-set.sh` (async lease hook points) and
//! `blocklist.sh` (sync, drop) in kea-dhcp4 and kea-dhcp6 with this library, drives them
//! with perfdhcp in private network namespaces, and checks the routes, the nftables set
//! elements, their removal at expiry, and that the listed MAC gets no lease.

mod common;

use std::path::Path;
use std::process::Command;

use common::{missing_prereq, our_library, require_prereqs, HeavySlot};

/// `nft` is a prerequisite of this test only (Debian package nftables).
fn require_nft() -> bool {
    Path::new("/usr/sbin/nft").exists()
        || missing_prereq("examples test needs /usr/sbin/nft (Debian package nftables)")
}

#[test]
fn example_scripts_work_in_real_kea() {
    if !require_prereqs() || !require_nft() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let selftest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/selftest.sh");
    let out = Command::new(&selftest)
        .arg(our_library())
        .output()
        .expect("run examples/selftest.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "examples/selftest.sh failed ({}):\n{text}",
        out.status
    );
    // The script's own verdict line, so a selftest that silently checked nothing fails too.
    assert!(text.contains("all example checks passed"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
}
