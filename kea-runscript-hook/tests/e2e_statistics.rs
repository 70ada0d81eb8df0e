//! The runner's counters are Kea statistics: after real traffic, `statistic-get-all` over
//! Kea's control socket shows `kea-runscript.*` with the values that match what happened.
//! A sync script (its runs have ended when the callout returns, so the statistics are
//! exact then) exits 0 for one client, 3 for another and is killed by a signal for a
//! third; a second, async script keeps a bounded queue and drops what does not fit.

mod common;

use std::path::Path;
use std::time::Duration;

use common::dhcp4::{Client4, Path4};
use common::kea::{command, hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::{json, Value};

/// The latest value of statistic `name` in a `statistic-get-all` answer.
fn stat(answer: &Value, name: &str) -> Option<i64> {
    answer["arguments"][name][0][0].as_i64()
}

fn statistics(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("stats");
    let script = scratch.join("exits.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ncase \"$QUERY4_HWADDR\" in\n  *:01) exit 3 ;;\n  *:02) kill -KILL $$ ;;\nesac\nexit 0\n",
    )
    .unwrap();
    set_mode(&script, 0o755);
    let socket = scratch.join("kea.sock");
    let tb = Testbed::new();
    let parameters = json!({
        "name": script, "sync": true, "hook-points": ["leases4_committed"],
        "exit-codes": {"3": "continue"}
    });
    let mut settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    settings.control_socket = Some(socket.clone());
    let mut kea = Kea::start(&tb, &scratch, &settings);

    // Right after load: every counter is there, at zero.
    let answer = command(&socket, &json!({"command": "statistic-get-all"}));
    assert_eq!(answer["result"], 0, "{answer}");
    for name in [
        "events",
        "started",
        "exited",
        "non-zero-exits",
        "killed-by-signal",
        "in-flight",
    ] {
        assert_eq!(
            stat(&answer, &format!("kea-runscript.{name}")),
            Some(0),
            "{name} at load: {answer}"
        );
    }

    let bound = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        (0..3u8)
            .filter_map(|i| client.dora([0x02, 0x51, 0, 0, 0, i], 0xa000 + 0x10 * u32::from(i)))
            .count()
    });
    assert_eq!(bound, 3);

    let answer = command(&socket, &json!({"command": "statistic-get-all"}));
    let expect = [
        ("events", 3),
        ("started", 3),
        ("exited", 3),
        ("non-zero-exits", 1),
        ("killed-by-signal", 1),
        ("timed-out", 0),
        ("dropped", 0),
        ("merged", 0),
        ("blocked", 0),
        ("failed-to-start", 0),
        ("in-flight", 0),
        ("queued", 0),
    ];
    for (name, value) in expect {
        assert_eq!(
            stat(&answer, &format!("kea-runscript.{name}")),
            Some(value),
            "kea-runscript.{name}: {answer}"
        );
    }
    // Kea's own statistics are still there next to ours. Kea counts an ACK after sending
    // it (with multi-threading, on its packet thread while the client already has it), so
    // the third may still be on its way: asked again until it shows.
    let acks = wait_for(Duration::from_secs(10), || {
        let answer = command(&socket, &json!({"command": "statistic-get-all"}));
        stat(&answer, "pkt4-ack-sent")
            .is_some_and(|n| n >= 3)
            .then_some(())
    });
    assert!(
        acks.is_some(),
        "pkt4-ack-sent below 3 for 10 s: {}",
        command(&socket, &json!({"command": "statistic-get-all"}))
    );
    kea.assert_healthy();
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

both_threading_modes!(statistics => counters_are_kea_statistics, counters_are_kea_statistics_multi_threaded);

/// Async runs end after their callout: their exits show at the next event, and the
/// drop of an event past the bounds shows at once.
#[test]
fn async_counters_reach_the_statistics() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("stats-async");
    let script = scratch.join("slow.sh");
    // The first run holds its slot until the gate file exists.
    let gate = scratch.join("gate");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile [ ! -e '{}' ]; do /bin/sleep 0.05; done\nexit 0\n",
            gate.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    let socket = scratch.join("kea.sock");
    let tb = Testbed::new();
    let parameters = json!({
        "name": script, "hook-points": ["leases4_committed"],
        "max-in-flight": 1, "max-queued": 1, "overflow": "drop"
    });
    let mut settings = Settings::new(Family::V4, false, vec![hook(&our_library(), parameters)]);
    settings.control_socket = Some(socket.clone());
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let dora = |i: u8| {
        in_netns(&tb.cli, move || {
            Client4::new(Path4::Relayed)
                .dora([0x02, 0x52, 0, 0, 0, i], 0xb000 + 0x10 * u32::from(i))
                .is_some()
        })
    };
    // One runs, one waits, one is dropped.
    assert!((0..3).all(dora));
    let answer = command(&socket, &json!({"command": "statistic-get-all"}));
    for (name, value) in [
        ("events", 3),
        ("started", 1),
        ("queued", 1),
        ("dropped", 1),
        ("in-flight", 1),
    ] {
        assert_eq!(
            stat(&answer, &format!("kea-runscript.{name}")),
            Some(value),
            "{name}: {answer}"
        );
    }
    // Open the gate; once both runs are over (the queued one started and ended), the
    // next event publishes them.
    std::fs::write(&gate, "").unwrap();
    let settled = wait_for(Duration::from_secs(20), || {
        dora(10);
        let answer = command(&socket, &json!({"command": "statistic-get-all"}));
        (stat(&answer, "kea-runscript.exited") >= Some(2)).then_some(answer)
    })
    .expect("the runs' exits never reached the statistics");
    assert_eq!(stat(&settled, "kea-runscript.queued"), Some(0), "{settled}");
    kea.assert_healthy();
}
