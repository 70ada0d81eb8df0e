//! Leases in DNS: `examples/unbound-dns.py` as a worker in the real Kea, registering into
//! a real Unbound (its own configuration, in a namespace) and checked with real DNS
//! queries (`dig`) and `unbound-control list_local_data`:
//! - v4 (option 12, option 81) and v6 (option 39) names resolve forward and reverse while
//!   leased, and no longer after release or expiry;
//! - Kea restarted without the worker meanwhile (releases, an expiry, new clients): after
//!   the replay Unbound holds exactly the active leases;
//! - the mass-deletion guard keeps every name when the replay is empty;
//! - a name held by another client stays with it, and passes on at its release;
//! - hostile host names: sanitised, never run, no invalid record, logged;
//! - Unbound killed and restarted under traffic: nothing lost;
//! - a burst of 10,000 new clients: exactly the active leases in the end;
//! - an HA pair sharing one Unbound: each record once, and after a failover every active
//!   client still resolves;
//! - the README's two configuration blocks, as they stand (paths moved into the scratch
//!   directory), give a resolvable client.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::dhcp4::{Bound, Client4, Path4};
use common::dhcp6::{Client6, RELEASE as RELEASE6};
use common::ha::{require_ha_prereqs, HaMode, HaOptions, HaPair, Server, CLIENT4};
use common::kea::{hook, perfdhcp, Family, Kea, Settings};
use common::testbed::{Testbed, SRV4};
use common::unbound::{
    require_unbound, resolve, script, worker_parameters, Answers, Unbound, DOMAIN,
};
use common::{in_netns, our_library, require_prereqs, wait_for, HeavySlot, Scratch};
use serde_json::{json, Value};

/// How long registrations, removals and reconciliations may take to show.
const SETTLE: Duration = Duration::from_secs(60);

/// The DNS label the worker makes of a host name (its documented rule, written again
/// here): first label, lower case, other bytes "-", runs of "-" one, no "-" at the ends,
/// at most 63 bytes.
fn label(hostname: &[u8]) -> Option<String> {
    let first = hostname.split(|&b| b == b'.').next().unwrap_or_default();
    let mut out = String::new();
    for b in first.to_ascii_lowercase() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            out.push(b as char);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(63);
    let out = out.trim_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

fn fqdn(label: &str) -> String {
    format!("{label}.{DOMAIN}.")
}

/// Wire-format name (`delta.lan.`).
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in name.split('.').filter(|p| !p.is_empty()) {
        out.push(part.len() as u8);
        out.extend(part.as_bytes());
    }
    out.push(0);
    out
}

/// Everything one Kea test needs around Unbound.
struct Dns {
    unbound: Unbound,
    tb: Testbed,
    scratch: Scratch,
    _slot: HeavySlot,
}

impl Dns {
    /// A slot for Kea, a testbed and Unbound in its server namespace; None (after a
    /// SKIP, or a panic under `CI=true`) when a prerequisite is missing.
    fn new(tag: &str) -> Option<Dns> {
        if !require_prereqs() || !require_unbound() {
            return None;
        }
        let slot = HeavySlot::acquire();
        let scratch = Scratch::new(tag);
        let tb = Testbed::new();
        let unbound = Unbound::start(&tb.srv, SRV4, &scratch);
        Some(Dns {
            unbound,
            tb,
            scratch,
            _slot: slot,
        })
    }

    /// Kea of `family` with the worker (state file `state4`/`state6` in the scratch
    /// directory), or without it; `patch` merged into its configuration.
    fn kea(&self, family: Family, worker: bool, lease_file: bool, patch: Value) -> Kea {
        self.kea_with(family, worker.then(|| json!({})), lease_file, patch)
    }

    /// [`Dns::kea`] with `worker` merged into the worker's parameters (None: no worker).
    fn kea_with(
        &self,
        family: Family,
        worker: Option<Value>,
        lease_file: bool,
        patch: Value,
    ) -> Kea {
        let state = self.scratch.join(match family {
            Family::V4 => "state4",
            Family::V6 => "state6",
        });
        let hooks = match worker {
            Some(extra) => vec![hook(
                &our_library(),
                worker_parameters(&script(), &self.unbound.config, &state, extra),
            )],
            None => Vec::new(),
        };
        let mut settings = Settings::new(family, false, hooks);
        settings.patch = Some(patch);
        if lease_file {
            settings.lease_file = Some(self.scratch.join(match family {
                Family::V4 => "kea-leases4.csv",
                Family::V6 => "kea-leases6.csv",
            }));
        }
        Kea::start(&self.tb, &self.scratch, &settings)
    }

