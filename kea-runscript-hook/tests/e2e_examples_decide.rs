//! The deciding examples of `examples/` in the real Kea:
//! - `classify-worker.py` (sync worker at pkt4_receive / pkt6_receive) puts the listed
//!   clients into class `quarantine`: perfdhcp's clients (a MAC list, half of it listed)
//!   get addresses from the quarantine pool or the regular one by that class (checked in
//!   the lease file), the option bound to the class reaches only them (checked in the
//!   server's answers to crafted clients), and an edit of the map applies to the next
//!   query. DHCPv4 and DHCPv6, Kea multi-threading off and on.
//! - `ddns-names-worker.py` (sync worker at ddns4_update / ddns6_update) gives the listed
//!   clients the table's names and flags, which Kea records in the lease file (and puts
//!   into its answer's Host Name / Client FQDN option); an unlisted client keeps the name
//!   Kea chose (seen by a second, async script at the same hook point).
//! - `offer-check.sh` (sync spawned script at lease4_offer): on Kea 2.6 and later an
//!   address it reports in use gets no offer, Kea declines it (the lease file marks it,
//!   `lease4_server_decline` is seen) and the client's next DISCOVER gets another one; on
//!   Kea 2.2, which has no lease4_offer, the library refuses the configuration at load.

mod common;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::dhcp4::{mac_text, Client4, Msg, Path4, ACK, DISCOVER, OFFER, REQUEST};
use common::dhcp6::{
    colon_hex, duid_ll, ia_na, put, Client6, Held, Reply, ADVERTISE, OPT_SERVERID, REPLY,
    REQUEST as REQUEST6, SOLICIT,
};
use common::dump::{Dump, Record};
use common::kea::{
    hook, kea_hooks_version, lease_file_rows, perfdhcp, start_outcome, Family, Kea, Settings,
};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, HeavySlot, Scratch};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(10);

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .canonicalize()
        .expect("example exists")
}

/// An address pool served only to `class`: `client-class` up to Kea 2.6, which know
/// only it, `client-classes` from 3.0 on (which deprecated the single one).
fn pool(range: &str, class: &str) -> Value {
    if kea_hooks_version() >= 30000 {
        json!({"pool": range, "client-classes": [class]})
    } else {
        json!({"pool": range, "client-class": class})
    }
}

/// `quarantine` (set by the worker only, with `option` = `value` sent to its members) and
/// `regular` (everyone else). A test naming KNOWN/UNKNOWN is evaluated after pkt*_receive,
/// so `regular` sees the worker's class; a plain one would be evaluated before it.
fn classes(option: &str, value: &str) -> Value {
    json!([
        {"name": "quarantine",
         "option-data": [{"name": option, "data": value, "always-send": true}]},
        {"name": "regular",
         "test": "not member('quarantine') and (member('KNOWN') or member('UNKNOWN'))"}
    ])
}

/// The row of the lease whose column `key` is `value` (a MAC, a DUID).
fn lease_of<'a>(
    rows: &'a BTreeMap<String, BTreeMap<String, String>>,
    key: &str,
    value: &str,
) -> &'a BTreeMap<String, String> {
    rows.values()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no lease with {key} {value}: {rows:?}"))
}

/// DISCOVER/OFFER/REQUEST/ACK with the client's `extra` options, returning both answers.
fn dora(client: &Client4, mac: [u8; 6], xid: u32) -> (Msg, Msg) {
    let offer = client
        .exchange(Msg::new(DISCOVER, xid, mac), Duration::from_secs(3))
        .unwrap_or_else(|| panic!("no OFFER for {}", mac_text(mac)));
    assert_eq!(offer.msg_type, OFFER);
    let request = Msg::new(REQUEST, xid + 1, mac)
        .with(50, &offer.yiaddr.octets())
        .with(54, offer.option(54).expect("server id"));
    let ack = client
        .exchange(request, Duration::from_secs(3))
        .unwrap_or_else(|| panic!("no ACK for {}", mac_text(mac)));
    assert_eq!(ack.msg_type, ACK, "{ack:?}");
    (offer, ack)
}

