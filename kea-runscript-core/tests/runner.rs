//! The runners with real processes: verdicts, timeouts, signals, argv/env, bounds.

mod common;

use std::time::{Duration, Instant};

use common::{engine, js, script, vars, wait_idle, wait_until};
use kea_runscript_core::log;
use kea_runscript_core::Verdict;
use kea_runscript_env::{HookPoint, Text};

#[test]
fn exit_codes_map_to_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "exit", "exit \"$CODE\"");
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "sync": true, "exit-codes": {{"3": "skip", "4": "drop", "0": "skip"}}}}"#,
        js(&s)
    ));
    let table = [
        ("0", Verdict::Skip),
        ("3", Verdict::Skip),
        ("4", Verdict::Drop),
        ("1", Verdict::Continue),
        ("77", Verdict::Continue),
    ];
    for (code, expected) in table {
        let got = engine.handle_vars(HookPoint::Lease4Renew, vars(&[("CODE", code)]));
        assert_eq!(got, expected, "exit {code}");
    }
    let unmapped = sink.with_id(log::EXIT_CODE_UNMAPPED);
    assert!(
        unmapped.iter().any(|l| l.contains("code 1")),
        "{unmapped:?}"
    );
    assert!(
        unmapped.iter().any(|l| l.contains("code 77")),
        "{unmapped:?}"
    );
    let c = engine.counters();
    assert_eq!(
        (c.events, c.started, c.exited, c.non_zero_exits),
        (5, 5, 5, 4)
    );
}

#[test]
fn default_exit_code_zero_continues_and_hook_point_not_selected_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let s = script(
        dir.path(),
        "touch",
        &format!("touch '{}'", marker.display()),
    );
    let (engine, _) = engine(&format!(r#"{{"name": {}, "wait": true}}"#, js(&s)));
    // pkt4_receive is not among Kea's defaults.
    assert!(!engine.wants(HookPoint::Pkt4Receive));
    assert_eq!(
        engine.handle_vars(HookPoint::Pkt4Receive, vec![]),
        Verdict::Continue
    );
    assert!(!marker.exists());
    assert_eq!(engine.counters().events, 0);
    assert_eq!(
        engine.handle_vars(HookPoint::Lease6Expire, vec![]),
        Verdict::Continue
    );
    assert!(marker.exists());
}

#[test]
fn several_sync_scripts_most_severe_wins_async_contributes_continue() {
    let dir = tempfile::tempdir().unwrap();
    let skip = script(dir.path(), "skip", "exit 3");
    let drop = script(dir.path(), "drop", "exit 4");
    let asy = script(dir.path(), "async", "exit 4");
    let (engine, _) = engine(&format!(
        r#"{{"scripts": [
            {{"name": {}, "sync": true, "exit-codes": {{"3": "skip"}}, "hook-points": ["pkt4_receive", "lease4_select"]}},
            {{"name": {}, "sync": true, "exit-codes": {{"4": "drop"}}, "hook-points": ["pkt4_receive"]}},
            {{"name": {}, "hook-points": ["lease4_select"]}}
        ]}}"#,
        js(&skip),
        js(&drop),
        js(&asy)
    ));
    assert_eq!(
        engine.handle_vars(HookPoint::Pkt4Receive, vec![]),
        Verdict::Drop
    );
    assert_eq!(
        engine.handle_vars(HookPoint::Lease4Select, vec![]),
        Verdict::Skip
    );
    wait_idle(&engine);
}

