//! Builds the env [`Event`] for a hook point from a Kea callout handle: for each argument of
//! the hook point (the table in `kea-runscript-env`), the shim function for its Kea type.

use std::fmt;

use kea_runscript_env::{Argument, Event, HookPoint};

use crate::bridge::ffi::{self, CalloutHandle};
use crate::convert::{self, ConvertError};

/// Why an event could not be built: a C++ exception in the shim (e.g. an argument of an
/// unexpected type) or a value the models cannot hold.
#[derive(Debug)]
pub enum ExtractError {
    /// The shim threw while reading the named argument.
    Shim(&'static str, cxx::Exception),
    /// The named argument's value could not be converted.
    Convert(&'static str, ConvertError),
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::Shim(name, e) => write!(f, "reading argument \"{name}\": {e}"),
            ExtractError::Convert(name, e) => write!(f, "converting argument \"{name}\": {e}"),
        }
    }
}

impl std::error::Error for ExtractError {}

/// The event for `hook_point` with every argument the hook point renders read from `handle`.
pub fn event(hook_point: HookPoint, handle: &CalloutHandle) -> Result<Event, ExtractError> {
    let mut event = Event::new(hook_point);
    for &argument in hook_point.arguments() {
        read_argument(&mut event, argument, handle)?;
    }
    Ok(event)
}

/// Calls the shim function `get` for argument `name` and converts its result.
fn read<R, T>(
    handle: &CalloutHandle,
    name: &'static str,
    get: fn(&CalloutHandle, &str) -> Result<R, cxx::Exception>,
    convert: fn(R) -> Result<Option<T>, ConvertError>,
) -> Result<Option<T>, ExtractError> {
    let raw = get(handle, name).map_err(|e| ExtractError::Shim(name, e))?;
    convert(raw).map_err(|e| ExtractError::Convert(name, e))
}

/// One row per argument: the event field, the shim function for its Kea type, the converter.
fn read_argument(
    event: &mut Event,
    argument: Argument,
    handle: &CalloutHandle,
) -> Result<(), ExtractError> {
    let name = argument.kea_name();
    match argument {
        Argument::Query4 => event.query4 = read(handle, name, ffi::get_pkt4, convert::pkt4)?,
        Argument::Response4 => event.response4 = read(handle, name, ffi::get_pkt4, convert::pkt4)?,
        Argument::Subnet4 => {
            event.subnet4 = read(handle, name, ffi::get_subnet4, convert::subnet4)?
        }
        Argument::ClientId => {
            event.client_id = read(handle, name, ffi::get_client_id, convert::client_id)?
        }
        Argument::HwAddr => event.hwaddr = read(handle, name, ffi::get_hwaddr, convert::hwaddr)?,
        Argument::Lease4 => event.lease4 = read(handle, name, ffi::get_lease4, convert::lease4)?,
        Argument::Leases4 => {
            event.leases4 = read(handle, name, ffi::get_leases4, convert::leases4)?
        }
        Argument::DeletedLeases4 => {
            event.deleted_leases4 = read(handle, name, ffi::get_leases4, convert::leases4)?
        }
        Argument::RemoveLease => {
            event.remove_lease = read(handle, name, ffi::get_bool, convert::boolean)?
        }
        Argument::FakeAllocation => {
            event.fake_allocation = read(handle, name, ffi::get_bool, convert::boolean)?
        }
        Argument::Query6 => event.query6 = read(handle, name, ffi::get_pkt6, convert::pkt6)?,
        Argument::Response6 => event.response6 = read(handle, name, ffi::get_pkt6, convert::pkt6)?,
        Argument::Subnet6 => {
            event.subnet6 = read(handle, name, ffi::get_subnet6, convert::subnet6)?
        }
        Argument::Lease6 => event.lease6 = read(handle, name, ffi::get_lease6, convert::lease6)?,
        Argument::Leases6 => {
            event.leases6 = read(handle, name, ffi::get_leases6, convert::leases6)?
        }
        Argument::DeletedLeases6 => {
            event.deleted_leases6 = read(handle, name, ffi::get_leases6, convert::leases6)?
        }
        Argument::Ia => event.ia = read_ia(event, argument, handle)?,
    }
    Ok(())
}

/// Kea sets `ia_na` for an IA_NA lease and `ia_pd` otherwise; like Kea's hook we pick by the
/// lease's type. Unlike Kea's hook we survive a missing lease: then whichever is set is used.
fn read_ia(
    event: &Event,
    argument: Argument,
    handle: &CalloutHandle,
) -> Result<Option<kea_runscript_env::Ia>, ExtractError> {
    let names: &[&'static str] = match &event.lease6 {
        Some(lease) => &[argument.kea_name_for(lease.lease_type)],
        None => &["ia_na", "ia_pd"],
    };
    for &name in names {
        if let Some(ia) = read(handle, name, ffi::get_ia, convert::ia)? {
            return Ok(Some(ia));
        }
    }
    Ok(None)
}
