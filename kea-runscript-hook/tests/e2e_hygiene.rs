//! Process hygiene in the real Kea: after bursts of async scripts (one per lease event),
//! Kea has no zombie children, no script process left, and its open fd count is back where
//! it was — it does not grow with the number of events.

mod common;

use std::time::Duration;

use common::dump::Dump;
use common::kea::{hook, perfdhcp, Family, Kea, Settings};
use common::procs::{children, fd_count, zombies};
use common::testbed::Testbed;
use common::{our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::json;

/// Open fds Kea may gain besides ours (e.g. a lazily opened socket or timer).
const FD_SLACK: usize = 2;

/// Runs one perfdhcp burst of `clients` DORAs and waits until every script call it caused
/// has finished (records stable, no child of Kea left); returns the number of records.
fn burst(tb: &Testbed, kea: &Kea, dump: &Dump, clients: &str, base_mac: &str) -> usize {
    let args = [
        "-4", "-l", &tb.cli_if, "-r", "50", "-R", clients, "-n", clients, "-b", base_mac, "-W",
        "500000",
    ];
    let (_, out) = perfdhcp(tb, &args, Duration::from_secs(30));
    assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
    let mut last = usize::MAX;
    let mut stable = 0;
    wait_for(Duration::from_secs(20), || {
        let n = dump.records().len();
        stable = if n == last { stable + 1 } else { 0 };
        last = n;
        (stable >= 10 && children(kea.pid).is_empty()).then_some(())
    })
    .unwrap_or_else(|| panic!("scripts still running: {:?}", children(kea.pid)));
    last
}

fn hygiene(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("hygiene");
    let dump = Dump::new(&scratch, "dump");
    let tb = Testbed::new();
    let parameters = json!({"name": dump.script, "sync": false});
    let settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);

    // Warm-up: Kea's and our library's steady state (threads, sockets) after first events.
    let warm = burst(&tb, &kea, &dump, "5", "mac=00:0c:01:00:00:00");
    let base = fd_count(kea.pid);
    let first = burst(&tb, &kea, &dump, "40", "mac=00:0c:02:00:00:00");
    let after_first = fd_count(kea.pid);
    let second = burst(&tb, &kea, &dump, "40", "mac=00:0c:03:00:00:00");
    let after_second = fd_count(kea.pid);
    println!(
        "events: warm-up {warm}, +{} , +{}; Kea's open fds: {base} → {after_first} → {after_second}",
        first - warm,
        second - first
    );
    assert!(
        second - first >= 30 && first - warm >= 30,
        "too few script calls to judge"
    );
    assert!(
        after_first <= base + FD_SLACK && after_second <= after_first,
        "Kea's open fds grew with script events: {base} → {after_first} → {after_second}"
    );
    assert!(
        zombies(kea.pid).is_empty(),
        "zombie children of Kea: {:?}",
        zombies(kea.pid)
    );
    assert!(kea.alive(), "Kea died:\n{}", kea.log_text());
    assert!(kea.stop(), "Kea did not stop on SIGTERM");
}

both_threading_modes!(hygiene => no_zombies_no_fd_growth, no_zombies_no_fd_growth_multi_threaded);
