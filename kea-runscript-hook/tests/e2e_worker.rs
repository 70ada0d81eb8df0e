//! Worker mode in the real Kea (v4 and v6, Kea multi-threading off and on):
//! - the example workers `lease-log.py` (async, one JSON line per lease event) and
//!   `blocklist-worker.py` (sync at pkt*_receive: the listed client gets no lease) run
//!   next to a spawned script in one library instance; their stderr reaches Kea's log;
//!   at unload they get EOF and leave nothing unanswered or running;
//! - lossless: the lease-log worker is killed with SIGKILL again and again during a
//!   perfdhcp run, and its file still holds every lease Kea wrote to its lease file,
//!   each exactly once (replayed events are not written twice);
//! - NATS JetStream: `nats-publish.py` publishes every lease event to a real
//!   nats-server; killed with SIGKILL mid-run, the stream still holds every committed
//!   lease exactly once (the replay is deduplicated by its Nats-Msg-Id).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::dhcp4::{mac_text, Client4, Path4};
use common::dhcp6::{colon_hex, duid_ll, Client6};
use common::dump::Dump;
use common::kea::{hook, perfdhcp, Family, Kea, Settings};
use common::nats::{stream_messages, stream_messages_retried, venv, Nats};
use common::procs;
use common::testbed::Testbed;
use common::{
    in_netns, missing_prereq, our_library, require_prereqs, wait_for, HeavySlot, Scratch,
};
use serde_json::{json, Value};

const CLIENTS: [[u8; 6]; 4] = [
    [0x02, 0x30, 0, 0, 0, 1],
    [0x02, 0x30, 0, 0, 0, 2],
    [0x02, 0x30, 0, 0, 0, 3],
    [0x02, 0x30, 0, 0, 0, 4],
];
const BLOCKED: usize = 2;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .canonicalize()
        .expect("example exists")
}

/// The JSON lines of a file (none yet if it does not exist). A last line without its newline
/// is still being written (the test reads while the worker appends): it counts once whole.
fn json_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let whole = text.rfind('\n').map_or("", |end| &text[..=end]);
    whole
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// The address an event's `leases4_committed` committed; `None` for one that committed no
/// lease (`LEASES4_SIZE=0`: a DHCPREQUEST that Kea NAKed, as happens when perfdhcp's
/// clients retry on a loaded machine), which has no row in the lease file either.
fn committed_address(event: &Value) -> Option<String> {
    let vars = &event["vars"];
    if vars["LEASES4_SIZE"].as_str() == Some("0") {
        return None;
    }
    Some(
        vars["LEASES4_AT0_ADDRESS"]
            .as_str()
            .unwrap_or_else(|| panic!("an event with leases but no LEASES4_AT0_ADDRESS: {event}"))
            .to_owned(),
    )
}

/// The address column of every row Kea wrote to its memfile lease file (a row per
/// lease written: one per commit here).
fn lease_rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_owned))
        .collect()
}

/// How many times each value occurs.
fn counts<'a>(values: impl IntoIterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for v in values {
        *m.entry(v).or_default() += 1;
    }
    m
}

/// Worker processes running `script` (as `... script worker`) in the testbed's server
/// namespace (other tests run the same examples at the same time).
fn workers_of(tb: &Testbed, script: &Path) -> Vec<procs::Proc> {
    workers_in(tb.srv_netns_inode(), script)
}

fn workers_in(netns: u64, script: &Path) -> Vec<procs::Proc> {
    let needle = format!("{} worker", script.display());
    procs::in_netns(netns, 0)
        .into_iter()
        .filter(|p| p.cmdline.ends_with(&needle) && p.state != 'Z')
        .collect()
}

fn lease_hook_points(family: Family) -> (&'static str, &'static str) {
    match family {
        Family::V4 => ("leases4_committed", "pkt4_receive"),
        Family::V6 => ("leases6_committed", "pkt6_receive"),
    }
}

