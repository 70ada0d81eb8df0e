//! Records left by fixtures/kea/dump.sh: one file per call, argv[1] then the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use super::{wait_for, Scratch};

/// One script call: the hook point (argv[1]) and every environment variable.
#[derive(Clone, Debug)]
pub struct Record {
    /// The hook point (argv[1]).
    pub hook: String,
    /// The environment the script saw (lossily decoded, for messages and lookups).
    pub vars: BTreeMap<String, String>,
    /// The same environment byte for byte, for comparisons that must not be lossy.
    pub raw: BTreeMap<Vec<u8>, Vec<u8>>,
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
    /// A copy of dump.sh in `scratch`/`sub`.
    pub fn new(scratch: &Scratch, sub: &str) -> Dump {
        let (dir, script) = scratch.script_dir(sub, "dump.sh");
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

fn parse_record(bytes: &[u8]) -> Record {
    let (hook, env) = match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[][..]),
    };
    let raw: BTreeMap<Vec<u8>, Vec<u8>> = env
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let eq = entry.iter().position(|&b| b == b'=')?;
            Some((entry[..eq].to_vec(), entry[eq + 1..].to_vec()))
        })
        .collect();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Record {
        hook: text(hook),
        vars: raw.iter().map(|(k, v)| (text(k), text(v))).collect(),
        raw,
    }
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