/// SOLICIT/ADVERTISE/REQUEST/REPLY for one address (IA_NA), returning both answers.
fn sarr(client: &Client6, txid: u32) -> (Reply, Reply, Ipv6Addr) {
    let adv = client
        .exchange(SOLICIT, txid, &ia_na(client.iaid, None))
        .expect("ADVERTISE");
    assert_eq!(adv.msg_type, ADVERTISE, "{adv:?}");
    let addr = adv
        .held()
        .iter()
        .find_map(|h| match h {
            Held::Addr(a) => Some(*a),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no address in {adv:?}"));
    let mut body = Vec::new();
    put(
        &mut body,
        OPT_SERVERID,
        adv.option(OPT_SERVERID).expect("server id"),
    );
    body.extend(ia_na(client.iaid, Some(addr)));
    let reply = client.exchange(REQUEST6, txid + 1, &body).expect("REPLY");
    assert_eq!(reply.msg_type, REPLY, "{reply:?}");
    (adv, reply, addr)
}

/// A DNS name in wire form (labels, each with its length; a root label at the end).
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend(label.as_bytes());
    }
    out.push(0);
    out
}

/// Kea's log holds the worker's own report and no answer the library refused.
fn assert_answers_taken(kea: &Kea, loaded: &str) {
    let log = kea.log_text();
    assert!(
        log.contains(loaded),
        "no {loaded:?} from the worker:\n{log}"
    );
    assert!(
        !log.contains("KEA_RUNSCRIPT_ANSWER_INVALID"),
        "the library refused an answer:\n{log}"
    );
}

const QUARANTINED: [[u8; 6]; 3] = [
    [0x02, 0x25, 0, 0, 0, 1],
    [0x02, 0x25, 0, 0, 0, 2],
    [0x02, 0x25, 0, 0, 0, 3],
];
const REGULAR: [[u8; 6]; 3] = [
    [0x02, 0x25, 0, 0, 1, 1],
    [0x02, 0x25, 0, 0, 1, 2],
    [0x02, 0x25, 0, 0, 1, 3],
];