/// lease-log.py + blocklist-worker.py (workers) + dump.sh (spawned) in one library.
fn workers_in_kea(family: Family, mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("worker");
    let tb = Testbed::new();
    let lease_log = scratch.join("leases.jsonl");
    let blocklist = scratch.join("blocklist");
    let blocked_id = match family {
        Family::V4 => mac_text(CLIENTS[BLOCKED]),
        Family::V6 => colon_hex(&duid_ll(CLIENTS[BLOCKED])),
    };
    std::fs::write(
        &blocklist,
        format!("# test\n{}\n", blocked_id.to_uppercase()),
    )
    .unwrap();
    let dump = Dump::new(&scratch, "dump");
    let (committed, receive) = lease_hook_points(family);
    let parameters = json!({"scripts": [
        {"name": example("blocklist-worker.py"), "mode": "worker", "sync": true,
         "hook-points": [receive], "timeout-ms": 5000, "log-output": true,
         "env": {"BLOCKLIST_FILE": blocklist}},
        {"name": example("lease-log.py"), "mode": "worker", "hook-points": [committed],
         "log-output": true, "env": {"LEASE_LOG": lease_log}},
        {"name": dump.script, "sync": false, "hook-points": [committed]}
    ]});
    let settings = Settings::new(family, mt, vec![hook(&our_library(), parameters)]);
    let mut kea = Kea::start(&tb, &scratch, &settings);
    // Started at load, one process each (the exec may still be under way).
    for name in ["lease-log.py", "blocklist-worker.py"] {
        let one = wait_for(Duration::from_secs(10), || {
            (workers_of(&tb, &example(name)).len() == 1).then_some(())
        });
        assert!(
            one.is_some(),
            "{name}: {:?}",
            workers_of(&tb, &example(name))
        );
    }

    // Who got a lease, and the id the workers see for each client.
    let (bound, ids): (Vec<bool>, Vec<String>) = match family {
        Family::V4 => {
            let bound = in_netns(&tb.cli, || {
                let client = Client4::new(Path4::Relayed);
                CLIENTS
                    .iter()
                    .enumerate()
                    .map(|(i, mac)| client.dora(*mac, 0x7000 + 0x10 * i as u32).is_some())
                    .collect()
            });
            (bound, CLIENTS.iter().map(|m| mac_text(*m)).collect())
        }
        Family::V6 => {
            let ifindex = tb.cli_ifindex();
            let bound = in_netns(&tb.cli, move || {
                CLIENTS
                    .iter()
                    .enumerate()
                    .map(|(i, mac)| {
                        Client6::new(ifindex, *mac, None)
                            .sarr(0x70_0000 + 0x10 * i as u32)
                            .is_some()
                    })
                    .collect()
            });
            (
                bound,
                CLIENTS.iter().map(|m| colon_hex(&duid_ll(*m))).collect(),
            )
        }
    };
    for (i, got) in bound.iter().enumerate() {
        assert_eq!(*got, i != BLOCKED, "client {i} ({}) bound: {got}", ids[i]);
    }
    // One lease-log line per commit of every client but the blocked one.
    let id_var = match family {
        Family::V4 => "QUERY4_HWADDR",
        Family::V6 => "QUERY6_CLIENT_ID",
    };
    let lines = wait_for(Duration::from_secs(10), || {
        let lines = json_lines(&lease_log);
        (lines.len() >= CLIENTS.len() - 1).then_some(lines)
    })
    .unwrap_or_else(|| panic!("lease log incomplete:\n{}", kea.log_text()));
    let logged: Vec<&str> = lines
        .iter()
        .map(|l| l["vars"][id_var].as_str().expect("id variable"))
        .collect();
    let expected: Vec<&str> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != BLOCKED)
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(
        counts(logged.iter().copied()),
        counts(expected),
        "{lines:?}"
    );
    for line in &lines {
        assert_eq!(line["hook_point"], committed);
        let id = line["id"].as_str().unwrap();
        assert!(id.len() > 33 && id.contains(':'), "{id}");
    }
    // The spawned script saw the same commits.
    dump.wait(Duration::from_secs(10), |rs| rs.len() >= CLIENTS.len() - 1);
    // The workers' stderr is in Kea's log, under our id.
    let log = kea.log_text();
    assert!(
        log.contains("KEA_RUNSCRIPT_SCRIPT_OUTPUT") && log.contains("1 entries loaded"),
        "{log}"
    );
    kea.assert_healthy();

    // Unload: both workers get EOF, nothing is left unanswered, nothing keeps running.
    assert!(kea.stop(), "Kea did not stop on SIGTERM");
    let log = kea.log_text();
    let stopped: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("KEA_RUNSCRIPT_WORKER_STOPPED"))
        .collect();
    assert_eq!(stopped.len(), 2, "{log}");
    assert!(
        stopped
            .iter()
            .all(|l| l.contains(" 0 events were never answered")),
        "{stopped:?}"
    );
    assert!(workers_of(&tb, &example("lease-log.py")).is_empty());
    assert!(workers_of(&tb, &example("blocklist-worker.py")).is_empty());
}

