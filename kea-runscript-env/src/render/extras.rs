//! Opt-in data of a script (`"classes"`, `"user-contexts"`, `"host-reservation"`): the
//! client classes of the query, the user contexts of the subnet and leases, and the client's
//! host reservation. Rendered after the profile's variables, only for the scripts that ask,
//! so that without these keys the variables are exactly Kea's.

use super::env::Env;
use crate::{Argument, Event, Host4, Host6, Lease4, Lease6, Text};

/// Which opt-in data a script gets (its configuration keys).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Extras {
    /// `"classes": true`: `QUERY4_CLASSES` / `QUERY6_CLASSES`.
    pub classes: bool,
    /// `"user-contexts": true`: `SUBNET4_USER_CONTEXT`, `LEASE4_USER_CONTEXT`,
    /// `LEASES4_AT<i>_USER_CONTEXT`, `DELETED_LEASES4_AT<i>_USER_CONTEXT`, `OLD_LEASE4_USER_CONTEXT`
    /// and their v6 twins.
    pub user_contexts: bool,
    /// `"host-reservation": true`: `HOST4_*` / `HOST6_*`.
    pub host_reservation: bool,
    /// The library's `"ha"` settings: `KEA_EVENT_ORIGIN`, `KEA_HA_PARTNER` and the
    /// `…_CHANGE_ID` of each lease, at hook points that report lease states.
    pub ha: bool,
}

impl Extras {
    /// The given choices.
    pub fn new(classes: bool, user_contexts: bool, host_reservation: bool) -> Extras {
        Extras {
            classes,
            user_contexts,
            host_reservation,
            ha: false,
        }
    }

    /// These choices, with the HA variables or without.
    pub fn with_ha(mut self, ha: bool) -> Extras {
        self.ha = ha;
        self
    }

    /// True when any is chosen.
    pub fn any(self) -> bool {
        self.classes || self.user_contexts || self.host_reservation || self.ha
    }
}

/// Renders the opt-in data `extras` of `event`, argument by argument in the hook point's
/// order, then the host reservation.
///
/// - `QUERY4_CLASSES` / `QUERY6_CLASSES`: the query's client classes in Kea's order,
///   separated by one space (`ALL VENDOR_CLASS_MSFT KNOWN`); empty without a query or classes.
/// - `<P>_USER_CONTEXT` for the subnet and the lease, `<P>_AT<i>_USER_CONTEXT` for each lease
///   of a collection: compact JSON (`{"site":"a"}`), empty when the object or its context is
///   absent (as Kea's hook renders absent objects).
/// - `HOST4_HOSTNAME`, `HOST4_IPV4_ADDRESS`, `HOST4_CLASSES`, `HOST4_USER_CONTEXT` at hook
///   points with a `query4`; `HOST6_HOSTNAME`, `HOST6_IPV6_ADDRESSES`, `HOST6_IPV6_PREFIXES`,
///   `HOST6_CLASSES`, `HOST6_USER_CONTEXT` at hook points with a `query6`. Lists are
///   space-separated, prefixes `address/length`; all empty when the client has no reservation.
///
/// ```
/// use kea_runscript_env::{render_extras, Event, Extras, HookPoint, Pkt4, Subnet4};
///
/// let mut event = Event::new(HookPoint::Subnet4Select);
/// let mut query = Pkt4::new(1, 7);
/// query.classes = vec!["ALL".into(), "VENDOR_CLASS_MSFT".into()];
/// event.query4 = Some(query);
/// let mut subnet = Subnet4::new(1, "192.0.2.0/24".parse().unwrap());
/// subnet.user_context = Some(r#"{"site":"a"}"#.into());
/// event.subnet4 = Some(subnet);
/// let vars = render_extras(&event, Extras::new(true, true, false));
/// assert_eq!(vars, [
///     ("QUERY4_CLASSES".to_string(), "ALL VENDOR_CLASS_MSFT".into()),
///     ("SUBNET4_USER_CONTEXT".to_string(), r#"{"site":"a"}"#.into()),
/// ]);
/// ```
pub fn render_extras(event: &Event, extras: Extras) -> Vec<(String, Text)> {
    let mut env = Env::with_capacity(8);
    if !extras.any() {
        return env.into_vars().to_pairs();
    }
    let arguments = event.hook_point.arguments();
    for &argument in arguments {
        env.scoped(argument.prefix(), |env| extra(env, argument, event, extras));
    }
    if extras.ha {
        super::ha::render(&mut env, event);
    }
    if extras.host_reservation {
        if arguments.contains(&Argument::Query4) {
            env.scoped("HOST4", |env| host4(env, event.host4.as_ref()));
        }
        if arguments.contains(&Argument::Query6) {
            env.scoped("HOST6", |env| host6(env, event.host6.as_ref()));
        }
    }
    env.into_vars().to_pairs()
}

