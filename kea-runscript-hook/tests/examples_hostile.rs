//! Hostile bytes through every example script: host names (client-controlled) and
//! interface names holding `$(...)`, backticks, `;`, `|`, newlines that imitate log lines,
//! `../`, quotes and globs, 255 bytes, and bytes that are not UTF-8, set byte for byte in
//! the environment of every hook point's variables (rendered from `fixtures/events/`).
//! Nothing is executed (a canary file that each payload would create stays absent), every
//! script ends normally, and no log line is forged: `debug.sh` writes one header and one
//! escaped line per variable, the dry-run logs of `routes.sh` and `nft-set.sh` hold only
//! their commands, one per line.
//!
//! The deciding examples, without Kea: `classify-worker.py` and `ddns-names-worker.py`
//! fed event lines as the hook writes them (their maps in every notation, JSON and CSV,
//! reloaded on change; a bad map keeps the previous one; hostile identifiers, names and
//! events), `offer-check.sh` with a list of addresses in use; every answer is checked
//! with the library's own answer parser, so it is one the hook takes whole.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use kea_runscript_env::{render, Event};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The hostile values; `{canary}` is replaced by a path each payload would create.
fn payloads(canary: &Path) -> Vec<Vec<u8>> {
    let c = canary.display();
    let mut list: Vec<Vec<u8>> = [
        format!("$(touch {c})"),
        format!("`touch {c}`"),
        format!("a; touch {c}"),
        format!("a | touch {c}"),
        format!("a && touch {c} #"),
        "x\n=== 2026-01-01T00:00:00.000Z leases4_committed (pid 1)\n    LEASE4_ADDRESS=6.6.6.6\nforged".to_owned(),
        "../../../../etc/passwd".to_owned(),
        "'\"$IFS*?[a-z]{x,y}~\\".to_owned(),
        format!("a\rforged\x1b[2J\x07{}", "\u{202e}"),
        "h".repeat(255),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    list.push(vec![
        0xff, 0xfe, b'a', 0x80, 0xc3, 0x28, b'\n', b'f', b'o', b'r', b'g', b'e', b'd',
    ]);
    list
}

/// Every hook point's variables (all fields set), with each host name and interface name
/// replaced by `payload`, byte for byte.
fn events(payload: &[u8]) -> Vec<(String, Vec<(String, OsString)>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo().join("fixtures/events")).unwrap() {
        let path = entry.unwrap().path();
        let event: Event = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let vars = render(&event)
            .into_iter()
            .map(|(name, value)| {
                let value = if name.ends_with("_HOSTNAME") || name.ends_with("_IFACE_NAME") {
                    OsString::from_vec(payload.to_vec())
                } else {
                    OsString::from_vec(value.into_bytes())
                };
                (name, value)
            })
            .collect();
        out.push((event.hook_point.name().to_owned(), vars));
    }
    out
}

