//! Configuration: the `parameters` JSON of the hooks-libraries entry, parsed and
//! validated into [`Config`]. Parsing ([`Config::parse`]) is pure; the checks of
//! the script files ([`Config::check_scripts`]) are the only I/O. [`Config::load`]
//! does both. The full reference is `docs/configuration.md`.

mod account;
mod capability;
mod check;
mod ha;
mod overflow;
mod raw;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kea_runscript_env::{HookPoint, Profile};
use serde_json::Value;

use crate::verdict::Verdict;
pub use account::Account;
pub use capability::CapabilitySet;
pub use ha::HaSettings;
pub use kea_runscript_spawn::{Ids, Privileges, Resource};
pub use overflow::{Overflow, OverflowSettings, DEFAULT_BLOCK, DEFAULT_MERGE_BUDGET_BYTES};
use raw::RawScript;

/// Default `timeout-ms` of a sync script.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_millis(2000);
/// Default `max-in-flight` of an async script.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;
/// Default `max-queued` of an async script.
pub const DEFAULT_MAX_QUEUED: usize = 1024;
/// Default `max-queued` of a worker: events held until the worker answers them.
pub const DEFAULT_WORKER_MAX_QUEUED: usize = 10_000;

/// A bad configuration: which parameter, and what is wrong with it.
/// Displays as one line: `parameter 'scripts[1].timeout-ms': expected a positive integer, got "fast"`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// Path of the parameter (`name`, `scripts[1].timeout-ms`, `exit-codes.3`);
    /// empty for the parameters map as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about parameter `path` (checks made outside core, e.g. Kea's parse of an
    /// expression, report through it too).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "parameters: {}", OneLine(&self.message))
        } else {
            write!(
                f,
                "parameter '{}': {}",
                OneLine(&self.path),
                OneLine(&self.message)
            )
        }
    }
}

/// Text shown with its control characters escaped (`\n`, `\u{1b}`): a key or value of
/// the configuration quoted in a message must not split the log line or forge another.
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The whole configuration: one or more scripts.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The scripts, in configuration order (sync scripts run in this order).
    pub scripts: Vec<ScriptConfig>,
}

/// One script and how it runs.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ScriptConfig {
    /// Absolute path of the executable (`name`, alias `script`).
    pub path: PathBuf,
    /// The variables it gets (`variables`; default: [`Profile::Kea`], or
    /// [`Profile::KeaHookRunscript`] when the parameters use only kea-hook-runscript's keys).
    pub variables: Profile,
    /// Hook points it runs at (`hook-points`; default: the profile's, Kea's 13 and
    /// `addr6_register` (which only Kea 3.0 calls), or kea-hook-runscript's 19).
    pub hook_points: Vec<HookPoint>,
    /// Kill the script after this long (`timeout-ms`); `None` = never (async default).
    pub timeout: Option<Duration>,
    /// Variables added to the rendered ones (`env`); rendered variables win on a clash.
    pub env: Vec<(String, String)>,
    /// Async or sync, with the mode's own settings.
    pub mode: Mode,
    /// A process per event, or one long-lived worker (`mode`).
    pub runner: RunnerKind,
    /// What happens to an async event when the bounds are full (`overflow`).
    pub overflow: OverflowSettings,
    /// Log each line the script writes to stderr, and for a spawned script also to
    /// stdout (`log-output`).
    pub log_output: bool,
    /// Where the script is in the configuration (`""` or `scripts[i]`), for messages.
    pub label: String,
    /// Option codes whose payloads the script gets (`options`), in configuration order.
    pub options: Vec<u16>,
    /// Kea expressions evaluated per packet (`expressions`): `(VARIABLE, expression)` in
    /// variable-name order; their values follow the rendered variables.
    pub expressions: Vec<(String, String)>,
    /// Whether the script gets the query's client classes (`classes`).
    pub classes: bool,
    /// Whether the script gets the user contexts of the subnet and leases (`user-contexts`).
    pub user_contexts: bool,
    /// Whether the script gets the client's host reservation (`host-reservation`).
    pub host_reservation: bool,
    /// Whether the script gets every active lease once after Kea (re)loads its configuration
    /// (`replay-leases`), at the `lease4_replay` / `lease6_replay` hook points.
    pub replay_leases: bool,
    /// How the script follows a Kea HA pair (`ha`); `None`: as a single server's script
    /// (no HA variables, no partner events, expiries as Kea reports them).
    pub ha: Option<HaSettings>,
    /// Whether load refuses a script that others than root or Kea's user could change
    /// (`trust-check`, default true; see `docs/configuration.md`).
    pub trust_check: bool,
    /// The script's processes get exactly these capabilities as ambient ones
    /// (`capabilities`); `None`: they inherit Kea's ambient set.
    pub capabilities: Option<CapabilitySet>,
    /// The user the script's processes run as (`user`); `None`: Kea's.
    pub user: Option<Account>,
    /// Their group (`group`); `None`: the user's primary group, or Kea's.
    pub group: Option<Account>,
    /// Their resource limits (`limits`), each as soft and hard limit.
    pub limits: Vec<(Resource, u64)>,
    /// `user`/`group` resolved at load ([`Config::resolve_accounts`]); `None` until then,
    /// and when neither is set.
    pub ids: Option<Ids>,
}

