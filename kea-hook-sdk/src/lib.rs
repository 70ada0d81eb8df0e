//! Kea DHCP hook libraries in safe Rust.
//!
//! A hook is a type implementing [`Hook`], exported with [`export_hook!`]: the SDK generates
//! Kea's entry points (`version`, `load`, `unload`, `multi_threading_compatible`), registers a
//! callout for each hook point the hook asks for at load ([`Library::register`]), and calls
//! [`Hook::callout`] with a [`Callout`]: the hook point's arguments as the models of
//! `kea-runscript-env` (read only when asked for), Kea's next step ([`NextStep`]), parking
//! ([`Callout::park`]), Kea's expression evaluator ([`Expression`]). Logging goes through
//! Kea's own logger ([`log`]), statistics into Kea's statistics manager ([`stats`]).
//!
//! No `unsafe` and no C++ in the hook: the C++ that reads Kea's objects is the workspace's
//! `shim/`, which this crate compiles against the installed Kea headers (2.2, 2.6, 3.0);
//! every call into it returns a `Result`, and every entry point catches panics, so nothing
//! unwinds into Kea.
//!
//! ```no_run
//! use kea_hook::{export_hook, Callout, Hook, HookPoint, Library, NextStep};
//!
//! /// Drops every DHCPv4 query from one MAC address, given as parameter `"mac"`.
//! struct Blocker {
//!     mac: Vec<u8>,
//! }
//!
//! impl Hook for Blocker {
//!     const LOGGER: &'static str = "blocker";
//!
//!     fn load(library: &mut Library<'_>) -> Result<Self, String> {
//!         let parameters = library.parameters()?;
//!         let mac = parameters.split('"').nth(3).unwrap_or_default(); // a real hook parses JSON
//!         let mac = mac
//!             .split(':')
//!             .map(|b| u8::from_str_radix(b, 16).map_err(|e| e.to_string()))
//!             .collect::<Result<_, _>>()?;
//!         library.register(HookPoint::Pkt4Receive)?;
//!         Ok(Blocker { mac })
//!     }
//!
//!     fn callout(&self, callout: &mut Callout<'_>) -> Result<(), String> {
//!         let query = callout.query4().map_err(|e| e.to_string())?;
//!         if query.and_then(|q| q.hwaddr).is_some_and(|hw| hw.bytes == self.mac) {
//!             callout.set_next_step(NextStep::Drop).map_err(|e| e.to_string())?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! export_hook!(Blocker);
//! ```

#![warn(missing_docs)]

// The README's complete hook compiles as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod bridge;
mod callbacks;
mod callout;
pub mod command;
#[doc(hidden)]
pub mod entry;
mod error;
mod eval;
mod extract;
mod hook;
mod leases;
mod library;
mod loaded;
pub mod log;
mod parking;
mod record;
pub mod stats;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod trampolines;
mod version;

pub use bridge::ffi::{CalloutHandle, LibraryHandle};
pub use callout::{Callout, NextStep, SrvConfigured};
pub use error::{EntryPoint, Error};
pub use eval::{Expression, Family};
pub use extract::{ExtractError, Records};
pub use hook::Hook;
pub use kea_runscript_env::{self as env, Argument, Event, HookPoint};
pub use leases::LeaseSnapshot;
pub use library::{check_script_path, Library};
pub use parking::Parked;
pub use record::RecordError;
pub use version::{hooks_version, KEA_VERSION};

/// Exports a [`Hook`] as Kea's entry points (`version`, `load`, `unload`,
/// `multi_threading_compatible`) of the cdylib it is used in; once per library.
#[macro_export]
macro_rules! export_hook {
    ($hook:ty) => {
        /// Kea: the hooks API version (0 rejects the library's staged parameters).
        #[no_mangle]
        #[allow(unsafe_code)]
        pub extern "C" fn version() -> ::std::os::raw::c_int {
            $crate::entry::version::<$hook>()
        }

        /// Kea: whether the library may run with multi-threading on.
        #[no_mangle]
        #[allow(unsafe_code)]
        pub extern "C" fn multi_threading_compatible() -> ::std::os::raw::c_int {
            $crate::entry::multi_threading_compatible::<$hook>()
        }

        /// Kea: load the library (`handle` is Kea's `LibraryHandle&`).
        #[no_mangle]
        #[allow(unsafe_code)]
        pub extern "C" fn load(handle: *mut $crate::LibraryHandle) -> ::std::os::raw::c_int {
            $crate::entry::load::<$hook>(handle)
        }

        /// Kea: unload the library.
        #[no_mangle]
        #[allow(unsafe_code)]
        pub extern "C" fn unload() -> ::std::os::raw::c_int {
            $crate::entry::unload::<$hook>()
        }
    };
}

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the record reader.
/// Not a stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::record::{read, RecordError};
}

#[cfg(test)]
mod tests {
    #[test]
    fn build_time_kea_version_is_the_headers_one() {
        // build.rs parsed hooks.h for Rust; the C++ side compiled the header's constant.
        assert_eq!(
            super::KEA_VERSION.hooks_version() as i32,
            super::hooks_version()
        );
    }
}