fn extra(env: &mut Env, argument: Argument, event: &Event, extras: Extras) {
    let contexts = extras.user_contexts;
    match argument {
        Argument::Query4 if extras.classes => {
            classes(env, event.query4.as_ref().map(|p| &p.classes[..]))
        }
        Argument::Query6 if extras.classes => {
            classes(env, event.query6.as_ref().map(|p| &p.classes[..]))
        }
        Argument::Subnet4 if contexts => user_context(
            env,
            event
                .subnet4
                .as_ref()
                .and_then(|s| s.user_context.as_deref()),
        ),
        Argument::Subnet6 if contexts => user_context(
            env,
            event
                .subnet6
                .as_ref()
                .and_then(|s| s.user_context.as_deref()),
        ),
        Argument::Lease4 if contexts => user_context(env, lease4_context(event.lease4.as_ref())),
        Argument::Lease6 if contexts => user_context(env, lease6_context(event.lease6.as_ref())),
        Argument::OldLease4 if contexts => {
            user_context(env, lease4_context(event.old_lease4.as_ref()))
        }
        Argument::Leases4 if contexts => leases(env, event.leases4.as_deref(), lease4_context),
        Argument::DeletedLeases4 if contexts => {
            leases(env, event.deleted_leases4.as_deref(), lease4_context)
        }
        Argument::Leases6 if contexts => leases(env, event.leases6.as_deref(), lease6_context),
        Argument::DeletedLeases6 if contexts => {
            leases(env, event.deleted_leases6.as_deref(), lease6_context)
        }
        _ => {}
    }
}

fn lease4_context(lease: Option<&Lease4>) -> Option<&str> {
    lease.and_then(|l| l.user_context.as_deref())
}

fn lease6_context(lease: Option<&Lease6>) -> Option<&str> {
    lease.and_then(|l| l.user_context.as_deref())
}

/// `<P>_AT<i>_USER_CONTEXT` for each lease of the collection (nothing for an absent one,
/// whose `<P>_SIZE` is 0).
fn leases<'a, L>(
    env: &mut Env,
    leases: Option<&'a [L]>,
    context: impl Fn(Option<&'a L>) -> Option<&'a str>,
) {
    for (index, lease) in leases.unwrap_or_default().iter().enumerate() {
        env.indexed(index, |env| user_context(env, context(Some(lease))));
    }
}

/// `<P>_CLASSES`: the names separated by one space.
fn classes(env: &mut Env, names: Option<&[String]>) {
    env.set("_CLASSES", names, |out, names| {
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            crate::format::push_until_nul(out, name);
        }
    });
}

/// `<P>_USER_CONTEXT`: compact JSON, empty when absent.
fn user_context(env: &mut Env, context: Option<&str>) {
    env.text("_USER_CONTEXT", context);
}

fn host4(env: &mut Env, host: Option<&Host4>) {
    env.text("_HOSTNAME", host.map(|h| &h.hostname[..]));
    env.ipv4("_IPV4_ADDRESS", host.and_then(|h| h.ipv4_address));
    classes(env, host.map(|h| &h.classes[..]));
    user_context(env, host.and_then(|h| h.user_context.as_deref()));
}

fn host6(env: &mut Env, host: Option<&Host6>) {
    env.text("_HOSTNAME", host.map(|h| &h.hostname[..]));
    env.set("_IPV6_ADDRESSES", host, |out, h| {
        for (i, address) in h.ipv6_addresses.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            crate::format::push_ipv6(out, *address);
        }
    });
    env.set("_IPV6_PREFIXES", host, |out, h| {
        use std::fmt::Write as _;
        for (i, prefix) in h.ipv6_prefixes.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            crate::format::push_ipv6(out, prefix.ip());
            let _ = write!(out, "/{}", prefix.prefix());
        }
    });
    classes(env, host.map(|h| &h.classes[..]));
    user_context(env, host.and_then(|h| h.user_context.as_deref()));
}