#[test]
fn argv_and_environment_are_exactly_hook_point_rendered_and_configured() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let s = script(
        dir.path(),
        "dump",
        &format!(
            "{{ echo \"argc=$#\"; echo \"arg0=$0\"; echo \"arg1=$1\"; /usr/bin/env; }} > '{}'",
            out.display()
        ),
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "sync": true, "env": {{"EXTRA": "x y", "LEASE4_ADDRESS": "configured"}}}}"#,
        js(&s)
    ));
    engine.handle_vars(
        HookPoint::Lease4Renew,
        vars(&[("LEASE4_ADDRESS", "192.0.2.1"), ("EMPTY", "")]),
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("argc=1\n"), "{text}");
    assert!(text.contains(&format!("arg0={}\n", s.display())), "{text}");
    assert!(text.contains("arg1=lease4_renew\n"), "{text}");
    let env: Vec<&str> = text
        .lines()
        .skip(3)
        .filter(|l| !l.starts_with("PWD=")) // the shell adds PWD itself
        .collect();
    let mut env = env;
    env.sort();
    assert_eq!(
        env,
        ["EMPTY=", "EXTRA=x y", "LEASE4_ADDRESS=192.0.2.1"],
        "{text}"
    );
}

/// A value that is not UTF-8 (a host name as a client sent it) reaches the script's
/// environment byte for byte.
#[test]
fn non_utf8_values_reach_the_script_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let s = script(
        dir.path(),
        "dump",
        &format!("printf '%s' \"$LEASE4_HOSTNAME\" > '{}'", out.display()),
    );
    let (engine, _) = engine(&format!(r#"{{"name": {}, "sync": true}}"#, js(&s)));
    let raw = b"caf\xe9.\xff\xc3(\x80".to_vec();
    engine.handle_vars(
        HookPoint::Lease4Renew,
        vec![("LEASE4_HOSTNAME".into(), Text::from(raw.clone()))],
    );
    assert_eq!(std::fs::read(&out).unwrap(), raw);
}

#[test]
fn timeout_kills_script_ignoring_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "stubborn",
        "trap '' TERM\nwhile :; do sleep 0.05; done",
    );
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "sync": true, "timeout-ms": 100, "on-timeout": "drop"}}"#,
        js(&s)
    ));
    let verdict = engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    assert_eq!(verdict, Verdict::Drop);
    let c = engine.counters();
    assert_eq!(
        (c.timed_out, c.killed_by_signal, c.in_flight),
        (1, 1, 0),
        "{c}"
    );
    assert_eq!(sink.with_id(log::TIMEOUT).len(), 1);
    // The timeout kill is not reported as an unexpected signal death.
    assert!(sink.with_id(log::KILLED_BY_SIGNAL).is_empty());
}

#[test]
fn timeout_does_not_wait_for_grandchild_holding_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild");
    // The grandchild keeps the script's stdout and stderr open for 20 s.
    let s = script(
        dir.path(),
        "forker",
        &format!(
            "sleep 20 &\necho $! > '{}'\nexec sleep 30",
            pidfile.display()
        ),
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "sync": true, "timeout-ms": 200}}"#,
        js(&s)
    ));
    let start = Instant::now();
    assert_eq!(
        engine.handle_vars(HookPoint::Lease4Renew, vec![]),
        Verdict::Continue
    );
    let took = start.elapsed();
    assert_eq!(engine.counters().timed_out, 1);
    // Generous: far below the grandchild's 20 s, which we must not wait for.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The timeout ended the script's whole process group, its background child too.
    let gone = wait_until_gone(pid, Duration::from_secs(10));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(gone, "the timed-out script's child {pid} is still running");
}

/// Whether `pid` has ended (gone, or a zombie waiting for its reaper) within `bound`.
fn wait_until_gone(pid: i32, bound: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < bound {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) => {
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                if state.starts_with('Z') {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn quick_exit_with_grandchild_holding_stdout_returns_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild");
    let s = script(
        dir.path(),
        "forker",
        &format!("sleep 20 &\necho $! > '{}'\nexit 4", pidfile.display()),
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "sync": true, "timeout-ms": 15000, "exit-codes": {{"4": "drop"}}}}"#,
        js(&s)
    ));
    assert_eq!(
        engine.handle_vars(HookPoint::Lease4Renew, vec![]),
        Verdict::Drop
    );
    assert_eq!(engine.counters().timed_out, 0);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