    fn resolve(&self, names: &[&str], addrs: &[&str]) -> Answers {
        resolve(&self.tb.cli, SRV4, names, addrs)
    }

    /// Waits until `done` holds for the answers to `names` and `addrs`; panics with
    /// `what`, the last answers, Unbound's records and Kea's log otherwise.
    fn wait_answers(
        &self,
        kea: &Kea,
        what: &str,
        names: &[&str],
        addrs: &[&str],
        done: impl Fn(&Answers) -> bool,
    ) {
        let mut last = Answers::default();
        let ok = wait_for(SETTLE, || {
            last = self.resolve(names, addrs);
            done(&last).then_some(())
        });
        assert!(
            ok.is_some(),
            "{what}: answers {last:?}\nrecords {:?}\n{}",
            self.unbound.records(),
            kea.log_text()
        );
    }

    /// Asserts Unbound ends with exactly `expected` (name -> addresses).
    fn assert_names(&self, kea: &Kea, expected: &BTreeMap<String, Vec<String>>) {
        assert_same(
            &self.unbound.wait_names(expected, SETTLE),
            expected,
            &kea.log_text(),
        );
    }
}

/// Asserts Unbound's names `got` are `expected`; says which differ (the first 20 each way).
fn assert_same(
    got: &BTreeMap<String, Vec<String>>,
    expected: &BTreeMap<String, Vec<String>>,
    log: &str,
) {
    fn differ<'a>(
        a: &'a BTreeMap<String, Vec<String>>,
        b: &BTreeMap<String, Vec<String>>,
    ) -> Vec<(&'a String, &'a Vec<String>)> {
        a.iter()
            .filter(|(name, addrs)| b.get(*name) != Some(*addrs))
            .take(20)
            .collect()
    }
    assert!(
        got == expected,
        "Unbound holds {} names, Kea {} leases; only in Unbound: {:?}; only in Kea: {:?}\n{log}",
        got.len(),
        expected.len(),
        differ(got, expected),
        differ(expected, got)
    );
}

/// A direct DHCPv4 client (subnet 1) with option `code` = `payload`: bound.
fn client4(tb: &Testbed, path: Path4, mac: [u8; 6], code: u8, payload: Vec<u8>) -> Bound {
    in_netns(&tb.cli, move || {
        let mut c = Client4::new(path);
        c.extra = vec![(code, payload)];
        c.dora(
            mac,
            u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]) << 4,
        )
        .expect("bound")
    })
}

fn release4(tb: &Testbed, path: Path4, b: &Bound) {
    let b = b.clone();
    in_netns(&tb.cli, move || {
        Client4::new(path).release(&b, b.ack_xid + 100);
    });
}

fn mac(n: u8) -> [u8; 6] {
    [0x02, 0x5d, 0x00, 0x00, 0x00, n]
}

/// Option 81: flags S|E (the server does the A update, canonical wire format), then the
/// name.
fn option81(name: &str) -> Vec<u8> {
    let mut payload = vec![0x05, 0, 0];
    payload.extend(wire_name(name));
    payload
}

