//! [`Error`]: what the SDK's calls into Kea return when they fail; [`EntryPoint`]: which of
//! the hook's entry points failed.

use std::fmt;

use kea_runscript_env::HookPoint;

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

/// Which entry point failed, for [`crate::Hook::report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryPoint {
    /// `version()`: Kea validates the library (and its parameters, [`crate::Hook::check_parameters`]).
    Version,
    /// `load()`.
    Load,
    /// `unload()`.
    Unload,
    /// The callout at this hook point.
    Callout(HookPoint),
    /// `dhcp4_srv_configured` / `dhcp6_srv_configured` (argument: 4 or 6).
    SrvConfigured(u8),
    /// [`crate::Hook::parked_query_resolved`].
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
