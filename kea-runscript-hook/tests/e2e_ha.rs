//! Kea HA pairs (issue 24), end to end: a real pair (common::ha: Kea's libdhcp_ha.so and
//! libdhcp_lease_cmds.so, four network namespaces on a bridge, perfdhcp clients) with our
//! library on both servers. Each server runs two recording scripts:
//! - `ha`: `"ha": {}` (partner events, expiry once, sync replay), `replay-leases`;
//! - `plain`: `"ha": {"partner-events": false, "expire-once": false, "sync-replay": false}`
//!   at the expiry hook point: the control that shows each server does reclaim (and would
//!   report) every lease, so that "reported once" cannot pass by accident.
//!
//! A record is one line `<kind> <origin> <partner> <address> <change id>`, kind `commit`,
//! `remove`, `expire` or `replay`, from the event's HA variables.
//!
//! - hot-standby, v4 and v6: every lease the primary commits reaches the standby's script
//!   as a partner event with the same change id (v6: addresses and prefixes, releases as
//!   removals); after kill -9 of the primary the standby serves (local events); the
//!   restarted primary syncs and its script gets every active lease as a replay;
//! - expiry, hot-standby and load-balancing: every expired lease reported exactly once
//!   across the pair (and by the server that serves its client), while the controls saw
//!   both servers reclaim it;
//! - load-balancing: each server's share reaches the other as partner events.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::ha::{require_ha_prereqs, HaMode, HaOptions, HaPair, Server};
use common::kea::Family;
use common::{wait_for, Scratch};
use serde_json::json;

/// How long the pair may take to reach its normal state after a start: measured 2-3.5 s
/// on an idle machine; the bound is for a loaded one, never a speed check.
const PAIR_UP: Duration = Duration::from_secs(60);
/// How long s2 may take to go partner-down after s1's kill -9: max-response-delay (3 s)
/// plus up to one heartbeat (1 s) when idle; bounded generously.
const FAILOVER: Duration = Duration::from_secs(30);
/// How long scripts, replication, sync and expiry may take to show their effect.
const SETTLE: Duration = Duration::from_secs(30);

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rec {
    kind: String,
    origin: String,
    partner: String,
    address: String,
    id: String,
}

/// The per-server recording scripts.
struct Recorders {
    dir: PathBuf,
}

impl Recorders {
    /// Writes `ha.sh` and `plain.sh` per server into `scratch` (shell built-ins only: our
    /// library passes only its variables, no PATH).
    fn new(scratch: &Scratch, family: Family) -> Recorders {
        let v = match family {
            Family::V4 => "4",
            Family::V6 => "6",
        };
        for server in Server::BOTH {
            for script in ["ha", "plain"] {
                let out = scratch.join(&format!("{server}.{script}"));
                let body = format!(
                    r#"emit() {{ [ -n "$2" ] && echo "$1 $KEA_EVENT_ORIGIN ${{KEA_HA_PARTNER:--}} $2 $3" >>'{out}'; }}
each() {{
  i=0
  eval "n=\${{$2_SIZE:-0}}"
  while [ "$i" -lt "$n" ]; do
    eval "emit $1 \"\$$2_AT${{i}}_ADDRESS\" \"\$$2_AT${{i}}_CHANGE_ID\""
    i=$((i + 1))
  done
}}
case "$1" in
  leases{v}_committed) each commit LEASES{v}; each remove DELETED_LEASES{v} ;;
  lease{v}_release) emit remove "$LEASE{v}_ADDRESS" "$LEASE{v}_CHANGE_ID" ;;
  lease{v}_expire) emit expire "$LEASE{v}_ADDRESS" "$LEASE{v}_CHANGE_ID" ;;
  lease{v}_replay) emit replay "$LEASE{v}_ADDRESS" "$LEASE{v}_CHANGE_ID" ;;
esac
exit 0"#,
                    out = out.display()
                );
                scratch.sh_script(&format!("{server}.{script}.sh"), &body);
            }
        }
        Recorders {
            dir: scratch.path.clone(),
        }
    }

    /// Our library's parameters on server `name` (`family`'s hook points).
    fn parameters(dir: &Path, name: &str, family: Family) -> serde_json::Value {
        let v = match family {
            Family::V4 => "4",
            Family::V6 => "6",
        };
        let script = |s: &str| dir.join(format!("{name}.{s}.sh"));
        json!({"scripts": [
            {"name": script("ha"), "hook-points":
                [format!("leases{v}_committed"), format!("lease{v}_release"), format!("lease{v}_expire")],
             "replay-leases": true, "ha": {}},
            {"name": script("plain"), "hook-points": [format!("lease{v}_expire")],
             "ha": {"partner-events": false, "expire-once": false, "sync-replay": false}}
        ]})
    }

    /// What `server`'s `script` (`ha` or `plain`) recorded so far.
    fn seen(&self, server: Server, script: &str) -> Vec<Rec> {
        std::fs::read_to_string(self.dir.join(format!("{server}.{script}")))
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let f: Vec<&str> = line.split(' ').collect();
                assert_eq!(f.len(), 5, "a record of 5 fields: {line:?}");
                Rec {
                    kind: f[0].into(),
                    origin: f[1].into(),
                    partner: f[2].into(),
                    address: f[3].into(),
                    id: f[4].into(),
                }
            })
            .collect()
    }
}