#[test]
fn death_by_signal_is_logged_and_maps_to_on_signal() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "suicide", "kill -SEGV $$");
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "sync": true, "on-signal": "skip"}}"#,
        js(&s)
    ));
    assert_eq!(
        engine.handle_vars(HookPoint::Lease4Renew, vec![]),
        Verdict::Skip
    );
    assert_eq!(engine.counters().killed_by_signal, 1);
    let lines = sink.with_id(log::KILLED_BY_SIGNAL);
    assert!(lines[0].contains("SIGSEGV"), "{lines:?}");
}

#[test]
fn script_removed_after_load_fails_to_start_logged_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "gone", "exit 4");
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "sync": true, "exit-codes": {{"4": "drop"}}}}"#,
        js(&s)
    ));
    std::fs::remove_file(&s).unwrap();
    assert_eq!(
        engine.handle_vars(HookPoint::Lease4Renew, vec![]),
        Verdict::Continue
    );
    assert_eq!(engine.counters().failed_to_start, 1);
    let lines = sink.with_id(log::SPAWN_FAILED);
    assert!(lines[0].contains("execve failed"), "{lines:?}");
}

/// An async engine whose script records how many of its processes run (files in
/// `running`, counts appended to `running.max`) and waits until `gate` exists, so the
/// test controls when slots free up.
struct Gated {
    dir: tempfile::TempDir,
    gate: std::path::PathBuf,
    running: std::path::PathBuf,
    engine: kea_runscript_core::Engine,
    sink: std::sync::Arc<common::Collect>,
}

fn gated_engine(max_in_flight: usize, max_queued: usize) -> Gated {
    gated_engine_with(max_in_flight, max_queued, r#""overflow": "drop""#)
}

/// [`gated_engine`] with more parameters (`extra`: `"key": value, …`).
fn gated_engine_with(max_in_flight: usize, max_queued: usize, extra: &str) -> Gated {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    let running = dir.path().join("running");
    std::fs::create_dir(&running).unwrap();
    let s = script(
        dir.path(),
        "gated",
        &format!(
            "touch '{running}/'$$\n\
             n=$(ls '{running}' | wc -l)\n\
             echo $n >> '{running}.max'\n\
             while [ ! -e '{gate}' ]; do sleep 0.01; done\n\
             rm '{running}/'$$",
            running = running.display(),
            gate = gate.display()
        ),
    );
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "max-in-flight": {max_in_flight}, "max-queued": {max_queued}, {extra}}}"#,
        js(&s)
    ));
    Gated {
        dir,
        gate,
        running,
        engine,
        sink,
    }
}

#[test]
fn in_flight_bound_holds_under_burst_and_queue_drains() {
    let Gated {
        dir: _dir,
        gate,
        running,
        engine,
        ..
    } = gated_engine(4, 100);
    for _ in 0..40 {
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    }
    let c = engine.counters();
    assert_eq!((c.started, c.queued, c.dropped), (4, 36, 0), "{c}");
    wait_until("4 scripts running", || {
        std::fs::read_dir(&running).unwrap().count() == 4
    });
    assert_eq!(engine.counters().started, 4);
    std::fs::write(&gate, "").unwrap();
    let c = wait_idle(&engine);
    assert_eq!((c.started, c.exited, c.dropped), (40, 40, 0), "{c}");
    let max_file = std::fs::read_to_string(format!("{}.max", running.display())).unwrap();
    let seen: Vec<usize> = max_file
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(seen.len(), 40);
    assert!(seen.iter().all(|&n| n <= 4), "{seen:?}");
}

#[test]
fn past_queue_bound_events_are_dropped_counted_and_logged_rate_limited() {
    let Gated {
        dir: _dir,
        gate,
        engine,
        sink,
        ..
    } = gated_engine(1, 2);
    for _ in 0..20 {
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    }
    let c = engine.counters();
    assert_eq!(
        (c.events, c.started, c.queued, c.dropped),
        (20, 1, 2, 17),
        "{c}"
    );
    let logged = sink.with_id(log::EVENT_DROPPED);
    assert!(
        !logged.is_empty() && logged.len() <= log::BURST as usize,
        "{logged:?}"
    );
    std::fs::write(&gate, "").unwrap();
    let c = wait_idle(&engine);
    assert_eq!((c.started, c.exited), (3, 3), "{c}");
}