/// The perfdhcp MAC list: every client of both kinds.
fn mac_list(scratch: &Scratch) -> PathBuf {
    let path = scratch.join("macs");
    let text: String = QUARANTINED
        .iter()
        .chain(&REGULAR)
        .map(|m| format!("{}\n", mac_text(*m)))
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// perfdhcp's clients from the MAC list, a repeatable choice (`-s`), 30 exchanges.
fn perfdhcp_clients(tb: &Testbed, family: &str, macs: &Path) {
    let macs = macs.to_str().expect("utf-8 path");
    let args = [
        family, "-l", &tb.cli_if, "-r", "20", "-n", "30", "-p", "10", "-s", "7", "-M", macs,
    ];
    let (_, out) = perfdhcp(tb, &args, Duration::from_secs(30));
    assert!(out.contains("sent packets"), "perfdhcp did not run: {out}");
}

/// The classifier's Kea: quarantine and regular pools, the option `option` = `value` bound
/// to quarantine and `other` for everyone else, the worker with `map`.
fn classify_settings(family: Family, mt: bool, map: &Path, leases: &Path) -> Settings {
    let receive = match family {
        Family::V4 => "pkt4_receive",
        Family::V6 => "pkt6_receive",
    };
    let worker = json!({
        "name": example("classify-worker.py"), "mode": "worker", "sync": true,
        "hook-points": [receive], "timeout-ms": 5000, "log-output": true,
        "env": {"CLASS_MAP": map}
    });
    let mut settings = Settings::new(family, mt, vec![hook(&our_library(), worker)]);
    settings.lease_file = Some(leases.to_path_buf());
    settings.patch = Some(match family {
        Family::V4 => json!({
            "option-data": [{"name": "domain-name", "data": "example.net"}],
            "client-classes": classes("domain-name", "quarantine.example"),
            // The relayed subnet: perfdhcp's queries carry its address as giaddr.
            "subnet4": [{}, {"pools": [pool(REGULAR4.0, "regular"), pool(QUARANTINE4.0, "quarantine")]}]
        }),
        Family::V6 => json!({
            "option-data": [{"name": "domain-search", "data": "example.net."}],
            "client-classes": classes("domain-search", "quarantine.example."),
            "subnet6": [{"pools": [pool(REGULAR6.0, "regular"), pool(QUARANTINE6.0, "quarantine")]}]
        }),
    });
    settings
}

/// (Kea's pool, first, last) of each kind.
const REGULAR4: (&str, Ipv4Addr, Ipv4Addr) = (
    "10.0.0.10-10.0.0.99",
    Ipv4Addr::new(10, 0, 0, 10),
    Ipv4Addr::new(10, 0, 0, 99),
);
const QUARANTINE4: (&str, Ipv4Addr, Ipv4Addr) = (
    "10.0.9.0-10.0.9.99",
    Ipv4Addr::new(10, 0, 9, 0),
    Ipv4Addr::new(10, 0, 9, 99),
);
const REGULAR6: (&str, u16, u16) = ("2001:db8:1::100-2001:db8:1::17f", 0x100, 0x17f);
const QUARANTINE6: (&str, u16, u16) = ("2001:db8:1::180-2001:db8:1::1ff", 0x180, 0x1ff);

fn in_pool4(addr: Ipv4Addr, pool: (&str, Ipv4Addr, Ipv4Addr)) -> bool {
    (pool.1..=pool.2).contains(&addr)
}

fn in_pool6(addr: Ipv6Addr, pool: (&str, u16, u16)) -> bool {
    let s = addr.segments();
    s[..7] == [0x2001, 0xdb8, 1, 0, 0, 0, 0] && (pool.1..=pool.2).contains(&s[7])
}

/// Asserts that every lease of `rows` belongs to a client of QUARANTINED or REGULAR (its
/// id in column `column`, as `id` writes a MAC's) and is in the pool of its kind
/// (`in_pool(address, listed)`), and that each kind has at least two.
fn assert_pools(
    rows: &BTreeMap<String, BTreeMap<String, String>>,
    column: &str,
    id: impl Fn([u8; 6]) -> String,
    in_pool: impl Fn(&str, bool) -> bool,
) {
    let (mut quarantined, mut regular) = (0, 0);
    for (addr, row) in rows {
        let of = |macs: &[[u8; 6]]| macs.iter().any(|m| id(*m) == row[column]);
        let listed = of(&QUARANTINED);
        assert!(listed || of(&REGULAR), "unknown client: {row:?}");
        assert!(
            in_pool(addr, listed),
            "{addr} for {row:?}, listed: {listed}"
        );
        *(if listed {
            &mut quarantined
        } else {
            &mut regular
        }) += 1;
    }
    assert!(quarantined >= 2 && regular >= 2, "{rows:?}");
}

fn classify_v4(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("classify4");
    let tb = Testbed::new();
    let map = scratch.join("class-map.csv");
    // Upper case and dashes: the worker reads any notation.
    let listed: String = QUARANTINED
        .iter()
        .map(|m| {
            format!(
                "{},quarantine\n",
                mac_text(*m).to_uppercase().replace(':', "-")
            )
        })
        .collect();
    std::fs::write(&map, format!("# quarantined clients\n{listed}")).unwrap();
    let lease_file = scratch.join("leases4.csv");
    let mut kea = Kea::start(
        &tb,
        &scratch,
        &classify_settings(Family::V4, mt, &map, &lease_file),
    );

    perfdhcp_clients(&tb, "-4", &mac_list(&scratch));
    let (q, r) = in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        (
            dora(&client, QUARANTINED[0], 0x2500),
            dora(&client, REGULAR[0], 0x2510),
        )
    });
    for (offer, ack) in [&q, &r] {
        assert_eq!(offer.yiaddr, ack.yiaddr);
    }
    // The option of the class reaches its members only; the others get the global one.
    for m in [&q.0, &q.1] {
        assert!(in_pool4(m.yiaddr, QUARANTINE4), "{m:?}");
        assert_eq!(m.option(15), Some(&b"quarantine.example"[..]), "{m:?}");
    }
    for m in [&r.0, &r.1] {
        assert!(in_pool4(m.yiaddr, REGULAR4), "{m:?}");
        assert_eq!(m.option(15), Some(&b"example.net"[..]), "{m:?}");
    }
    // Every lease Kea wrote: in the pool of its client's kind.
    assert_pools(
        &lease_file_rows(&lease_file),
        "hwaddr",
        mac_text,
        |addr, listed| {
            let addr: Ipv4Addr = addr.parse().unwrap();
            in_pool4(addr, if listed { QUARANTINE4 } else { REGULAR4 })
        },
    );
    assert_answers_taken(&kea, "3 entries loaded");

    // The map is edited while Kea runs: the next query of a newly listed client is
    // classified by it.
    let newly = REGULAR[1];
    let edited = scratch.join("class-map.csv.new");
    std::fs::write(&edited, format!("{listed}{},quarantine\n", mac_text(newly))).unwrap();
    std::fs::rename(&edited, &map).unwrap();
    let (offer, ack) = in_netns(&tb.cli, move || {
        dora(&Client4::new(Path4::Relayed), newly, 0x2520)
    });
    assert!(in_pool4(ack.yiaddr, QUARANTINE4), "{offer:?} {ack:?}");
    assert_eq!(ack.option(15), Some(&b"quarantine.example"[..]));
    assert_answers_taken(&kea, "4 entries loaded");
    kea.assert_healthy();
}

