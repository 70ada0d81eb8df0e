//! The Kea release the SDK was built against.

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
    crate::bridge::ffi::hooks_version()
}