#[test]
fn async_timeout_terminates_runaway_script() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "hang",
        "trap '' TERM\nwhile :; do sleep 0.05; done",
    );
    let (engine, _) = engine(&format!(r#"{{"name": {}, "timeout-ms": 100}}"#, js(&s)));
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    let c = wait_idle(&engine);
    assert_eq!(
        (c.timed_out, c.killed_by_signal, c.exited),
        (1, 1, 1),
        "{c}"
    );
}

#[test]
fn shutdown_terminates_running_async_scripts_and_discards_queue() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "hang", "exec sleep 60");
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "max-in-flight": 2, "max-queued": 5}}"#,
        js(&s)
    ));
    for _ in 0..5 {
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    }
    engine.shutdown();
    let c = engine.counters();
    assert_eq!(
        (c.started, c.exited, c.in_flight, c.queued),
        (2, 2, 0, 0),
        "{c}"
    );
    assert_eq!(c.dropped, 3);
    assert!(sink.logged(log::SHUTDOWN, "terminating 2 scripts"));
    // After shutdown nothing starts.
    engine.handle_vars(HookPoint::Lease4Renew, vec![]);
    assert_eq!(engine.counters().started, 2);
    assert_eq!(engine.counters().dropped, 4);
}

#[test]
fn shutdown_ends_a_sync_run_in_progress_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "long", "exec sleep 60");
    let (engine, sink) = engine(&format!(
        r#"{{"name": {}, "sync": true, "timeout-ms": 600000, "on-signal": "drop"}}"#,
        js(&s)
    ));
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| engine.handle_vars(HookPoint::Lease4Renew, vec![]));
        wait_until("the sync run started", || engine.counters().in_flight == 1);
        let start = Instant::now();
        engine.shutdown();
        // Terminated at unload: not a timeout, not the script's own signal death.
        assert_eq!(waiting.join().unwrap(), Verdict::Continue);
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{:?}",
            start.elapsed()
        );
    });
    let c = engine.counters();
    assert_eq!(
        (c.exited, c.killed_by_signal, c.timed_out, c.in_flight),
        (1, 1, 0, 0),
        "{c}"
    );
    assert!(sink.with_id(log::KILLED_BY_SIGNAL).is_empty());
}

#[test]
fn load_unload_repeatedly() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "ok", "exit 0");
    for _ in 0..20 {
        let (engine, _) = engine(&format!(
            r#"{{"scripts": [{{"name": {0}}}, {{"name": {0}, "sync": true}}]}}"#,
            js(&s)
        ));
        engine.handle_vars(HookPoint::Lease4Renew, vec![]);
        engine.shutdown();
        let c = engine.counters();
        assert_eq!((c.started, c.exited), (2, 2), "{c}");
    }
}

#[test]
fn concurrent_sync_and_async_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let sync = script(dir.path(), "sync", "exit \"$CODE\"");
    let asy = script(dir.path(), "async", "exit 0");
    let (engine, _) = engine(&format!(
        r#"{{"scripts": [
            {{"name": {}, "sync": true, "exit-codes": {{"1": "skip", "2": "drop"}}}},
            {{"name": {}, "max-in-flight": 8, "max-queued": 100000}}
        ]}}"#,
        js(&sync),
        js(&asy)
    ));
    let threads = 8;
    let per_thread = 40;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let engine = &engine;
            scope.spawn(move || {
                for i in 0..per_thread {
                    let code = (t + i) % 3;
                    let expected = [Verdict::Continue, Verdict::Skip, Verdict::Drop][code];
                    let got = engine
                        .handle_vars(HookPoint::Lease4Renew, vars(&[("CODE", &code.to_string())]));
                    assert_eq!(got, expected, "thread {t} event {i}");
                }
            });
        }
    });
    let c = wait_idle(&engine);
    let total = (threads * per_thread) as u64;
    assert_eq!(
        (c.events, c.started, c.exited, c.dropped),
        (total, 2 * total, 2 * total, 0),
        "{c}"
    );
}