#[test]
fn v4_names_resolve_while_leased_and_not_after_release_or_expiry() {
    let Some(dns) = Dns::new("ub4") else {
        return;
    };
    // Relayed clients (subnet 2) get 25 s leases (time enough to see them resolve on a
    // loaded machine): one of them expires. Here the worker
    // runs unbound-control (the other tests: Unbound's control socket).
    let kea = dns.kea_with(
        Family::V4,
        Some(json!({"env": {"UNBOUND_CONTROL_SOCKET": ""}})),
        false,
        json!({"subnet4": [{}, {"valid-lifetime": 25}]}),
    );
    let tb = &dns.tb;
    let alpha = client4(tb, Path4::Direct, mac(1), 12, b"Alpha".to_vec());
    let bravo = client4(tb, Path4::Direct, mac(2), 81, option81("bravo.lan."));
    let charlie = client4(tb, Path4::Relayed, mac(3), 12, b"charlie".to_vec());
    let (a, b, c) = (
        alpha.addr.to_string(),
        bravo.addr.to_string(),
        charlie.addr.to_string(),
    );
    let names = [fqdn("alpha"), fqdn("bravo"), fqdn("charlie")];
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let addrs = [a.as_str(), b.as_str(), c.as_str()];
    dns.wait_answers(&kea, "every client resolves", &names, &addrs, |x| {
        names.iter().zip(addrs).all(|(n, a)| x.resolves(n, a))
    });

    release4(tb, Path4::Direct, &alpha);
    dns.wait_answers(&kea, "alpha gone after its release", &names, &addrs, |x| {
        x.gone(names[0], addrs[0]) && x.resolves(names[1], addrs[1])
    });
    dns.wait_answers(&kea, "charlie gone after its expiry", &names, &addrs, |x| {
        x.gone(names[2], addrs[2]) && x.resolves(names[1], addrs[1])
    });
    let expected = BTreeMap::from([(fqdn("bravo"), vec![b])]);
    dns.assert_names(&kea, &expected);
}

#[test]
fn v6_names_resolve_while_leased_and_not_after_release() {
    let Some(dns) = Dns::new("ub6") else {
        return;
    };
    let kea = dns.kea(Family::V6, true, false, json!({}));
    let ifindex = dns.tb.cli_ifindex();
    let mut fqdn39 = vec![0x01];
    fqdn39.extend(wire_name("delta.lan."));
    let bound = in_netns(&dns.tb.cli, move || {
        let mut c = Client6::new(ifindex, mac(4), None);
        c.extra = vec![(39, fqdn39)];
        c.sarr(0x60_0000).expect("bound")
    });
    let addr = bound.addr.to_string();
    let name = fqdn("delta");
    dns.wait_answers(&kea, "delta resolves", &[&name], &[&addr], |x| {
        x.resolves(&name, &addr)
    });
    // The address only: a delegated prefix gets no record.
    dns.assert_names(&kea, &BTreeMap::from([(name.clone(), vec![addr.clone()])]));

    let b = bound.clone();
    in_netns(&dns.tb.cli, move || {
        Client6::new(ifindex, mac(4), None).give_back(RELEASE6, &b, 0x60_0010);
    });
    dns.wait_answers(
        &kea,
        "delta gone after its release",
        &[&name],
        &[&addr],
        |x| x.gone(&name, &addr),
    );
    dns.assert_names(&kea, &BTreeMap::new());
}

#[test]
fn a_name_held_by_another_client_stays_with_it_and_passes_on_at_its_release() {
    let Some(dns) = Dns::new("ubdup") else {
        return;
    };
    let kea = dns.kea(Family::V4, true, false, json!({}));
    let first = client4(&dns.tb, Path4::Direct, mac(50), 12, b"twin".to_vec());
    let second = client4(&dns.tb, Path4::Direct, mac(51), 12, b"twin".to_vec());
    let name = fqdn("twin");
    // The first holder keeps the name; the second gets no record, and that is logged.
    dns.assert_names(
        &kea,
        &BTreeMap::from([(name.clone(), vec![first.addr.to_string()])]),
    );
    let held = wait_for(SETTLE, || {
        kea.log_text().contains("is held by").then_some(())
    });
    assert!(
        held.is_some(),
        "the conflict is not logged:\n{}",
        kea.log_text()
    );
    // The holder's release removes its records, not the name: it passes to the other.
    release4(&dns.tb, Path4::Direct, &first);
    dns.assert_names(
        &kea,
        &BTreeMap::from([(name, vec![second.addr.to_string()])]),
    );
    assert!(kea.log_text().contains("passes from"), "{}", kea.log_text());
}

