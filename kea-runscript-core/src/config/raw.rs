//! The serde layer: the JSON shape of one script's parameters, with leaf types
//! whose errors read `expected …, got …`. Cross-field rules live in the parent module.

use std::collections::BTreeMap;
use std::fmt::Display;

use kea_runscript_env::{HookPoint, Profile};
use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

use super::account::Account;
use super::capability::CapabilitySet;
use crate::verdict::Verdict;

/// One script's parameters exactly as written (aliases kept apart so that giving
/// both spellings can be reported).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScript {
    pub name: Option<ScriptPath>,
    pub script: Option<ScriptPath>,
    pub sync: Option<Bool>,
    pub wait: Option<Bool>,
    #[serde(rename = "hook-points")]
    pub hook_points: Option<HookPoints>,
    #[serde(rename = "timeout-ms")]
    pub timeout_ms: Option<Positive>,
    #[serde(rename = "exit-codes")]
    pub exit_codes: Option<BTreeMap<ExitCode, Outcome>>,
    #[serde(rename = "on-timeout")]
    pub on_timeout: Option<Outcome>,
    #[serde(rename = "on-signal")]
    pub on_signal: Option<Outcome>,
    #[serde(rename = "max-in-flight")]
    pub max_in_flight: Option<Positive>,
    #[serde(rename = "max-queued")]
    pub max_queued: Option<Count>,
    pub overflow: Option<OverflowPolicy>,
    #[serde(rename = "merge-budget-bytes")]
    pub merge_budget_bytes: Option<Positive>,
    #[serde(rename = "block-ms")]
    pub block_ms: Option<Positive>,
    pub env: Option<BTreeMap<EnvName, EnvValue>>,
    pub variables: Option<Variables>,
    pub mode: Option<RunnerMode>,
    #[serde(rename = "log-output")]
    pub log_output: Option<Bool>,
    pub options: Option<OptionCodes>,
    pub expressions: Option<BTreeMap<ExpressionName, ExpressionText>>,
    pub classes: Option<Bool>,
    #[serde(rename = "user-contexts")]
    pub user_contexts: Option<Bool>,
    #[serde(rename = "host-reservation")]
    pub host_reservation: Option<Bool>,
    #[serde(rename = "replay-leases")]
    pub replay_leases: Option<Bool>,
    #[serde(rename = "trust-check")]
    pub trust_check: Option<Bool>,
    pub capabilities: Option<Capabilities>,
    pub user: Option<AccountSpec>,
    pub group: Option<AccountSpec>,
    pub limits: Option<RawLimits>,
    pub ha: Option<RawHa>,
}

/// A script's `"ha"` as written (see `super::ha`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHa {
    #[serde(rename = "partner-events")]
    pub partner_events: Option<Bool>,
    #[serde(rename = "expire-once")]
    pub expire_once: Option<Bool>,
    #[serde(rename = "sync-replay")]
    pub sync_replay: Option<Bool>,
}

/// kea-hook-runscript's own parameter keys: a map made only of these is written for it.
pub(super) const KEA_HOOK_RUNSCRIPT_KEYS: [&str; 2] = ["script", "wait"];

/// Whether `key` is one of [`RawScript`]'s keys, asked of serde itself so that no second
/// list can drift: every field is optional, so `{key: null}` parses exactly when `key`
/// is known.
pub(super) fn is_script_key(key: &str) -> bool {
    let probe = serde_json::Map::from_iter([(key.to_owned(), Value::Null)]);
    RawScript::deserialize(Value::Object(probe)).is_ok()
}

/// A JSON value as shown in messages: compact, cut when long.
pub(super) fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Reads any JSON value and converts it with `convert`; on failure the error is
/// `expected <expected>, got <value>`, or `convert`'s own message.
fn leaf<'de, D, T, E>(d: D, convert: impl FnOnce(&Value) -> Result<T, E>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: Display,
{
    let value = Value::deserialize(d)?;
    convert(&value).map_err(D::Error::custom)
}

fn expected(what: &str, got: &Value) -> String {
    format!("expected {what}, got {}", show(got))
}

/// An absolute script path (existence is checked at load, not here).
#[derive(Debug)]
pub(super) struct ScriptPath(pub String);

impl<'de> Deserialize<'de> for ScriptPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_str() {
            Some(s) if s.starts_with('/') && !s.contains('\0') => Ok(ScriptPath(s.to_owned())),
            _ => Err(expected("an absolute path (a string starting with '/')", v)),
        })
    }
}

/// `true` or `false`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bool(pub bool);

impl<'de> Deserialize<'de> for Bool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| {
            v.as_bool()
                .map(Bool)
                .ok_or_else(|| expected("true or false", v))
        })
    }
}