/// The records of `kind` and `origin` in `recs`.
fn only<'a>(recs: &'a [Rec], kind: &str, origin: &str) -> Vec<&'a Rec> {
    recs.iter()
        .filter(|r| r.kind == kind && r.origin == origin)
        .collect()
}

/// `(address, id)` of `recs`.
fn changes(recs: &[&Rec]) -> BTreeSet<(String, String)> {
    recs.iter()
        .map(|r| (r.address.clone(), r.id.clone()))
        .collect()
}

/// The pair's options.
fn options(family: Family, mode: HaMode, scratch: &Scratch, valid_lifetime: u32) -> HaOptions {
    let dir = scratch.path.clone();
    let mut options = HaOptions::new(family, mode)
        .with_ours(move |name| Recorders::parameters(&dir, name, family));
    options.valid_lifetime = valid_lifetime;
    options
}

/// Waits until both servers hold the same, non-empty set of leases and returns it.
fn same_leases(pair: &HaPair) -> BTreeSet<String> {
    let mut last = (BTreeSet::new(), BTreeSet::new());
    let same = wait_for(SETTLE, || {
        last = (pair.addresses(Server::S1), pair.addresses(Server::S2));
        (!last.0.is_empty() && last.0 == last.1).then(|| last.0.clone())
    });
    same.unwrap_or_else(|| {
        panic!(
            "the servers' leases differ after {SETTLE:?}: s1 {} {:?}, s2 {} {:?}",
            last.0.len(),
            last.0,
            last.1.len(),
            last.1
        )
    })
}

/// Waits until `done` holds for what the scripts recorded; panics with `what` and the
/// records otherwise.
fn wait_records(
    rec: &Recorders,
    what: &str,
    done: impl Fn(&[Rec], &[Rec]) -> bool,
) -> (Vec<Rec>, Vec<Rec>) {
    let mut last = (Vec::new(), Vec::new());
    let ok = wait_for(SETTLE, || {
        last = (rec.seen(Server::S1, "ha"), rec.seen(Server::S2, "ha"));
        done(&last.0, &last.1).then_some(())
    });
    assert!(
        ok.is_some(),
        "{what} within {SETTLE:?}\ns1: {:#?}\ns2: {:#?}",
        last.0,
        last.1
    );
    last
}

/// Prints a step's time (seen with --nocapture; nothing is asserted about it).
fn step(t0: Instant, what: &str) {
    eprintln!("[{:7.3} s] {what}", t0.elapsed().as_secs_f64());
}

