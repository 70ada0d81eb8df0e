//! The lease changes a lease command (`libdhcp_lease_cmds.so`) applied on this server, as
//! events: what an HA partner replicates (`lease4-update`, `lease4-del`,
//! `lease6-bulk-apply`, `lease6-update`, `lease6-del`), and the same commands from the
//! control channel. Kea fires no lease callout for them, so this is the only way a
//! server's scripts hear of them.
//!
//! Only changes the command's answer says were applied become events: result 0 for a
//! single lease; for `lease6-bulk-apply`, each lease not listed in the answer's
//! `failed-leases` / `failed-deleted-leases` (its result is 0 when at least one lease was
//! applied). A lease added or updated is a `leases4_committed` / `leases6_committed`
//! event with that one lease (and no deleted lease); a deleted one is a `lease4_release` /
//! `lease6_release` event. So is one added or updated in the state `released` (3): Kea 3.0
//! keeps a released lease for lease affinity in that state, and its HA sends it to the
//! partner as an update (see [`RELEASED`]).

use std::collections::HashSet;

use kea_runscript_env::{
    Event, HookPoint, KeaJsonError, KeaVersion, Lease4, Lease6, LeaseState, LeaseType, Origin,
};
use serde_json::Value;

/// Kea's `Lease::STATE_RELEASED` (3, Kea 2.7.0 and later): a lease its client released,
/// kept (expired) for lease affinity instead of deleted. Kea 3.0's HA sends such a lease
/// to the partner as an update (`lease4-update`, or among `lease6-bulk-apply`'s `leases`),
/// where Kea 2.2 and 2.6 send a delete: on the primary it is a deleted lease (in
/// `leases4_committed` / `leases6_committed`), so here it is a removal too, never a commit.
pub const RELEASED: LeaseState = LeaseState::Other(3);

/// A lease command's name that may change leases here (others are never read).
pub fn is_lease_command(name: &[u8]) -> bool {
    matches!(
        name,
        b"lease4-add"
            | b"lease4-update"
            | b"lease4-del"
            | b"lease6-add"
            | b"lease6-update"
            | b"lease6-del"
            | b"lease6-bulk-apply"
    )
}

/// Where a lease command came from. Kea 2.6 and later mark every command HA sends with
/// `"origin": "ha-partner"`, so that marker decides there. Kea 2.2 has no marker, but its
/// HA commands arrive on HA's own HTTP listener threads, while the control channel's run on
/// Kea's main thread: a command off the main thread is the partner's (on 2.2 a partner
/// reached through `kea-ctrl-agent` is seen as a command).
pub fn origin(kea: KeaVersion, arguments: Option<&Value>, on_main_thread: bool) -> Origin {
    let marked = arguments
        .and_then(|a| a.get("origin"))
        .and_then(Value::as_str)
        == Some("ha-partner");
    let partner = if kea >= KeaVersion::from_hooks_version(20600) {
        marked
    } else {
        marked || !on_main_thread
    };
    if partner {
        Origin::Partner
    } else {
        Origin::Command
    }
}

/// [`applied`] for a command whose arguments and answer are JSON text (as Kea's
/// `command_processed` passes them), its origin found by [`origin`]; an answer that is
/// not JSON applied nothing.
pub fn applied_json(
    name: &[u8],
    arguments: Option<&str>,
    response: &str,
    (kea, on_main_thread): (KeaVersion, bool),
    partner: Option<&str>,
    stored: Stored<'_>,
) -> (Vec<Event>, Vec<String>) {
    let arguments: Option<Value> = arguments.and_then(|a| serde_json::from_str(a).ok());
    let Ok(response) = serde_json::from_str::<Value>(response) else {
        return (Vec::new(), Vec::new());
    };
    let origin = origin(kea, arguments.as_ref(), on_main_thread);
    applied(name, arguments.as_ref(), &response, origin, partner, stored)
}

