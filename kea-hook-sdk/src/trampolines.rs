//! One callout trampoline per hook point Kea calls (generated from the hook-point table), and
//! the `dhcpX_srv_configured` ones: the functions registered with Kea, each dispatching to
//! the loaded hook.

use std::os::raw::c_int;

use kea_runscript_env::HookPoint;

use crate::bridge::ffi::CalloutHandle;
use crate::loaded::{callout, srv_configured};

extern "C" fn dhcp4_srv_configured(handle: *mut CalloutHandle) -> c_int {
    srv_configured(4, handle)
}

extern "C" fn dhcp6_srv_configured(handle: *mut CalloutHandle) -> c_int {
    srv_configured(6, handle)
}

/// A callout as Kea calls it.
pub(crate) type CalloutFn = extern "C" fn(*mut CalloutHandle) -> c_int;

/// The `dhcpX_srv_configured` callouts, registered at every load.
pub(crate) const SRV_CONFIGURED: &[(&str, CalloutFn)] = &[
    ("dhcp4_srv_configured", dhcp4_srv_configured),
    ("dhcp6_srv_configured", dhcp6_srv_configured),
];

/// Generates one trampoline per row of the hook-point table
/// ([`kea_runscript_env::hook_point_table!`]) whose `callout` is true, and `CALLOUTS` listing
/// them. Walks the rows one at a time, carrying the list built so far.
macro_rules! trampolines {
    (@list [$($done:tt)*]) => {
        /// Every callout trampoline: its hook point and the function.
        pub(crate) const CALLOUTS: &[(HookPoint, CalloutFn)] = &[$($done)*];
    };
    (@list [$($done:tt)*] $(#[$doc:meta])* $variant:ident = $symbol:ident {
        callout: true, $($row:tt)*
    } $($rest:tt)*) => {
        #[allow(non_snake_case)]
        extern "C" fn $variant(handle: *mut CalloutHandle) -> c_int {
            callout(HookPoint::$variant, handle)
        }
        trampolines!(@list [$($done)* (HookPoint::$variant, $variant as CalloutFn),] $($rest)*);
    };
    (@list [$($done:tt)*] $(#[$doc:meta])* $variant:ident = $symbol:ident {
        callout: false, $($row:tt)*
    } $($rest:tt)*) => {
        trampolines!(@list [$($done)*] $($rest)*);
    };
    ($($rows:tt)*) => {
        trampolines!(@list [] $($rows)*);
    };
}

kea_runscript_env::hook_point_table!(trampolines);

/// The trampoline of `hook_point`, if Kea calls a callout there.
pub(crate) fn trampoline(hook_point: HookPoint) -> Option<CalloutFn> {
    CALLOUTS
        .iter()
        .find(|(hp, _)| *hp == hook_point)
        .map(|&(_, function)| function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_a_trampoline_for_every_hook_point_kea_calls() {
        // Load, unload and the replays are not Kea's callouts.
        let expected: Vec<HookPoint> = HookPoint::ALL
            .iter()
            .copied()
            .filter(|hp| !matches!(hp, HookPoint::Load | HookPoint::Unload) && !hp.is_replay())
            .collect();
        let listed: Vec<HookPoint> = CALLOUTS.iter().map(|(hp, _)| *hp).collect();
        assert_eq!(listed, expected);
        for (hp, function) in CALLOUTS {
            assert!(hp.is_callout(), "{hp}");
            // Nothing is loaded: a trampoline returns 0 at once, even for a null handle.
            assert_eq!(function(std::ptr::null_mut()), 0, "{hp}");
        }
    }
}