/// The address family of the Kea server the library is loaded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Family {
    /// `kea-dhcp4`.
    V4,
    /// `kea-dhcp6`.
    V6,
}

/// How a script runs.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Mode {
    /// `sync: false`: started and not waited for.
    Async(AsyncSettings),
    /// `sync: true`: waited for; its exit code becomes a verdict.
    Sync(SyncSettings),
}

/// How a script's processes run (the `mode` parameter).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunnerKind {
    /// `"spawn"` (default): a process per event. Its bounds are in [`Mode`].
    Spawn,
    /// `"worker"`: one long-lived process fed one JSON line per event (protocol v1).
    /// For a worker, `Mode::Async` carries no settings of its own (defaults).
    Worker(WorkerSettings),
}

/// Settings of a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerSettings {
    /// This many events waiting for the worker's answer (`max-queued`) fill its
    /// buffer; then the script's overflow policy applies to async events.
    pub max_queued: usize,
}

/// Bounds of an async script.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AsyncSettings {
    /// At most this many processes of this script at once (`max-in-flight`).
    pub max_in_flight: usize,
    /// Past that, this many waiting events (`max-queued`) fill the queue; then the
    /// script's overflow policy applies.
    pub max_queued: usize,
}

/// Verdict rules of a sync script.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncSettings {
    /// Exit code → verdict (`exit-codes`); always has 0 → continue unless overridden.
    pub exit_codes: BTreeMap<u8, Verdict>,
    /// Verdict when the script timed out (`on-timeout`).
    pub on_timeout: Verdict,
    /// Verdict when the script died by a signal (`on-signal`).
    pub on_signal: Verdict,
}

impl SyncSettings {
    /// The verdict for exit `code`; `None` when the map does not list it (the caller
    /// continues and logs the code).
    pub fn verdict_for(&self, code: i32) -> Option<Verdict> {
        u8::try_from(code)
            .ok()
            .and_then(|c| self.exit_codes.get(&c).copied())
    }
}

