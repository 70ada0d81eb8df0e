//! This server's place in its HA pair: the pair's configuration (from Kea's own
//! `config-get` answer) and this server's HA state (from an `ha-heartbeat` answer), and
//! which server of the pair reports a lease's expiry.
//!
//! The rule (`docs/configuration.md`, "HA pairs"): the server that serves the lease's
//! client in the current state reports it. HA says which scopes a server serves
//! (`scopes` in its heartbeat answer):
//! - hot-standby and passive-backup: the scope is the primary's; the primary reports while
//!   it serves (hot-standby, partner-down, …), the standby once it serves the primary's
//!   scope (partner-down); a server that serves nothing (waiting, syncing, ready, backup)
//!   reports nothing;
//! - load-balancing: the lease's scope is the server its client hashes to (RFC 3074 over
//!   the client id, else the hardware address; DHCPv6: the DUID); each server reports the
//!   leases of the scopes it serves: its own normally, both in partner-down.
//!
//! When that cannot be known (no HA state, a lease without a client identity), the
//! server reports it: an expiry reported twice is a duplicate a script can see (the same
//! `LEASE4_CHANGE_ID` on both), one never reported is lost.

use kea_runscript_env::{Lease4, Lease6};
use serde_json::Value;

use super::rfc3074;

/// No `libdhcp_ha.so` among the hook libraries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoHa;

/// Whether a hook library's path is HA's.
fn is_ha_library(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|file| file.starts_with("libdhcp_ha."))
}

/// HA's mode for the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// `hot-standby`: the primary serves, the standby takes over.
    HotStandby,
    /// `load-balancing`: both serve, clients split by hash.
    LoadBalancing,
    /// `passive-backup`: the primary serves, backups only receive its leases.
    PassiveBackup,
}

/// The pair as configured on this server (`libdhcp_ha.so`'s first relationship).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    /// `this-server-name`.
    pub this: String,
    /// The mode.
    pub mode: Mode,
    /// The primary's name (the load-balancing hash's server 0).
    pub primary: String,
    /// The secondary's (load-balancing) or standby's name, if any.
    pub secondary: Option<String>,
    /// How long HA may take to see its partner gone: `max-response-delay` plus one
    /// `heartbeat-delay` (HA's defaults: 60 s and 10 s). Meanwhile this server does not
    /// yet serve the partner's scope, and expiries of it are held (see
    /// [`Pair::detection`]).
    pub detection: std::time::Duration,
}

impl Pair {
    /// The pair in a `config-get` answer (`{"arguments": {"Dhcp4": {…}}, "result": 0}`, or
    /// the server configuration itself): the parameters of the `hooks-libraries` entry
    /// whose library is `libdhcp_ha.so`. `None` without HA.
    pub fn from_config(config: &Value) -> Option<Pair> {
        let root = config.get("arguments").unwrap_or(config);
        let server = root.get("Dhcp4").or_else(|| root.get("Dhcp6"))?;
        let ha = server
            .get("hooks-libraries")?
            .as_array()?
            .iter()
            .find(|lib| {
                lib.get("library")
                    .and_then(Value::as_str)
                    .is_some_and(is_ha_library)
            })?;
        Pair::from_parameters(ha.get("parameters")?)
    }

    /// The pair in `libdhcp_ha.so`'s `parameters` (its first relationship).
    pub fn from_parameters(parameters: &Value) -> Option<Pair> {
        let ha = parameters.pointer("/high-availability/0")?;
        let this = ha.get("this-server-name")?.as_str()?.to_owned();
        let mode = match ha.get("mode")?.as_str()? {
            "hot-standby" => Mode::HotStandby,
            "load-balancing" => Mode::LoadBalancing,
            "passive-backup" => Mode::PassiveBackup,
            _ => return None,
        };
        let peers = ha.get("peers")?.as_array()?;
        let named = |role: &str| {
            peers
                .iter()
                .find(|p| p.get("role").and_then(Value::as_str) == Some(role))
                .and_then(|p| p.get("name")?.as_str())
                .map(str::to_owned)
        };
        let ms = |key: &str, default: u64| ha.get(key).and_then(Value::as_u64).unwrap_or(default);
        Some(Pair {
            this,
            mode,
            primary: named("primary")?,
            secondary: named("secondary").or_else(|| named("standby")),
            detection: std::time::Duration::from_millis(
                ms("max-response-delay", 60_000) + ms("heartbeat-delay", 10_000),
            ),
        })
    }