fn workers_v4(mt: bool) {
    workers_in_kea(Family::V4, mt)
}
fn workers_v6(mt: bool) {
    workers_in_kea(Family::V6, mt)
}
both_threading_modes!(workers_v4 => example_workers_serve_v4, example_workers_serve_v4_multi_threaded);
both_threading_modes!(workers_v6 => example_workers_serve_v6, example_workers_serve_v6_multi_threaded);

/// SIGKILLs the workers of `script` every `every` until `done`; returns how many it killed.
fn killer(
    netns: u64,
    script: PathBuf,
    every: Duration,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut killed = 0;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(every);
            let found = workers_in(netns, &script);
            killed += found.len();
            procs::kill_all(&found);
        }
        killed
    })
}

/// perfdhcp DORAs for `clients` clients in the client namespace (drives Kea's commits).
fn dora_run(tb: &Testbed, clients: &str) {
    let args = [
        "-4", "-l", &tb.cli_if, "-r", "400", "-R", clients, "-n", clients, "-W", "1000000",
    ];
    let (_, out) = perfdhcp(tb, &args, Duration::from_secs(60));
    assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
}

/// Waits until `seen` (addresses delivered) covers every row of the lease file.
fn wait_covered(
    kea: &Kea,
    lease_file: &Path,
    seen: impl Fn() -> Vec<String>,
) -> (Vec<String>, Vec<String>) {
    let mut last = (Vec::new(), Vec::new());
    let done = wait_for(Duration::from_secs(60), || {
        let rows = lease_rows(lease_file);
        let got = seen();
        let covered = !rows.is_empty() && got.len() >= rows.len();
        last = (rows, got);
        covered.then_some(())
    });
    assert!(
        done.is_some(),
        "not every lease was delivered: {} rows, {} delivered\n{}",
        last.0.len(),
        last.1.len(),
        kea.log_text()
    );
    last
}

fn lease_log_survives_sigkill(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("lossless");
    let tb = Testbed::new();
    let lease_log = scratch.join("leases.jsonl");
    let lease_file = scratch.join("kea-leases4.csv");
    let script = example("lease-log.py");
    let parameters = json!({"name": script, "mode": "worker", "hook-points": ["leases4_committed"],
                            "log-output": true, "env": {"LEASE_LOG": lease_log}});
    let mut settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    settings.lease_file = Some(lease_file.clone());
    let mut kea = Kea::start(&tb, &scratch, &settings);

    let done = Arc::new(AtomicBool::new(false));
    let kill = killer(
        tb.srv_netns_inode(),
        script.clone(),
        Duration::from_millis(700),
        Arc::clone(&done),
    );
    dora_run(&tb, "3000");
    done.store(true, Ordering::Relaxed);
    let killed = kill.join().unwrap();
    assert!(killed >= 2, "the worker was killed only {killed} times");

    let (rows, delivered) = wait_covered(&kea, &lease_file, || {
        json_lines(&lease_log)
            .iter()
            .filter_map(committed_address)
            .collect()
    });
    // Every lease Kea wrote is in the log, and each exactly as often: no loss, and the
    // replays after each SIGKILL added no second line.
    assert_eq!(
        counts(delivered.iter().map(String::as_str)),
        counts(rows.iter().map(String::as_str)),
        "lease log differs from Kea's lease file"
    );
    let ids = json_lines(&lease_log);
    let unique: std::collections::BTreeSet<&str> =
        ids.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), ids.len(), "an event id was written twice");
    let log = kea.log_text();
    assert!(log.contains("KEA_RUNSCRIPT_WORKER_EXITED"), "{log}");
    assert!(log.contains("SIGKILL"), "{log}");
    kea.assert_healthy();
}

both_threading_modes!(lease_log_survives_sigkill => lease_log_holds_every_lease_once_through_sigkills, lease_log_holds_every_lease_once_through_sigkills_multi_threaded);

/// Where the tests' nats-server listens (in the server namespace).
const NATS_URL: &str = "nats://127.0.0.1:4222";

