//! `log-output` for a spawned script in the real Kea: what the script writes to stdout
//! and stderr shows up in Kea's log under our logger, one line each, naming the script
//! and the hook point; Kea serves meanwhile.

mod common;

use std::time::Duration;

use common::dhcp4::{Client4, Path4};
use common::kea::{hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::json;

const SCRIPT: &str = "#!/bin/sh\necho \"leased $LEASES4_AT0_ADDRESS\"\necho \"to stderr $1\" >&2\n";

fn spawn_output(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("spawnout");
    let script = scratch.join("talk.sh");
    std::fs::write(&script, SCRIPT).expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let tb = Testbed::new();
    let parameters =
        json!({"name": script, "hook-points": ["leases4_committed"], "log-output": true});
    let settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let bound = in_netns(&tb.cli, || {
        Client4::new(Path4::Relayed).dora([0x02, 0x71, 0, 0, 0, 1], 0x7200)
    })
    .expect("a lease");
    let label = script.display().to_string();
    let expected = [
        format!(
            "KEA_RUNSCRIPT_SCRIPT_OUTPUT script {label} at leases4_committed (stdout): leased {}",
            bound.addr
        ),
        format!(
            "KEA_RUNSCRIPT_SCRIPT_OUTPUT script {label} at leases4_committed (stderr): to stderr leases4_committed"
        ),
    ];
    let logged = wait_for(Duration::from_secs(10), || {
        let log = kea.log_text();
        expected.iter().all(|e| log.contains(e)).then_some(())
    });
    assert!(
        logged.is_some(),
        "expected {expected:?} in Kea's log:\n{}",
        kea.log_text()
    );
    kea.assert_healthy();
}

both_threading_modes!(spawn_output => spawn_output_goes_to_kea_log, spawn_output_goes_to_kea_log_multi_threaded);