    /// The pair among a configuration's hook libraries, `(path, parameters as JSON text)`:
    /// `Err` when no library is HA's (a script with `"ha"` then runs as on a single
    /// server), `Ok(None)` when HA's parameters give no pair this code knows.
    pub fn from_libraries(libraries: &[(String, String)]) -> Result<Option<Pair>, NoHa> {
        let (_, parameters) = libraries
            .iter()
            .find(|(path, _)| is_ha_library(path))
            .ok_or(NoHa)?;
        Ok(serde_json::from_str(parameters)
            .ok()
            .and_then(|p: Value| Pair::from_parameters(&p)))
    }

    /// [`Pair::from_config`] of JSON text.
    pub fn from_config_json(text: &str) -> Option<Pair> {
        Pair::from_config(&serde_json::from_str(text).ok()?)
    }

    /// The partner's name: the other of primary and secondary/standby (for a backup
    /// server, the primary).
    pub fn partner(&self) -> Option<&str> {
        if self.this == self.primary {
            self.secondary.as_deref()
        } else {
            Some(&self.primary)
        }
    }
}

/// This server's HA state, as its `ha-heartbeat` answer gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// `state`: `hot-standby`, `load-balancing`, `partner-down`, `waiting`, `syncing`,
    /// `ready`, ….
    pub name: String,
    /// `scopes`: the servers whose clients this server serves now.
    pub scopes: Vec<String>,
}

impl State {
    /// The state in an `ha-heartbeat` answer (`{"arguments": {"state": …, "scopes": […]},
    /// "result": 0}`); `None` when it is not one.
    pub fn from_heartbeat(answer: &Value) -> Option<State> {
        if answer.get("result").and_then(Value::as_i64) != Some(0) {
            return None;
        }
        let arguments = answer.get("arguments")?;
        Some(State {
            name: arguments.get("state")?.as_str()?.to_owned(),
            scopes: arguments
                .get("scopes")?
                .as_array()?
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
        })
    }

    /// [`State::from_heartbeat`] of JSON text.
    pub fn from_heartbeat_json(text: &str) -> Option<State> {
        State::from_heartbeat(&serde_json::from_str(text).ok()?)
    }

    /// True in the states in which this server does not serve, syncs or waits to (after
    /// them, it may have received leases by a sync that no event told of).
    pub fn is_before_sync(&self) -> bool {
        matches!(self.name.as_str(), "waiting" | "syncing" | "ready")
    }
}

/// The identifier HA hashes for the client of the lease of an expiry event (`lease4` or
/// `lease6`).
pub fn client_key(event: &kea_runscript_env::Event) -> Option<&[u8]> {
    match (&event.lease4, &event.lease6) {
        (Some(lease), _) => client_key4(lease),
        (_, Some(lease)) => client_key6(lease),
        _ => None,
    }
}

/// The identifier HA hashes for a DHCPv4 lease's client: the client id, else the
/// hardware address.
pub fn client_key4(lease: &Lease4) -> Option<&[u8]> {
    lease
        .client_id
        .as_ref()
        .map(|c| &c.0[..])
        .filter(|c| !c.is_empty())
        .or_else(|| lease.hwaddr.as_ref().map(|h| &h.bytes[..]))
        .filter(|k| !k.is_empty())
}

/// The identifier HA hashes for a DHCPv6 lease's client: the DUID.
pub fn client_key6(lease: &Lease6) -> Option<&[u8]> {
    lease
        .duid
        .as_ref()
        .map(|d| &d.0[..])
        .filter(|k| !k.is_empty())
}

