//! `libkea_runscript.so`: a Kea DHCP hook library that runs scripts at hook points.
//!
//! Written with the SDK for Rust Kea hooks ([`kea_hook`]), which generates Kea's entry points
//! (`version`, `load`, `unload`, `multi_threading_compatible`), registers the callouts and
//! keeps panics and C++ exceptions away from Kea. This crate is the thin part: the library's
//! `parameters` become a `kea-runscript-core` [`Engine`](kea_runscript_core::Engine)
//! ([`runscript`]), and each callout hands the hook point's arguments, as `kea-runscript-env`
//! models, to it ([`callout`]) and applies its verdict ([`verdict`]) and the data its answers
//! carried ([`answer`]).

#![warn(missing_docs)]

pub mod answer;
pub mod callout;
pub mod expressions;
pub mod ha;
pub mod logging;
pub mod replay;
pub mod runscript;
pub mod stats;
pub mod verdict;

kea_hook::export_hook!(runscript::RunScript);

#[cfg(test)]
mod tests {
    #[test]
    fn the_generated_entry_points_answer_as_kea_expects() {
        // No Kea configuration is being parsed here, so version() checks nothing.
        assert_eq!(super::version(), kea_hook::hooks_version());
        assert!(super::version() >= 20200, "built against Kea 2.2 or later");
        assert_eq!(super::multi_threading_compatible(), 1);
        // A broken caller: an error (Kea rejects the configuration), not a crash.
        assert_eq!(super::load(std::ptr::null_mut()), 1);
        assert_eq!(super::unload(), 0);
    }
}
