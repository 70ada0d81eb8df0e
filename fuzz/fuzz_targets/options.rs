//! The option parsers: option 82's sub-options from any payload, and the rendering of a
//! query carrying any options (top-level and in the relay agent information option).
#![no_main]

use kea_runscript_env::format::option82_sub_options;
use kea_runscript_env::{render, DhcpOption, Event};
use kea_runscript_fuzz::check_vars;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Oracle: the sub-options, re-encoded as code, length, value, are a prefix of the payload
    // and nothing complete is left out after it.
    let subs = option82_sub_options(data);
    let mut encoded = Vec::new();
    for (code, value) in &subs {
        encoded.push(*code);
        encoded.push(u8::try_from(value.len()).expect("a length byte"));
        encoded.extend_from_slice(value);
    }
    assert!(data.starts_with(&encoded), "sub-options re-encode to a prefix");
    let rest = &data[encoded.len()..];
    assert!(
        rest.len() < 2 || usize::from(rest[1]) > rest.len() - 2,
        "parsing stopped before a complete sub-option"
    );

    // The same bytes as the payload of option 82 and of two other options of a query.
    let mut event: Event = serde_json::from_str(include_str!(
        "../../fixtures/events/leases4_committed.json"
    ))
    .expect("the fixture is an event");
    let query = event.query4.as_mut().expect("the fixture has a query");
    query.options.clear();
    for code in [82, data.first().map_or(12, |&c| u16::from(c)), 60] {
        query.options.push(DhcpOption {
            code,
            payload: data.to_vec(),
        });
    }
    check_vars(&render(&event));
});
