//! What the shim calls in Rust: its own cxx bridge, so that the main bridge
//! (`crate::bridge`) calls nothing back.

/// The bridge items C++ calls (namespace `kea_runscript`).
#[cxx::bridge(namespace = "kea_runscript")]
mod ffi {
    extern "Rust" {
        /// On Kea's IO service, just before a parked query is resolved: tells the loaded hook
        /// (`Hook::parked_query_resolved`), on Kea's own thread.
        fn parked_query_resolved();
    }
}

/// See [`ffi::parked_query_resolved`]: never unwinds into C++.
fn parked_query_resolved() {
    crate::loaded::parked_query_resolved();
}