fn nats_stream_holds_every_lease_once(mt: bool) {
    if !require_prereqs() {
        return;
    }
    if !Path::new("/usr/sbin/nats-server").exists() {
        missing_prereq("the NATS test needs nats-server (scripts/install-deps.sh)");
        return;
    }
    let Some(venv) = venv() else {
        missing_prereq("the NATS test needs target/venv with nats-py (scripts/install-deps.sh)");
        return;
    };
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("nats");
    let tb = Testbed::new();
    let _nats = Nats::start(&tb.srv, "127.0.0.1", &scratch);
    let lease_file = scratch.join("kea-leases4.csv");
    let script = example("nats-publish.py");
    let path = format!("{}:/usr/bin:/bin", venv.join("bin").display());
    let parameters = json!({"name": script, "mode": "worker", "hook-points": ["leases4_committed"],
                            "log-output": true, "max-queued": 100000,
                            "env": {"PATH": path, "KEA_SERVER": "kea-test",
                                    "NATS_URL": "nats://127.0.0.1:4222"}});
    let mut settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    settings.lease_file = Some(lease_file.clone());
    let mut kea = Kea::start(&tb, &scratch, &settings);
    // `env python3` runs the venv's python: the worker's command line names the script.
    let up = wait_for(Duration::from_secs(20), || {
        (!workers_of(&tb, &script).is_empty()).then_some(())
    });
    assert!(
        up.is_some(),
        "the NATS worker did not start:\n{}",
        kea.log_text()
    );

    let done = Arc::new(AtomicBool::new(false));
    let kill = killer(
        tb.srv_netns_inode(),
        script.clone(),
        Duration::from_millis(900),
        Arc::clone(&done),
    );
    dora_run(&tb, "2000");
    done.store(true, Ordering::Relaxed);
    let killed = kill.join().unwrap();
    assert!(killed >= 2, "the worker was killed only {killed} times");

    let (rows, _) = wait_covered(&kea, &lease_file, || {
        // A failed read is "nothing seen yet": the wait goes on.
        stream_messages(&tb.srv, NATS_URL, &venv, "KEA_LEASES")
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, body)| committed_address(body))
            .collect()
    });
    let messages = stream_messages_retried(&tb.srv, NATS_URL, &venv, "KEA_LEASES");
    // Exactly once: one message per lease Kea wrote, each event id once.
    let addresses: Vec<String> = messages
        .iter()
        .filter_map(|(_, body)| committed_address(body))
        .collect();
    assert_eq!(
        counts(addresses.iter().map(String::as_str)),
        counts(rows.iter().map(String::as_str)),
        "the stream differs from Kea's lease file"
    );
    let ids: std::collections::BTreeSet<&str> = messages
        .iter()
        .map(|(_, body)| body["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), messages.len(), "an event is in the stream twice");
    for (header, body) in &messages {
        assert_eq!(header.as_deref(), body["id"].as_str(), "Nats-Msg-Id");
        assert!(
            header.as_deref().unwrap_or("").starts_with("kea-test:"),
            "{header:?}"
        );
    }
    let log = kea.log_text();
    assert!(log.contains("SIGKILL"), "{log}");
    kea.assert_healthy();
}

both_threading_modes!(nats_stream_holds_every_lease_once => nats_stream_holds_every_lease_once_through_sigkills, nats_stream_holds_every_lease_once_through_sigkills_multi_threaded);

/// Runs an example worker once over `lines` (protocol v1 events) with `env`; returns its
/// answers (stdout lines).
fn run_example(name: &str, env: &[(&str, &Path)], lines: &[Value]) -> Vec<Value> {
    use std::io::Write;
    let mut child = Command::new(example(name))
        .arg("worker")
        .env_clear()
        .env("KEA_RUNSCRIPT_PROTOCOL", "1")
        .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{name} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn event(seq: u64, replay: bool, hook_point: &str, vars: Value) -> Value {
    json!({"v": 1, "instance": "0123456789abcdef0123456789abcdef", "seq": seq,
           "hook_point": hook_point, "replay": replay,
           "reply": if hook_point.ends_with("_receive") { "verdict" } else { "ack" },
           "vars": vars})
}

#[test]
fn lease_log_writes_a_replayed_event_once_and_drops_a_cut_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("leases.jsonl");
    let env = [("LEASE_LOG", log.as_path())];
    let ev = |seq, replay| {
        event(
            seq,
            replay,
            "leases4_committed",
            json!({"LEASES4_AT0_ADDRESS": format!("10.0.0.{seq}")}),
        )
    };
    let answers = run_example("lease-log.py", &env, &[ev(1, false), ev(2, false)]);
    assert_eq!(answers, [json!({"seq": 1}), json!({"seq": 2})]);
    // A crash in the middle of a write left half a line.
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"id\":\"0123");
    std::fs::write(&log, text).unwrap();
    // The next worker gets 2 again (written, but its ack was lost) and then 3.
    let answers = run_example("lease-log.py", &env, &[ev(2, true), ev(3, false)]);
    assert_eq!(answers, [json!({"seq": 2}), json!({"seq": 3})]);
    let lines = json_lines(&log);
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "0123456789abcdef0123456789abcdef:1",
            "0123456789abcdef0123456789abcdef:2",
            "0123456789abcdef0123456789abcdef:3"
        ]
    );
    assert_eq!(lines[2]["vars"]["LEASES4_AT0_ADDRESS"], "10.0.0.3");
    assert_eq!(lines[2]["hook_point"], "leases4_committed");
    // A replay of an event that was never written (lost in the pipe) is written.
    run_example("lease-log.py", &env, &[ev(4, true)]);
    assert_eq!(json_lines(&log).len(), 4);
}

