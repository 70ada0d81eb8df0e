//! Records left by fixtures/kea/dump-environ.sh: one file per call, argv[1] then the
//! environment exactly as the script was started with it (`/proc/$$/environ`: every entry in
//! execve's order, a name set twice twice, an entry without `=` as it is). Not `env -0` from
//! the shell: /bin/sh re-exports its own variable table, which reorders the entries, keeps
//! one of a name set twice, drops an entry without `=` and adds PWD.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use super::{wait_for, Scratch};

/// One script call: the hook point (argv[1]) and every environment variable.
#[derive(Clone, Debug)]
pub struct Record {
    /// The hook point (argv[1]).
    pub hook: String,
    /// The environment the script saw (lossily decoded, for messages and lookups; the first
    /// of a name set twice; see [`RawEnv::problems`] for what this view cannot show).
    pub vars: BTreeMap<String, String>,
    /// The same environment byte for byte and in order, for comparisons that must not be
    /// lossy.
    pub raw: RawEnv,
}

/// An environment as execve got it: every entry in order, byte for byte.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawEnv {
    /// (name, value) per entry; the value is None for an entry without `=` (then the name
    /// is the whole entry).
    pub entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl RawEnv {
    /// The environment block `NAME=value\0NAME=value\0…` (a trailing NUL or none).
    pub fn parse(block: &[u8]) -> RawEnv {
        let block = block.strip_suffix(&[0]).unwrap_or(block);
        if block.is_empty() {
            return RawEnv::default();
        }
        let entries = block
            .split(|&b| b == 0)
            .map(|entry| match entry.iter().position(|&b| b == b'=') {
                Some(eq) => (entry[..eq].to_vec(), Some(entry[eq + 1..].to_vec())),
                None => (entry.to_vec(), None),
            })
            .collect();
        RawEnv { entries }
    }

    /// The value of the first entry named `name`.
    pub fn get(&self, name: &[u8]) -> Option<&Vec<u8>> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The well-formed entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
        self.entries
            .iter()
            .filter_map(|(n, v)| Some((n, v.as_ref()?)))
    }

    /// The values of the well-formed entries in order.
    pub fn values(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.iter().map(|(_, v)| v)
    }

    /// The names of the well-formed entries in order.
    pub fn names(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.iter().map(|(n, _)| n)
    }

    /// Sets `name` to `value`: replaces the first entry of that name, else appends.
    pub fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = Some(value),
            None => self.entries.push((name, Some(value))),
        }
    }

    /// What makes this environment unfit for a comparison by name: a name set more than
    /// once, an entry without `=`, an empty name (escaped for messages).
    pub fn problems(&self) -> Vec<String> {
        let show = |b: &[u8]| b.escape_ascii().to_string();
        let mut seen = BTreeSet::new();
        let mut problems = Vec::new();
        for (name, value) in &self.entries {
            match value {
                None => problems.push(format!("entry without '=': {:?}", show(name))),
                Some(_) if name.is_empty() => problems.push("entry with an empty name".into()),
                Some(_) if !seen.insert(name) => {
                    problems.push(format!("variable set twice: {}", show(name)))
                }
                Some(_) => {}
            }
        }
        problems
    }
}

impl FromIterator<(Vec<u8>, Vec<u8>)> for RawEnv {
    fn from_iter<I: IntoIterator<Item = (Vec<u8>, Vec<u8>)>>(iter: I) -> RawEnv {
        RawEnv {
            entries: iter.into_iter().map(|(n, v)| (n, Some(v))).collect(),
        }
    }
}

impl Record {
    /// The variable's value; panics naming the record when it is missing.
    pub fn var(&self, name: &str) -> &str {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("{} record lacks {name}: {:#?}", self.hook, self.vars))
    }

    /// The variable's value, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Whether variable `name` is set to `value`.
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.get(name) == Some(value)
    }

    /// Asserts each (variable, value), naming the hook point and showing all variables.
    pub fn check(&self, expected: &[(&str, &str)]) {
        for (name, value) in expected {
            assert_eq!(
                self.var(name),
                *value,
                "{} {name}: {:#?}",
                self.hook,
                self.vars
            );
        }
    }
}