fn run(script: &str, hook: &str, vars: &[(String, OsString)], settings: &[(&str, &Path)]) {
    let out = Command::new(repo().join("examples").join(script))
        .arg(hook)
        .env_clear()
        .envs(vars.iter().map(|(n, v)| (n.as_str(), v.as_os_str())))
        .envs(settings.iter().map(|(n, v)| (*n, v.as_os_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {hook}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hostile_names_execute_nothing_and_forge_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let debug_log = dir.path().join("debug.log");
    let dry_log = dir.path().join("dry-run.log");
    let list = dir.path().join("blocklist");
    std::fs::write(&list, "00:00:5e:00:53:01\n").unwrap();
    let mut calls = 0;
    let mut lines_expected = 0;
    for payload in payloads(&canary) {
        for (hook, vars) in events(&payload) {
            calls += 1;
            lines_expected += 1 + vars.len();
            run(
                "debug.sh",
                &hook,
                &vars,
                &[("KEA_RUNSCRIPT_DEBUG_LOG", &debug_log)],
            );
            let dry = [
                ("DRY_RUN", Path::new("1")),
                ("ROUTES_LOG", &dry_log),
                ("NFT_LOG", &dry_log),
            ];
            run("routes.sh", &hook, &vars, &dry);
            run("nft-set.sh", &hook, &vars, &dry);
            run("blocklist.sh", &hook, &vars, &[("BLOCKLIST_FILE", &list)]);
            run("offer-check.sh", &hook, &vars, &[("IN_USE_FILE", &list)]);
            assert!(!canary.exists(), "a payload ran at {hook}: {payload:?}");
        }
    }

    // debug.sh: one header per call, then exactly one indented NAME=value line per
    // variable; the newlines of the payloads are escaped, never line breaks.
    let log = std::fs::read(&debug_log).unwrap();
    let lines: Vec<&[u8]> = log
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let headers = lines.iter().filter(|l| l.starts_with(b"=== ")).count();
    assert_eq!(headers, calls, "records in debug.sh's log");
    assert_eq!(lines.len(), lines_expected, "lines in debug.sh's log");
    for line in &lines {
        let var = line.strip_prefix(b"    ").map(|rest| {
            let name_len = rest.iter().position(|&b| b == b'=').unwrap_or(0);
            name_len > 0
                && rest[..name_len]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
        });
        assert!(
            line.starts_with(b"=== ") || var == Some(true),
            "forged line in debug.sh's log: {:?}",
            String::from_utf8_lossy(line)
        );
        assert!(
            !line.iter().any(|b| b.is_ascii_control()),
            "control byte: {line:?}"
        );
    }
    // The payload bytes are all there, escaped or as they are (not replaced by U+FFFD).
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains("=== 2026-01-01T00:00:00.000Z leases4_committed (pid 1)\\n"));
    assert!(
        log.windows(4).any(|w| w == [0xff, 0xfe, b'a', 0x80]),
        "raw bytes kept"
    );

    // Dry runs: only the commands, one per line.
    let dry = std::fs::read(&dry_log).unwrap_or_default();
    for line in dry.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(
            line.starts_with(b"ip ")
                || line.starts_with(b"nft ")
                || line.starts_with(b"routes.sh "),
            "unexpected line in the dry-run log: {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// A sync worker of `examples/` run as the hook runs it (`<script> worker`, the
/// environment exactly its settings plus `KEA_RUNSCRIPT_PROTOCOL=1`), fed event lines
/// one at a time; its stderr goes to a file for the assertions on what it logged.
struct Worker {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    stderr: PathBuf,
    seq: u64,
}

impl Worker {
    fn start(script: &str, dir: &Path, settings: &[(&str, &Path)]) -> Worker {
        use std::process::Stdio;
        let stderr = dir.join(format!("{script}.stderr"));
        let mut child = Command::new(repo().join("examples").join(script))
            .arg("worker")
            .env_clear()
            .env("KEA_RUNSCRIPT_PROTOCOL", "1")
            .envs(settings.iter().map(|(n, v)| (*n, v.as_os_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("start {script}: {e}"));
        Worker {
            stdin: child.stdin.take().unwrap(),
            stdout: std::io::BufReader::new(child.stdout.take().unwrap()),
            child,
            stderr,
            seq: 0,
        }
    }

    /// Sends one sync event (vars byte for byte, encoded as the hook encodes them) and
    /// returns the answer's fields besides `seq`, checked to be the answer to this event.
    fn ask(
        &mut self,
        hook_point: &str,
        vars: &[(&str, &[u8])],
    ) -> serde_json::Map<String, serde_json::Value> {
        use kea_runscript_env::surrogateescape::push_json_string;
        self.seq += 1;
        let mut line = format!(
            "{{\"v\":1,\"instance\":\"0123456789abcdef0123456789abcdef\",\"seq\":{},\
             \"hook_point\":\"{hook_point}\",\"replay\":false,\"reply\":\"verdict\",\"vars\":{{",
            self.seq
        )
        .into_bytes();
        for (i, (name, value)) in vars.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            push_json_string(&mut line, name.as_bytes());
            line.push(b':');
            push_json_string(&mut line, value);
        }
        line.extend_from_slice(b"}}\n");
        self.answer(&line)
    }

    /// Sends `line` (one event, with its newline, seq `self.seq`) and returns the answer's
    /// fields besides `seq`.
    fn answer(&mut self, line: &[u8]) -> serde_json::Map<String, serde_json::Value> {
        use std::io::{BufRead, Write};
        self.stdin.write_all(line).unwrap();
        self.stdin.flush().unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        assert!(
            answer.ends_with('\n'),
            "no answer to {}: worker ended ({:?}); stderr:\n{}",
            String::from_utf8_lossy(line),
            self.child.try_wait(),
            self.log()
        );
        let mut fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{answer:?}: {e}"));
        assert_eq!(
            fields.remove("seq"),
            Some(self.seq.into()),
            "answer {answer:?}"
        );
        fields
    }

    /// What the worker wrote to stderr so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Closes its stdin and asserts it ends normally, as at unload.
    fn finish(mut self) -> String {
        drop(self.stdin);
        let status = self.child.wait().unwrap();
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        assert!(status.success(), "worker ended with {status}:\n{log}");
        log
    }
}

/// The data the hook takes from `fields` at `hook_point`, asserting it takes all of it.
fn accepted(
    fields: &serde_json::Map<String, serde_json::Value>,
    hook_point: &str,
) -> kea_runscript_core::AnswerData {
    let mut problems = Vec::new();
    let data = kea_runscript_core::AnswerData::from_json(
        fields,
        hook_point.parse().unwrap(),
        &mut problems,
    );
    assert!(
        problems.is_empty(),
        "the hook refuses {fields:?}: {problems:?}"
    );
    data
}

/// The classes the classifier answers for a DHCPv4 query from `mac`.
fn classes4(worker: &mut Worker, mac: &str) -> Vec<String> {
    let fields = worker.ask("pkt4_receive", &[("QUERY4_HWADDR", mac.as_bytes())]);
    accepted(&fields, "pkt4_receive").classes
}

/// Replaces `path`'s content in place (a new size, so the worker's stamp changes even
/// within one tick of the file clock).
fn rewrite(path: &Path, text: impl AsRef<[u8]>) {
    let text = text.as_ref();
    let before = std::fs::metadata(path).map(|m| m.len()).ok();
    assert_ne!(
        before,
        Some(text.len() as u64),
        "same size: pad the new text"
    );
    std::fs::write(path, text).unwrap();
}

#[test]
fn classify_worker_answers_from_its_map_in_every_notation_and_reloads_it() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("class-map.csv");
    std::fs::write(
        &map,
        "# client, classes\n\
         AA-BB-CC-00-00-01,quarantine\n\
         \n\
         aabb.cc00.0002 , guest , printers\n\
         aabbcc000003,guest,guest\n\
         2:0:5e:0:53:4,quarantine\n\
         00:03:00:01:aa:bb:cc:00:00:05,v6.guest:x_y-z\n",
    )
    .unwrap();
    let mut w = Worker::start("classify-worker.py", dir.path(), &[("CLASS_MAP", &map)]);
    assert_eq!(classes4(&mut w, "aa:bb:cc:00:00:01"), ["quarantine"]);
    assert_eq!(classes4(&mut w, "aa:bb:cc:00:00:02"), ["guest", "printers"]);
    assert_eq!(
        classes4(&mut w, "aa:bb:cc:00:00:03"),
        ["guest"],
        "repeats dropped"
    );
    assert_eq!(classes4(&mut w, "02:00:5e:00:53:04"), ["quarantine"]);
    assert!(classes4(&mut w, "aa:bb:cc:00:00:99").is_empty(), "unlisted");
    // v6: the DUID first, else the client's MAC when Kea knows it.
    let duid = ("QUERY6_CLIENT_ID", &b"00:03:00:01:aa:bb:cc:00:00:05"[..]);
    let fields = w.ask("pkt6_receive", &[duid]);
    assert_eq!(
        accepted(&fields, "pkt6_receive").classes,
        ["v6.guest:x_y-z"]
    );
    let by_mac = [
        (
            "QUERY6_CLIENT_ID",
            &b"00:01:00:01:00:00:00:01:aa:bb:cc:00:00:77"[..],
        ),
        ("QUERY6_REMOTE_HWADDR", &b"aa:bb:cc:00:00:01"[..]),
    ];
    let fields = w.ask("pkt6_receive", &by_mac);
    assert_eq!(accepted(&fields, "pkt6_receive").classes, ["quarantine"]);
    // Lines in another form than the hook's (keys in another order, spaces): decoded
    // whole, answered alike; an upper-case identifier as Kea never prints one, too.
    for vars in [
        r#"{"QUERY4_HWADDR": "aa:bb:cc:00:00:01"}"#,
        r#"{"QUERY4_HWADDR":"AA:BB:CC:00:00:01"}"#,
    ] {
        for header in [
            "\"seq\": {seq}, \"hook_point\": \"pkt4_receive\", \"v\": 1",
            "\"v\":1,\"instance\":\"0\",\"seq\":{seq},\"hook_point\":\"pkt4_receive\"",
        ] {
            w.seq += 1;
            let header = header.replace("{seq}", &w.seq.to_string());
            let line = format!("{{{header},\"vars\":{vars}}}\n");
            let fields = w.answer(line.as_bytes());
            let classes = accepted(&fields, "pkt4_receive").classes;
            assert_eq!(classes, ["quarantine"], "{line}");
        }
    }
    // Elsewhere Kea would ignore classes: none are sent.
    let fields = w.ask("lease4_select", &[("QUERY4_HWADDR", b"aa:bb:cc:00:00:01")]);
    assert!(fields.is_empty(), "classes at lease4_select: {fields:?}");

    // The map changes to JSON: the next query already sees it.
    rewrite(
        &map,
        r#"{"aa:bb:cc:00:00:02": "quarantine", "AA:BB:CC:00:00:07": ["guest", "lab"]}"#,
    );
    assert_eq!(classes4(&mut w, "aa:bb:cc:00:00:02"), ["quarantine"]);
    assert_eq!(classes4(&mut w, "aa:bb:cc:00:00:07"), ["guest", "lab"]);
    assert!(
        classes4(&mut w, "aa:bb:cc:00:00:01").is_empty(),
        "no longer listed"
    );

    // Removed: nobody is listed; back: listed again.
    std::fs::remove_file(&map).unwrap();
    assert!(classes4(&mut w, "aa:bb:cc:00:00:02").is_empty());
    std::fs::write(&map, "aa:bb:cc:00:00:02,guest\n").unwrap();
    assert_eq!(classes4(&mut w, "aa:bb:cc:00:00:02"), ["guest"]);
    let log = w.finish();
    assert!(log.contains("5 entries loaded"), "{log}");
    assert!(log.contains("2 entries loaded"), "{log}");
    assert!(log.contains("does not exist"), "{log}");
}

#[test]
fn classify_worker_keeps_its_map_when_the_new_one_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let map = dir.path().join("class-map.json");
    std::fs::write(&map, r#"{"aa:bb:cc:00:00:01": "quarantine"}"#).unwrap();
    let mut w = Worker::start("classify-worker.py", dir.path(), &[("CLASS_MAP", &map)]);
    assert_eq!(classes4(&mut w, "aa:bb:cc:00:00:01"), ["quarantine"]);
    let c = canary.display();
    let bad = [
        (
            r#"{"aa:bb:cc:00:00:01": "quarantine""#.to_owned(),
            "not valid JSON",
        ),
        (r#"["aa:bb:cc:00:00:02"]"#.to_owned(), "not a MAC"), // not an object: read as CSV
        (
            r#"{"aa:bb:cc:00:00:02": "ALL"}"#.to_owned(),
            "assigns itself",
        ),
        (
            r#"{"aa:bb:cc:00:00:02": "VENDOR_CLASS_x"}"#.to_owned(),
            "assigns itself",
        ),
        (
            format!(r#"{{"aa:bb:cc:00:00:02": "$(touch {c})"}}"#),
            "refused",
        ),
        (r#"{"aa:bb:cc:00:00:02": "a b"}"#.to_owned(), "refused"),
        (r#"{"aa:bb:cc:00:00:02": ""}"#.to_owned(), "refused"),
        (
            format!(r#"{{"aa:bb:cc:00:00:02": "{}"}}"#, "c".repeat(129)),
            "refused",
        ),
        (r#"{"aa:bb:cc:00:00:02": []}"#.to_owned(), "1 to 32"),
        (r#"{"aa:bb:cc:00:00:02": 7}"#.to_owned(), "refused"),
        (
            r#"{"aa:bb:cc:00:00:02": "a", "AA-BB-CC-00-00-02": "b"}"#.to_owned(),
            "twice",
        ),
        (
            r#"{"aa:bb:cc:00:00:02": "a", "aa:bb:cc:00:00:02": "b"}"#.to_owned(),
            "twice",
        ),
        (r#"{"aa:bb:cc:0:0:2:": "a"}"#.to_owned(), "not a MAC"),
        (r#"{"aa:bb:cc:00:00:0g": "a"}"#.to_owned(), "not a MAC"),
        (r#"{"aabbc": "a"}"#.to_owned(), "not a MAC"),
        (format!(r#"{{"{}": "a"}}"#, "ab".repeat(131)), "not a MAC"),
        (
            "aa:bb:cc:00:00:02,good\n../../etc/passwd,bad\n".to_owned(),
            "line 2",
        ),
        (
            "aa:bb:cc:00:00:02,good\naa:bb:cc:00:00:03\n".to_owned(),
            "line 2",
        ),
        ("aa:bb:cc:00:00:02,\"unterminated\n".to_owned(), "line"),
        (
            format!("aa:bb:cc:00:00:02,{}\n", vec!["c"; 33].join(",")),
            "1 to 32",
        ),
    ];
    for (text, why) in &bad {
        // Padded at the end to a new size each time.
        let mut text = format!("{text} ");
        if Some(text.len() as u64) == std::fs::metadata(&map).map(|m| m.len()).ok() {
            text.push(' ');
        }
        rewrite(&map, text.as_bytes());
        assert_eq!(
            classes4(&mut w, "aa:bb:cc:00:00:01"),
            ["quarantine"],
            "the previous map after {text:?}"
        );
        assert!(classes4(&mut w, "aa:bb:cc:00:00:02").is_empty(), "{text:?}");
        assert!(
            w.log().contains(why),
            "{text:?}: no {why:?} in\n{}",
            w.log()
        );
    }
    // Bytes that are not UTF-8 in the file: refused the same way.
    rewrite(&map, b"aa:bb:cc:00:00:02,\xff\xfe\n");
    assert_eq!(classes4(&mut w, "aa:bb:cc:00:00:01"), ["quarantine"]);
    // A good map again is taken.
    rewrite(&map, "aa:bb:cc:00:00:02,quarantine,guest\n");
    assert_eq!(
        classes4(&mut w, "aa:bb:cc:00:00:02"),
        ["quarantine", "guest"]
    );
    assert!(classes4(&mut w, "aa:bb:cc:00:00:01").is_empty());
    let log = w.finish();
    assert!(!canary.exists());
    let refusals = log.matches("not loaded, keeping the 1 entries").count();
    assert_eq!(refusals, bad.len() + 1, "one line per bad version:\n{log}");
}

/// The host name and flags the names worker answers at `hook_point` for `vars`.
fn naming(
    worker: &mut Worker,
    hook_point: &str,
    vars: &[(&str, &[u8])],
) -> (Option<String>, Option<bool>, Option<bool>) {
    let fields = worker.ask(hook_point, vars);
    let data = accepted(&fields, hook_point);
    (data.hostname, data.fwd_update, data.rev_update)
}

fn name4(worker: &mut Worker, mac: &str) -> (Option<String>, Option<bool>, Option<bool>) {
    naming(
        worker,
        "ddns4_update",
        &[
            ("QUERY4_HWADDR", mac.as_bytes()),
            ("DDNS_HOSTNAME", b"kea-chose-this.example.com."),
            ("DDNS_FWD_UPDATE", b"true"),
            ("DDNS_REV_UPDATE", b"true"),
        ],
    )
}

#[test]
fn ddns_names_worker_names_listed_clients_and_leaves_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.csv");
    std::fs::write(
        &names,
        "aa:bb:cc:00:00:01,pc-1\n\
         aa:bb:cc:00:00:02,Printer.Example.ORG.,false,\n\
         aa:bb:cc:00:00:03,lab,yes,no\n\
         00:03:00:01:aa:bb:cc:00:00:04,cpe-4\n",
    )
    .unwrap();
    let domain = Path::new("example.org");
    let settings = [
        ("NAMES_FILE", names.as_path()),
        ("DOMAIN", domain),
        ("REV_UPDATE", Path::new("true")),
    ];
    let mut w = Worker::start("ddns-names-worker.py", dir.path(), &settings);
    let name = |s: &str| Some(s.to_owned());
    assert_eq!(
        name4(&mut w, "aa:bb:cc:00:00:01"),
        (name("pc-1.example.org."), None, Some(true))
    );
    assert_eq!(
        name4(&mut w, "aa:bb:cc:00:00:02"),
        (name("printer.example.org."), Some(false), Some(true)),
        "a trailing dot: no DOMAIN; the entry's flag wins, the setting fills in"
    );
    assert_eq!(
        name4(&mut w, "aa:bb:cc:00:00:03"),
        (name("lab.example.org."), Some(true), Some(false))
    );
    assert_eq!(
        name4(&mut w, "aa:bb:cc:00:00:09"),
        (None, None, None),
        "Kea's name stays"
    );
    let duid = ("QUERY6_CLIENT_ID", &b"00:03:00:01:aa:bb:cc:00:00:04"[..]);
    assert_eq!(
        naming(&mut w, "ddns6_update", &[duid]),
        (name("cpe-4.example.org."), None, Some(true))
    );
    // Not a naming hook point: nothing but the seq.
    let fields = w.ask("pkt4_receive", &[("QUERY4_HWADDR", b"aa:bb:cc:00:00:01")]);
    assert!(fields.is_empty(), "{fields:?}");

    rewrite(
        &names,
        r#"{"aa:bb:cc:00:00:09": {"hostname": "new", "fwd-update": true}, "aa:bb:cc:00:00:01": "pc-one.lan."}"#,
    );
    assert_eq!(
        name4(&mut w, "aa:bb:cc:00:00:09"),
        (name("new.example.org."), Some(true), Some(true))
    );
    assert_eq!(
        name4(&mut w, "aa:bb:cc:00:00:01"),
        (name("pc-one.lan."), None, Some(true))
    );
    assert_eq!(name4(&mut w, "aa:bb:cc:00:00:03"), (None, None, None));
    // A bad table (a flag that is no flag) keeps this one.
    rewrite(&names, "aa:bb:cc:00:00:03,lab,maybe\n");
    assert_eq!(
        name4(&mut w, "aa:bb:cc:00:00:09"),
        (name("new.example.org."), Some(true), Some(true))
    );
    assert_eq!(name4(&mut w, "aa:bb:cc:00:00:03"), (None, None, None));
    let log = w.finish();
    assert!(log.contains("true or false expected"), "{log}");
}

#[test]
fn ddns_names_worker_makes_hostile_names_valid_or_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let names = dir.path().join("names.json");
    // Each name through the table, alone: what is answered is a name the hook takes.
    let mut table = serde_json::Map::new();
    let hostile: Vec<String> = payloads(&canary)
        .into_iter()
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .chain([
            "-.-".to_owned(),
            "a..b".to_owned(),
            "x".repeat(64),
            format!("{}.", vec!["y".repeat(63); 4].join(".")),
            "pc\u{e9}-\u{4e2d}".to_owned(),
            "pc 1\tKEA_CLASS=ALL".to_owned(),
        ])
        .collect();
    for (i, raw) in hostile.iter().enumerate() {
        table.insert(format!("02:00:00:00:00:{i:02x}"), raw.clone().into());
    }
    let mut answered = 0;
    for (i, raw) in hostile.iter().enumerate() {
        // One entry a table, so one bad name does not hide the others.
        let one = serde_json::json!({ format!("02:00:00:00:00:{i:02x}"): raw });
        std::fs::write(&names, one.to_string()).unwrap();
        let mut w = Worker::start(
            "ddns-names-worker.py",
            dir.path(),
            &[("NAMES_FILE", &names)],
        );
        let mac = format!("02:00:00:00:00:{i:02x}");
        let (hostname, ..) = name4(&mut w, &mac);
        let log = w.finish();
        match hostname {
            Some(name) => {
                answered += 1;
                assert!(
                    name.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b == b'-'
                        || b == b'.'),
                    "{raw:?} -> {name:?}"
                );
            }
            None => assert!(
                log.contains("not loaded"),
                "{raw:?} neither named nor refused:\n{log}"
            ),
        }
    }
    assert!(!canary.exists(), "a name ran");
    // Most are made valid; only those with nothing left, or too long, are refused.
    assert!(
        answered >= hostile.len() - 3,
        "{answered} of {}",
        hostile.len()
    );
    // All in one table: a single refused name refuses the table.
    std::fs::write(&names, serde_json::Value::Object(table).to_string()).unwrap();
    let w = Worker::start(
        "ddns-names-worker.py",
        dir.path(),
        &[("NAMES_FILE", &names)],
    );
    let log = w.finish();
    assert!(log.contains("not loaded, keeping the 0 entries"), "{log}");
}

/// Hostile client identifiers (and every other variable of every hook point, with hostile
/// host names and interface names) reach both workers: each event gets its own answer and
/// nothing else, no listed client is matched by accident, nothing runs.
#[test]
fn workers_answer_hostile_events_with_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let map = dir.path().join("map.csv");
    std::fs::write(&map, "aa:bb:cc:00:00:01,quarantine\n").unwrap();
    let names = dir.path().join("names.csv");
    std::fs::write(&names, "aa:bb:cc:00:00:01,pc-1.example.org.\n").unwrap();
    let mut workers = [
        Worker::start("classify-worker.py", dir.path(), &[("CLASS_MAP", &map)]),
        Worker::start(
            "ddns-names-worker.py",
            dir.path(),
            &[("NAMES_FILE", &names)],
        ),
    ];
    let id_vars = ["QUERY4_HWADDR", "QUERY6_CLIENT_ID", "QUERY6_REMOTE_HWADDR"];
    let mut ids = payloads(&canary);
    ids.extend([
        b"aa:bb:cc:00:00:01\n".to_vec(),
        b"AA-BB-CC-00-00-01".to_vec(),
        b"aa:bb:cc:00:00:01:00".to_vec(),
        b"aa:bb:cc:00:00:01\0".to_vec(),
        vec![b'a'; 65536],
    ]);
    for w in &mut workers {
        for id in &ids {
            for point in [
                "pkt4_receive",
                "pkt6_receive",
                "ddns4_update",
                "ddns6_update",
            ] {
                for name in id_vars {
                    let fields = w.ask(point, &[(name, id.as_slice())]);
                    assert!(fields.is_empty(), "{point} {name}={id:?}: {fields:?}");
                }
            }
        }
        for payload in payloads(&canary) {
            for (hook, vars) in events(&payload) {
                let vars: Vec<(&str, &[u8])> = vars
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_encoded_bytes()))
                    .collect();
                w.ask(&hook, &vars);
            }
        }
    }
    for w in workers {
        w.finish();
    }
    assert!(!canary.exists(), "a payload ran");
}

/// `offer-check.sh` with a list of addresses in use: the answer line for a listed offered
/// address and nothing else, whatever the variables hold.
#[test]
fn offer_check_reports_listed_addresses_only() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let list = dir.path().join("in-use");
    std::fs::write(
        &list,
        "10.0.0.10 # the printer\n\n  10.0.0.1\n# 10.0.0.99\n",
    )
    .unwrap();
    let check = |vars: &[(&str, &str)]| -> Vec<u8> {
        let out = Command::new(repo().join("examples/offer-check.sh"))
            .arg("lease4_offer")
            .env_clear()
            .env("IN_USE_FILE", &list)
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success(), "{vars:?}: {}", out.status);
        out.stdout
    };
    let offer = |addr: &str| check(&[("LEASES4_SIZE", "1"), ("LEASES4_AT0_ADDRESS", addr)]);
    let in_use = b"KEA_ADDRESS_IN_USE=true\n".to_vec();
    assert_eq!(offer("10.0.0.10"), in_use);
    assert_eq!(offer("10.0.0.1"), in_use);
    for free in ["10.0.0.100", "10.0.0.11", "10.0.0.99", "10.0.0.1.5"] {
        assert!(offer(free).is_empty(), "{free}");
    }
    let c = canary.display();
    for hostile in [
        format!("10.0.0.10;touch {c}"),
        format!("$(touch {c})"),
        "10.0.0.10\nKEA_ADDRESS_IN_USE=true".to_owned(),
        "-c 9 10.0.0.10".to_owned(),
        "10.0.0.*".to_owned(),
        String::new(),
    ] {
        assert!(offer(&hostile).is_empty(), "{hostile:?}");
    }
    assert!(!canary.exists());
    // No lease (Kea reuses the client's): nothing to check.
    assert!(check(&[("LEASES4_SIZE", "0"), ("LEASES4_AT0_ADDRESS", "10.0.0.10")]).is_empty());
    // The client's own previous address: it may be the one answering.
    let own = [
        ("LEASES4_SIZE", "1"),
        ("LEASES4_AT0_ADDRESS", "10.0.0.10"),
        ("OLD_LEASE4_ADDRESS", "10.0.0.10"),
        ("OLD_LEASE4_HWADDR", "02:00:00:00:00:01"),
        ("QUERY4_HWADDR", "02:00:00:00:00:01"),
    ];
    assert!(check(&own).is_empty());
    let mut other = own;
    other[4].1 = "02:00:00:00:00:02";
    assert_eq!(check(&other), in_use);
    // What it prints is an answer the hook takes.
    let mut problems = Vec::new();
    let (data, rest) = kea_runscript_core::AnswerData::from_lines(
        &in_use,
        "lease4_offer".parse().unwrap(),
        &mut problems,
    );
    assert!(
        problems.is_empty() && rest.is_empty(),
        "{problems:?} {rest:?}"
    );
    assert_eq!(data.address_in_use, Some(true));
}