#[test]
fn blocklist_worker_answers_from_its_list_and_reloads_it_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("blocklist");
    std::fs::write(&list, "# comment\n\nAA:BB:CC:00:00:01\n00:01:00:01:aa:bb\n").unwrap();
    let env = [("BLOCKLIST_FILE", list.as_path())];
    let events = [
        event(
            1,
            false,
            "pkt4_receive",
            json!({"QUERY4_HWADDR": "aa:bb:cc:00:00:01"}),
        ),
        event(
            2,
            false,
            "pkt4_receive",
            json!({"QUERY4_HWADDR": "aa:bb:cc:00:00:02"}),
        ),
        event(
            3,
            false,
            "pkt6_receive",
            json!({"QUERY6_CLIENT_ID": "00:01:00:01:aa:bb", "QUERY6_REMOTE_HWADDR": ""}),
        ),
        event(
            4,
            false,
            "pkt6_receive",
            json!({"QUERY6_CLIENT_ID": "00:01:00:01:aa:cc"}),
        ),
        event(
            5,
            false,
            "leases4_committed",
            json!({"QUERY4_HWADDR": "aa:bb:cc:00:00:01"}),
        ),
    ];
    let verdicts: Vec<String> = run_example("blocklist-worker.py", &env, &events)
        .iter()
        .map(|a| format!("{}={}", a["seq"], a["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        ["1=drop", "2=continue", "3=drop", "4=continue", "5=continue"]
    );

    // Reloaded when the file changes: a long-running worker is fed through a pipe.
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(example("blocklist-worker.py"))
        .arg("worker")
        .env_clear()
        .env("KEA_RUNSCRIPT_PROTOCOL", "1")
        .env("BLOCKLIST_FILE", &list)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = |seq: u64, mac: &str| {
        writeln!(
            stdin,
            "{}",
            event(seq, false, "pkt4_receive", json!({"QUERY4_HWADDR": mac}))
        )
        .unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).unwrap();
        answer["verdict"].as_str().unwrap().to_owned()
    };
    assert_eq!(ask(1, "aa:bb:cc:00:00:02"), "continue");
    std::fs::write(&list, "aa:bb:cc:00:00:02\n").unwrap();
    // The list is checked at most once a second: asked again until the newly listed
    // client gets drop.
    let mut seq = 1;
    let mut answers = Vec::new();
    let limit = Duration::from_secs(30);
    let reloaded = wait_for(limit, || {
        seq += 1;
        let verdict = ask(seq, "aa:bb:cc:00:00:02");
        answers.push(verdict.clone());
        (verdict == "drop").then_some(())
    });
    assert!(
        reloaded.is_some(),
        "the worker did not apply the changed list within {limit:?}: {} answers, none drop: \
         {:?}",
        answers.len(),
        answers.iter().collect::<std::collections::BTreeSet<_>>()
    );
    assert_eq!(ask(seq + 1, "aa:bb:cc:00:00:01"), "continue");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