/// Hot-standby for `family`: partner events with equal change ids, failover, sync replay.
fn hot_standby(family: Family) {
    if !require_ha_prereqs() {
        return;
    }
    let t0 = Instant::now();
    let (tag, extra, per_client): (_, &[&str], usize) = match family {
        Family::V4 => ("ha4hs", &[], 1),
        // An address and a delegated prefix per client, and releases.
        Family::V6 => ("ha6hs", &["-e", "address-and-prefix", "-F", "50"], 2),
    };
    let scratch = Scratch::new(tag);
    let rec = Recorders::new(&scratch, family);
    let mut pair = HaPair::start(
        &scratch,
        options(family, HaMode::HotStandby, &scratch, 3600),
    );
    let took = pair.wait_normal(PAIR_UP);
    step(
        t0,
        &format!("pair in hot-standby {took:.1?} after the start"),
    );

    let run = pair.clients(50, "00:0c:01:00:00:00", extra);
    step(t0, &format!("50 clients (perfdhcp exit {:?})", run.code));
    // Every change the primary made reaches the standby's script as the partner's,
    // named s1, with the same change ids; the primary's script sees only its own.
    let (s1, s2) = wait_records(
        &rec,
        "the standby's script did not get the primary's changes as partner events",
        |s1, s2| {
            let local = changes(&only(s1, "commit", "local"));
            !local.is_empty()
                && changes(&only(s2, "commit", "partner")) == local
                && changes(&only(s2, "remove", "partner")) == changes(&only(s1, "remove", "local"))
        },
    );
    let commits = changes(&only(&s1, "commit", "local"));
    step(
        t0,
        &format!(
            "s1: {} commits, {} removals (local); s2 got them as the partner's",
            commits.len(),
            changes(&only(&s1, "remove", "local")).len()
        ),
    );
    assert!(commits.len() <= 50 * per_client, "{commits:?}");
    if family == Family::V6 {
        assert!(
            !only(&s1, "remove", "local").is_empty(),
            "perfdhcp -F released nothing: the removal check would prove nothing\n{}",
            run.output
        );
    }
    for r in &s2 {
        assert_eq!(
            (r.origin.as_str(), r.partner.as_str()),
            ("partner", "s1"),
            "the standby served nothing, so all it saw is the partner's: {r:?}"
        );
    }
    assert!(
        s1.iter()
            .filter(|r| r.kind != "replay")
            .all(|r| r.origin == "local" && r.partner == "-"),
        "the primary got changes it did not make: {s1:#?}"
    );
    let ids: BTreeSet<&String> = commits.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), commits.len(), "a change id names two changes");
    let held = same_leases(&pair);
    let committed: BTreeSet<String> = commits.iter().map(|(a, _)| a.clone()).collect();
    assert!(
        committed.is_superset(&held),
        "leases held that no event told of: {:?}",
        held.difference(&committed).collect::<Vec<_>>()
    );

    pair.kill9(Server::S1);
    step(t0, "kill -9 s1");
    let took = pair.wait_state(Server::S2, "partner-down", FAILOVER);
    step(t0, &format!("s2 in partner-down {took:.1?} after the kill"));
    let run = pair.clients(10, "00:0c:02:00:00:00", &extra[..extra.len().min(2)]);
    let after = pair.addresses(Server::S2);
    let new: BTreeSet<String> = after.difference(&held).cloned().collect();
    assert!(
        !new.is_empty() && new.len() <= 10 * per_client,
        "s2 in partner-down served {} new leases for 10 clients:\n{}",
        new.len(),
        run.output
    );
    wait_records(
        &rec,
        "s2's script did not see the leases it served",
        |_, s2| {
            only(s2, "commit", "local")
                .iter()
                .map(|r| r.address.clone())
                .collect::<BTreeSet<_>>()
                .is_superset(&new)
        },
    );
    step(t0, &format!("s2 served {} new leases (local)", new.len()));

    pair.restart(Server::S1);
    step(t0, "s1 restarted (empty lease database)");
    let took = pair.wait_normal(PAIR_UP);
    step(
        t0,
        &format!("both in hot-standby {took:.1?} after s1 answered"),
    );
    let synced = same_leases(&pair);
    assert_eq!(synced, after, "after the sync the pair holds other leases");
    // The restarted primary's script had no event for any of them: the replay after the
    // sync brings them all.
    wait_records(
        &rec,
        "the restarted primary's script did not get every lease replayed after the sync",
        |s1, _| {
            only(s1, "replay", "local")
                .iter()
                .map(|r| r.address.clone())
                .collect::<BTreeSet<_>>()
                .is_superset(&synced)
        },
    );
    step(
        t0,
        &format!("s1's script got the {} leases replayed", synced.len()),
    );
    for server in Server::BOTH {
        assert!(pair.alive(server), "{server} is not running");
    }
}