both_threading_modes!(classify_v4 => classifier_steers_v4_pools_and_options, classifier_steers_v4_pools_and_options_multi_threaded);

fn classify_v6(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("classify6");
    let tb = Testbed::new();
    let map = scratch.join("class-map.json");
    // DUID-LLs of the listed MACs, as bare upper-case hex.
    let listed: serde_json::Map<String, Value> = QUARANTINED
        .iter()
        .map(|m| {
            (
                colon_hex(&duid_ll(*m)).replace(':', "").to_uppercase(),
                json!(["quarantine"]),
            )
        })
        .collect();
    std::fs::write(&map, Value::Object(listed).to_string()).unwrap();
    let lease_file = scratch.join("leases6.csv");
    let mut kea = Kea::start(
        &tb,
        &scratch,
        &classify_settings(Family::V6, mt, &map, &lease_file),
    );

    perfdhcp_clients(&tb, "-6", &mac_list(&scratch));
    let ifindex = tb.cli_ifindex();
    let answers = in_netns(&tb.cli, move || {
        [(QUARANTINED[0], 0x25_0000), (REGULAR[0], 0x25_0010)].map(|(mac, txid)| {
            let mut client = Client6::new(ifindex, mac, None);
            // Asks for the domain search list (option request, 6): the global one is sent
            // only when asked for.
            client.extra = vec![(6, vec![0, 24])];
            sarr(&client, txid)
        })
    });
    let [(q_adv, q_reply, q_addr), (r_adv, r_reply, r_addr)] = answers;
    assert!(in_pool6(q_addr, QUARANTINE6), "{q_addr}");
    assert!(in_pool6(r_addr, REGULAR6), "{r_addr}");
    for m in [&q_adv, &q_reply] {
        assert_eq!(
            m.option(24),
            Some(&wire_name("quarantine.example")[..]),
            "{m:?}"
        );
    }
    for m in [&r_adv, &r_reply] {
        assert_eq!(m.option(24), Some(&wire_name("example.net")[..]), "{m:?}");
    }
    let mut rows = lease_file_rows(&lease_file);
    rows.retain(|_, r| r["lease_type"] == "0");
    assert_pools(
        &rows,
        "duid",
        |m| colon_hex(&duid_ll(m)),
        |addr, listed| {
            let addr: Ipv6Addr = addr.parse().unwrap();
            in_pool6(addr, if listed { QUARANTINE6 } else { REGULAR6 })
        },
    );
    assert_answers_taken(&kea, "3 entries loaded");
    kea.assert_healthy();
}

both_threading_modes!(classify_v6 => classifier_steers_v6_pools_and_options, classifier_steers_v6_pools_and_options_multi_threaded);

const NAMED: [u8; 6] = [0x02, 0x26, 0, 0, 0, 1];
const NAMED_QUIET: [u8; 6] = [0x02, 0x26, 0, 0, 0, 2];
const UNLISTED: [u8; 6] = [0x02, 0x26, 0, 0, 0, 3];

/// Kea with the names worker at `point` and an async dump.sh recording Kea's own name.
fn names_kea(
    tb: &Testbed,
    scratch: &Scratch,
    family: Family,
    mt: bool,
    point: &str,
    table: &Path,
) -> (Kea, Dump, PathBuf) {
    let dump = Dump::new(scratch, "dump");
    let parameters = json!({"scripts": [
        {"name": example("ddns-names-worker.py"), "mode": "worker", "sync": true,
         "hook-points": [point], "timeout-ms": 5000, "log-output": true,
         "env": {"NAMES_FILE": table, "DOMAIN": "example.org"}},
        {"name": dump.script, "sync": false, "hook-points": [point]}
    ]});
    let lease_file = scratch.join("leases.csv");
    let mut settings = Settings::new(family, mt, vec![hook(&our_library(), parameters)]);
    settings.lease_file = Some(lease_file.clone());
    (Kea::start(tb, scratch, &settings), dump, lease_file)
}