/// Two scripts at one hook point, one per profile: each gets its own profile's variables
/// from the same event, and the kea-hook-runscript one (waiting by default) sees them all
/// before `handle` returns; its non-zero exit is ignored without a log line, as there.
#[test]
fn each_script_gets_its_profiles_variables_from_one_event() {
    use kea_runscript_env::{Event, Lease4, LeaseState};
    let dir = tempfile::tempdir().unwrap();
    let dump = |name: &str| {
        let out = dir.path().join(format!("{name}.env"));
        let s = script(
            dir.path(),
            name,
            &format!("env > {}; echo \"$1\" >> {}; exit 7", js(&out), js(&out)),
        );
        (s, out)
    };
    let ((khr, khr_out), (kea, kea_out)) = (dump("khr"), dump("kea"));
    let (engine, sink) = engine(&format!(
        r#"{{"scripts": [
            {{"name": {}, "variables": "kea-hook-runscript"}},
            {{"name": {}, "sync": true, "hook-points": ["lease4_expire"]}}]}}"#,
        js(&khr),
        js(&kea)
    ));
    assert!(engine.wants_profile(HookPoint::Lease4Expire, kea_runscript_env::Profile::Kea));
    let mut event = Event::new(HookPoint::Lease4Expire);
    let mut lease = Lease4::new("10.0.0.9".parse().unwrap());
    lease.cltt = 1_700_000_000;
    lease.hostname = "h".into();
    lease.state = LeaseState::ExpiredReclaimed;
    lease.subnet_id = 2;
    lease.valid_lifetime = 6;
    lease.expired = true;
    event.lease4 = Some(lease);
    event.remove_lease = Some(false);
    assert_eq!(engine.handle(event), Verdict::Continue);
    let khr_env = std::fs::read_to_string(&khr_out).unwrap();
    for line in [
        "KEA_LEASE4_ADDRESS=10.0.0.9",
        "KEA_LEASE4_IS_EXPIRED=1",
        "KEA_REMOVE_LEASE=0",
        "lease4_expire",
    ] {
        assert!(khr_env.lines().any(|l| l == line), "{line} in {khr_env}");
    }
    assert!(!khr_env.contains("\nLEASE4_ADDRESS="), "{khr_env}");
    let kea_env = std::fs::read_to_string(&kea_out).unwrap();
    assert!(
        kea_env.lines().any(|l| l == "LEASE4_ADDRESS=10.0.0.9"),
        "{kea_env}"
    );
    assert!(
        kea_env.lines().any(|l| l == "REMOVE_LEASE=false"),
        "{kea_env}"
    );
    assert!(!kea_env.contains("KEA_"), "{kea_env}");
    // Only the Kea-profile script's exit 7 is logged as unmapped.
    let unmapped = sink.with_id(log::EXIT_CODE_UNMAPPED);
    assert_eq!(unmapped.len(), 1, "{unmapped:?}");
    assert!(
        unmapped[0].contains(&kea.display().to_string()),
        "{unmapped:?}"
    );
    engine.shutdown();
}

/// For a parked packet: a sync spawned script's verdict comes through the callback from
/// another thread, and `handle_vars_with` returns while the script still runs.
#[test]
fn sync_spawn_handle_with_returns_before_the_script_ends() {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let waits = script(
        dir.path(),
        "waits.sh",
        &format!(
            "while [ ! -e {} ]; do sleep 0.01; done; exit 4",
            go.display()
        ),
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "sync": true, "timeout-ms": 60000, "exit-codes": {{"4": "drop"}},
            "hook-points": ["leases4_committed"]}}"#,
        js(&waits)
    ));
    assert!(engine.waits_for_verdict(HookPoint::Leases4Committed));
    assert!(!engine.waits_for_verdict(HookPoint::Pkt4Receive));
    let (tx, rx) = std::sync::mpsc::channel();
    engine.handle_vars_with(
        HookPoint::Leases4Committed,
        vars(&[]),
        Box::new(move |v| tx.send((v, std::thread::current().id())).unwrap()),
    );
    // Returned although the script cannot end yet.
    assert!(rx.try_recv().is_err());
    std::fs::write(&go, "").unwrap();
    let (verdict, thread) = rx.recv().unwrap();
    assert_eq!(verdict, Verdict::Drop);
    assert_ne!(thread, std::thread::current().id());
    wait_idle(&engine);
}