#[test]
fn hot_standby_partner_events_failover_and_sync_replay_v4() {
    hot_standby(Family::V4);
}

#[test]
fn hot_standby_partner_events_failover_and_sync_replay_v6() {
    hot_standby(Family::V6);
}

/// The leases the pair holds, each with the server that committed it (serves its client):
/// each server's local commits (`s1`, `s2`: what their `ha` scripts recorded, in order)
/// less those it removed since. A lease can be replaced before it expires: perfdhcp may
/// start a few exchanges more than `-n` (seen: 42 DISCOVERs for `-n 40`, clients 1 and 2
/// twice), and a client's second exchange, overlapping its first, is given another
/// address, the first lease going as a deleted lease of the commit. Such a lease never
/// expires, so no expiry of it is awaited.
fn held(s1: &[Rec], s2: &[Rec]) -> BTreeMap<String, Server> {
    let mut held = BTreeMap::new();
    for (server, recs) in [(Server::S1, s1), (Server::S2, s2)] {
        for r in recs.iter().filter(|r| r.origin == "local") {
            match r.kind.as_str() {
                "commit" => {
                    held.insert(r.address.clone(), server);
                }
                "remove" if held.get(&r.address) == Some(&server) => {
                    held.remove(&r.address);
                }
                _ => {}
            }
        }
    }
    held
}

/// Expiry with short lifetimes: each lease reported once across the pair, by the server
/// serving its client; the controls show that both servers reclaimed it. Load-balancing
/// also: each server's share reached the other as partner events.
fn expiry_once(mode: HaMode, tag: &str) {
    if !require_ha_prereqs() {
        return;
    }
    let t0 = Instant::now();
    let scratch = Scratch::new(tag);
    let rec = Recorders::new(&scratch, Family::V4);
    let pair = HaPair::start(&scratch, options(Family::V4, mode, &scratch, 8));
    let took = pair.wait_normal(PAIR_UP);
    step(t0, &format!("pair in {mode:?} {took:.1?} after the start"));
    let run = pair.clients(40, "00:0c:03:00:00:00", &[]);
    step(t0, &format!("40 clients (perfdhcp exit {:?})", run.code));
    let (s1, s2) = wait_records(&rec, "the commits did not reach both scripts", |s1, s2| {
        let local1 = changes(&only(s1, "commit", "local"));
        let local2 = changes(&only(s2, "commit", "local"));
        local1.union(&local2).count() > 0
            && changes(&only(s2, "commit", "partner")) == local1
            && changes(&only(s1, "commit", "partner")) == local2
    });
    let served = held(&s1, &s2);
    step(
        t0,
        &format!(
            "commits: s1 served {}, s2 {}",
            served.values().filter(|s| **s == Server::S1).count(),
            served.values().filter(|s| **s == Server::S2).count()
        ),
    );
    if mode == HaMode::LoadBalancing {
        for server in Server::BOTH {
            assert!(
                served.values().any(|s| *s == server),
                "{server} served no client: the split (and the check) proves nothing"
            );
        }
    }
    // The leases expire 8 s after their commit; both servers reclaim them (the controls).
    // What the pair holds is read again from the records each time: a removal's script
    // may still have been on its way when the commits were complete.
    let held_now = || held(&rec.seen(Server::S1, "ha"), &rec.seen(Server::S2, "ha"));
    let expired_everywhere = wait_for(SETTLE, || {
        let both = Server::BOTH.map(|s| {
            only(&rec.seen(s, "plain"), "expire", "local")
                .iter()
                .map(|r| r.address.clone())
                .collect::<BTreeSet<_>>()
        });
        held_now()
            .keys()
            .all(|a| both.iter().all(|seen| seen.contains(a)))
            .then_some(())
    });
    assert!(
        expired_everywhere.is_some(),
        "the controls did not see both servers reclaim every lease"
    );
    let served = held_now();
    assert!(
        !served.is_empty(),
        "the pair holds no lease: nothing to check"
    );
    // Once reported by the pair, by the server serving the client.
    let mut reported: BTreeMap<String, Vec<Server>> = BTreeMap::new();
    for server in Server::BOTH {
        for r in only(&rec.seen(server, "ha"), "expire", "local") {
            reported.entry(r.address.clone()).or_default().push(server);
        }
    }
    for (address, by) in &served {
        assert_eq!(
            reported.get(address).map(Vec::as_slice),
            Some(&[*by][..]),
            "{address} (served by {by}): expiry reported by {:?}",
            reported.get(address)
        );
    }
    step(
        t0,
        &format!("{} expiries, each reported once", served.len()),
    );
}

