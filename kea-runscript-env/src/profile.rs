//! Rendering profiles: which variable set a script receives.
//!
//! [`Profile::Kea`] is Kea's own `libdhcp_run_script.so` (the default, extended to more hook
//! points); [`Profile::KeaHookRunscript`] is the third-party kea-hook-runscript (v1.4.0), so
//! scripts written for it run unmodified: its `KEA_*` names, its formats and its hook points.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Argument, Event, HookPoint, Text, Vars};

/// A variable set: names, formats and the hook points that have variables.
///
/// The serde and configuration spelling is [`Profile::name`]: `"kea"` or `"kea-hook-runscript"`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[non_exhaustive]
pub enum Profile {
    /// Kea's `libdhcp_run_script.so`: `QUERY4_TYPE`, `LEASE4_ADDRESS`, … (see `docs/variables.md`).
    #[default]
    #[serde(rename = "kea")]
    Kea,
    /// kea-hook-runscript 1.4.0: `KEA_QUERY4_TYPE`, `KEA_LEASE4_ADDRESS`, … at its own 19
    /// callouts, booleans as `0`/`1`.
    #[serde(rename = "kea-hook-runscript")]
    KeaHookRunscript,
}

use Argument as A;

/// kea-hook-runscript's callouts and the arguments each renders, in its order (its
/// `src/callouts.cc`): note `pkt4_send` renders the response before the query, `pkt6_send`
/// the query first; it reads no `clientid`/`hwaddr`/`ia_*` argument.
const KEA_HOOK_RUNSCRIPT: &[(HookPoint, &[Argument])] = &[
    (HookPoint::Pkt4Receive, &[A::Query4]),
    (HookPoint::Pkt4Send, &[A::Response4, A::Query4]),
    (HookPoint::Subnet4Select, &[A::Query4, A::Subnet4]),
    (
        HookPoint::Lease4Select,
        &[A::Query4, A::Subnet4, A::FakeAllocation, A::Lease4],
    ),
    (HookPoint::Lease4Renew, &[A::Query4, A::Subnet4, A::Lease4]),
    (HookPoint::Lease4Release, &[A::Query4, A::Lease4]),
    (HookPoint::Lease4Decline, &[A::Query4, A::Lease4]),
    (HookPoint::Lease4Expire, &[A::Lease4, A::RemoveLease]),
    (HookPoint::Lease4Recover, &[A::Lease4]),
    (HookPoint::Pkt6Receive, &[A::Query6]),
    (HookPoint::Pkt6Send, &[A::Query6, A::Response6]),
    (HookPoint::Subnet6Select, &[A::Query6, A::Subnet6]),
    (
        HookPoint::Lease6Select,
        &[A::Query6, A::Subnet6, A::FakeAllocation, A::Lease6],
    ),
    (HookPoint::Lease6Renew, &[A::Query6, A::Lease6]),
    (HookPoint::Lease6Rebind, &[A::Query6, A::Lease6]),
    (HookPoint::Lease6Decline, &[A::Query6, A::Lease6]),
    (HookPoint::Lease6Release, &[A::Query6, A::Lease6]),
    (HookPoint::Lease6Expire, &[A::Lease6, A::RemoveLease]),
    (HookPoint::Lease6Recover, &[A::Lease6]),
];

impl Profile {
    /// Every profile, in declaration order (the discriminant is the index).
    pub const ALL: &'static [Profile] = &[Profile::Kea, Profile::KeaHookRunscript];