/// A DHCPv4 event at `hook_point` about lease `10.0.0.<last>` (in `lease4`, or as the one
/// lease of `leases4_committed`), or with no lease (`None`).
fn lease_event(hook_point: HookPoint, last: Option<u8>) -> kea_runscript_env::Event {
    let lease = last.map(|n| {
        serde_json::json!({
            "address": format!("10.0.0.{n}"), "cltt": 0, "hostname": "", "state": "default",
            "subnet_id": 1, "valid_lifetime": 3600
        })
    });
    let mut event = serde_json::json!({"hook_point": hook_point.name()});
    match (hook_point, lease) {
        (HookPoint::Leases4Committed, Some(lease)) => event["leases4"] = serde_json::json!([lease]),
        (_, Some(lease)) => event["lease4"] = lease,
        (_, None) => {}
    }
    serde_json::from_value(event).expect("a valid event")
}

/// A script that appends `hook point address` to `seen`, then waits until `gate` exists.
fn recording_gated(
    dir: &std::path::Path,
    extra: &str,
) -> (
    std::path::PathBuf,
    std::path::PathBuf,
    kea_runscript_core::Engine,
) {
    let seen = dir.join("seen");
    let gate = dir.join("gate");
    let s = script(
        dir,
        "rec",
        &format!(
            "echo \"$1 $LEASE4_ADDRESS$LEASES4_AT0_ADDRESS\" >> '{}'\n\
             while [ ! -e '{}' ]; do sleep 0.01; done",
            seen.display(),
            gate.display()
        ),
    );
    let (engine, _) = engine(&format!(
        r#"{{"name": {}, "max-in-flight": 1, "hook-points": ["pkt4_receive", "leases4_committed", "lease4_release", "lease4_renew"], {extra}}}"#,
        js(&s)
    ));
    (seen, gate, engine)
}