#[test]
fn expiry_reported_once_v4_hot_standby() {
    expiry_once(HaMode::HotStandby, "ha4exp");
}

#[test]
fn expiry_reported_once_and_partner_events_v4_load_balancing() {
    expiry_once(HaMode::LoadBalancing, "ha4lb");
}

/// A single server (no HA library) with a script with `"ha"`: a clear warning at load, and
/// lease commands from the control channel become events of origin `command`: an applied
/// `lease4-add`, `lease4-update` and `lease4-del`; a command Kea rejects (a lease outside
/// every subnet, a malformed address, a lease that is not there) none.
#[test]
fn single_server_warned_and_lease_commands_are_command_events() {
    use common::kea::{command, hook, Kea, Settings};
    use common::testbed::Testbed;
    use common::{our_library, require_prereqs};

    if !require_prereqs() {
        return;
    }
    let scratch = Scratch::new("ha4single");
    let rec = Recorders::new(&scratch, Family::V4);
    let socket = scratch.join("kea.sock");
    let tb = Testbed::new();
    let parameters = Recorders::parameters(&scratch.path, "s1", Family::V4);
    let mut settings = Settings::new(
        Family::V4,
        false,
        vec![
            json!({"library": common::ha::LEASE_CMDS_LIB}),
            hook(&our_library(), parameters),
        ],
    );
    settings.control_socket = Some(socket.clone());
    let kea = Kea::start(&tb, &scratch, &settings);
    assert!(
        wait_for(SETTLE, || kea
            .log_text()
            .contains("no libdhcp_ha.so among the hook libraries")
            .then_some(()))
        .is_some(),
        "no warning about the missing HA library:\n{}",
        kea.log_text()
    );

    let lease = |address: &str, subnet: u32| {
        json!({"ip-address": address, "hw-address": "00:0c:01:02:03:04", "subnet-id": subnet,
               "valid-lft": 3600, "hostname": "host-a"})
    };
    let send = |name: &str, arguments: serde_json::Value| {
        command(&socket, &json!({"command": name, "arguments": arguments}))
    };
    // Rejected by Kea: nothing reaches the script.
    for (name, arguments) in [
        ("lease4-add", lease("198.51.100.7", 1)),
        ("lease4-add", lease("not-an-address", 1)),
        ("lease4-del", json!({"ip-address": "192.0.2.99"})),
    ] {
        let answer = send(name, arguments.clone());
        assert_ne!(
            answer["result"], 0,
            "{name} {arguments}: Kea applied it: {answer}"
        );
    }
    // Applied: one event each.
    for (name, arguments) in [
        ("lease4-add", lease("192.0.2.77", 1)),
        ("lease4-update", lease("192.0.2.77", 1)),
        ("lease4-del", json!({"ip-address": "192.0.2.77"})),
    ] {
        let answer = send(name, arguments.clone());
        assert_eq!(answer["result"], 0, "{name} {arguments}: {answer}");
    }
    let (s1, _) = wait_records(
        &rec,
        "the applied lease commands did not reach the script",
        |s1, _| s1.len() >= 3,
    );
    let got: Vec<(&str, &str, &str, &str)> = s1
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.origin.as_str(),
                r.partner.as_str(),
                r.address.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("commit", "command", "-", "192.0.2.77"),
            ("commit", "command", "-", "192.0.2.77"),
            ("remove", "command", "-", "192.0.2.77"),
        ],
        "{s1:#?}"
    );
    // The add and the update hold the same lease: one change, one id.
    assert_eq!(s1[0].id, s1[1].id);
    assert_ne!(s1[0].id, s1[2].id);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        rec.seen(Server::S1, "ha").len(),
        3,
        "a rejected command made an event"
    );
}