/// Whether this server reports the expiry of a lease whose client has identifier
/// `client` (see the module documentation).
pub fn responsible(pair: &Pair, state: Option<&State>, client: Option<&[u8]>) -> bool {
    let Some(state) = state else {
        return true;
    };
    let serves = |name: &str| state.scopes.iter().any(|s| s == name);
    match pair.mode {
        Mode::HotStandby | Mode::PassiveBackup => serves(&pair.primary),
        Mode::LoadBalancing => {
            let Some(client) = client else {
                return true;
            };
            let scope = match (rfc3074::hash(client) % 2, &pair.secondary) {
                (1, Some(secondary)) => secondary,
                _ => &pair.primary,
            };
            serves(scope)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(mode: &str, this: &str, role2: &str) -> Value {
        json!({"arguments": {"Dhcp4": {"hooks-libraries": [
            {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"},
            {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so", "parameters": {
                "high-availability": [{"this-server-name": this, "mode": mode, "peers": [
                    {"name": "s1", "role": "primary", "url": "http://192.0.2.1:8001/"},
                    {"name": "s2", "role": role2, "url": "http://192.0.2.3:8002/"}]}]}}]}},
            "result": 0})
    }

    fn state(name: &str, scopes: &[&str]) -> State {
        State::from_heartbeat(&json!({"result": 0, "text": "HA peer status returned.",
            "arguments": {"state": name, "scopes": scopes, "date-time": "x", "unsent-update-count": 0}}))
        .unwrap()
    }

    #[test]
    fn the_pair_is_read_from_config_get() {
        let pair = Pair::from_config(&config("hot-standby", "s2", "standby")).unwrap();
        assert_eq!(pair.this, "s2");
        assert_eq!(pair.mode, Mode::HotStandby);
        assert_eq!(pair.partner(), Some("s1"));
        assert_eq!(
            pair.detection,
            std::time::Duration::from_secs(70),
            "HA's defaults"
        );
        let lb = Pair::from_config(&config("load-balancing", "s1", "secondary")).unwrap();
        assert_eq!(lb.partner(), Some("s2"));
        assert_eq!(
            Pair::from_config(&json!({"arguments": {"Dhcp4": {}}})),
            None
        );
    }

    #[test]
    fn hot_standby_the_server_serving_the_primarys_scope_reports() {
        let pair = Pair::from_config(&config("hot-standby", "s1", "standby")).unwrap();
        assert!(responsible(
            &pair,
            Some(&state("hot-standby", &["s1"])),
            None
        ));
        assert!(!responsible(&pair, Some(&state("hot-standby", &[])), None));
        assert!(responsible(
            &pair,
            Some(&state("partner-down", &["s1"])),
            None
        ));
        assert!(!responsible(&pair, Some(&state("waiting", &[])), None));
        assert!(responsible(&pair, None, None), "unknown state: reported");
    }

    #[test]
    fn load_balancing_the_lease_goes_to_its_hash_scope() {
        let pair = Pair::from_config(&config("load-balancing", "s1", "secondary")).unwrap();
        // Find a client of each scope.
        let of = |scope: u8| {
            (0u8..=255)
                .map(|b| vec![1, 0, 0x0c, b])
                .find(|k| rfc3074::hash(k) % 2 == scope)
                .unwrap()
        };
        let (mine, theirs) = (of(0), of(1));
        let normal = state("load-balancing", &["s1"]);
        assert!(responsible(&pair, Some(&normal), Some(&mine)));
        assert!(!responsible(&pair, Some(&normal), Some(&theirs)));
        let down = state("partner-down", &["s1", "s2"]);
        assert!(responsible(&pair, Some(&down), Some(&theirs)));
        assert!(
            responsible(&pair, Some(&normal), None),
            "no identity: reported"
        );
    }

    #[test]
    fn a_heartbeat_that_is_not_one_gives_no_state() {
        assert_eq!(
            State::from_heartbeat(&json!({"result": 1, "text": "no"})),
            None
        );
        assert!(state("syncing", &[]).is_before_sync());
        assert!(!state("hot-standby", &["s1"]).is_before_sync());
    }
}
