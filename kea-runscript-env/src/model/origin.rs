//! Where a lease event comes from, on a server of a Kea HA pair.

use serde::{Deserialize, Serialize};

/// The origin of a lease event: `KEA_EVENT_ORIGIN` for scripts of a library with
/// `"ha"` settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Origin {
    /// This server's own callout (a client it served, its own reclamation).
    #[default]
    Local,
    /// A lease change the HA partner sent (`lease4-update`, `lease4-del`,
    /// `lease6-bulk-apply`, …) and this server applied.
    Partner,
    /// A lease command from the control channel (not the partner's) that this server
    /// applied: an operator's or a program's `lease4-update`, `lease4-del`, ….
    Command,
}

impl Origin {
    /// Its value in `KEA_EVENT_ORIGIN`.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Partner => "partner",
            Origin::Command => "command",
        }
    }
}