/// Both servers of a hot-standby pair publish through `examples/nats-publish.py` (a worker
/// with `"ha": {}`) into one JetStream stream: the primary its clients' commits, the
/// standby the same commits as partner events. The message id is the change id, so the
/// stream holds each lease change once, while both workers published every one (each
/// acknowledged, counted `acked`, only after JetStream stored it or knew it).
#[test]
fn both_servers_publish_to_one_stream_each_change_once() {
    use common::nats::{stream_messages, stream_messages_retried, venv, Nats};

    if !require_ha_prereqs() {
        return;
    }
    if !Path::new("/usr/sbin/nats-server").exists() {
        common::missing_prereq("the NATS test needs nats-server (scripts/install-deps.sh)");
        return;
    }
    let Some(venv) = venv() else {
        common::missing_prereq(
            "the NATS test needs target/venv with nats-py (scripts/install-deps.sh)",
        );
        return;
    };
    const URL: &str = "nats://192.0.2.1:4222";
    let t0 = Instant::now();
    let scratch = Scratch::new("ha4nats");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/nats-publish.py")
        .canonicalize()
        .expect("examples/nats-publish.py");
    let path = format!("{}:/usr/bin:/bin", venv.join("bin").display());
    let options = HaOptions::new(Family::V4, HaMode::HotStandby).with_ours(move |name| {
        json!({"name": script, "mode": "worker", "hook-points": ["leases4_committed", "lease4_release"],
               "log-output": true, "ha": {},
               "env": {"PATH": path, "KEA_SERVER": name, "NATS_URL": URL}})
    });
    let pair = HaPair::start(&scratch, options);
    // The server namespaces share the bridge: s1's address reaches s2 too.
    let _nats = Nats::start(pair.netns(Server::S1), "192.0.2.1", &scratch);
    let netns = pair.netns(Server::S1).to_owned();
    let took = pair.wait_normal(PAIR_UP);
    step(
        t0,
        &format!("pair in hot-standby {took:.1?} after the start"),
    );
    let run = pair.clients(30, "00:0c:04:00:00:00", &[]);
    let leases = same_leases(&pair);
    step(
        t0,
        &format!(
            "30 clients: {} leases (perfdhcp exit {:?})",
            leases.len(),
            run.code
        ),
    );
    let acked = |server: Server| {
        let answer = pair.command(
            server,
            "statistic-get",
            Some(json!({"name": "kea-runscript.acked"})),
        );
        answer["arguments"]["kea-runscript.acked"][0][0]
            .as_i64()
            .unwrap_or(0)
    };
    let published = wait_for(SETTLE * 2, || {
        let n = leases.len() as i64;
        (acked(Server::S1) >= n && acked(Server::S2) >= n).then_some(())
    });
    assert!(
        published.is_some(),
        "the workers did not publish every commit: s1 acked {}, s2 acked {} of {}",
        acked(Server::S1),
        acked(Server::S2),
        leases.len()
    );
    let covered = wait_for(SETTLE, || {
        let seen: BTreeSet<String> = stream_messages(&netns, URL, &venv, "KEA_LEASES")
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, body)| {
                body["vars"]["LEASES4_AT0_ADDRESS"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        seen.is_superset(&leases).then_some(())
    });
    assert!(covered.is_some(), "the stream lacks leases");
    let messages = stream_messages_retried(&netns, URL, &venv, "KEA_LEASES");
    let mut by_address: BTreeMap<String, usize> = BTreeMap::new();
    for (header, body) in &messages {
        let id = body["change_id"]
            .as_str()
            .expect("a change id in every message");
        assert_eq!(header.as_deref(), Some(id), "Nats-Msg-Id is the change id");
        assert_eq!(id.len(), 16, "{id}");
        if let Some(address) = body["vars"]["LEASES4_AT0_ADDRESS"].as_str() {
            *by_address.entry(address.to_owned()).or_default() += 1;
        }
    }
    let twice: Vec<_> = by_address.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "changes in the stream more than once: {twice:?}"
    );
    assert_eq!(
        by_address.keys().cloned().collect::<BTreeSet<_>>(),
        leases,
        "the stream holds other leases than the pair"
    );
    step(
        t0,
        &format!(
            "stream: {} messages for {} leases; both workers published every one",
            messages.len(),
            leases.len()
        ),
    );
}