/// Asks Kea for a lease as stored: called with a `lease4-get` / `lease6-get` command (JSON
/// text), returns Kea's answer (JSON text). For an added or updated lease whose command
/// did not carry it whole (an operator's `lease4-add` without `expire`: Kea fills in the
/// time and the subnet's lifetime); HA's commands always carry it whole.
pub type Stored<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The lease changes command `name` applied, one event each, in the command's order, with
/// `origin` and the `partner`'s name; and the leases that could not be read (reported,
/// never guessed). Nothing when the command applied nothing.
pub fn applied(
    name: &[u8],
    arguments: Option<&Value>,
    response: &Value,
    origin: Origin,
    partner: Option<&str>,
    stored: Stored<'_>,
) -> (Vec<Event>, Vec<String>) {
    let mut out = Changes {
        events: Vec::new(),
        errors: Vec::new(),
        origin,
        partner,
        stored,
    };
    let result = response.get("result").and_then(Value::as_i64);
    let Some(arguments) = arguments.filter(|_| result == Some(0)) else {
        return (out.events, out.errors);
    };
    match name {
        b"lease4-add" | b"lease4-update" => out.commit::<Lease4>(arguments),
        b"lease4-del" => out.remove::<Lease4>(arguments),
        b"lease6-add" | b"lease6-update" => out.commit::<Lease6>(arguments),
        b"lease6-del" => out.remove::<Lease6>(arguments),
        b"lease6-bulk-apply" => {
            let failed = |key: &str| -> HashSet<(String, String)> {
                response
                    .pointer(&format!("/arguments/{key}"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|f| (text(f, "ip-address"), text(f, "type")))
                    .collect()
            };
            let (failed, failed_deleted) =
                (failed("failed-leases"), failed("failed-deleted-leases"));
            let list = |key: &str| {
                arguments
                    .get(key)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            for lease in list("leases") {
                if !failed.contains(&bulk_key(&lease)) {
                    out.commit::<Lease6>(&lease);
                }
            }
            for lease in list("deleted-leases") {
                if !failed_deleted.contains(&bulk_key(&lease)) {
                    out.remove::<Lease6>(&lease);
                }
            }
        }
        _ => {}
    }
    (out.events, out.errors)
}

/// A string field, or empty.
fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// How lease_cmds names a lease in its failure lists: address and type (`IA_NA` when
/// the lease does not say).
fn bulk_key(lease: &Value) -> (String, String) {
    let kind = match text(lease, "type") {
        t if t.is_empty() => "IA_NA".to_owned(),
        t => t,
    };
    (text(lease, "ip-address"), kind)
}

/// The events being made.
struct Changes<'a> {
    events: Vec<Event>,
    errors: Vec<String>,
    origin: Origin,
    partner: Option<&'a str>,
    stored: Stored<'a>,
}

impl Changes<'_> {
    fn push(&mut self, mut event: Event) {
        event.origin = Some(self.origin);
        event.partner = self.partner.map(str::to_owned);
        self.events.push(event);
    }

    /// The lease as Kea stored it, asked with `get` (`lease4-get` / `lease6-get`) by the
    /// command's address (and type).
    fn stored_lease(&self, get: &str, lease: &Value) -> Option<Value> {
        let mut arguments = serde_json::json!({"ip-address": text(lease, "ip-address")});
        if get == "lease6-get" {
            arguments["type"] = bulk_key(lease).1.into();
        }
        let command = serde_json::json!({"command": get, "arguments": arguments});
        let answer: Value = serde_json::from_str(&(self.stored)(&command.to_string())?).ok()?;
        (answer.get("result").and_then(Value::as_i64) == Some(0))
            .then(|| answer.get("arguments").cloned())
            .flatten()
    }

    /// A lease added or updated: a commit, or (Kea 2.7+ sends a released lease as an
    /// update) a release. When the command did not carry it whole, as Kea stored it.
    fn commit<L: KeaLease>(&mut self, lease: &Value) {
        let read = L::from_kea_json(lease).or_else(|e| {
            self.stored_lease(L::GET, lease)
                .ok_or(e)
                .and_then(|stored| L::from_kea_json(&stored))
        });
        match read {
            Ok(lease) if lease.state() == RELEASED => self.push(lease.released()),
            Ok(lease) => self.push(lease.committed()),
            Err(e) => self.errors.push(format!("lease {lease}: {e}")),
        }
    }

    /// A deleted lease: in full when the command carried it (HA does), else by its
    /// address alone (an operator's `lease4-del` names only that).
    fn remove<L: KeaLease>(&mut self, lease: &Value) {
        let read =
            L::from_kea_json(lease).or_else(|e| L::by_address(&text(lease, "ip-address")).ok_or(e));
        match read {
            Ok(lease) => self.push(lease.released()),
            Err(e) => self.errors.push(format!("deleted lease {lease}: {e}")),
        }
    }
}