/// Active leases in Kea's memfile CSV (last row per address wins; state 0, not expired),
/// as the names the worker makes of their host names.
fn active_names(lease_file: &Path) -> BTreeMap<String, Vec<String>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let text = std::fs::read_to_string(lease_file).unwrap_or_default();
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<String> = line.split(',').map(str::to_string).collect();
        if f.len() >= 10 {
            rows.insert(f[0].clone(), f);
        }
    }
    let mut names = BTreeMap::new();
    for (addr, f) in rows {
        let expire: u64 = f[4].parse().unwrap_or(0);
        if f[9] == "0" && expire > now {
            if let Some(l) = label(f[8].as_bytes()) {
                names.insert(fqdn(&l), vec![addr]);
            }
        }
    }
    names
}

#[test]
fn kea_restarted_without_the_worker_meanwhile_reconciles_to_exactly_the_active_leases() {
    let Some(dns) = Dns::new("ubrec") else {
        return;
    };
    let tb = &dns.tb;
    let lease_file = dns.scratch.join("kea-leases4.csv");
    // Relayed clients get 30 s leases: one expires while the worker is away (and not
    // before the first phase checked it, on a loaded machine).
    let patch = json!({"subnet4": [{}, {"valid-lifetime": 30}]});
    let mut kea = dns.kea(Family::V4, true, true, patch.clone());
    let hosts: Vec<Bound> = (1..=4)
        .map(|n| {
            client4(
                tb,
                Path4::Direct,
                mac(n),
                12,
                format!("host{n}").into_bytes(),
            )
        })
        .collect();
    let short = client4(tb, Path4::Relayed, mac(9), 12, b"short1".to_vec());
    let mut before = active_names(&lease_file);
    assert_eq!(before.len(), 5, "five leases with names: {before:?}");
    dns.assert_names(&kea, &before);
    kea.stop();

    // The worker is away: Kea alone releases host1, short1 expires, two new clients.
    let mut plain = dns.kea(Family::V4, false, true, patch.clone());
    // New clients first, so that neither takes host1's address (that would replace its
    // name without the reconciliation).
    for (n, name) in [(5, "new1"), (6, "new2")] {
        client4(tb, Path4::Direct, mac(n), 12, name.as_bytes().to_vec());
    }
    release4(tb, Path4::Direct, &hosts[0]);
    let expired = wait_for(SETTLE, || {
        let now = active_names(&lease_file);
        (!now.contains_key(&fqdn("short1")) && !now.contains_key(&fqdn("host1"))).then_some(())
    });
    assert!(
        expired.is_some(),
        "short1 did not expire, or host1 was not released"
    );
    drop(short);
    plain.stop();
    // Unbound still holds the two stale names (else their removal would prove nothing).
    assert_eq!(
        dns.unbound.names(),
        before,
        "Unbound changed without the worker"
    );

    let kea = dns.kea(Family::V4, true, true, patch);
    let expected = active_names(&lease_file);
    before.remove(&fqdn("host1"));
    before.remove(&fqdn("short1"));
    before.insert(fqdn("new1"), expected[&fqdn("new1")].clone());
    before.insert(fqdn("new2"), expected[&fqdn("new2")].clone());
    assert_eq!(expected, before, "Kea's active leases");
    dns.assert_names(&kea, &expected);
    let log = kea.log_text();
    // host1 (released) goes at the reconciliation; short1 there too, or at its replayed
    // expired-reclaimed state (Kea 2.2's replay includes reclaimed leases).
    assert!(log.contains("reconciled: 5 active leases"), "{log}");
}

#[test]
fn the_guard_keeps_every_name_when_the_replay_is_empty() {
    let Some(dns) = Dns::new("ubguard") else {
        return;
    };
    let lease_file = dns.scratch.join("kea-leases4.csv");
    let mut kea = dns.kea(Family::V4, true, true, json!({}));
    for n in 1..=3 {
        client4(
            &dns.tb,
            Path4::Direct,
            mac(n),
            12,
            format!("keep{n}").into_bytes(),
        );
    }
    let names = active_names(&lease_file);
    assert_eq!(names.len(), 3, "{names:?}");
    dns.assert_names(&kea, &names);
    kea.stop();

    // Kea comes back with an empty lease file: its replay is empty.
    std::fs::remove_file(&lease_file).expect("remove the lease file");
    let kea = dns.kea(Family::V4, true, true, json!({}));
    let refused = wait_for(SETTLE, || {
        kea.log_text()
            .contains("reconciliation refused: it would remove 3 of 3 names")
            .then_some(())
    });
    assert!(
        refused.is_some(),
        "the guard did not trip:\n{}",
        kea.log_text()
    );
    assert_eq!(dns.unbound.names(), names, "a name was removed");
}

