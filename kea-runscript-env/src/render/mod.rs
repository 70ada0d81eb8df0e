//! Rendering an [`Event`] into `(NAME, value)` pairs.
//!
//! One renderer per model type, each writing under the name prefix the caller set up in
//! [`Env`]; a hook point's rendering is its argument list mapped to (renderer, prefix).

mod command;
mod env;
mod extras;
mod ha;
mod kea_hook_runscript;
mod lease;
mod options;
mod packet;
mod scalar;

use crate::{Argument, Event, Text, Vars};
pub use command::COMMAND_VALUE_MAX_BYTES;
use env::Env;
pub use extras::{render_extras, Extras};
pub use ha::{canonical4, canonical6};
pub(crate) use kea_hook_runscript::render as kea_hook_runscript;
pub use options::render_options;

/// Renders the event's hook-point arguments into ordered `(NAME, value)` pairs.
///
/// The arguments are rendered in [`HookPoint::arguments`](crate::HookPoint::arguments)
/// order, each under its [`Argument::prefix`]; objects the event lacks render the empty
/// variables Kea's hook renders for them (`<PREFIX>_SIZE=0` for lease collections).
/// Event fields that are not arguments of the hook point are ignored.
///
/// ```
/// use kea_runscript_env::{render, Event, HookPoint, Text};
///
/// let vars = render(&Event::new(HookPoint::Lease4Expire));
/// assert_eq!(vars[0], ("LEASE4_ADDRESS".to_string(), Text::new()));
/// assert_eq!(render(&Event::new(HookPoint::Load)), vec![]);
/// ```
pub fn render(event: &Event) -> Vec<(String, Text)> {
    render_vars(event).to_pairs()
}

/// [`render`] into [`Vars`]: the same variables, without an allocation per variable.
pub fn render_vars(event: &Event) -> Vars {
    // A v4 query with option 82 plus a lease renders ~45 variables.
    let mut env = Env::with_capacity(48);
    env.kea = event.kea_version;
    for &argument in event.hook_point.arguments() {
        env.scoped(argument.prefix(), |env| {
            render_argument(env, argument, event)
        });
    }
    env.into_vars()
}

/// The renderer of each argument, applied to the event's object for it.
impl Event {
    /// The event's environment: same as [`render`]`(self)`. (Defined with the
    /// renderer, so that the model does not import it.)
    pub fn render(&self) -> Vec<(String, Text)> {
        render(self)
    }
}

fn render_argument(env: &mut Env, argument: Argument, event: &Event) {
    match argument {
        Argument::Query4 => packet::pkt4(env, event.query4.as_ref()),
        Argument::Response4 => packet::pkt4(env, event.response4.as_ref()),
        Argument::Subnet4 => scalar::subnet4(env, event.subnet4.as_ref()),
        Argument::ClientId => scalar::id(env, event.client_id.as_ref().map(|id| &id.0[..])),
        Argument::HwAddr => scalar::hwaddr(env, event.hwaddr.as_ref()),
        Argument::Lease4 => lease::lease4(env, event.lease4.as_ref()),
        Argument::Leases4 => lease::leases(env, event.leases4.as_deref(), lease::lease4),
        Argument::DeletedLeases4 => {
            lease::leases(env, event.deleted_leases4.as_deref(), lease::lease4)
        }
        Argument::RemoveLease => scalar::boolean(env, event.remove_lease),
        Argument::FakeAllocation => scalar::boolean(env, event.fake_allocation),
        Argument::Query6 => packet::pkt6(env, event.query6.as_ref()),
        Argument::Response6 => packet::pkt6(env, event.response6.as_ref()),
        Argument::Subnet6 => scalar::subnet6(env, event.subnet6.as_ref()),
        Argument::Lease6 => lease::lease6(env, event.lease6.as_ref()),
        Argument::Leases6 => lease::leases(env, event.leases6.as_deref(), lease::lease6),
        Argument::DeletedLeases6 => {
            lease::leases(env, event.deleted_leases6.as_deref(), lease::lease6)
        }
        Argument::Ia => scalar::ia(env, event.ia.as_ref()),
        Argument::Address6 => env.ipv6("", event.address6),
        // Kea's hook renders the replaced registration only when there is one.
        Argument::OldLease6 => {
            if let Some(lease) = &event.old_lease6 {
                lease::lease6(env, Some(lease));
            }
        }
        Argument::NewLease6 => lease::lease6(env, event.new_lease6.as_ref()),
        Argument::CommandName => command::name(env, event.command_name.as_ref()),
        Argument::CommandArguments => command::arguments(env, event.command_arguments.as_deref()),
        Argument::CommandResponse => command::response(env, event.command_response.as_deref()),
        Argument::DdnsHostname => env.text("", event.ddns_hostname.as_ref()),
        Argument::DdnsFwdUpdate => scalar::boolean(env, event.ddns_fwd_update),
        Argument::DdnsRevUpdate => scalar::boolean(env, event.ddns_rev_update),
        Argument::OfferLifetime => env.int("", event.offer_lifetime.map(u64::from)),
        Argument::OldLease4 => lease::lease4(env, event.old_lease4.as_ref()),
        Argument::HostIdType => {
            env.word("", event.host_id_type.map(crate::format::host_id_type_name))
        }
        Argument::HostIdValue => scalar::id(env, event.host_id_value.as_ref().map(|v| &v.0[..])),
    }
}