/// What the events of a lease command need of a lease of either family.
trait KeaLease: Sized {
    /// lease_cmds' command that reads one stored lease.
    const GET: &'static str;
    fn from_kea_json(value: &Value) -> Result<Self, KeaJsonError>;
    /// A lease known only by its address (all else empty).
    fn by_address(address: &str) -> Option<Self>;
    fn state(&self) -> LeaseState;
    /// A `leases*_committed` event of this lease alone.
    fn committed(self) -> Event;
    /// A `lease*_release` event of it.
    fn released(self) -> Event;
}

impl KeaLease for Lease4 {
    const GET: &'static str = "lease4-get";
    fn from_kea_json(value: &Value) -> Result<Self, KeaJsonError> {
        Lease4::from_kea_json(value)
    }
    fn by_address(address: &str) -> Option<Self> {
        address.parse().ok().map(Lease4::new)
    }
    fn state(&self) -> LeaseState {
        self.state
    }
    fn committed(self) -> Event {
        let mut event = Event::new(HookPoint::Leases4Committed);
        event.leases4 = Some(vec![self]);
        event.deleted_leases4 = Some(Vec::new());
        event
    }
    fn released(self) -> Event {
        let mut event = Event::new(HookPoint::Lease4Release);
        event.lease4 = Some(self);
        event
    }
}

