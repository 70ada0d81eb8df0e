//! The shim-to-model conversion: the shim's records (`record::read`, as `extract.rs` reads
//! each argument) with any contents, and now and then a wrong tag or a missing field, read
//! into the models or give a clear error, and the models render to valid variables. Every
//! argument of every hook point is filled.
#![no_main]

use arbitrary::{Result, Unstructured};
use kea_hook::fuzzing as record;
use kea_runscript_env::{Event, HookPoint};
use kea_runscript_fuzz as raw;
use libfuzzer_sys::fuzz_target;

/// Reads every argument's record; `Ok(None)` when the fuzzer's bytes ran out.
fn event(u: &mut Unstructured) -> Result<Option<Event>> {
    let mut event = Event::new(*u.choose(HookPoint::ALL)?);
    macro_rules! convert {
        ($($field:ident = $make:ident),* $(,)?) => {$(
            match record::read(&raw::$make(u)?) {
                Ok(value) => event.$field = value,
                // A clear error (an address of the wrong length, a wrong tag): the callout
                // logs it.
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    return Ok(None);
                }
            }
        )*};
    }
    convert!(
        query4 = pkt4,
        response4 = pkt4,
        subnet4 = subnet,
        client_id = id,
        hwaddr = hwaddr,
        lease4 = lease4,
        leases4 = leases4,
        deleted_leases4 = leases4,
        query6 = pkt6,
        response6 = pkt6,
        subnet6 = subnet,
        lease6 = lease6,
        leases6 = leases6,
        deleted_leases6 = leases6,
        ia = ia,
        remove_lease = boolean,
        fake_allocation = boolean,
        ddns_hostname = id,
        ddns_fwd_update = boolean,
        ddns_rev_update = boolean,
        offer_lifetime = uint,
        old_lease4 = lease4,
        host_id_type = uint,
        host_id_value = id,
    );
    Ok(Some(event))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(Some(event)) = event(&mut u) {
        raw::check_rendering(&event);
    }
});
