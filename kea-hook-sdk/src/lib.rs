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

mod bridge;
mod callout;
#[doc(hidden)]
pub mod entry;
mod eval;
mod extract;
mod leases;
mod library;
pub mod log;
mod parking;
mod record;
pub mod stats;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::fmt;

pub use bridge::ffi::{CalloutHandle, LibraryHandle};
pub use callout::{Callout, NextStep, SrvConfigured};
pub use eval::{Expression, Family};
pub use extract::{ExtractError, Records};
pub use kea_runscript_env::{self as env, Argument, Event, HookPoint};
pub use leases::LeaseSnapshot;
pub use library::{check_script_path, Library};
pub use parking::Parked;
pub use record::RecordError;

/// The Kea release this SDK was built against, from `KEA_HOOKS_VERSION` in the installed
/// `hooks/hooks.h`: events carry it so they render that release's texts.
pub const KEA_VERSION: kea_runscript_env::KeaVersion =
    kea_runscript_env::KeaVersion::from_hooks_version(decimal(env!("KRS_KEA_HOOKS_VERSION")));

/// A decimal number at compile time (build.rs writes only digits).
const fn decimal(digits: &str) -> u32 {
    let digits = digits.as_bytes();
    let (mut value, mut i) = (0, 0);
    while i < digits.len() {
        value = value * 10 + (digits[i] - b'0') as u32;
        i += 1;
    }
    value
}

/// `KEA_HOOKS_VERSION` of the Kea headers the shim was compiled against (e.g. 20200, 30004).
pub fn hooks_version() -> i32 {
    bridge::ffi::hooks_version()
}

/// A failure in Kea (a C++ exception, with what was being done) or in the SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// A C++ exception met while `doing`.
    pub(crate) fn kea(doing: impl fmt::Display, exception: cxx::Exception) -> Self {
        Error::new(format!("{doing}: {exception}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for String {
    fn from(error: Error) -> String {
        error.message
    }
}

/// Which entry point failed, for [`Hook::report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryPoint {
    /// `version()`: Kea validates the library (and its parameters, [`Hook::check_parameters`]).
    Version,
    /// `load()`.
    Load,
    /// `unload()`.
    Unload,
    /// The callout at this hook point.
    Callout(HookPoint),
    /// `dhcp4_srv_configured` / `dhcp6_srv_configured` (argument: 4 or 6).
    SrvConfigured(u8),
    /// [`Hook::parked_query_resolved`].
    ParkedQueryResolved,
}

impl fmt::Display for EntryPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryPoint::Version => f.write_str("version"),
            EntryPoint::Load => f.write_str("load"),
            EntryPoint::Unload => f.write_str("unload"),
            EntryPoint::Callout(hook_point) => f.write_str(hook_point.name()),
            EntryPoint::SrvConfigured(family) => write!(f, "dhcp{family}_srv_configured"),
            EntryPoint::ParkedQueryResolved => f.write_str("parked query resolved"),
        }
    }
}

/// A Kea hook library written in Rust; export it with [`export_hook!`].
///
/// One value of it exists while Kea has the library loaded: made by [`Hook::load`], shared by
/// every callout (on any of Kea's threads at once, hence `Sync`), dropped after
/// [`Hook::unload`]. A reconfiguration of Kea unloads and loads it again.
pub trait Hook: Sized + Send + Sync + 'static {
    /// The name of the hook's logger (Kea prefixes the server's, e.g. `kea-dhcp4.<name>`; at
    /// most 31 characters).
    const LOGGER: &'static str;

    /// Every message id the hook logs with [`log::log`] (Kea's dictionary needs them before
    /// the first message). Ids are conventionally upper case with the hook's prefix.
    fn message_ids() -> Vec<&'static str> {
        Vec::new()
    }

    /// Whether the hook may run with Kea's multi-threading on (callouts on several threads
    /// at once). The default is yes: `Hook` is `Sync`.
    fn multi_threading_compatible() -> bool {
        true
    }

    /// Checks the library's `parameters` (JSON text) while Kea parses a configuration that
    /// lists this library, so that `kea-dhcpX -t` and a reload reject bad parameters before
    /// anything is applied (Kea 2.2 calls only `version()` then). The default accepts all.
    fn check_parameters(parameters: &str) -> Result<(), String> {
        let _ = parameters;
        Ok(())
    }

    /// Kea loads the library: read the parameters, register the callouts. An error makes Kea
    /// reject the configuration.
    fn load(library: &mut Library<'_>) -> Result<Self, String>;

    /// A callout the hook registered: Kea calls it at [`Callout::hook_point`]. An error is
    /// reported ([`Hook::report`]) and Kea goes on as if the callout had done nothing more.
    fn callout(&self, callout: &mut Callout<'_>) -> Result<(), String>;

    /// Kea has (re)loaded its configuration and lease database
    /// (`dhcp4_srv_configured` / `dhcp6_srv_configured`): e.g. read the active leases
    /// ([`SrvConfigured::lease_snapshot`]). The default does nothing.
    fn srv_configured(&self, configured: &mut SrvConfigured<'_>) -> Result<(), String> {
        let _ = configured;
        Ok(())
    }

    /// On Kea's thread, just before a query parked by this hook is resumed or dropped
    /// ([`Parked`]). The default does nothing.
    fn parked_query_resolved(&self) -> Result<(), String> {
        Ok(())
    }

    /// Kea unloads the library. Queries still parked have been dropped already
    /// (`parked_dropped` of them, as Kea drops parked packets when it reconfigures).
    fn unload(&self, parked_dropped: usize) -> Result<(), String> {
        let _ = parked_dropped;
        Ok(())
    }

    /// Kea loaded the library again while this instance was loaded (Kea shares one instance
    /// when the same file is listed twice): the new instance serves every callout from now
    /// on, and this one gets no [`Hook::unload`]. The default does nothing.
    fn replaced(&self) {}

    /// Reports a failed entry point (an error it returned, or a panic, as text). The default
    /// logs it as an error under [`log::ids::HOOK_FAILED`]. Called on the failing thread;
    /// a callout's failure may repeat for every packet.
    fn report(entry: EntryPoint, message: &str) {
        log::log(
            log::Severity::Error,
            log::ids::HOOK_FAILED,
            &format!("{entry}: {message}"),
        );
    }
}

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
