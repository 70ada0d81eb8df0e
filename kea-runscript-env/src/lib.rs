//! Typed models of what Kea passes to DHCP hook callouts, and their rendering into the
//! environment variables of Kea's `libdhcp_run_script.so` (Kea 2.2), extended to more
//! hook points.
//!
//! Pure: no I/O, no `unsafe`, no dependency on Kea. Build an [`Event`] for a
//! [`HookPoint`], fill the objects Kea passed, and [`render`] it into an ordered list of
//! `(NAME, value)` pairs ready for a child process's environment. A second [`Profile`]
//! renders the variables of the third-party kea-hook-runscript instead
//! ([`Profile::render`]).
//!
//! ```
//! use kea_runscript_env::{render, Event, HookPoint, Ia, Lease6, LeaseState, LeaseType, Duid, Text};
//!
//! let mut event = Event::new(HookPoint::Lease6Renew);
//! let mut lease = Lease6::new(LeaseType::Na, "2001:db8:1::100".parse().unwrap(), 128);
//! lease.cltt = 1_700_000_000;
//! lease.state = LeaseState::Default;
//! lease.subnet_id = 1;
//! lease.valid_lifetime = 7200;
//! lease.preferred_lifetime = 3600;
//! lease.duid = Some(Duid(vec![0, 1, 0, 1, 0x2a, 0xbc]));
//! lease.iaid = 7;
//! event.lease6 = Some(lease);
//! event.ia = Some(Ia::new(7, 3, 1800, 2880));
//!
//! let vars = render(&event);
//! // The query is absent: its variables are present and empty, as in Kea's hook.
//! assert_eq!(vars[0], ("QUERY6_TYPE".to_string(), Text::new()));
//! assert!(vars.contains(&("LEASE6_DUID".into(), "00:01:00:01:2a:bc".into())));
//! assert!(vars.contains(&("LEASE6_TYPE".into(), "IA_NA".into())));
//! assert!(vars.contains(&("PKT6_IA_IA_T1".into(), "1800".into())));
//! ```
//!
//! Guarantees: rendering is total (any field contents render, nothing panics) and
//! deterministic; names match `[A-Z0-9_]+` and appear once; no name or value contains
//! a NUL byte (a string field is cut at its first NUL, which is what the value a
//! script would see through `execve` is anyway).
//!
//! Every model is serde-serializable; byte strings (hardware addresses, ids, option
//! payloads) are hex strings in JSON, absent objects are omitted. `fixtures/events/`
//! holds one JSON event per hook point.
//!
//! The full variable reference per hook point is `docs/variables.md`, generated from
//! this crate's rendering.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The README's example runs as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod event;
// Kea's text formats, one function per Kea `toText`: public only with the `fuzzing`
// feature, for the fuzz targets (fuzz/) and this crate's own tests. Not a stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod format;
#[cfg(not(feature = "fuzzing"))]
mod format;
mod hook_point;
mod kea_version;
mod model;
mod profile;
mod render;
pub mod surrogateescape;
mod vars;

pub use event::Event;
pub use hook_point::{Argument, HookPoint, LeaseChange, NextSteps, UnknownHookPoint};
pub use kea_version::KeaVersion;
pub use model::{
    compact_json, ClientId, DhcpOption, Duid, Host4, Host6, HostIdType, HostIdValue, HwAddr,
    HwAddrLengthError, Ia, KeaJsonError, Lease4, Lease6, LeaseState, LeaseType, Origin, Pkt4, Pkt6,
    Proto, Relay6, Subnet4, Subnet6, Text, Utf8Pieces,
};
pub use profile::{Profile, UnknownProfile};
pub use render::{
    canonical4, canonical6, render, render_extras, render_options, render_vars, Extras,
    COMMAND_VALUE_MAX_BYTES,
};
pub use vars::Vars;