    /// The configuration spelling: `kea`, `kea-hook-runscript`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Kea => "kea",
            Profile::KeaHookRunscript => "kea-hook-runscript",
        }
    }

    /// The arguments rendered at `hook_point`, in rendering order; `None` when the profile
    /// has no such hook point (kea-hook-runscript at `leases4_committed`, …). `load` and
    /// `unload` exist in both and render nothing.
    pub fn arguments(self, hook_point: HookPoint) -> Option<&'static [Argument]> {
        match (self, hook_point) {
            (Profile::Kea, _) | (_, HookPoint::Load | HookPoint::Unload) => {
                Some(hook_point.arguments())
            }
            (Profile::KeaHookRunscript, _) => KEA_HOOK_RUNSCRIPT
                .iter()
                .find(|(hp, _)| *hp == hook_point)
                .map(|(_, arguments)| *arguments),
        }
    }

    /// Whether the profile has variables for `hook_point` (a script of this profile may
    /// run there).
    pub fn serves(self, hook_point: HookPoint) -> bool {
        self.arguments(hook_point).is_some()
    }

    /// The hook points a script of this profile runs at when its configuration names none:
    /// Kea's 14 ([`HookPoint::kea_default`]) or kea-hook-runscript's 19 callouts, in
    /// [`HookPoint::ALL`] order.
    pub fn default_hook_points(self) -> Vec<HookPoint> {
        HookPoint::ALL
            .iter()
            .copied()
            .filter(|&hp| match self {
                Profile::Kea => hp.kea_default(),
                Profile::KeaHookRunscript => KEA_HOOK_RUNSCRIPT.iter().any(|(p, _)| *p == hp),
            })
            .collect()
    }

    /// Renders `event` in this profile (for [`Profile::Kea`] the same as
    /// [`render`](crate::render)); nothing for a hook point the profile does not serve.
    ///
    /// ```
    /// use kea_runscript_env::{Event, HookPoint, Profile};
    ///
    /// let mut event = Event::new(HookPoint::Lease4Expire);
    /// event.remove_lease = Some(true);
    /// let vars = Profile::KeaHookRunscript.render(&event);
    /// assert_eq!(vars.last().unwrap(), &("KEA_REMOVE_LEASE".into(), "1".into()));
    /// assert!(Profile::KeaHookRunscript.render(&Event::new(HookPoint::Leases4Committed)).is_empty());
    /// ```
    pub fn render(self, event: &Event) -> Vec<(String, Text)> {
        self.render_vars(event).to_pairs()
    }

    /// [`Profile::render`] into [`Vars`]: the same variables, without an allocation per
    /// variable.
    pub fn render_vars(self, event: &Event) -> Vars {
        match self {
            Profile::Kea => crate::render_vars(event),
            Profile::KeaHookRunscript => crate::render::kea_hook_runscript(
                event,
                self.arguments(event.hook_point).unwrap_or_default(),
            ),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error of parsing a [`Profile`] from a name that is not one; it names the bad value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProfile(pub String);

impl fmt::Display for UnknownProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown variable profile {:?} (expected \"kea\" or \"kea-hook-runscript\")",
            self.0
        )
    }
}

impl std::error::Error for UnknownProfile {}

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kea_hook_runscript_has_its_19_callouts() {
        let names: Vec<_> = Profile::KeaHookRunscript
            .default_hook_points()
            .iter()
            .map(|hp| hp.name())
            .collect();
        assert_eq!(names.len(), 19);
        for missing in ["leases4_committed", "leases6_committed", "load", "unload"] {
            assert!(!names.contains(&missing), "{missing}");
        }
        // Kea 2.x's 13 and addr6_register, which only Kea 3.0 calls.
        assert_eq!(Profile::Kea.default_hook_points().len(), 14);
    }

    #[test]
    fn its_arguments_are_ones_the_hook_point_has() {
        // The hook reads a hook point's own argument list; every profile's must be within it.
        for &hp in HookPoint::ALL {
            for &profile in Profile::ALL {
                for argument in profile.arguments(hp).unwrap_or_default() {
                    assert!(
                        hp.arguments().contains(argument),
                        "{profile} {hp} {argument:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn all_is_in_declaration_order() {
        // Callers index per-profile tables by the discriminant.
        for (i, &p) in Profile::ALL.iter().enumerate() {
            assert_eq!(p as usize, i, "{p}");
        }
        let last = match Profile::Kea {
            Profile::Kea | Profile::KeaHookRunscript => Profile::KeaHookRunscript,
        };
        assert_eq!(Profile::ALL.len(), last as usize + 1);
    }

    #[test]
    fn names_round_trip() {
        for &p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        let err = "khr".parse::<Profile>().unwrap_err();
        assert!(err.to_string().contains("\"khr\""), "{err}");
    }

    #[test]
    fn load_and_unload_exist_in_both() {
        for &p in Profile::ALL {
            assert!(p.serves(HookPoint::Load) && p.serves(HookPoint::Unload));
        }
        assert!(!Profile::KeaHookRunscript.serves(HookPoint::Leases6Committed));
    }
}