#[test]
fn hostile_host_names_are_sanitised_never_run_and_logged() {
    let Some(dns) = Dns::new("ubhostile") else {
        return;
    };
    // Short: Kea keeps no host name with a label over 63 bytes.
    let marker = std::path::PathBuf::from(format!("/tmp/kub{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let m = marker.display();
    let long: Vec<u8> = [b'x', b'y', b'z', b'w']
        .iter()
        .flat_map(|&c| std::iter::repeat_n(c, 63).chain([b'.']))
        .take(255)
        .collect();
    let hostile: Vec<Vec<u8>> = vec![
        format!("$(touch {m})").into_bytes(),
        format!("`touch {m}`;touch {m}|sh").into_bytes(),
        b"evil.other.example.com".to_vec(),
        b"caf\xc3\xa9\xff\xfe-Bytes".to_vec(),
        b"--_--".to_vec(),
        long[..253].to_vec(),
        long,
        b"a\nb\tIN A 6.6.6.6".to_vec(),
    ];
    let mut settings_patch = json!({});
    settings_patch["hostname-char-set"] = json!("");
    let kea = dns.kea(Family::V4, true, true, settings_patch);
    let mut expected = BTreeMap::new();
    for (i, name) in hostile.iter().enumerate() {
        let b = client4(&dns.tb, Path4::Direct, mac(20 + i as u8), 12, name.clone());
        // Kea keeps no host name longer than a DNS name (253 bytes as text).
        if let Some(l) = label(name).filter(|_| name.len() <= 253) {
            expected.insert(fqdn(&l), vec![b.addr.to_string()]);
        }
    }
    // All but "--_--" and the 255 bytes (Kea drops it: the worker sees no host name).
    assert_eq!(expected.len(), hostile.len() - 2, "{expected:?}");
    dns.assert_names(&kea, &expected);
    for name in expected.keys() {
        let l = name
            .strip_suffix(&format!(".{DOMAIN}."))
            .expect("in the domain");
        assert!(
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-'),
            "invalid label {l:?}"
        );
    }
    assert!(!marker.exists(), "a host name was run by a shell");
    let _ = std::fs::remove_file(&marker);
    let log = kea.log_text();
    assert!(log.contains("sanitised to touch-"), "{log}");
    assert!(
        log.contains(r"\udcff"),
        "the non-UTF-8 byte is not logged escaped: {log}"
    );
    assert!(log.contains("has no usable label: no record"), "{log}");
}

/// The names a worker's state file says it registered, with their addresses.
fn registered(state: &Path) -> BTreeMap<String, Vec<String>> {
    let mut names = BTreeMap::new();
    for line in std::fs::read_to_string(state).unwrap_or_default().lines() {
        match line.split(' ').collect::<Vec<_>>()[..] {
            ["+", name, addr] => {
                names.insert(fqdn(name), vec![addr.to_string()]);
            }
            ["-", name] => {
                names.remove(&fqdn(name));
            }
            _ => {}
        }
    }
    names
}

/// A Kea-made name per client (`pc-10-0-0-10.lan.`): perfdhcp sends no host name.
fn generated_names() -> Value {
    json!({"ddns-replace-client-name": "always", "ddns-generated-prefix": "pc",
           "ddns-qualifying-suffix": "lan."})
}

#[test]
fn unbound_restarted_under_traffic_loses_nothing() {
    let Some(mut dns) = Dns::new("ubrestart") else {
        return;
    };
    let lease_file = dns.scratch.join("kea-leases4.csv");
    let kea = dns.kea(Family::V4, true, true, generated_names());
    let tb = &dns.tb;
    let run = std::thread::scope(|s| {
        let run = s.spawn(|| {
            let args = [
                "-4", "-l", &tb.cli_if, "-r", "100", "-R", "800", "-n", "800", "-W", "2000000",
            ];
            perfdhcp(tb, &args, Duration::from_secs(120))
        });
        // Killed twice while the clients come: once restarted at once, once down a while.
        std::thread::sleep(Duration::from_secs(2));
        dns.unbound.restart();
        std::thread::sleep(Duration::from_secs(2));
        dns.unbound.kill();
        std::thread::sleep(Duration::from_secs(1));
        dns.unbound.restart();
        run.join().expect("perfdhcp thread")
    });
    assert!(
        run.1.contains("sent packets"),
        "perfdhcp did not run: {}",
        run.1
    );
    let expected = active_names(&lease_file);
    assert!(expected.len() >= 400, "only {} leases", expected.len());
    dns.assert_names(&kea, &expected);
    let log = kea.log_text();
    assert!(log.contains("Unbound lost its run-time data"), "{log}");
    assert!(
        log.contains("failed"),
        "no unbound-control failed while Unbound was down: {log}"
    );
}

#[test]
fn a_burst_of_10000_new_clients_ends_with_exactly_the_active_leases() {
    let t0 = Instant::now();
    let Some(dns) = Dns::new("ubburst") else {
        return;
    };
    let lease_file = dns.scratch.join("kea-leases4.csv");
    let kea = dns.kea(Family::V4, true, true, generated_names());
    let tb = &dns.tb;
    // The same 10,000 clients (one MAC range) until nearly all are bound: a loaded
    // machine's Kea leaves some of 1,000 new clients a second unanswered (4,677 of them
    // bound once beside the other tests), and perfdhcp does not retry. Between the first
    // and the next passes, every client sends a DHCPDISCOVER only (`-i`): for a bound
    // client Kea calls lease4_renew without the host name, which must change no record
    // (the worker once removed names there, and a lost DHCPREQUEST left them removed).
    let dora = [
        "-4",
        "-l",
        &tb.cli_if,
        "-r",
        "1000",
        "-R",
        "10000",
        "-n",
        "10000",
        "-W",
        "2000000",
        "-b",
        "mac=02:5b:00:00:00:00",
    ];
    // perfdhcp refuses -W (wait for late answers) with -i.
    let discover_only = [&dora[..9], &["-b", "mac=02:5b:00:00:00:00", "-i"]].concat();
    let mut expected = BTreeMap::new();
    for pass in 0..5 {
        let args: &[&str] = if pass == 1 { &discover_only } else { &dora };
        let (_, out) = perfdhcp(tb, args, Duration::from_secs(300));
        assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
        expected = active_names(&lease_file);
        if pass > 0 && expected.len() >= 9500 {
            break;
        }
    }
    let burst = t0.elapsed();
    assert!(
        expected.len() >= 9000,
        "only {} of 10,000 clients bound",
        expected.len()
    );
    dns.assert_names(&kea, &expected);
    eprintln!(
        "{} leases: burst {burst:.1?}, in Unbound {:.1?} after the start",
        expected.len(),
        t0.elapsed()
    );
}

#[test]
fn ha_pair_sharing_one_unbound_resolves_every_active_client_after_a_failover() {
    if !require_ha_prereqs() || !require_unbound() {
        return;
    }
    let scratch = Scratch::new("ubha");
    let dir = scratch.path.clone();
    // The pair's Unbound sits on the clients' segment; its configuration path is known
    // before it starts.
    let config = dir.join("unbound/unbound.conf");
    let mut options = HaOptions::new(Family::V4, HaMode::HotStandby).with_ours(move |name| {
        worker_parameters(
            &script(),
            &config,
            &dir.join(format!("state-{name}")),
            json!({"ha": {}}),
        )
    });
    options.patch = Some(Box::new(|_| generated_names()));
    let mut pair = HaPair::start(&scratch, options);
    let unbound = Unbound::start(pair.client_netns(), CLIENT4, &scratch);
    pair.wait_normal(Duration::from_secs(60));
    let leases_names = |pair: &HaPair, server| -> BTreeMap<String, Vec<String>> {
        pair.leases(server)
            .iter()
            .filter_map(|l| {
                let host = l["hostname"].as_str()?;
                Some((
                    fqdn(&label(host.as_bytes())?),
                    vec![l["ip-address"].as_str()?.into()],
                ))
            })
            .collect()
    };
    pair.clients(30, "00:0c:07:00:00:00", &[]);
    let first = leases_names(&pair, Server::S1);
    assert!(first.len() >= 20, "{first:?}");
    // Both workers registered the same leases (each its state file: s2's from partner
    // events), and Unbound holds each record once (names() panics on a record twice).
    assert_same(
        &unbound.wait_names(&first, SETTLE),
        &first,
        "before the failover",
    );
    for server in ["s1", "s2"] {
        let state = scratch.join(&format!("state-{server}"));
        let both = wait_for(SETTLE, || (registered(&state) == first).then_some(()));
        assert!(
            both.is_some(),
            "{server}'s worker registered {:?}",
            registered(&state)
        );
    }

    pair.kill9(Server::S1);
    pair.wait_state(Server::S2, "partner-down", Duration::from_secs(60));
    pair.clients(20, "00:0c:08:00:00:00", &[]);
    let all = leases_names(&pair, Server::S2);
    assert!(
        all.len() > first.len(),
        "no new client after the failover: {all:?}"
    );
    assert_same(
        &unbound.wait_names(&all, SETTLE),
        &all,
        "after the failover",
    );
    let names: Vec<&str> = all.keys().map(String::as_str).collect();
    let addrs: Vec<&str> = all.values().map(|a| a[0].as_str()).collect();
    let answers = resolve(pair.client_netns(), CLIENT4, &names, &addrs);
    for (name, addr) in names.iter().zip(&addrs) {
        assert!(answers.resolves(name, addr), "{name} {addr}: {answers:?}");
    }
}

/// The code blocks of the README's "Leases in DNS" section, in order.
fn readme_blocks() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Leases in DNS"))
        .expect("a Leases in DNS section");
    section
        .split("```")
        .skip(1)
        .step_by(2)
        .map(|block| {
            block
                .split_once('\n')
                .map_or("", |(_, body)| body)
                .to_string()
        })
        .collect()
}

#[test]
fn the_readmes_two_blocks_give_a_resolvable_client() {
    if !require_prereqs() || !require_unbound() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("ubreadme");
    let tb = Testbed::new();
    let blocks = readme_blocks();
    let [unbound_block, kea_block] = &blocks[..2] else {
        panic!("two blocks: {blocks:?}");
    };
    // Unbound's block as it stands, its control socket in the scratch directory.
    let socket = scratch.join("unbound/control.sock");
    let socket_text = socket.to_str().expect("utf-8 path");
    assert!(
        unbound_block.contains("/run/unbound.ctl"),
        "{unbound_block}"
    );
    let unbound = Unbound::start_with(
        &tb.srv,
        SRV4,
        &scratch,
        &unbound_block.replace("/run/unbound.ctl", socket_text),
    );
    // Kea's block: the library, the script and the state file where this tree has them.
    let state = scratch.join("unbound-dns4.state");
    let kea_text = kea_block
        .replace("/run/unbound.ctl", socket_text)
        .replace(
            "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
            our_library().to_str().expect("utf-8 path"),
        )
        .replace(
            "/usr/share/kea-runscript/examples/unbound-dns.py",
            script().to_str().expect("utf-8 path"),
        )
        .replace(
            "/var/lib/kea/unbound-dns4.state",
            state.to_str().expect("utf-8 path"),
        );
    let hooks: Value = serde_json::from_str(&format!("{{{kea_text}}}"))
        .unwrap_or_else(|e| panic!("the Kea block is not JSON ({e}):\n{kea_text}"));
    let settings = Settings::new(
        Family::V4,
        false,
        hooks["hooks-libraries"].as_array().expect("a list").clone(),
    );
    let kea = Kea::start(&tb, &scratch, &settings);
    let bound = client4(&tb, Path4::Direct, mac(40), 12, b"laptop".to_vec());
    let addr = bound.addr.to_string();
    let name = fqdn("laptop");
    let mut last = Answers::default();
    let ok = wait_for(SETTLE, || {
        last = resolve(&tb.cli, SRV4, &[&name], &[&addr]);
        last.resolves(&name, &addr).then_some(())
    });
    assert!(
        ok.is_some(),
        "laptop.lan does not resolve: {last:?}\n{}\n{}",
        unbound.log_text(),
        kea.log_text()
    );
}
