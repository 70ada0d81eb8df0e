//! Typed, raw models of the Kea objects a hook point passes to its callouts.
//!
//! The models hold raw data only (bytes, integers, addresses, strings); all text
//! formatting happens when rendering, so a model can be built from any source
//! (the Kea shim, a JSON fixture, another hook) and always renders the same way.

mod hex_bytes;
mod host;
mod host_id;
mod ids;
pub(crate) mod json_text;
mod kea_json;
mod lease;
mod origin;
mod packet;
mod raw_form;
mod subnet;
mod text;
pub(crate) mod user_context;

pub use host::{Host4, Host6};
pub use host_id::{HostIdType, HostIdValue};
pub use ids::{ClientId, Duid, HwAddr, HwAddrLengthError};
pub use json_text::compact_json;
pub use kea_json::KeaJsonError;
pub use lease::{Lease4, Lease6, LeaseState, LeaseType};
pub use origin::Origin;
pub use packet::{DhcpOption, Pkt4, Pkt6, Proto, Relay6};
pub use subnet::{Ia, Subnet4, Subnet6};
pub use text::{Text, Utf8Pieces};