/// Leases that expire after the primary died but before the standby sees it (HA's
/// `max-response-delay`, here 8 s, against 3 s lifetimes): the standby does not serve the
/// primary's scope yet, so it holds those expiries and reports them once it is in
/// partner-down; none is lost. The standby's control script saw it reclaim each of them
/// before that.
#[test]
fn expiries_while_the_partner_is_not_yet_seen_down_are_reported_after_the_failover() {
    if !require_ha_prereqs() {
        return;
    }
    let t0 = Instant::now();
    let scratch = Scratch::new("ha4hold");
    let rec = Recorders::new(&scratch, Family::V4);
    let mut options = options(Family::V4, HaMode::HotStandby, &scratch, 3);
    options.timers.max_response_delay = 8000;
    let mut pair = HaPair::start(&scratch, options);
    let took = pair.wait_normal(PAIR_UP);
    step(
        t0,
        &format!("pair in hot-standby {took:.1?} after the start"),
    );
    let run = pair.clients(30, "00:0c:05:00:00:00", &[]);
    let (s1, _) = wait_records(&rec, "the commits did not reach the standby", |s1, s2| {
        let local = changes(&only(s1, "commit", "local"));
        !local.is_empty() && changes(&only(s2, "commit", "partner")) == local
    });
    pair.kill9(Server::S1);
    let leases: BTreeSet<String> = only(&s1, "commit", "local")
        .iter()
        .map(|r| r.address.clone())
        .collect();
    step(
        t0,
        &format!(
            "{} leases (perfdhcp exit {:?}); kill -9 s1",
            leases.len(),
            run.code
        ),
    );
    // The standby reclaims them (its control script) before it goes partner-down.
    let reclaimed = wait_for(SETTLE, || {
        let seen: BTreeSet<String> = only(&rec.seen(Server::S2, "plain"), "expire", "local")
            .iter()
            .map(|r| r.address.clone())
            .collect();
        seen.is_superset(&leases).then_some(())
    });
    assert!(
        reclaimed.is_some(),
        "the standby did not reclaim every lease"
    );
    let state_at_reclaim = pair.state(Server::S2);
    step(
        t0,
        &format!("s2 reclaimed them all, in state {state_at_reclaim:?}"),
    );
    let took = pair.wait_state(Server::S2, "partner-down", FAILOVER);
    step(t0, &format!("s2 in partner-down {took:.1?} later"));
    let (_, s2) = wait_records(&rec, "the held expiries were not reported", |_, s2| {
        only(s2, "expire", "local")
            .iter()
            .map(|r| r.address.clone())
            .collect::<BTreeSet<_>>()
            .is_superset(&leases)
    });
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in only(&s2, "expire", "local") {
        *counts.entry(&r.address).or_default() += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "an expiry reported twice by the standby: {counts:?}"
    );
    step(
        t0,
        &format!("s2 reported the {} expiries once each", leases.len()),
    );
    // The hold path was taken: the standby was not yet partner-down when it reclaimed
    // (else this test proves nothing about holding).
    assert_ne!(
        state_at_reclaim.as_deref(),
        Some("partner-down"),
        "the leases expired after the failover: max-response-delay too short for this machine?"
    );
}
