//! Parity with Kea's own hook: both libraries loaded in the same Kea, each with its own
//! dump script; every event of Kea's hook must have a matching event of ours carrying each
//! of Kea's variables byte for byte, in Kea's order. Used by e2e_parity (crafted clients,
//! perfdhcp) and e2e_clients (dhclient, dhcpcd, udhcpc).
//!
//! The records are the environments as execve passed them (dump.rs), so a variable set
//! twice or an entry without `=` in either library's environment fails the comparison
//! instead of being merged away. Order: Kea's hook is the reference; our variables that
//! Kea also sets must come in Kea's order, with our extra variables (options, …) allowed
//! anywhere between them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::dump::{Dump, Record};
use super::kea::hook;
use super::{our_library, KEA_RUN_SCRIPT};

/// Variables that identify an event when they are present (used to pair events and to
/// point at the closest one when a pair differs).
pub const KEYS: &[&str] = &[
    "QUERY4_TXID",
    "QUERY6_TXID",
    "LEASE4_ADDRESS",
    "LEASE6_ADDRESS",
    "LEASES4_AT0_ADDRESS",
    "LEASES6_AT0_ADDRESS",
    "DELETED_LEASES4_AT0_ADDRESS",
    "DELETED_LEASES6_AT0_ADDRESS",
];

/// The [`KEYS`] a record has, with their values.
pub fn key(r: &Record) -> Vec<(&str, &str)> {
    KEYS.iter().filter_map(|k| Some((*k, r.get(k)?))).collect()
}

/// Kea's variables whose value in `ours` is missing or different, byte for byte (a value
/// that is not UTF-8 must reach the script as Kea's hook passes it): (name, Kea's, ours),
/// shown with non-UTF-8 bytes escaped.
pub fn differences(kea: &Record, ours: &Record) -> Vec<(String, String, Option<String>)> {
    let show = |b: &[u8]| b.escape_ascii().to_string();
    kea.raw
        .iter()
        .filter(|(k, v)| ours.raw.get(k) != Some(*v))
        .map(|(k, v)| (show(k), show(v), ours.raw.get(k).map(|o| show(o))))
        .collect()
}

/// Kea's variable names in Kea's order against ours restricted to Kea's names: None when
/// ours has them in the same order, else both sequences for the message.
pub fn order_difference(kea: &Record, ours: &Record) -> Option<String> {
    let theirs: Vec<&Vec<u8>> = kea.raw.names().collect();
    let known: BTreeSet<&Vec<u8>> = theirs.iter().copied().collect();
    let mine: Vec<&Vec<u8>> = ours.raw.names().filter(|n| known.contains(n)).collect();
    let show = |names: &[&Vec<u8>]| {
        names
            .iter()
            .map(|n| n.escape_ascii().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (theirs != mine).then(|| {
        format!(
            "variables in another order:\n  Kea's: {}\n  ours:  {}",
            show(&theirs),
            show(&mine)
        )
    })
}

/// Every record whose environment has a name set twice or an entry without `=`.
pub fn malformed(who: &str, records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| {
            let problems = r.raw.problems();
            (!problems.is_empty()).then(|| format!("{who} {} {:?}: {problems:?}", r.hook, key(r)))
        })
        .collect()
}

/// Pairs every Kea event with one of ours (same hook point, same key, fewest
/// differences) and panics with every unmatched or different event.
pub fn assert_parity(kea: &[Record], ours: &[Record]) {
    let mut unused: Vec<&Record> = ours.iter().collect();
    let mut failures = malformed("Kea's hook:", kea);
    failures.extend(malformed("ours:", ours));
    let mut extras: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for k in kea {
        let best = unused
            .iter()
            .enumerate()
            .filter(|(_, o)| o.hook == k.hook && key(o) == key(k))
            .min_by_key(|(_, o)| differences(k, o).len())
            .map(|(i, _)| i);
        let Some(i) = best else {
            failures.push(format!(
                "no event of ours for Kea's {} {:?}",
                k.hook,
                key(k)
            ));
            continue;
        };
        let o = unused.swap_remove(i);
        let diff = differences(k, o);
        if !diff.is_empty() {
            failures.push(format!(
                "{} {:?}: (variable, Kea's, ours) {diff:?}",
                k.hook,
                key(k)
            ));
        } else if let Some(order) = order_difference(k, o) {
            failures.push(format!("{} {:?}: {order}", k.hook, key(k)));
        }
        let extra = extras.entry(o.hook.as_str()).or_default();
        extra.extend(o.vars.keys().filter(|n| !k.vars.contains_key(*n)).cloned());
    }
    for (hook, names) in &extras {
        println!("extra variables of ours at {hook}: {names:?}");
    }
    for o in &unused {
        failures.push(format!(
            "event of ours without a Kea event: {} {:?}",
            o.hook,
            key(o)
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} Kea events lack parity:\n{}",
        failures.len(),
        kea.len(),
        failures.join("\n")
    );
}

/// Waits until both libraries have recorded the same number of events per hook point
/// and that stayed so for a second (Kea's hook runs its scripts in the background).
pub fn settled(kea: &Dump, ours: &Dump, at_least: usize) -> (Vec<Record>, Vec<Record>) {
    let count = |rs: &[Record]| {
        let mut m = BTreeMap::new();
        for r in rs {
            *m.entry(r.hook.clone()).or_insert(0usize) += 1;
        }
        m
    };
    let mut last = None;
    let mut stable_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (k, o) = (kea.records(), ours.records());
        let now = (count(&k), count(&o));
        if Some(&now) != last.as_ref() {
            last = Some(now.clone());
            stable_since = Instant::now();
        }
        let done = now.0 == now.1 && k.len() >= at_least;
        if (done && stable_since.elapsed() > Duration::from_secs(1)) || Instant::now() > deadline {
            println!(
                "events per hook point: Kea {:?}\n                       ours {:?}",
                now.0, now.1
            );
            return (k, o);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Both libraries, each with its script, both async or both sync.
pub fn both_hooks(kea: &Path, ours: &Path, sync: bool) -> Vec<Value> {
    vec![
        hook(
            Path::new(KEA_RUN_SCRIPT),
            json!({"name": kea, "sync": sync}),
        ),
        hook(&our_library(), json!({"name": ours, "sync": sync})),
    ]
}
