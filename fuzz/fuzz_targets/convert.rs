//! The shim-to-model conversion: raw structs with any contents (what the C++ shim could
//! copy out of Kea) convert to models or to a clear error, and the models render to valid
//! variables. Every argument of every hook point is filled.
#![no_main]

use arbitrary::{Result, Unstructured};
use kea_runscript::convert;
use kea_runscript_env::{render, Event, HookPoint};
use kea_runscript_fuzz as raw;
use libfuzzer_sys::fuzz_target;

/// Converts every raw argument; `Ok(None)` when the fuzzer's bytes ran out.
fn event(u: &mut Unstructured) -> Result<Option<Event>> {
    let mut event = Event::new(*u.choose(HookPoint::ALL)?);
    macro_rules! convert {
        ($($field:ident = $convert:ident($make:ident)),* $(,)?) => {$(
            match convert::$convert(raw::$make(u)?) {
                Ok(value) => event.$field = value,
                // A clear error (an address of the wrong length): the callout logs it.
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    return Ok(None);
                }
            }
        )*};
    }
    convert!(
        query4 = pkt4(pkt4),
        response4 = pkt4(pkt4),
        subnet4 = subnet4(subnet4),
        client_id = client_id(raw_bytes),
        hwaddr = hwaddr(hwaddr),
        lease4 = lease4(lease4),
        leases4 = leases4(leases4),
        deleted_leases4 = leases4(leases4),
        query6 = pkt6(pkt6),
        response6 = pkt6(pkt6),
        subnet6 = subnet6(subnet6),
        lease6 = lease6(lease6),
        leases6 = leases6(leases6),
        deleted_leases6 = leases6(leases6),
        ia = ia(ia),
        remove_lease = boolean(boolean),
        fake_allocation = boolean(boolean),
    );
    Ok(Some(event))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(Some(event)) = event(&mut u) {
        let vars = render(&event);
        kea_runscript_fuzz::check_vars(&vars);
        assert_eq!(vars, render(&event), "rendering is deterministic");
    }
});