/// A lease's DNS name and update flags as the lease file has them.
fn dns_of(row: &BTreeMap<String, String>) -> (&str, &str, &str) {
    (&row["hostname"], &row["fqdn_fwd"], &row["fqdn_rev"])
}

/// An unlisted client's lease has the name Kea chose, as the async script saw it at the
/// same hook point.
fn assert_kept(row: &BTreeMap<String, String>, kea_choice: &Record) {
    assert_eq!(row["hostname"], kea_choice.var("DDNS_HOSTNAME"), "{row:?}");
    assert!(row["hostname"].starts_with("kept."), "{row:?}");
}

#[test]
fn names_worker_names_v4_leases() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("names4");
    let tb = Testbed::new();
    let table = scratch.join("names.csv");
    std::fs::write(
        &table,
        format!(
            "{},pc-1,true,false\n{},Printer 2\n",
            mac_text(NAMED),
            mac_text(NAMED_QUIET).to_uppercase()
        ),
    )
    .unwrap();
    let (mut kea, dump, lease_file) =
        names_kea(&tb, &scratch, Family::V4, true, "ddns4_update", &table);
    let acks = in_netns(&tb.cli, || {
        let mut client = Client4::new(Path4::Relayed);
        let mut acks = Vec::new();
        // Host Name option (12): a name of the client's own, or none.
        for (mac, sent, xid) in [
            (NAMED, Some("laptop.example.com"), 0x2600),
            (NAMED_QUIET, None, 0x2610),
            (UNLISTED, Some("kept.example.com"), 0x2620),
        ] {
            client.extra = sent
                .map(|s| vec![(12, s.as_bytes().to_vec())])
                .unwrap_or_default();
            acks.push(dora(&client, mac, xid).1);
        }
        acks
    });
    // Kea puts the hook's name into the Host Name option it answers with.
    assert_eq!(
        acks[0].option(12),
        Some(&b"pc-1.example.org."[..]),
        "{:?}",
        acks[0]
    );
    let rows = lease_file_rows(&lease_file);
    let named = lease_of(&rows, "hwaddr", &mac_text(NAMED));
    assert_eq!(dns_of(named), ("pc-1.example.org.", "1", "0"), "{named:?}");
    // No name sent, none of Kea's: the table's, with Kea's flags (no updates).
    let quiet = lease_of(&rows, "hwaddr", &mac_text(NAMED_QUIET));
    assert_eq!(
        dns_of(quiet),
        ("printer-2.example.org.", "0", "0"),
        "{quiet:?}"
    );
    // Unlisted: what Kea chose, as the async script saw it at the same hook point.
    let kea_choice = dump.wait_one("ddns4_update", T, |r| {
        r.has("QUERY4_HWADDR", &mac_text(UNLISTED)) && r.has("QUERY4_TYPE", "DHCPREQUEST")
    });
    let unlisted = lease_of(&rows, "hwaddr", &mac_text(UNLISTED));
    assert_kept(unlisted, &kea_choice);
    assert_answers_taken(&kea, "2 entries loaded");
    kea.assert_healthy();
}

#[test]
fn names_worker_names_v6_leases() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("names6");
    let tb = Testbed::new();
    let table = scratch.join("names.json");
    let key = colon_hex(&duid_ll(NAMED)).replace(':', "-");
    let entry = json!({"hostname": "cpe-4", "fwd-update": true, "rev-update": true});
    std::fs::write(&table, json!({ key: entry }).to_string()).unwrap();
    let (mut kea, dump, lease_file) =
        names_kea(&tb, &scratch, Family::V6, false, "ddns6_update", &table);
    let ifindex = tb.cli_ifindex();
    let replies = in_netns(&tb.cli, move || {
        [(NAMED, 0x26_0000), (UNLISTED, 0x26_0010)].map(|(mac, txid)| {
            let mut client = Client6::new(ifindex, mac, None);
            // Client FQDN (39): flags S (the server updates DNS), then the name.
            let mut fqdn = vec![0x01];
            fqdn.extend(wire_name(if mac == NAMED {
                "laptop.example.com."
            } else {
                "kept.example.com."
            }));
            client.extra = vec![(39, fqdn)];
            sarr(&client, txid).1
        })
    });
    // Kea answers with the hook's name in its Client FQDN option.
    let fqdn = replies[0].option(39).expect("Client FQDN in the REPLY");
    assert_eq!(&fqdn[1..], &wire_name("cpe-4.example.org.")[..], "{fqdn:?}");
    let rows = lease_file_rows(&lease_file);
    let of = |mac| {
        rows.values()
            .find(|r| r["lease_type"] == "0" && r["duid"] == colon_hex(&duid_ll(mac)))
            .unwrap_or_else(|| panic!("no address lease of {}: {rows:?}", mac_text(mac)))
    };
    let named = of(NAMED);
    assert_eq!(dns_of(named), ("cpe-4.example.org.", "1", "1"), "{named:?}");
    let kea_choice = dump.wait_one("ddns6_update", T, |r| {
        r.has("QUERY6_CLIENT_ID", &colon_hex(&duid_ll(UNLISTED))) && r.has("QUERY6_TYPE", "REQUEST")
    });
    let unlisted = of(UNLISTED);
    assert_kept(unlisted, &kea_choice);
    assert_answers_taken(&kea, "1 entries loaded");
    kea.assert_healthy();
}

