//! The configuration parser: any bytes as the `parameters` JSON of the hooks-libraries
//! entry. It must return a config or a one-line error, never panic, and be deterministic.
#![no_main]

use kea_runscript_core::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = Config::parse(text);
    assert_eq!(first, Config::parse(text), "parsing is deterministic");
    match first {
        Ok(config) => {
            assert!(!config.scripts.is_empty(), "a parsed config has a script");
            for script in &config.scripts {
                let _ = script.summary();
            }
        }
        Err(error) => {
            let line = error.to_string();
            assert!(!line.contains('\n'), "an error is one line: {line:?}");
        }
    }
});
