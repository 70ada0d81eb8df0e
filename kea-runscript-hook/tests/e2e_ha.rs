//! A real Kea HA pair (common::ha: Kea's libdhcp_ha.so and libdhcp_lease_cmds.so, four
//! network namespaces on a bridge) with our library on both servers, each server's async
//! script appending the addresses of its `leases4_committed` / `leases6_committed` events
//! to a file of its own. Smoke tests of the harness and of today's behaviour: a server's
//! script sees the leases that server itself committed, none that HA replicated to it.
//!
//! Hot-standby (v4 and v6): both servers hold the same leases, s1's script saw them; after
//! kill -9 of s1, s2 goes partner-down and serves new clients (its script sees those);
//! s1 restarted with an empty database syncs everything back. Load-balancing (v4): each
//! server's script saw its own share, together all leases.

mod common;

use std::collections::BTreeSet;
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
/// How long scripts, replication and sync may take to show their effect.
const SETTLE: Duration = Duration::from_secs(20);

/// The per-server scripts and the files they append to.
struct Recorders {
    dir: PathBuf,
}

impl Recorders {
    /// One script per server in `scratch`, appending to `<server>.addresses`: for v4 the
    /// first lease's address (perfdhcp's clients get one each); for v6 every lease of
    /// the event, addresses and delegated prefixes (without their length), as
    /// lease6-get-all lists them. No PATH: only shell built-ins (our library passes
    /// only its variables).
    fn new(scratch: &Scratch, family: Family) -> Recorders {
        for server in Server::BOTH {
            let out = scratch.join(&format!("{server}.addresses"));
            let body = match family {
                Family::V4 => format!(
                    "[ -n \"$LEASES4_AT0_ADDRESS\" ] && echo \"$LEASES4_AT0_ADDRESS\" >>'{}'\nexit 0",
                    out.display()
                ),
                Family::V6 => format!(
                    "i=0\nwhile [ \"$i\" -lt \"${{LEASES6_SIZE:-0}}\" ]; do\n  \
                     eval \"a=\\$LEASES6_AT${{i}}_ADDRESS\"\n  echo \"$a\" >>'{}'\n  \
                     i=$((i + 1))\ndone\nexit 0",
                    out.display()
                ),
            };
            scratch.sh_script(&format!("{server}.sh"), &body);
        }
        Recorders {
            dir: scratch.path.clone(),
        }
    }

    /// The script of the server named `name`.
    fn script(dir: &Path, name: &str) -> PathBuf {
        dir.join(format!("{name}.sh"))
    }