impl KeaLease for Lease6 {
    const GET: &'static str = "lease6-get";
    fn from_kea_json(value: &Value) -> Result<Self, KeaJsonError> {
        Lease6::from_kea_json(value)
    }
    fn by_address(address: &str) -> Option<Self> {
        address
            .parse()
            .ok()
            .map(|a| Lease6::new(LeaseType::Na, a, 128))
    }
    fn state(&self) -> LeaseState {
        self.state
    }
    fn committed(self) -> Event {
        let mut event = Event::new(HookPoint::Leases6Committed);
        event.leases6 = Some(vec![self]);
        event.deleted_leases6 = Some(Vec::new());
        event
    }
    fn released(self) -> Event {
        let mut event = Event::new(HookPoint::Lease6Release);
        event.lease6 = Some(self);
        event
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lease4_json(address: &str) -> Value {
        json!({"client-id": "01:00:0c:01:00:00:00", "expire": 1796639346, "force-create": true,
               "hostname": "", "hw-address": "00:0c:01:00:00:00", "ip-address": address,
               "state": 0, "subnet-id": 2, "valid-lft": 3600})
    }

    fn ok() -> Value {
        json!({"result": 0, "text": "IPv4 lease added."})
    }

    /// [`super::applied`] where Kea has no stored lease to give.
    fn applied(
        name: &[u8],
        arguments: Option<&Value>,
        response: &Value,
        origin: Origin,
        partner: Option<&str>,
    ) -> (Vec<Event>, Vec<String>) {
        super::applied(name, arguments, response, origin, partner, &|_| None)
    }

    #[test]
    fn an_operators_add_without_times_reads_the_lease_kea_stored() {
        let asked = std::cell::RefCell::new(Vec::new());
        let stored = |command: &str| {
            asked.borrow_mut().push(command.to_owned());
            Some(json!({"result": 0, "arguments": lease4_json("192.0.2.77")}).to_string())
        };
        let args =
            json!({"ip-address": "192.0.2.77", "subnet-id": 1, "hw-address": "00:0c:01:02:03:04"});
        let (events, errors) = super::applied(
            b"lease4-add",
            Some(&args),
            &ok(),
            Origin::Command,
            None,
            &stored,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(events[0].leases4.as_ref().unwrap()[0].valid_lifetime, 3600);
        assert_eq!(
            asked.borrow().as_slice(),
            [r#"{"arguments":{"ip-address":"192.0.2.77"},"command":"lease4-get"}"#]
        );
        // Nothing stored: reported, no event.
        let (events, errors) = applied(b"lease4-add", Some(&args), &ok(), Origin::Command, None);
        assert!(events.is_empty() && errors.len() == 1);
    }

    #[test]
    fn an_applied_update_is_a_commit_and_a_delete_a_release() {
        let (events, errors) = applied(
            b"lease4-update",
            Some(&lease4_json("10.0.0.10")),
            &ok(),
            Origin::Partner,
            Some("s1"),
        );
        assert!(errors.is_empty());
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.hook_point, HookPoint::Leases4Committed);
        assert_eq!(
            event.leases4.as_ref().unwrap()[0].address.to_string(),
            "10.0.0.10"
        );
        assert_eq!(event.deleted_leases4.as_deref(), Some(&[][..]));
        assert_eq!(
            (event.origin, event.partner.as_deref()),
            (Some(Origin::Partner), Some("s1"))
        );
        let (events, _) = applied(
            b"lease4-del",
            Some(&lease4_json("10.0.0.11")),
            &ok(),
            Origin::Partner,
            None,
        );
        assert_eq!(events[0].hook_point, HookPoint::Lease4Release);
        // An operator's delete by address only.
        let (events, _) = applied(
            b"lease4-del",
            Some(&json!({"ip-address": "10.0.0.12"})),
            &ok(),
            Origin::Command,
            None,
        );
        assert_eq!(
            events[0].lease4.as_ref().unwrap().address.to_string(),
            "10.0.0.12"
        );
    }

    #[test]
    fn nothing_when_the_command_failed_or_is_no_lease_change() {
        let failed = json!({"result": 1, "text": "no"});
        let args = lease4_json("10.0.0.10");
        assert!(applied(
            b"lease4-update",
            Some(&args),
            &failed,
            Origin::Partner,
            None
        )
        .0
        .is_empty());
        let not_found = json!({"result": 3, "text": "IPv4 lease not found."});
        assert!(applied(
            b"lease4-del",
            Some(&args),
            &not_found,
            Origin::Partner,
            None
        )
        .0
        .is_empty());
        assert!(
            applied(b"lease4-get", Some(&args), &ok(), Origin::Partner, None)
                .0
                .is_empty()
        );
        assert!(
            applied(b"lease4-update", None, &ok(), Origin::Partner, None)
                .0
                .is_empty()
        );
        assert!(!is_lease_command(b"lease4-get-page"));
        assert!(is_lease_command(b"lease6-bulk-apply"));
    }

    #[test]
    fn a_bulk_apply_gives_one_event_per_applied_lease() {
        let lease = |a: &str, t: &str| {
            json!({"duid": "00:01:02", "expire": 2000, "iaid": 1, "ip-address": a,
                   "preferred-lft": 50, "prefix-len": if t == "IA_PD" { 56 } else { 128 },
                   "subnet-id": 1, "type": t, "valid-lft": 100})
        };
        let args = json!({
            "leases": [lease("2001:db8:1::100", "IA_NA"), lease("2001:db8:100::", "IA_PD"),
                       lease("2001:db8:1::101", "IA_NA")],
            "deleted-leases": [lease("2001:db8:1::102", "IA_NA"), lease("2001:db8:1::103", "IA_NA")]
        });
        let response = json!({"result": 0, "text": "Bulk apply of 3 IPv6 leases completed.",
            "arguments": {"failed-leases": [{"ip-address": "2001:db8:1::101", "type": "IA_NA", "result": 1}],
                          "failed-deleted-leases": [{"ip-address": "2001:db8:1::103", "type": "IA_NA", "result": 3}]}});
        let (events, errors) = applied(
            b"lease6-bulk-apply",
            Some(&args),
            &response,
            Origin::Partner,
            Some("s1"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let got: Vec<(HookPoint, String)> = events
            .iter()
            .map(|e| {
                let l = e
                    .leases6
                    .as_ref()
                    .map(|l| &l[0])
                    .or(e.lease6.as_ref())
                    .unwrap();
                (e.hook_point, format!("{}/{}", l.address, l.prefix_len))
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    HookPoint::Leases6Committed,
                    "2001:db8:1::100/128".to_owned()
                ),
                (HookPoint::Leases6Committed, "2001:db8:100::/56".to_owned()),
                (HookPoint::Lease6Release, "2001:db8:1::102/128".to_owned()),
            ]
        );
    }

    #[test]
    fn a_released_lease_kept_for_affinity_is_a_removal_not_a_commit() {
        // Kea 3.0's HA sends a lease released under lease affinity (state 3, lifetime 0)
        // as an update, where 2.2/2.6 send a delete.
        let mut released4 = lease4_json("10.0.0.10");
        released4["state"] = json!(3);
        released4["valid-lft"] = json!(0);
        released4["expire"] = json!(1796635746);
        let (events, errors) = applied(
            b"lease4-update",
            Some(&released4),
            &ok(),
            Origin::Partner,
            Some("s1"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].hook_point, HookPoint::Lease4Release);
        let lease = events[0].lease4.as_ref().unwrap();
        assert_eq!(
            (lease.address.to_string(), lease.state, lease.valid_lifetime),
            ("10.0.0.10".to_owned(), RELEASED, 0)
        );
        assert_eq!(events[0].partner.as_deref(), Some("s1"));
        // Any other state is a commit (a declined lease, state 1, as before).
        let mut declined = lease4_json("10.0.0.11");
        declined["state"] = json!(1);
        let (events, _) = applied(
            b"lease4-update",
            Some(&declined),
            &ok(),
            Origin::Partner,
            None,
        );
        assert_eq!(events[0].hook_point, HookPoint::Leases4Committed);

        let lease6 = |a: &str, state: u32, valid: u32| {
            json!({"duid": "00:01:02", "expire": 2000, "iaid": 1, "ip-address": a,
                   "preferred-lft": 0, "prefix-len": 128, "state": state,
                   "subnet-id": 1, "type": "IA_NA", "valid-lft": valid})
        };
        let args = json!({
            "leases": [lease6("2001:db8:1::100", 0, 100), lease6("2001:db8:1::101", 3, 0)],
            "deleted-leases": [], "origin": "ha-partner"
        });
        let response = json!({"result": 0, "text": "Bulk apply of 2 IPv6 leases completed."});
        let (events, errors) = applied(
            b"lease6-bulk-apply",
            Some(&args),
            &response,
            Origin::Partner,
            Some("s1"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let got: Vec<(HookPoint, String)> = events
            .iter()
            .map(|e| {
                let l = e
                    .leases6
                    .as_ref()
                    .map(|l| &l[0])
                    .or(e.lease6.as_ref())
                    .unwrap();
                (e.hook_point, l.address.to_string())
            })
            .collect();
        assert_eq!(
            got,
            [
                (HookPoint::Leases6Committed, "2001:db8:1::100".to_owned()),
                (HookPoint::Lease6Release, "2001:db8:1::101".to_owned()),
            ]
        );
    }

    #[test]
    fn a_lease_that_cannot_be_read_is_reported_not_guessed() {
        let (events, errors) = applied(
            b"lease4-update",
            Some(&json!({"ip-address": "10.0.0.1"})),
            &ok(),
            Origin::Partner,
            None,
        );
        assert!(events.is_empty());
        assert!(errors[0].contains("valid-lft"), "{errors:?}");
    }

    #[test]
    fn the_origin_marker_decides_from_2_6_the_thread_on_2_2() {
        let marked = json!({"origin": "ha-partner"});
        let plain = json!({});
        assert_eq!(
            origin(KeaVersion::from_hooks_version(20603), Some(&marked), true),
            Origin::Partner
        );
        assert_eq!(
            origin(KeaVersion::from_hooks_version(20603), Some(&plain), false),
            Origin::Command
        );
        assert_eq!(
            origin(KeaVersion::OLDEST, Some(&plain), false),
            Origin::Partner
        );
        assert_eq!(
            origin(KeaVersion::OLDEST, Some(&plain), true),
            Origin::Command
        );
    }
}