#[test]
fn merge_replaces_the_waiting_event_of_the_same_lease_and_keeps_the_others() {
    use HookPoint as H;
    let dir = tempfile::tempdir().unwrap();
    // max-queued 1: merging starts once one event waits.
    let (seen, gate, engine) =
        recording_gated(dir.path(), r#""overflow": "merge", "max-queued": 1"#);
    engine.handle(lease_event(H::Lease4Renew, Some(1))); // runs (holds the only slot)
    engine.handle(lease_event(H::Leases4Committed, Some(2))); // waits (the queue now full)
    engine.handle(lease_event(H::Lease4Release, Some(2))); // replaces it
    engine.handle(lease_event(H::Leases4Committed, Some(3))); // waits past max-queued
    engine.handle(lease_event(H::Pkt4Receive, None)); // not about a lease: never merged
    engine.handle(lease_event(H::Pkt4Receive, None));
    engine.handle(lease_event(H::Lease4Release, Some(1))); // lease 1 runs: waits behind it
    engine.handle(lease_event(H::Leases4Committed, Some(1))); // replaces that release
    let c = engine.counters();
    assert_eq!(
        (c.events, c.started, c.queued, c.merged, c.dropped, c.blocked),
        (8, 1, 5, 2, 0, 0),
        "{c}"
    );
    std::fs::write(&gate, "").unwrap();
    let c = wait_idle(&engine);
    assert_eq!(
        (c.started, c.exited, c.merged, c.dropped),
        (6, 6, 2, 0),
        "{c}"
    );
    let lines = common::lines_of(&seen);
    assert_eq!(
        lines,
        [
            "lease4_renew 10.0.0.1",
            "lease4_release 10.0.0.2",
            "leases4_committed 10.0.0.3",
            "pkt4_receive ",
            "pkt4_receive ",
            "leases4_committed 10.0.0.1",
        ],
        "newest state per lease, in the order of first arrival"
    );
}

#[test]
fn below_max_queued_merge_delivers_every_event_of_a_lease_in_order() {
    // A renewal and the commit of one exchange (Kea calls both) must both reach the
    // script, as with Kea's own hook: merging is for a full queue only.
    use HookPoint as H;
    let dir = tempfile::tempdir().unwrap();
    let (seen, gate, engine) = recording_gated(dir.path(), r#""overflow": "merge""#);
    engine.handle(lease_event(H::Leases4Committed, Some(1))); // runs
    engine.handle(lease_event(H::Lease4Renew, Some(1))); // waits for lease 1's run
    engine.handle(lease_event(H::Leases4Committed, Some(1))); // waits too, not merged
    engine.handle(lease_event(H::Lease4Release, Some(1)));
    let c = engine.counters();
    assert_eq!(
        (c.events, c.started, c.queued, c.merged),
        (4, 1, 3, 0),
        "{c}"
    );
    std::fs::write(&gate, "").unwrap();
    let c = wait_idle(&engine);
    assert_eq!((c.started, c.merged, c.dropped), (4, 0, 0), "{c}");
    assert_eq!(
        common::lines_of(&seen),
        [
            "leases4_committed 10.0.0.1",
            "lease4_renew 10.0.0.1",
            "leases4_committed 10.0.0.1",
            "lease4_release 10.0.0.1",
        ],
        "every event, one run of the lease at a time, in order"
    );
}

#[test]
fn block_waits_for_room_at_most_block_ms_then_drops() {
    use HookPoint as H;
    let dir = tempfile::tempdir().unwrap();
    let (seen, gate, engine) = recording_gated(
        dir.path(),
        r#""overflow": "block", "block-ms": 300, "max-queued": 1"#,
    );
    engine.handle(lease_event(H::Leases4Committed, Some(1))); // runs
    engine.handle(lease_event(H::Leases4Committed, Some(2))); // waits
    let t0 = Instant::now();
    engine.handle(lease_event(H::Leases4Committed, Some(3))); // no room within 300 ms
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    let c = engine.counters();
    assert_eq!(
        (c.queued, c.blocked, c.dropped, c.merged),
        (1, 1, 1, 0),
        "{c}"
    );
    // The same lease again: block never merges.
    std::thread::scope(|s| {
        let engine = &engine;
        let waiter = s.spawn(move || engine.handle(lease_event(H::Leases4Committed, Some(2))));
        std::thread::sleep(Duration::from_millis(100));
        std::fs::write(&gate, "").unwrap();
        waiter.join().unwrap();
    });
    let c = wait_idle(&engine);
    assert_eq!(
        (c.started, c.blocked, c.dropped, c.merged),
        (3, 2, 1, 0),
        "{c}"
    );
    assert_eq!(
        common::lines_of(&seen),
        [
            "leases4_committed 10.0.0.1",
            "leases4_committed 10.0.0.2",
            "leases4_committed 10.0.0.2"
        ]
    );
}

#[test]
fn merge_past_its_budget_blocks_then_drops() {
    use HookPoint as H;
    let dir = tempfile::tempdir().unwrap();
    // A budget of one event (about 4 KiB each): the second waiting lease finds it full.
    let (_seen, _gate, engine) = recording_gated(
        dir.path(),
        r#""overflow": "merge", "merge-budget-bytes": 5000, "block-ms": 100"#,
    );
    engine.handle(lease_event(H::Leases4Committed, Some(1))); // runs
    engine.handle(lease_event(H::Leases4Committed, Some(2))); // waits (empty queue: taken)
    engine.handle(lease_event(H::Lease4Release, Some(2))); // a merge is always taken
    engine.handle(lease_event(H::Leases4Committed, Some(3))); // past the budget
    let c = engine.counters();
    assert_eq!(
        (c.queued, c.merged, c.blocked, c.dropped),
        (1, 1, 1, 1),
        "{c}"
    );
    engine.shutdown();
}