/// Converts a serde error raised at `prefix` (a script) into a [`ConfigError`].
fn serde_error(prefix: &str, err: serde_path_to_error::Error<serde_json::Error>) -> ConfigError {
    let inner = err.inner().to_string();
    let mut path = prefix.to_owned();
    let sub = err.path().to_string();
    if sub != "." {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&sub);
    }
    // serde's unknown-field message lists expected keys with backquotes; keep it, it
    // is the most helpful form ("unknown field `nmae`, expected one of `name`, ...").
    ConfigError::new(path, inner)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Config {
    /// Parses and validates the `parameters` JSON text, without touching the file
    /// system (see [`Config::check_scripts`]).
    ///
    /// ```
    /// use kea_runscript_core::config::{Config, Mode};
    ///
    /// let config = Config::parse(r#"{"name": "/usr/local/bin/dhcp-event", "sync": true}"#).unwrap();
    /// assert!(matches!(config.scripts[0].mode, Mode::Sync(_)));
    ///
    /// let err = Config::parse(r#"{"name": "/x", "timeout-ms": 0}"#).unwrap_err();
    /// assert_eq!(err.to_string(), "parameter 'timeout-ms': expected a positive integer, got 0");
    /// ```
    pub fn parse(parameters: &str) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_str(parameters)
            .map_err(|e| ConfigError::new("", format!("invalid JSON: {e}")))?;
        Config::from_value(value)
    }

    /// Like [`Config::parse`], from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Config, ConfigError> {
        let Value::Object(mut map) = value else {
            return Err(ConfigError::new(
                "",
                format!("expected a JSON object, got {}", raw::show(&value)),
            ));
        };
        let Some(scripts) = map.remove("scripts") else {
            // A map written for kea-hook-runscript (only its keys) gets its profile and its
            // defaults, so swapping the library path is all a migration needs.
            let written_for_it = !map.is_empty()
                && map
                    .keys()
                    .all(|k| raw::KEA_HOOK_RUNSCRIPT_KEYS.contains(&k.as_str()));
            let implied = if written_for_it {
                Profile::KeaHookRunscript
            } else {
                Profile::Kea
            };
            let script = parse_script("", Value::Object(map), implied)?;
            return Ok(Config {
                scripts: vec![script],
            });
        };
        if let Some(other) = map.keys().next() {
            let hint = if raw::is_script_key(other) {
                "not allowed next to 'scripts' (put it inside each script)"
            } else {
                "unknown parameter (next to 'scripts' nothing else is allowed)"
            };
            return Err(ConfigError::new(other.clone(), hint));
        }
        let Value::Array(items) = scripts else {
            return Err(ConfigError::new(
                "scripts",
                format!(
                    "expected a non-empty list of scripts, got {}",
                    raw::show(&scripts)
                ),
            ));
        };
        if items.is_empty() {
            return Err(ConfigError::new(
                "scripts",
                "expected a non-empty list of scripts, got []",
            ));
        }
        let scripts = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| parse_script(&format!("scripts[{i}]"), item, Profile::Kea))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config { scripts })
    }

    /// Checks every script file: the path is absolute, exists, is a regular file and
    /// is executable, and (unless its `trust-check` is false) neither the file nor a
    /// directory above it is writable by anyone but root or this process's user; a
    /// script with `user`/`group` (resolved: [`Config::resolve_accounts`]) must also be
    /// readable and executable by that user, in directories it can enter. The error
    /// names the failed check.
    pub fn check_scripts(&self) -> Result<(), ConfigError> {
        for script in &self.scripts {
            let name = || join(&script.label, "name");
            check::script_file(&script.path).map_err(|msg| ConfigError::new(name(), msg))?;
            if script.trust_check {
                check::trusted(&script.path, check::kea_uid())
                    .map_err(|msg| ConfigError::new(name(), msg))?;
            }
            if let Some(ids) = &script.ids {
                let who = match (&script.user, &script.group) {
                    (Some(user), _) => format!("user {user} (uid {})", ids.uid),
                    _ => format!(
                        "group {} (gid {})",
                        script
                            .group
                            .as_ref()
                            .map_or_else(String::new, ToString::to_string),
                        ids.gid
                    ),
                };
                account::check_access(&script.path, ids, &who)
                    .map_err(|msg| ConfigError::new(name(), msg))?;
            }
        }
        Ok(())
    }

    /// Resolves each script's `user` and `group` into ids (the user and group databases)
    /// and checks that Kea may switch to them (`CAP_SETUID`/`CAP_SETGID`) and set each of
    /// its `limits`. Idempotent. The error names the parameter (`user`, `group`,
    /// `limits.cpu-seconds`, …).
    pub fn resolve_accounts(&mut self) -> Result<(), ConfigError> {
        for script in &mut self.scripts {
            for &(resource, value) in &script.limits {
                account::check_limit(resource, value).map_err(|msg| {
                    ConfigError::new(
                        join(
                            &script.label,
                            &format!("limits.{}", account::limit_key(resource)),
                        ),
                        msg,
                    )
                })?;
            }
            if script.ids.is_some() || (script.user.is_none() && script.group.is_none()) {
                continue;
            }
            let ids = account::resolve(script.user.as_ref(), script.group.as_ref()).map_err(
                |(key, msg)| {
                    let key = match key {
                        account::Key::User => "user",
                        account::Key::Group => "group",
                    };
                    ConfigError::new(join(&script.label, key), msg)
                },
            )?;
            script.ids = Some(ids);
        }
        Ok(())
    }

    /// The checks that need the server's family: DHCPv4 option codes are 1..254 (0 and 255
    /// are pad and end, and codes are one byte).
    pub fn check_family(&self, family: Family) -> Result<(), ConfigError> {
        if family == Family::V6 {
            return Ok(());
        }
        for script in &self.scripts {
            if let Some((i, code)) = script
                .options
                .iter()
                .enumerate()
                .find(|(_, code)| !(1..=254).contains(*code))
            {
                return Err(ConfigError::new(
                    join(&script.label, &format!("options[{i}]")),
                    format!("{code} is not a DHCPv4 option code (1..254)"),
                ));
            }
        }
        Ok(())
    }

    /// True when some script has Kea expressions to evaluate.
    pub fn has_expressions(&self) -> bool {
        self.scripts.iter().any(|s| !s.expressions.is_empty())
    }

    /// Checks that this process (Kea) can hand each script the `capabilities` it asks
    /// for: each must be in Kea's permitted set (and its bounding or inheritable set). The
    /// error names what is missing and how to grant it.
    pub fn check_capabilities(&self) -> Result<(), ConfigError> {
        let Some(script) = self.scripts.iter().find(|s| s.capabilities.is_some()) else {
            return Ok(());
        };
        let path = join(&script.label, "capabilities");
        let held = kea_runscript_spawn::grantable_capabilities()
            .map(CapabilitySet::from_bits)
            .map_err(|e| ConfigError::new(path.clone(), format!("capget failed: {e}")))?;
        for script in &self.scripts {
            let Some(wanted) = script.capabilities else {
                continue;
            };
            let missing = wanted.without(held);
            if !missing.is_empty() {
                return Err(ConfigError::new(
                    join(&script.label, "capabilities"),
                    format!(
                        "Kea (uid {}) does not hold {missing} (its permitted capabilities: \
                         {held}), so it cannot give them to the script; grant them to Kea, \
                         with systemd a drop-in such as \
                         /etc/systemd/system/kea-dhcp4-server.service.d/kea-runscript.conf \
                         (kea-dhcp6-server for DHCPv6) with \"[Service]\" and \
                         \"AmbientCapabilities={missing}\" (and these in CapabilityBoundingSet= \
                         if the unit sets one), then systemctl daemon-reload and restart Kea; \
                         see docs/configuration.md",
                        check::kea_uid()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// [`Config::parse`], [`Config::resolve_accounts`], [`Config::check_scripts`] and
    /// [`Config::check_capabilities`]: what `load` does.
    pub fn load(parameters: &str) -> Result<Config, ConfigError> {
        let mut config = Config::parse(parameters)?;
        config.resolve_accounts()?;
        config.check_scripts()?;
        config.check_capabilities()?;
        Ok(config)
    }
}

/// Picks one of two alias spellings; both given is an error.
fn one_of<T>(
    prefix: &str,
    (key, value): (&str, Option<T>),
    (alias, alias_value): (&str, Option<T>),
) -> Result<Option<T>, ConfigError> {
    match (value, alias_value) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            join(prefix, alias),
            format!("'{key}' and its alias '{alias}' are both given; use one"),
        )),
        (value, alias_value) => Ok(value.or(alias_value)),
    }
}

/// Parses one script object found at `prefix` (`""` for the single-script form); `implied`
/// is its profile when it has no `variables` key.
fn parse_script(prefix: &str, value: Value, implied: Profile) -> Result<ScriptConfig, ConfigError> {
    if !value.is_object() {
        return Err(ConfigError::new(
            prefix,
            format!("expected a JSON object, got {}", raw::show(&value)),
        ));
    }
    let raw: RawScript =
        serde_path_to_error::deserialize(value).map_err(|e| serde_error(prefix, e))?;
    let path = one_of(prefix, ("name", raw.name), ("script", raw.script))?.ok_or_else(|| {
        ConfigError::new(
            join(prefix, "name"),
            "required: the absolute path of the script (alias 'script')",
        )
    })?;
    let variables = raw.variables.map_or(implied, |v| v.0);
    // kea-hook-runscript waits for its script unless told otherwise ("wait" defaults to true).
    let sync = one_of(prefix, ("sync", raw.sync), ("wait", raw.wait))?
        .map_or(variables == Profile::KeaHookRunscript, |b| b.0);
    let worker = raw.mode == Some(raw::RunnerMode::Worker);

    // Keys of the other mode are errors, not silently ignored.
    let misplaced: &[(&str, bool, &str)] = if worker {
        &[
            (
                "max-in-flight",
                raw.max_in_flight.is_some(),
                "mode: \"spawn\"",
            ),
            ("on-signal", raw.on_signal.is_some(), "mode: \"spawn\""),
            (
                "exit-codes",
                raw.exit_codes.is_some() && !sync,
                "sync: true",
            ),
            (
                "on-timeout",
                raw.on_timeout.is_some() && !sync,
                "sync: true",
            ),
            (
                "timeout-ms",
                raw.timeout_ms.is_some() && !sync,
                "sync: true (a worker has no run to time out)",
            ),
        ]
    } else if sync {
        &[
            ("max-in-flight", raw.max_in_flight.is_some(), "sync: false"),
            (
                "max-queued",
                raw.max_queued.is_some(),
                "sync: false or mode: \"worker\"",
            ),
        ]
    } else {
        &[
            ("exit-codes", raw.exit_codes.is_some(), "sync: true"),
            ("on-timeout", raw.on_timeout.is_some(), "sync: true"),
            ("on-signal", raw.on_signal.is_some(), "sync: true"),
        ]
    };
    if let Some((key, _, needs)) = misplaced.iter().find(|(_, given, _)| *given) {
        return Err(ConfigError::new(
            join(prefix, key),
            format!("only valid with {needs}"),
        ));
    }
    let overflow = overflow::parse((raw.overflow, raw.merge_budget_bytes, raw.block_ms), sync)
        .map_err(|(key, message)| ConfigError::new(join(prefix, key), message))?;
    let runner = if worker {
        let max_queued =
            match raw.max_queued {
                Some(n) if n.0 == 0 => return Err(ConfigError::new(
                    join(prefix, "max-queued"),
                    "expected a positive integer for a worker (events held until answered), got 0",
                )),
                Some(n) => n.0 as usize,
                None => DEFAULT_WORKER_MAX_QUEUED,
            };
        RunnerKind::Worker(WorkerSettings { max_queued })
    } else {
        RunnerKind::Spawn
    };

    let mode = if sync {
        let mut exit_codes = BTreeMap::from([(0u8, Verdict::Continue)]);
        if variables == Profile::KeaHookRunscript && raw.exit_codes.is_none() {
            // kea-hook-runscript ignores exit codes: every one continues, unlogged.
            exit_codes.extend((0..=u8::MAX).map(|code| (code, Verdict::Continue)));
        }
        for (code, outcome) in raw.exit_codes.unwrap_or_default() {
            exit_codes.insert(code.0, outcome.0);
        }
        Mode::Sync(SyncSettings {
            exit_codes,
            on_timeout: raw.on_timeout.map_or(Verdict::Continue, |o| o.0),
            on_signal: raw.on_signal.map_or(Verdict::Continue, |o| o.0),
        })
    } else {
        Mode::Async(AsyncSettings {
            max_in_flight: raw
                .max_in_flight
                .map_or(DEFAULT_MAX_IN_FLIGHT, |n| n.0 as usize),
            max_queued: match runner {
                RunnerKind::Spawn => raw.max_queued.map_or(DEFAULT_MAX_QUEUED, |n| n.0 as usize),
                RunnerKind::Worker(_) => DEFAULT_MAX_QUEUED,
            },
        })
    };
    let timeout = match raw.timeout_ms {
        Some(ms) => Some(Duration::from_millis(ms.0.into())),
        // kea-hook-runscript waits as long as its script runs.
        None if sync && variables == Profile::Kea => Some(DEFAULT_SYNC_TIMEOUT),
        None => None,
    };
    let mut hook_points = match raw.hook_points {
        Some(points) => points.0,
        None => variables.default_hook_points(),
    };
    if let Some(hp) = hook_points.iter().find(|hp| hp.is_replay()) {
        return Err(ConfigError::new(
            join(prefix, "hook-points"),
            format!("\"{hp}\" is chosen with \"replay-leases\": true, not listed"),
        ));
    }
    let replay_leases = raw.replay_leases.is_some_and(|b| b.0);
    if replay_leases {
        if variables != Profile::Kea {
            return Err(ConfigError::new(
                join(prefix, "replay-leases"),
                "needs \"variables\": \"kea\" (kea-hook-runscript has no replay)",
            ));
        }
        hook_points.extend([HookPoint::Lease4Replay, HookPoint::Lease6Replay]);
    }
    if let Some(hp) = hook_points.iter().find(|hp| !variables.serves(**hp)) {
        return Err(ConfigError::new(
            join(prefix, "hook-points"),
            format!(
                "\"{hp}\" has no {variables} variables (kea-hook-runscript has no such callout); \
                 run a second script with \"variables\": \"kea\" there"
            ),
        ));
    }
    if let Some(hp) = hook_points.iter().find(|hp| sync && !hp.allows_sync()) {
        return Err(ConfigError::new(
            join(prefix, "hook-points"),
            format!(
                "\"{hp}\" is async only (Kea ignores a verdict there, and a waiting callout \
                 would only hold up Kea{}); list it in a script without \"sync\": true",
                if *hp == HookPoint::CommandProcessed {
                    ": under High Availability it delays the partner's DHCP answers"
                } else {
                    ""
                }
            ),
        ));
    }
    let ha = raw.ha.map(ha::settings);
    if let Some(settings) = &ha {
        if variables != Profile::Kea {
            return Err(ConfigError::new(
                join(prefix, "ha"),
                "needs \"variables\": \"kea\" (kea-hook-runscript has no HA events)",
            ));
        }
        if settings.partner_events && sync {
            return Err(ConfigError::new(
                join(prefix, "ha.partner-events"),
                "only for async scripts: a partner's lease change reaches this server on \
                 HA's own threads, and a script waited for there would delay the partner's \
                 DHCP answers (set \"partner-events\": false, or run a second, async script)",
            ));
        }
    }
    let env = raw
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name.0, value.0))
        .collect::<Vec<(String, String)>>();
    let expressions: Vec<(String, String)> = raw
        .expressions
        .unwrap_or_default()
        .into_iter()
        .map(|(name, text)| (name.0, text.0))
        .collect();
    if let Some((name, _)) = expressions
        .iter()
        .find(|(name, _)| env.iter().any(|(set, _)| set == name))
    {
        return Err(ConfigError::new(
            join(prefix, &format!("expressions.{name}")),
            "also set in 'env'; use one",
        ));
    }
    Ok(ScriptConfig {
        path: PathBuf::from(path.0),
        variables,
        hook_points,
        timeout,
        env,
        mode,
        runner,
        overflow,
        log_output: raw.log_output.is_some_and(|b| b.0),
        label: prefix.to_owned(),
        options: raw.options.map_or_else(Vec::new, |o| o.0),
        expressions,
        classes: raw.classes.is_some_and(|b| b.0),
        user_contexts: raw.user_contexts.is_some_and(|b| b.0),
        host_reservation: raw.host_reservation.is_some_and(|b| b.0),
        replay_leases,
        ha,
        trust_check: !matches!(raw.trust_check, Some(raw::Bool(false))),
        capabilities: raw.capabilities.map(|c| c.0),
        user: raw.user.map(|u| u.0),
        group: raw.group.map(|g| g.0),
        limits: raw.limits.map_or_else(Vec::new, |l| {
            [
                (Resource::CpuSeconds, l.cpu_seconds),
                (Resource::AddressSpace, l.address_space),
                (Resource::OpenFiles, l.open_files),
                (Resource::Processes, l.processes),
            ]
            .into_iter()
            .filter_map(|(resource, limit)| limit.map(|l| (resource, l.0)))
            .collect()
        }),
        ids: None,
    })
}