/// A directory with its own copy of dump.sh.
pub struct Dump {
    /// Where the records go.
    pub dir: PathBuf,
    /// The script to configure.
    pub script: PathBuf,
}

impl Dump {
    /// A copy of dump-environ.sh in `scratch`/`sub`.
    pub fn new(scratch: &Scratch, sub: &str) -> Dump {
        let (dir, script) = scratch.script_dir(sub, "dump-environ.sh");
        Dump { dir, script }
    }

    /// Every complete record so far, oldest file first.
    pub fn records(&self) -> Vec<Record> {
        read_records(&self.dir)
    }

    /// Polls until `done(records)` holds (Kea's hook and async mode run scripts in the
    /// background); returns the records either way, so the caller's assertion shows them.
    pub fn wait(&self, timeout: Duration, done: impl Fn(&[Record]) -> bool) -> Vec<Record> {
        wait_for(timeout, || {
            let records = self.records();
            done(&records).then_some(records)
        })
        .unwrap_or_else(|| self.records())
    }

    /// Waits for a record of `hook` matching `pred`, and returns it.
    pub fn wait_one(
        &self,
        hook: &str,
        timeout: Duration,
        pred: impl Fn(&Record) -> bool,
    ) -> Record {
        let records = self.wait(timeout, |rs| rs.iter().any(|r| r.hook == hook && pred(r)));
        records
            .iter()
            .find(|r| r.hook == hook && pred(r))
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "no matching {hook} record within {timeout:?}; hook points seen: {:?}",
                    records.iter().map(|r| r.hook.as_str()).collect::<Vec<_>>()
                )
            })
    }
}

fn read_records(dir: &Path) -> Vec<Record> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with("rec.") && !name.ends_with(".tmp")
                })
                .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter_map(|(_, path)| std::fs::read(path).ok())
        .map(|bytes| parse_record(&bytes))
        .collect()
}

/// One record: argv[1], a newline, then the environment block.
pub fn parse_record(bytes: &[u8]) -> Record {
    let (hook, env) = match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[][..]),
    };
    let raw = RawEnv::parse(env);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut vars = BTreeMap::new();
    for (name, value) in raw.iter() {
        vars.entry(text(name)).or_insert_with(|| text(value));
    }
    Record {
        hook: text(hook),
        vars,
        raw,
    }
}

/// The end of each record in the log of fixtures/kea/dump-environ-log.sh.
pub const LOG_END: &[u8] = b"\n@@END@@\n";

/// Every complete record of a log written by fixtures/kea/dump-environ-log.sh, in the order
/// the calls appended them (none if the log does not exist yet).
pub fn read_log(log: &Path) -> Vec<Record> {
    let bytes = std::fs::read(log).unwrap_or_default();
    let mut records = Vec::new();
    let mut rest = &bytes[..];
    while let Some(end) = rest.windows(LOG_END.len()).position(|w| w == LOG_END) {
        records.push(parse_record(&rest[..end]));
        rest = &rest[end + LOG_END.len()..];
    }
    records
}

/// Two dump scripts for an opt-in feature's test: `with` the feature's keys and `without`
/// them, so that a test sees what the keys add and that without them nothing is added.
pub fn with_and_without(scratch: &Scratch) -> (Dump, Dump) {
    (Dump::new(scratch, "with"), Dump::new(scratch, "without"))
}

/// Our library's hooks-libraries entry running both scripts at `points`; `with` also gets
/// the keys of `keys` (a JSON map, e.g. `{"classes": true}`).
pub fn with_and_without_hook(with: &Dump, without: &Dump, points: &[&str], keys: Value) -> Value {
    let mut with_keys = json!({"name": with.script, "hook-points": points});
    for (key, value) in keys.as_object().expect("the keys are a JSON map") {
        with_keys[key] = value.clone();
    }
    super::kea::hook(
        &super::our_library(),
        json!({"scripts": [with_keys, {"name": without.script, "hook-points": points}]}),
    )
}