/// An integer ≥ 1 (fits u32).
#[derive(Debug, Clone, Copy)]
pub(super) struct Positive(pub u32);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_u64() {
            Some(n @ 1..=0xFFFF_FFFF) => Ok(Positive(n as u32)),
            _ => Err(expected("a positive integer", v)),
        })
    }
}

/// An integer ≥ 0 (fits u32).
#[derive(Debug, Clone, Copy)]
pub(super) struct Count(pub u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_u64() {
            Some(n @ 0..=0xFFFF_FFFF) => Ok(Count(n as u32)),
            _ => Err(expected("a non-negative integer", v)),
        })
    }
}

/// `"merge"`, `"block"` or `"drop"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OverflowPolicy {
    Merge,
    Block,
    Drop,
}

impl<'de> Deserialize<'de> for OverflowPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_str() {
            Some("merge") => Ok(OverflowPolicy::Merge),
            Some("block") => Ok(OverflowPolicy::Block),
            Some("drop") => Ok(OverflowPolicy::Drop),
            _ => Err(expected("\"merge\", \"block\" or \"drop\"", v)),
        })
    }
}

/// `"spawn"` or `"worker"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunnerMode {
    Spawn,
    Worker,
}

impl<'de> Deserialize<'de> for RunnerMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_str() {
            Some("spawn") => Ok(RunnerMode::Spawn),
            Some("worker") => Ok(RunnerMode::Worker),
            _ => Err(expected("\"spawn\" or \"worker\"", v)),
        })
    }
}

/// `"continue"`, `"skip"` or `"drop"`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outcome(pub Verdict);

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_str() {
            Some("continue") => Ok(Outcome(Verdict::Continue)),
            Some("skip") => Ok(Outcome(Verdict::Skip)),
            Some("drop") => Ok(Outcome(Verdict::Drop)),
            _ => Err(expected("\"continue\", \"skip\" or \"drop\"", v)),
        })
    }
}

/// An exit code as a JSON object key: decimal 0..=255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ExitCode(pub u8);

impl<'de> Deserialize<'de> for ExitCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_str() {
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
                .parse::<u8>()
                .map(ExitCode)
                .map_err(|_| expected("exit codes 0..255 as keys", v)),
            _ => Err(expected("exit codes 0..255 as keys", v)),
        })
    }
}

/// A non-empty list of distinct hook-point names.
#[derive(Debug)]
pub(super) struct HookPoints(pub Vec<HookPoint>);

impl<'de> Deserialize<'de> for HookPoints {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| {
            let items = match v.as_array() {
                Some(items) if !items.is_empty() => items,
                _ => return Err(expected("a non-empty list of hook-point names", v)),
            };
            let mut points = Vec::with_capacity(items.len());
            for item in items {
                let name = item
                    .as_str()
                    .ok_or_else(|| expected("hook-point names (strings)", item))?;
                let point: HookPoint = name.parse().map_err(|e| format!("{e}"))?;
                if points.contains(&point) {
                    return Err(format!("hook point \"{name}\" is listed twice"));
                }
                points.push(point);
            }
            Ok(HookPoints(points))
        })
    }
}

/// A variable profile name: `"kea"` or `"kea-hook-runscript"`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Variables(pub Profile);

impl<'de> Deserialize<'de> for Variables {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .map(Variables)
                .ok_or_else(|| expected("\"kea\" or \"kea-hook-runscript\"", v))
        })
    }
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct EnvName(pub String);

impl<'de> Deserialize<'de> for EnvName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| {
            let ok = v.as_str().filter(|s| {
                let mut bytes = s.bytes();
                bytes
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                    && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            ok.map(|s| EnvName(s.to_owned())).ok_or_else(|| {
                expected(
                    "variable names made of letters, digits and '_', not starting with a digit",
                    v,
                )
            })
        })
    }
}

/// An environment variable value: a string without NUL bytes.
#[derive(Debug, Clone)]
pub(super) struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_str() {
            Some(s) if !s.contains('\0') => Ok(EnvValue(s.to_owned())),
            _ => Err(expected("a string without NUL characters", v)),
        })
    }
}

/// A non-empty list of distinct option codes, 1..=65535 (the DHCPv4 bound, 254, is checked
/// once the server's family is known: [`super::Config::check_family`]).
#[derive(Debug)]
pub(super) struct OptionCodes(pub Vec<u16>);

impl<'de> Deserialize<'de> for OptionCodes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| {
            let items = match v.as_array() {
                Some(items) if !items.is_empty() => items,
                _ => return Err(expected("a non-empty list of option codes", v)),
            };
            let mut codes = Vec::with_capacity(items.len());
            for item in items {
                let code = match item.as_u64() {
                    Some(n @ 1..=0xFFFF) => n as u16,
                    _ => return Err(expected("option codes 1..65535", item)),
                };
                if codes.contains(&code) {
                    return Err(format!("option {code} is listed twice"));
                }
                codes.push(code);
            }
            Ok(OptionCodes(codes))
        })
    }
}