/// The address `offer-check.sh` is told is in use: the first of the relayed subnet's pool.
const TAKEN: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);

fn offer_check(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("offer");
    let in_use = scratch.join("in-use");
    std::fs::write(&in_use, format!("# answers ping\n{TAKEN}\n")).unwrap();
    let dump = Dump::new(&scratch, "dump");
    let parameters = json!({"scripts": [
        {"name": example("offer-check.sh"), "sync": true, "hook-points": ["lease4_offer"],
         "timeout-ms": 5000, "env": {"IN_USE_FILE": in_use}},
        {"name": dump.script, "sync": false, "hook-points": ["lease4_server_decline"]}
    ]});
    let mut settings = Settings::new(Family::V4, mt, vec![hook(&our_library(), parameters)]);
    if kea_hooks_version() < 20600 {
        // Kea 2.2 calls no lease4_offer: the library refuses the name at load.
        let log = scratch.join("kea-refused.log");
        let config = settings.config_without_interfaces(&log);
        let (started, text) = start_outcome(Family::V4, &scratch, &config, &log);
        assert!(!started, "Kea 2.2 started with lease4_offer:\n{text}");
        assert!(
            text.lines()
                .any(|l| l.contains("KEA_RUNSCRIPT_") && l.contains("lease4_offer")),
            "no message of ours naming lease4_offer:\n{text}"
        );
        return;
    }
    let lease_file = scratch.join("leases4.csv");
    settings.lease_file = Some(lease_file.clone());
    settings.patch = Some(json!({"subnet4": [{}, {"pools": [{"pool": "10.0.0.10-10.0.0.20"}]}]}));
    let tb = Testbed::new();
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let mac = [0x02, 0x27, 0, 0, 0, 1];
    let (first, second, ack) = in_netns(&tb.cli, move || {
        let client = Client4::new(Path4::Relayed);
        // Asks for the taken address (option 50), so it is the one Kea offers first.
        let discover = |xid| Msg::new(DISCOVER, xid, mac).with(50, &TAKEN.octets());
        let first = client.exchange(discover(0x2700), Duration::from_secs(3));
        let second = client
            .exchange(discover(0x2710), Duration::from_secs(3))
            .expect("an OFFER for the second DISCOVER");
        let request = Msg::new(REQUEST, 0x2711, mac)
            .with(50, &second.yiaddr.octets())
            .with(54, second.option(54).expect("server id"));
        let ack = client.exchange(request, Duration::from_secs(3));
        (first, second, ack)
    });
    assert!(first.is_none(), "an address in use was offered: {first:?}");
    assert_eq!(second.msg_type, OFFER);
    assert_ne!(second.yiaddr, TAKEN, "the declined address offered again");
    let ack = ack.expect("an ACK");
    assert_eq!((ack.msg_type, ack.yiaddr), (ACK, second.yiaddr));
    // Declined by the server: the lease file marks it (state 1), the event is seen.
    let rows = lease_file_rows(&lease_file);
    let declined = rows
        .get(&TAKEN.to_string())
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(declined["state"], "1", "{declined:?}");
    assert_eq!(rows[&second.yiaddr.to_string()]["hwaddr"], mac_text(mac));
    dump.wait_one("lease4_server_decline", T, |r| {
        r.has("LEASE4_ADDRESS", &TAKEN.to_string())
    });
    kea.assert_healthy();
}

both_threading_modes!(offer_check => offer_check_declines_an_address_in_use, offer_check_declines_an_address_in_use_multi_threaded);
