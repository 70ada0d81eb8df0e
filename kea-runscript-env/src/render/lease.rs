//! Renderers of leases and lease collections.

use super::env::Env;
use super::scalar;
use crate::format::lease_type_text;
use crate::{HwAddr, Lease4, Lease6, LeaseState, Text};

/// The fields Kea renders for both lease families between the address and the id.
struct LeaseCore<'a> {
    cltt: i64,
    hostname: &'a Text,
    hwaddr: Option<&'a HwAddr>,
    state: LeaseState,
    subnet_id: u32,
    valid_lifetime: u32,
}

/// Both lease models have these fields under the same names.
macro_rules! lease_core_from {
    ($($lease:ty),*) => {$(
        impl<'a> From<&'a $lease> for LeaseCore<'a> {
            fn from(l: &'a $lease) -> Self {
                LeaseCore {
                    cltt: l.cltt,
                    hostname: &l.hostname,
                    hwaddr: l.hwaddr.as_ref(),
                    state: l.state,
                    subnet_id: l.subnet_id,
                    valid_lifetime: l.valid_lifetime,
                }
            }
        }
    )*};
}
lease_core_from!(Lease4, Lease6);

/// `_CLTT` … `_VALID_LIFETIME`. Kea casts `cltt` (signed) to `uint64_t`, so a negative
/// time renders as a huge number; so does this.
fn lease_core(env: &mut Env, lease: Option<LeaseCore<'_>>) {
    env.int("_CLTT", lease.as_ref().map(|l| l.cltt as u64));
    env.text("_HOSTNAME", lease.as_ref().map(|l| l.hostname));
    env.scoped("_HWADDR", |env| {
        scalar::hwaddr(env, lease.as_ref().and_then(|l| l.hwaddr))
    });
    env.word(
        "_STATE",
        lease
            .as_ref()
            .map(|l| env.kea.lease_state_text(l.state))
            .as_deref(),
    );
    env.int("_SUBNET_ID", lease.as_ref().map(|l| u64::from(l.subnet_id)));
    env.int(
        "_VALID_LIFETIME",
        lease.as_ref().map(|l| u64::from(l.valid_lifetime)),
    );
}

pub(crate) fn lease4(env: &mut Env, lease: Option<&Lease4>) {
    env.ipv4("_ADDRESS", lease.map(|l| l.address));
    lease_core(env, lease.map(LeaseCore::from));
    env.scoped("_CLIENT_ID", |env| {
        scalar::id(
            env,
            lease.and_then(|l| l.client_id.as_ref()).map(|id| &id.0[..]),
        )
    });
}

pub(crate) fn lease6(env: &mut Env, lease: Option<&Lease6>) {
    env.ipv6("_ADDRESS", lease.map(|l| l.address));
    lease_core(env, lease.map(LeaseCore::from));
    env.scoped("_DUID", |env| {
        scalar::id(env, lease.and_then(|l| l.duid.as_ref()).map(|id| &id.0[..]))
    });
    env.int("_IAID", lease.map(|l| u64::from(l.iaid)));
    env.int(
        "_PREFERRED_LIFETIME",
        lease.map(|l| u64::from(l.preferred_lifetime)),
    );
    env.int("_PREFIX_LEN", lease.map(|l| u64::from(l.prefix_len)));
    env.word(
        "_TYPE",
        lease.map(|l| lease_type_text(l.lease_type)).as_deref(),
    );
}

/// `<P>_SIZE` (`0` for an absent collection, as Kea), then each lease under `<P>_AT<i>`.
pub(crate) fn leases<L>(
    env: &mut Env,
    leases: Option<&[L]>,
    render_lease: fn(&mut Env, Option<&L>),
) {
    let leases = leases.unwrap_or_default();
    env.int("_SIZE", Some(leases.len() as u64));
    for (index, lease) in leases.iter().enumerate() {
        env.indexed(index, |env| render_lease(env, Some(lease)));
    }
}