impl ScriptConfig {
    /// What the launcher applies before `execve` (`user`, `group`, `limits`); `None`:
    /// Kea's credentials and limits. Unresolved accounts ([`Config::resolve_accounts`]
    /// not called) give no ids.
    pub fn privileges(&self) -> Option<Arc<Privileges>> {
        if self.ids.is_none() && self.limits.is_empty() {
            return None;
        }
        Some(Arc::new(Privileges::new(self.ids.clone(), &self.limits)))
    }

    /// True when the script gets variables of its own after its profile's (options by
    /// code, classes, user contexts, host reservation, expressions).
    pub fn has_additions(&self) -> bool {
        !self.options.is_empty() || self.extras().any() || !self.expressions.is_empty()
    }

    /// The opt-in data the script gets (`classes`, `user-contexts`, `host-reservation`,
    /// and the HA variables with `ha`).
    pub fn extras(&self) -> kea_runscript_env::Extras {
        kea_runscript_env::Extras::new(self.classes, self.user_contexts, self.host_reservation)
            .with_ha(self.ha.is_some())
    }

    /// A one-line summary for the load log.
    pub fn summary(&self) -> String {
        let points: Vec<&str> = self.hook_points.iter().map(|hp| hp.name()).collect();
        let timeout = self
            .timeout
            .map_or("none".to_owned(), |t| format!("{}ms", t.as_millis()));
        let mode = match (&self.mode, &self.runner) {
            (Mode::Async(_), RunnerKind::Worker(w)) => {
                format!("async worker max-queued={}", w.max_queued)
            }
            (Mode::Sync(s), RunnerKind::Worker(w)) => format!(
                "sync worker max-queued={} exit-codes={:?} on-timeout={:?}",
                w.max_queued, s.exit_codes, s.on_timeout
            ),
            (Mode::Async(a), RunnerKind::Spawn) => format!(
                "async max-in-flight={} max-queued={}",
                a.max_in_flight, a.max_queued
            ),
            (Mode::Sync(s), RunnerKind::Spawn) => {
                let every_code_continues = s.exit_codes.len() == 256
                    && s.exit_codes.values().all(|v| *v == Verdict::Continue);
                let codes = if every_code_continues {
                    "all continue".to_owned()
                } else {
                    format!("{:?}", s.exit_codes)
                };
                format!(
                    "sync exit-codes={codes} on-timeout={:?} on-signal={:?}",
                    s.on_timeout, s.on_signal
                )
            }
        };
        let mode = match &self.mode {
            Mode::Async(_) => format!("{mode} {}", self.overflow.summary()),
            Mode::Sync(_) => mode,
        };
        format!(
            "script {} ({mode}, timeout={timeout}, variables={}, {} extra variables, options {:?}, \
             {} expressions, classes={}, user-contexts={}, host-reservation={}, capabilities={}) \
             at hook points: {}",
            self.path.display(),
            self.variables,
            self.env.len(),
            self.options,
            self.expressions.len(),
            self.classes,
            self.user_contexts,
            self.host_reservation,
            self.capabilities
                .map_or_else(|| "Kea's ambient set".to_owned(), |c| c.to_string()),
            points.join(", ")
        ) + &self.privileges_summary()
    }

    /// `; runs as uid … gid … groups […]; limits …` when `user`/`group`/`limits` are set.
    fn privileges_summary(&self) -> String {
        let mut text = String::new();
        if let Some(ids) = &self.ids {
            text += &format!(
                "; runs as uid {} gid {} groups {:?}",
                ids.uid, ids.gid, ids.groups
            );
        }
        if !self.limits.is_empty() {
            let limits: Vec<String> = self
                .limits
                .iter()
                .map(|(r, v)| format!("{}={v}", account::limit_key(*r)))
                .collect();
            text += &format!("; limits {}", limits.join(" "));
        }
        text
    }
}

#[cfg(test)]
mod tests;