    /// The addresses `server`'s script has recorded so far.
    fn seen(&self, server: Server) -> BTreeSet<String> {
        std::fs::read_to_string(self.dir.join(format!("{server}.addresses")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The pair's options: our library on both servers, `family`'s committed-leases hook
/// point only, async, each server with its own script.
fn options(family: Family, mode: HaMode, scratch: &Scratch) -> HaOptions {
    let hook_point = match family {
        Family::V4 => "leases4_committed",
        Family::V6 => "leases6_committed",
    };
    let dir = scratch.path.clone();
    HaOptions::new(family, mode).with_ours(move |name| {
        json!({
            "name": Recorders::script(&dir, name), "sync": false, "hook-points": [hook_point]
        })
    })
}

/// Waits until both servers hold the same, non-empty set of leases (replication is done
/// once the last update reached the partner) and returns it.
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

/// Waits until `server`'s script has recorded every address of `want`; returns what it
/// recorded.
fn wait_seen(rec: &Recorders, server: Server, want: &BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let ok = wait_for(SETTLE, || {
        seen = rec.seen(server);
        seen.is_superset(want).then_some(())
    });
    assert!(
        ok.is_some(),
        "{server}'s script did not record {:?} within {SETTLE:?} (recorded {} addresses)",
        want.difference(&seen).collect::<Vec<_>>(),
        seen.len()
    );
    seen
}

/// Prints a step's time (seen with --nocapture; nothing is asserted about it).
fn step(t0: Instant, what: &str) {
    eprintln!("[{:7.3} s] {what}", t0.elapsed().as_secs_f64());
}

/// The hot-standby smoke for `family`: replication, failover, resync.
fn hot_standby(family: Family) {
    if !require_ha_prereqs() {
        return;
    }
    let t0 = Instant::now();
    let (tag, extra, per_client): (_, &[&str], usize) = match family {
        Family::V4 => ("ha4hs", &[], 1),
        // An address and a delegated prefix per client: two leases, one event.
        Family::V6 => ("ha6hs", &["-e", "address-and-prefix"], 2),
    };
    let scratch = Scratch::new(tag);
    let rec = Recorders::new(&scratch, family);
    let mut pair = HaPair::start(&scratch, options(family, HaMode::HotStandby, &scratch));
    let took = pair.wait_normal(PAIR_UP);
    step(
        t0,
        &format!("pair in hot-standby {took:.1?} after the start"),
    );

    let run = pair.clients(50, "00:0c:01:00:00:00", extra);
    let leases = same_leases(&pair);
    step(
        t0,
        &format!(
            "50 clients: {} leases on both servers (perfdhcp exit {:?})",
            leases.len(),
            run.code
        ),
    );
    assert!(
        leases.len() <= 50 * per_client,
        "more leases than clients asked for: {leases:?}\n{}",
        run.output
    );
    // s1 served them all, so its script saw every one (and nothing else).
    let seen1 = wait_seen(&rec, Server::S1, &leases);
    assert_eq!(seen1, leases, "s1's script recorded other addresses");
    // TODO(issue 24, partner events): today s2's script sees none of these leases: HA
    // replicates them with lease4-update / lease6-bulk-apply, which lease_cmds writes
    // straight to the lease database, so no lease hook point fires on the standby. The
    // feature being built makes such partner events visible; assert what s2's script
    // then records here. Until then this is only reported.
    step(
        t0,
        &format!(
            "s2's script recorded {} addresses (TODO: partner events)",
            rec.seen(Server::S2).len()
        ),
    );
    let seen2_before = rec.seen(Server::S2);

    pair.kill9(Server::S1);
    step(t0, "kill -9 s1");
    let took = pair.wait_state(Server::S2, "partner-down", FAILOVER);
    step(t0, &format!("s2 in partner-down {took:.1?} after the kill"));

    let before = pair.addresses(Server::S2);
    let run = pair.clients(10, "00:0c:02:00:00:00", extra);
    let after = pair.addresses(Server::S2);
    let new: BTreeSet<String> = after.difference(&before).cloned().collect();
    step(
        t0,
        &format!(
            "10 new clients: s2 committed {} new leases (perfdhcp exit {:?})",
            new.len(),
            run.code
        ),
    );
    assert!(
        !new.is_empty() && new.len() <= 10 * per_client,
        "s2 in partner-down served {} new leases for 10 clients:\n{}",
        new.len(),
        run.output
    );
    assert!(
        after.is_superset(&before),
        "s2 lost leases during the failover"
    );
    // s2 served these itself, so its script saw them.
    let seen2 = wait_seen(&rec, Server::S2, &new);
    assert!(
        seen2.difference(&seen2_before).all(|a| new.contains(a)),
        "s2's script recorded addresses it did not serve: {:?}",
        seen2.difference(&seen2_before).collect::<Vec<_>>()
    );

    pair.restart(Server::S1);
    step(t0, "s1 restarted (empty lease database)");
    let took = pair.wait_normal(PAIR_UP);
    step(
        t0,
        &format!("both in hot-standby {took:.1?} after s1 answered"),
    );
    let synced = same_leases(&pair);
    assert_eq!(
        synced, after,
        "after the sync the pair holds other leases than s2 did"
    );
    step(
        t0,
        &format!("s1 synced: {} leases on both servers", synced.len()),
    );
    for server in Server::BOTH {
        assert!(pair.alive(server), "{server} is not running");
    }
}

#[test]
fn ha_pair_replicates_and_fails_over_v4_hot_standby() {
    hot_standby(Family::V4);
}

#[test]
fn ha_pair_replicates_and_fails_over_v6_hot_standby() {
    hot_standby(Family::V6);
}

/// Load-balancing: each server answers its share of the clients (HA's hash of the MAC),
/// so each script records that share; together they are every lease, which both servers
/// hold.
#[test]
fn ha_pair_splits_clients_v4_load_balancing() {
    if !require_ha_prereqs() {
        return;
    }
    let t0 = Instant::now();
    let scratch = Scratch::new("ha4lb");
    let rec = Recorders::new(&scratch, Family::V4);
    let mut pair = HaPair::start(
        &scratch,
        options(Family::V4, HaMode::LoadBalancing, &scratch),
    );
    let took = pair.wait_normal(PAIR_UP);
    step(
        t0,
        &format!("pair in load-balancing {took:.1?} after the start"),
    );

    let run = pair.clients(50, "00:0c:03:00:00:00", &[]);
    let leases = same_leases(&pair);
    step(
        t0,
        &format!(
            "50 clients: {} leases on both servers (perfdhcp exit {:?})",
            leases.len(),
            run.code
        ),
    );
    assert!(leases.len() <= 50, "more leases than clients: {leases:?}");
    let mut seen = (BTreeSet::new(), BTreeSet::new());
    let complete = wait_for(SETTLE, || {
        seen = (rec.seen(Server::S1), rec.seen(Server::S2));
        (seen.0.union(&seen.1).cloned().collect::<BTreeSet<_>>() == leases).then_some(())
    });
    assert!(
        complete.is_some(),
        "the scripts together did not record every lease: s1 {:?}, s2 {:?}, leases {leases:?}",
        seen.0,
        seen.1
    );
    step(
        t0,
        &format!("s1's script: {}, s2's: {}", seen.0.len(), seen.1.len()),
    );
    // Each client is in one server's scope, and (no partner events yet: see the TODO in
    // the hot-standby test) only that server's script sees its lease.
    assert!(
        seen.0.is_disjoint(&seen.1),
        "both scripts recorded {:?}",
        seen.0.intersection(&seen.1).collect::<Vec<_>>()
    );
    // HA's hash of 50 consecutive MACs splits them roughly in half; a quarter each is
    // far from what a working split gives and far from what a broken one (all on one
    // server) gives.
    for (server, share) in [(Server::S1, &seen.0), (Server::S2, &seen.1)] {
        assert!(
            share.len() * 4 >= leases.len(),
            "{server}'s script recorded only {} of {} leases",
            share.len(),
            leases.len()
        );
    }
    for server in Server::BOTH {
        assert!(pair.alive(server), "{server} is not running");
    }
}
