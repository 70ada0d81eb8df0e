//! Rendering from any model: any JSON that deserializes into an `Event` (the serde form of
//! the models, as in fixtures/events/) renders to valid, unique, NUL-free variables, the
//! same way twice.
#![no_main]

use kea_runscript_env::Event;
use kea_runscript_fuzz::check_rendering;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Event>(data) else {
        return;
    };
    check_rendering(&event);
});