/// Name prefixes of the variables this library renders (Kea's hook's and its own
/// extensions): an expression may not take such a name, or a script could not tell
/// which value it got.
pub(super) const RESERVED_PREFIXES: &[&str] = &[
    "QUERY4",
    "QUERY6",
    "RESPONSE4",
    "RESPONSE6",
    "SUBNET4",
    "SUBNET6",
    "LEASE4",
    "LEASE6",
    "LEASES4",
    "LEASES6",
    "DELETED_LEASES4",
    "DELETED_LEASES6",
    "PKT4",
    "PKT6",
    "HOST4",
    "HOST6",
    "REMOVE_LEASE",
    "FAKE_ALLOCATION",
    "KEA",
];

/// The name of an expression's variable: `[A-Z_][A-Z0-9_]*`, outside [`RESERVED_PREFIXES`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ExpressionName(pub String);

impl<'de> Deserialize<'de> for ExpressionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| {
            let Some(name) = v.as_str().filter(|s| {
                let mut bytes = s.bytes();
                bytes
                    .next()
                    .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
                    && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            }) else {
                return Err(expected(
                    "variable names made of upper-case letters, digits and '_', not starting with a digit",
                    v,
                ));
            };
            let taken = RESERVED_PREFIXES.iter().find(|prefix| {
                name.strip_prefix(**prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
            });
            match taken {
                Some(prefix) => Err(format!(
                    "\"{name}\" is a name of the library's own variables ({prefix}*); choose another"
                )),
                None => Ok(ExpressionName(name.to_owned())),
            }
        })
    }
}

/// An expression in Kea's classification language: a non-empty string without NUL (its
/// syntax is checked by Kea's parser when the hook loads).
#[derive(Debug, Clone)]
pub(super) struct ExpressionText(pub String);

impl<'de> Deserialize<'de> for ExpressionText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_str() {
            Some(s) if !s.trim().is_empty() && !s.contains('\0') => {
                Ok(ExpressionText(s.to_owned()))
            }
            _ => Err(expected("an expression (a non-empty string)", v)),
        })
    }
}

/// A list of distinct capability names (`["CAP_NET_ADMIN"]`); empty means none.
#[derive(Debug)]
pub(super) struct Capabilities(pub CapabilitySet);

impl<'de> Deserialize<'de> for Capabilities {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| {
            let items = v
                .as_array()
                .ok_or_else(|| expected("a list of capability names", v))?;
            let mut set = CapabilitySet::EMPTY;
            for item in items {
                let name = item
                    .as_str()
                    .ok_or_else(|| expected("capability names (strings)", item))?;
                let cap = CapabilitySet::named(name).ok_or_else(|| {
                    format!(
                        "unknown capability {}; names are those of capabilities(7), \
                         e.g. \"CAP_NET_ADMIN\"",
                        show(item)
                    )
                })?;
                if cap.without(set).is_empty() {
                    return Err(format!("capability {} is listed twice", show(item)));
                }
                set = set.union(cap);
            }
            Ok(Capabilities(set))
        })
    }
}

/// A user or group: a name (`"nobody"`), or a numeric id as an integer (`65534`) or a
/// string of digits (`"65534"`). Whether it exists is checked at load.
#[derive(Debug)]
pub(super) struct AccountSpec(pub Account);

impl<'de> Deserialize<'de> for AccountSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| {
            let what = "a name or a numeric id";
            match v {
                Value::Number(n) => match n.as_u64() {
                    Some(id @ 0..=0xFFFF_FFFE) => Ok(Account::Id(id as u32)),
                    _ => Err(expected(what, v)),
                },
                Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
                    .parse::<u32>()
                    .ok()
                    .filter(|id| *id != u32::MAX)
                    .map(Account::Id)
                    .ok_or_else(|| expected(what, v)),
                Value::String(s)
                    if !s.is_empty()
                        && !s.contains(['\0', ':', '/', '\n'])
                        && !s.chars().any(char::is_whitespace) =>
                {
                    Ok(Account::Name(s.clone()))
                }
                _ => Err(expected(what, v)),
            }
            .map(AccountSpec)
        })
    }
}

/// `limits`: resource limits of the script's processes, each a positive integer.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    #[serde(rename = "cpu-seconds")]
    pub cpu_seconds: Option<Limit>,
    #[serde(rename = "address-space")]
    pub address_space: Option<Limit>,
    #[serde(rename = "open-files")]
    pub open_files: Option<Limit>,
    pub processes: Option<Limit>,
}

/// One resource limit: an integer ≥ 1 (below `RLIM_INFINITY`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Limit(pub u64);

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leaf(d, |v| match v.as_u64() {
            Some(n @ 1..=0x7FFF_FFFF_FFFF_FFFF) => Ok(Limit(n)),
            _ => Err(expected("a positive integer", v)),
        })
    }
}
