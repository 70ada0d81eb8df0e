//! [`Hook`], the trait a hook library implements, and how the SDK calls it once loaded.

use crate::callout::{Callout, SrvConfigured};
use crate::error::EntryPoint;
use crate::library::Library;
use crate::loaded::Loaded;
use crate::log;

/// A Kea hook library written in Rust; export it with [`export_hook!`](crate::export_hook).
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
    /// ([`Parked`](crate::Parked)). The default does nothing.
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

/// The SDK reaches the loaded hook through this, whatever its type.
impl<H: Hook> Loaded for H {
    fn callout(&self, callout: &mut Callout<'_>) -> Result<(), String> {
        Hook::callout(self, callout)
    }
    fn srv_configured(&self, configured: &mut SrvConfigured<'_>) -> Result<(), String> {
        Hook::srv_configured(self, configured)
    }
    fn parked_query_resolved(&self) -> Result<(), String> {
        Hook::parked_query_resolved(self)
    }
    fn unload(&self, parked_dropped: usize) -> Result<(), String> {
        Hook::unload(self, parked_dropped)
    }
    fn replaced(&self) {
        Hook::replaced(self)
    }
    fn report(&self, entry: EntryPoint, message: &str) {
        H::report(entry, message)
    }
}
