//! Builds the env [`Event`] for a hook point from a Kea callout handle: for each argument of
//! the hook point (the table in `kea-runscript-env`), the shim function for its Kea type.

use std::fmt;

use cxx::{CxxVector, UniquePtr};
use kea_runscript_env::{Argument, Event, HookPoint};

use serde::de::DeserializeOwned;

use crate::bridge::ffi::{self, CalloutHandle};
use crate::record::{self, RecordError};

/// Why an event could not be built: a C++ exception in the shim (e.g. an argument of an
/// unexpected type) or a value the models cannot hold.
#[derive(Debug)]
pub enum ExtractError {
    /// The shim threw while reading the named argument.
    Shim(&'static str, cxx::Exception),
    /// The named argument's record does not fit its model.
    Convert(&'static str, RecordError),
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::Shim(name, e) => write!(f, "reading argument \"{name}\": {e}"),
            ExtractError::Convert(name, e) => write!(f, "converting argument \"{name}\": {e}"),
        }
    }
}

impl std::error::Error for ExtractError {}

/// The event for `hook_point` with every argument the hook point renders read from `handle`.
pub(crate) fn event(hook_point: HookPoint, handle: &CalloutHandle) -> Result<Event, ExtractError> {
    read_arguments(new_event(hook_point), hook_point.arguments(), handle)
}

/// Reads `arguments` into `event`. Which IA Kea passed depends on the lease's type, so the IA
/// is read after every other argument, whatever the order of `arguments`.
fn read_arguments(
    mut event: Event,
    arguments: &[Argument],
    handle: &CalloutHandle,
) -> Result<Event, ExtractError> {
    let independent = arguments.iter().filter(|&&a| a != Argument::Ia);
    let dependent = arguments.iter().filter(|&&a| a == Argument::Ia);
    for &argument in independent.chain(dependent) {
        read_argument(&mut event, argument, handle)?;
    }
    Ok(event)
}

/// Adds Kea's own `toText()` dumps of the event's DHCPv6 packets and leases, which only the
/// kea-hook-runscript profile renders (`*_DEBUG`); asked for only when such a script runs,
/// since building them costs Kea some string formatting per object.
pub(crate) fn kea_texts(event: &mut Event, handle: &CalloutHandle) -> Result<(), ExtractError> {
    fn text(
        handle: &CalloutHandle,
        argument: Argument,
        get: fn(&CalloutHandle, &str) -> Result<String, cxx::Exception>,
    ) -> Result<Option<String>, ExtractError> {
        let name = argument.kea_name();
        get(handle, name)
            .map(Some)
            .map_err(|e| ExtractError::Shim(name, e))
    }
    if let Some(pkt) = event.query6.as_mut() {
        pkt.kea_text = text(handle, Argument::Query6, ffi::get_pkt6_text)?;
    }
    if let Some(pkt) = event.response6.as_mut() {
        pkt.kea_text = text(handle, Argument::Response6, ffi::get_pkt6_text)?;
    }
    if let Some(lease) = event.lease4.as_mut() {
        lease.kea_text = text(handle, Argument::Lease4, ffi::get_lease4_text)?;
    }
    if let Some(lease) = event.lease6.as_mut() {
        lease.kea_text = text(handle, Argument::Lease6, ffi::get_lease6_text)?;
    }
    Ok(())
}

/// Adds the client's host reservations in the selected subnet, which only scripts with
/// `"host-reservation": true` render (a look-up in Kea's host manager per event, so asked for
/// only then). The subnet is the `subnet4`/`subnet6` argument, or else that of the (first)
/// lease; without a query or a subnet there is nothing to look up.
pub(crate) fn hosts(event: &mut Event, handle: &CalloutHandle) -> Result<(), ExtractError> {
    fn convert<T: DeserializeOwned>(
        raw: Result<RecordBytes, cxx::Exception>,
    ) -> Result<Option<T>, ExtractError> {
        let raw = raw.map_err(|e| ExtractError::Shim("host reservation", e))?;
        record::read(bytes(&raw)).map_err(|e| ExtractError::Convert("host reservation", e))
    }
    if event.query4.is_some() {
        let lease = event
            .lease4
            .iter()
            .chain(event.leases4.iter().flatten())
            .chain(event.deleted_leases4.iter().flatten())
            .map(|l| l.subnet_id)
            .next();
        if let Some(id) = event.subnet4.as_ref().map(|s| s.id).or(lease) {
            event.host4 = convert(ffi::get_host4(handle, id))?;
        }
    }
    if event.query6.is_some() {
        let lease = event
            .lease6
            .iter()
            .chain(event.leases6.iter().flatten())
            .chain(event.deleted_leases6.iter().flatten())
            .map(|l| l.subnet_id)
            .next();
        if let Some(id) = event.subnet6.as_ref().map(|s| s.id).or(lease) {
            event.host6 = convert(ffi::get_host6(handle, id))?;
        }
    }
    Ok(())
}

/// A record as the shim hands it over (`shim/record.h`).
type RecordBytes = UniquePtr<CxxVector<u8>>;

/// A shim function reading one Kea argument into a record.
type Getter = fn(&CalloutHandle, &str) -> Result<RecordBytes, cxx::Exception>;

/// Calls the shim function `get` for argument `name` and reads its record into the model.
fn read<T: DeserializeOwned>(
    handle: &CalloutHandle,
    name: &'static str,
    get: Getter,
) -> Result<Option<T>, ExtractError> {
    convert(name, &fetch(handle, name, get)?)
}

/// Calls the shim function `get` for argument `name`: the copy made on Kea's thread.
fn fetch(
    handle: &CalloutHandle,
    name: &'static str,
    get: Getter,
) -> Result<RecordBytes, ExtractError> {
    get(handle, name).map_err(|e| ExtractError::Shim(name, e))
}

/// Reads the record of argument `name` into the model: needs no Kea object, so it may run
/// on any thread.
fn convert<T: DeserializeOwned>(
    name: &'static str,
    raw: &RecordBytes,
) -> Result<Option<T>, ExtractError> {
    record::read(bytes(raw)).map_err(|e| ExtractError::Convert(name, e))
}

/// Reads the record of a JSON argument (`arguments`, `response`) into compact JSON text, as
/// the [`Event`] field holds it.
fn convert_json(name: &'static str, raw: &RecordBytes) -> Result<Option<String>, ExtractError> {
    let text: Option<kea_runscript_env::Text> = convert(name, raw)?;
    Ok(text.map(|t| kea_runscript_env::compact_json(&t)))
}

/// The bytes of a record from the shim (none for a null pointer, which it never returns).
fn bytes(raw: &RecordBytes) -> &[u8] {
    raw.as_ref().map_or(&[], |v| v.as_slice())
}

/// The shim function for each argument's Kea type (`Ia`: see [`read_ia`]).
fn getter(argument: Argument) -> Getter {
    match argument {
        Argument::Query4 | Argument::Response4 => ffi::get_pkt4,
        Argument::Subnet4 => ffi::get_subnet4,
        Argument::ClientId => ffi::get_client_id,
        Argument::HwAddr => ffi::get_hwaddr,
        Argument::Lease4 | Argument::OldLease4 => ffi::get_lease4,
        Argument::Leases4 | Argument::DeletedLeases4 => ffi::get_leases4,
        Argument::RemoveLease
        | Argument::FakeAllocation
        | Argument::DdnsFwdUpdate
        | Argument::DdnsRevUpdate => ffi::get_bool,
        Argument::Query6 | Argument::Response6 => ffi::get_pkt6,
        Argument::Subnet6 => ffi::get_subnet6,
        Argument::Lease6 | Argument::OldLease6 | Argument::NewLease6 => ffi::get_lease6,
        Argument::Leases6 | Argument::DeletedLeases6 => ffi::get_leases6,
        Argument::Address6 => ffi::get_address6,
        Argument::Ia => ffi::get_ia,
        Argument::CommandName | Argument::DdnsHostname => ffi::get_string,
        Argument::OfferLifetime => ffi::get_uint32,
        Argument::HostIdType => ffi::get_host_id_type,
        Argument::HostIdValue => ffi::get_bytes,
        Argument::CommandArguments | Argument::CommandResponse => ffi::get_element,
    }
}

/// Reads the record `raw` of `argument` into its event field.
fn store(event: &mut Event, argument: Argument, raw: &RecordBytes) -> Result<(), ExtractError> {
    let name = argument.kea_name();
    match argument {
        Argument::Query4 => event.query4 = convert(name, raw)?,
        Argument::Response4 => event.response4 = convert(name, raw)?,
        Argument::Subnet4 => event.subnet4 = convert(name, raw)?,
        Argument::ClientId => event.client_id = convert(name, raw)?,
        Argument::HwAddr => event.hwaddr = convert(name, raw)?,
        Argument::Lease4 => event.lease4 = convert(name, raw)?,
        Argument::Leases4 => event.leases4 = convert(name, raw)?,
        Argument::DeletedLeases4 => event.deleted_leases4 = convert(name, raw)?,
        Argument::RemoveLease => event.remove_lease = convert(name, raw)?,
        Argument::FakeAllocation => event.fake_allocation = convert(name, raw)?,
        Argument::Query6 => event.query6 = convert(name, raw)?,
        Argument::Response6 => event.response6 = convert(name, raw)?,
        Argument::Subnet6 => event.subnet6 = convert(name, raw)?,
        Argument::Lease6 => event.lease6 = convert(name, raw)?,
        Argument::Leases6 => event.leases6 = convert(name, raw)?,
        Argument::DeletedLeases6 => event.deleted_leases6 = convert(name, raw)?,
        Argument::Address6 => event.address6 = convert(name, raw)?,
        Argument::OldLease6 => event.old_lease6 = convert(name, raw)?,
        Argument::NewLease6 => event.new_lease6 = convert(name, raw)?,
        Argument::Ia => event.ia = convert(name, raw)?,
        Argument::CommandName => event.command_name = convert(name, raw)?,
        Argument::CommandArguments => event.command_arguments = convert_json(name, raw)?,
        Argument::CommandResponse => event.command_response = convert_json(name, raw)?,
        Argument::DdnsHostname => event.ddns_hostname = convert(name, raw)?,
        Argument::DdnsFwdUpdate => event.ddns_fwd_update = convert(name, raw)?,
        Argument::DdnsRevUpdate => event.ddns_rev_update = convert(name, raw)?,
        Argument::OfferLifetime => event.offer_lifetime = convert(name, raw)?,
        Argument::OldLease4 => event.old_lease4 = convert(name, raw)?,
        Argument::HostIdType => event.host_id_type = convert(name, raw)?,
        Argument::HostIdValue => event.host_id_value = convert(name, raw)?,
    }
    Ok(())
}

/// Reads one argument into `event`.
pub(crate) fn read_argument(
    event: &mut Event,
    argument: Argument,
    handle: &CalloutHandle,
) -> Result<(), ExtractError> {
    if argument == Argument::Ia {
        event.ia = read_ia(event, argument, handle)?;
        return Ok(());
    }
    store(
        event,
        argument,
        &fetch(handle, argument.kea_name(), getter(argument))?,
    )
}

/// The copies of a hook point's arguments made on Kea's thread, to read into an [`Event`]
/// later on any thread ([`Records::into_event`]).
pub struct Records {
    hook_point: HookPoint,
    contents: RecordsContents,
}

/// What [`Records`] hold.
enum RecordsContents {
    /// One record per argument, in the hook point's order.
    Copies(Vec<(Argument, RecordBytes)>),
    /// Hook points with an IA (which IA is read depends on the lease) are read at once.
    Read(Box<Event>),
}

impl Records {
    /// The hook point whose arguments these are.
    pub fn hook_point(&self) -> HookPoint {
        self.hook_point
    }

    /// The bytes of the copies held (0 for hook points read at once): what these records
    /// cost while they wait, e.g. a control command's JSON at `command_processed`.
    pub fn copied_bytes(&self) -> usize {
        match &self.contents {
            RecordsContents::Copies(records) => {
                records.iter().map(|(_, raw)| bytes(raw).len()).sum()
            }
            RecordsContents::Read(_) => 0,
        }
    }

    /// Reads the copies into the models: needs no Kea object, so it may run on any thread.
    pub fn into_event(self) -> Result<Event, ExtractError> {
        match self.contents {
            RecordsContents::Read(event) => Ok(*event),
            RecordsContents::Copies(records) => {
                let mut event = new_event(self.hook_point);
                for (argument, raw) in &records {
                    store(&mut event, *argument, raw)?;
                }
                Ok(event)
            }
        }
    }
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("hook_point", &self.hook_point)
            .finish_non_exhaustive()
    }
}

/// Like [`event`], but only the copies of Kea's objects are made now; reading them into
/// the model is left to whichever thread first needs the event (a worker's writer), so
/// Kea's packet thread pays for the copies alone.
pub(crate) fn records(
    hook_point: HookPoint,
    handle: &CalloutHandle,
) -> Result<Records, ExtractError> {
    let arguments = hook_point.arguments();
    let contents = if arguments.contains(&Argument::Ia) {
        RecordsContents::Read(Box::new(event(hook_point, handle)?))
    } else {
        RecordsContents::Copies(
            arguments
                .iter()
                .map(|&a| Ok((a, fetch(handle, a.kea_name(), getter(a))?)))
                .collect::<Result<Vec<_>, ExtractError>>()?,
        )
    };
    Ok(Records {
        hook_point,
        contents,
    })
}

/// Reads one argument (not the IA) into its model.
pub(crate) fn read_one<T: DeserializeOwned>(
    handle: &CalloutHandle,
    argument: Argument,
) -> Result<Option<T>, ExtractError> {
    read(handle, argument.kea_name(), getter(argument))
}

/// Reads a JSON argument (`arguments`, `response` at `command_processed`) into compact JSON
/// text, as the [`Event`] holds it.
pub(crate) fn read_json(
    handle: &CalloutHandle,
    argument: Argument,
) -> Result<Option<String>, ExtractError> {
    let name = argument.kea_name();
    convert_json(name, &fetch(handle, name, getter(argument))?)
}

/// A new event for `hook_point` from the Kea release built against, so that it renders that
/// release's texts.
pub(crate) fn new_event(hook_point: HookPoint) -> Event {
    let mut event = Event::new(hook_point);
    event.kea_version = crate::version::KEA_VERSION;
    event
}

/// Kea sets `ia_na` for an IA_NA lease and `ia_pd` otherwise; like Kea's hook we pick by the
/// lease's type. Unlike Kea's hook we survive a missing lease: then whichever is set is used.
fn read_ia(
    event: &Event,
    argument: Argument,
    handle: &CalloutHandle,
) -> Result<Option<kea_runscript_env::Ia>, ExtractError> {
    let names: &[&'static str] = match &event.lease6 {
        Some(lease) => &[argument.kea_name_for(lease.lease_type)],
        None => &["ia_na", "ia_pd"],
    };
    for &name in names {
        if let Some(ia) = read(handle, name, ffi::get_ia)? {
            return Ok(Some(ia));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use cxx::UniquePtr;
    use kea_runscript_env::{ClientId, Duid, LeaseType, Proto};

    use super::*;
    use crate::testing::ffi as kea;

    fn handle() -> UniquePtr<CalloutHandle> {
        kea::new_test_handle().expect("a Kea callout handle")
    }

    /// A handle with every argument of `lease4_renew` set to a test object (lease of
    /// 10.0.0.10).
    fn lease4_renew_handle() -> UniquePtr<CalloutHandle> {
        let mut h = handle();
        kea::set_test_pkt4(h.pin_mut(), "query4").unwrap();
        kea::set_test_subnet4(h.pin_mut(), "subnet4").unwrap();
        kea::set_test_client_id(h.pin_mut(), "clientid").unwrap();
        kea::set_test_hwaddr(h.pin_mut(), "hwaddr").unwrap();
        kea::set_test_lease4(h.pin_mut(), "lease4", 10).unwrap();
        h
    }

    #[test]
    fn lease4_renew_reads_every_argument_from_kea_objects() {
        let h = lease4_renew_handle();

        let event = event(HookPoint::Lease4Renew, &h).unwrap();

        let query = event.query4.expect("query4");
        assert_eq!(query.msg_type, 3, "DHCPREQUEST");
        assert_eq!(query.transid, 0x1234);
        assert_eq!(query.giaddr, Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(query.yiaddr, Ipv4Addr::new(10, 0, 0, 10));
        assert_eq!((query.hops, query.secs, query.flags), (1, 7, 0x8000));
        assert_eq!(
            (query.iface_name.to_str(), query.iface_index),
            (Some("vs0"), 3)
        );
        assert_eq!(
            query.hwaddr.as_ref().unwrap().bytes,
            vec![0, 0x0c, 1, 2, 3, 4]
        );
        // Option 82 as Kea packs it: its sub-options with their headers.
        assert_eq!(
            query.option(82).expect("option 82").payload,
            vec![1, 2, b'a', b'b', 2, 3, 1, 2, 3]
        );
        let subnet = event.subnet4.expect("subnet4");
        assert_eq!(
            (subnet.id, subnet.prefix.to_string()),
            (2, "10.0.0.0/8".into())
        );
        assert_eq!(
            event.client_id,
            Some(ClientId(vec![1, 0, 0x0c, 1, 2, 3, 4]))
        );
        assert_eq!(event.hwaddr.expect("hwaddr").htype, 1);
        let lease = event.lease4.expect("lease4");
        assert_eq!(lease.address, Ipv4Addr::new(10, 0, 0, 10));
        assert_eq!(
            (lease.subnet_id, lease.valid_lifetime, lease.cltt),
            (2, 4000, 1_700_000_000)
        );
        assert_eq!(lease.hostname, "host.example");
        assert_eq!(
            lease.client_id,
            Some(ClientId(vec![1, 0, 0x0c, 1, 2, 3, 10]))
        );
        // Classes in Kea's order, user contexts as compact JSON (absent: none).
        assert_eq!(query.classes, ["ALL", "VENDOR_CLASS_MSFT 5.0", "KNOWN"]);
        assert_eq!(
            subnet.user_context.as_deref(),
            Some(r#"{"floor":[1,2],"site":"b"}"#)
        );
        assert_eq!(
            lease.user_context.as_deref(),
            Some(r#"{"ISC":{"x":"y z"}}"#)
        );
        // Only the hook point's arguments are read.
        assert_eq!(event.query6, None);
    }

    #[test]
    fn absent_and_null_arguments_are_none() {
        let mut h = handle();
        kea::set_test_null_pkt4(h.pin_mut(), "query4").unwrap();
        let event = event(HookPoint::Lease4Release, &h).unwrap();
        assert_eq!(event.query4, None, "null Pkt4Ptr");
        assert_eq!(event.lease4, None, "argument never set");
    }

    #[test]
    fn an_argument_of_another_type_is_an_error_naming_it() {
        let mut h = handle();
        kea::set_test_wrong_type(h.pin_mut(), "lease4").unwrap();
        let error = event(HookPoint::Lease4Recover, &h).unwrap_err();
        assert!(matches!(error, ExtractError::Shim("lease4", _)), "{error}");
        assert!(error.to_string().contains("lease4"), "{error}");
    }

    #[test]
    fn leases4_committed_reads_both_collections() {
        let mut h = handle();
        kea::set_test_pkt4(h.pin_mut(), "query4").unwrap();
        kea::set_test_leases4(h.pin_mut(), "leases4", 2).unwrap();
        kea::set_test_leases4(h.pin_mut(), "deleted_leases4", 0).unwrap();
        let event = event(HookPoint::Leases4Committed, &h).unwrap();
        let leases = event.leases4.expect("leases4");
        assert_eq!(leases.len(), 2);
        assert_eq!(leases[1].address, Ipv4Addr::new(10, 0, 1, 2));
        assert_eq!(leases[0].client_id, None);
        assert_eq!(leases[0].user_context, None);
        assert_eq!(event.deleted_leases4, Some(vec![]));
    }

    #[test]
    fn lease6_renew_picks_ia_pd_for_a_prefix_and_ia_na_for_an_address() {
        for (prefix, expected) in [(true, 25), (false, 3)] {
            let mut h = handle();
            kea::set_test_pkt6(h.pin_mut(), "query6").unwrap();
            kea::set_test_lease6(h.pin_mut(), "lease6", prefix).unwrap();
            kea::set_test_ia(h.pin_mut(), "ia_na", 3).unwrap();
            kea::set_test_ia(h.pin_mut(), "ia_pd", 25).unwrap();
            let event = event(HookPoint::Lease6Renew, &h).unwrap();
            assert_eq!(event.ia.expect("ia").ia_type, expected);
            let lease = event.lease6.expect("lease6");
            if prefix {
                assert_eq!(lease.lease_type, LeaseType::Pd);
                assert_eq!(lease.prefix_len, 56);
            } else {
                assert_eq!(lease.lease_type, LeaseType::Na);
                assert_eq!(
                    lease.address,
                    "2001:db8:1::100".parse::<Ipv6Addr>().unwrap()
                );
            }
            assert_eq!(
                lease.duid,
                Some(Duid(vec![0, 3, 0, 1, 0, 0x0c, 1, 2, 3, 4]))
            );
            assert_eq!((lease.iaid, lease.preferred_lifetime), (7, 3000));
        }
    }

    #[test]
    fn the_ia_follows_the_lease_type_whatever_the_argument_order() {
        let mut h = handle();
        kea::set_test_lease6(h.pin_mut(), "lease6", true).unwrap();
        kea::set_test_ia(h.pin_mut(), "ia_na", 3).unwrap();
        kea::set_test_ia(h.pin_mut(), "ia_pd", 25).unwrap();
        for order in [
            [Argument::Lease6, Argument::Ia],
            [Argument::Ia, Argument::Lease6],
        ] {
            let event = read_arguments(Event::new(HookPoint::Lease6Renew), &order, &h).unwrap();
            assert_eq!(
                event.ia.expect("ia").ia_type,
                25,
                "{order:?}: IA_PD for a prefix"
            );
        }
    }

    #[test]
    fn a_deferred_event_reads_the_copies_made_at_the_callout() {
        let mut h = lease4_renew_handle();
        let now = event(HookPoint::Lease4Renew, &h).unwrap();

        let later = records(HookPoint::Lease4Renew, &h).unwrap();
        // Kea's objects change (or go) after the callout: the copies stay.
        kea::set_test_lease4(h.pin_mut(), "lease4", 99).unwrap();
        drop(h);

        assert_eq!(later.hook_point(), HookPoint::Lease4Renew);
        assert_eq!(later.into_event().unwrap(), now);
        assert_eq!(
            now.lease4.as_ref().map(|l| l.address),
            Some(Ipv4Addr::new(10, 0, 0, 10))
        );
    }

    #[test]
    fn kea_hook_runscript_facts_come_from_kea() {
        let mut h = handle();
        kea::set_test_pkt6(h.pin_mut(), "query6").unwrap();
        kea::set_test_lease6(h.pin_mut(), "lease6", true).unwrap();
        let mut event = event(HookPoint::Lease6Renew, &h).unwrap();
        // getMAC finds it in the DUID-LL (source HWADDR_SOURCE_DUID = 2).
        let mac = event.query6.as_ref().unwrap().mac.clone().expect("a MAC");
        assert_eq!(
            (mac.bytes, mac.htype, mac.source),
            (vec![0, 0x0c, 1, 2, 3, 4], 1, 2)
        );
        // Kea's Lease6 constructor stamps cltt = now: not expired, by Kea's own clock.
        assert!(!event.lease6.as_ref().unwrap().expired);
        assert_eq!(
            event.lease6.as_ref().unwrap().kea_text,
            None,
            "only on request"
        );
        kea_texts(&mut event, &h).unwrap();
        let pkt_text = event.query6.unwrap().kea_text.expect("Pkt6::toText");
        // Kea's own text, which 2.6 changed (as tests/common/kea.rs's pkt6_text_type).
        let renew = if crate::version::KEA_VERSION.hooks_version() >= 20600 {
            "msg_type=RENEW (5)"
        } else {
            "msgtype=5(RENEW)"
        };
        assert!(pkt_text.contains(renew), "{pkt_text}");
        let lease_text = event.lease6.unwrap().kea_text.expect("Lease6::toText");
        assert!(
            lease_text.contains("Type:          IA_PD(2)"),
            "{lease_text}"
        );
        assert!(lease_text.contains("Prefix length: 56"), "{lease_text}");

        // A lease last seen in 2023 with a lifetime of 4000 s has long expired.
        let mut h = handle();
        kea::set_test_lease4(h.pin_mut(), "lease4", 10).unwrap();
        let recovered = super::event(HookPoint::Lease4Recover, &h).unwrap();
        assert!(recovered.lease4.expect("lease4").expired);
    }

    #[test]
    fn command_processed_reads_the_name_and_the_json_compactly() {
        let mut h = handle();
        kea::set_test_string(h.pin_mut(), "name", "lease4-del").unwrap();
        kea::set_test_element(
            h.pin_mut(),
            "arguments",
            r#"{ "subnet-id": 1, "ip-address": "192.0.2.10", "note": "caf\u00e9 \"x\"" }"#,
        )
        .unwrap();
        kea::set_test_element(
            h.pin_mut(),
            "response",
            r#"{ "result": 0, "text": "IPv4 lease deleted." }"#,
        )
        .unwrap();
        let now = event(HookPoint::CommandProcessed, &h).unwrap();
        assert_eq!(now.command_name, Some("lease4-del".into()));
        // Kea's JSON text, keys sorted and spaced, re-written compactly (Kea escapes
        // non-ASCII bytes one by one: `é` arrives as its two bytes' escapes).
        let arguments = now.command_arguments.as_deref().expect("arguments");
        assert!(
            arguments.starts_with(r#"{"ip-address":"192.0.2.10","note":"caf"#),
            "{arguments}"
        );
        assert!(
            arguments.ends_with(r#" \"x\"","subnet-id":1}"#),
            "{arguments}"
        );
        assert_eq!(
            now.command_response.as_deref(),
            Some(r#"{"result":0,"text":"IPv4 lease deleted."}"#)
        );
        // The deferred copies give the same event; the rendering shows the result and text.
        let later = records(HookPoint::CommandProcessed, &h).unwrap();
        assert!(later.copied_bytes() > 100, "{}", later.copied_bytes());
        assert_eq!(later.into_event().unwrap(), now);
        let vars = now.render();
        assert!(
            vars.contains(&("COMMAND_RESULT".into(), "0".into())),
            "{vars:?}"
        );

        // A command without arguments: Kea passes a null element.
        let mut h = handle();
        kea::set_test_string(h.pin_mut(), "name", "version-get").unwrap();
        kea::set_test_element(h.pin_mut(), "arguments", "").unwrap();
        kea::set_test_element(h.pin_mut(), "response", r#"{"result": 2}"#).unwrap();
        let callout = crate::testing::callout(&mut h, HookPoint::CommandProcessed);
        assert_eq!(callout.command_name().unwrap(), Some("version-get".into()));
        assert_eq!(callout.command_arguments().unwrap(), None);
        assert_eq!(
            callout.command_response().unwrap().as_deref(),
            Some(r#"{"result":2}"#)
        );
    }

    /// The copies made at the callout read into the same event as reading at once.
    fn assert_deferred_same(hook_point: HookPoint, h: &CalloutHandle, now: &Event) {
        let later = records(hook_point, h).unwrap().into_event().unwrap();
        assert_eq!(&later, now, "{hook_point}");
    }

    #[test]
    fn ddns_update_reads_the_host_name_and_both_flags() {
        let mut h = handle();
        kea::set_test_pkt4(h.pin_mut(), "query4").unwrap();
        kea::set_test_pkt4(h.pin_mut(), "response4").unwrap();
        kea::set_test_subnet4(h.pin_mut(), "subnet4").unwrap();
        kea::set_test_string(h.pin_mut(), "hostname", "client1.example.org.").unwrap();
        kea::set_test_bool(h.pin_mut(), "fwd-update", true).unwrap();
        kea::set_test_bool(h.pin_mut(), "rev-update", false).unwrap();
        let now = event(HookPoint::Ddns4Update, &h).unwrap();
        assert_eq!(now.ddns_hostname, Some("client1.example.org.".into()));
        assert_eq!(
            (now.ddns_fwd_update, now.ddns_rev_update),
            (Some(true), Some(false))
        );
        assert_eq!(now.subnet4.as_ref().map(|s| s.id), Some(2));
        assert!(now.response4.is_some());
        assert_deferred_same(HookPoint::Ddns4Update, &h, &now);
        let vars = now.render();
        for (name, value) in [
            ("DDNS_HOSTNAME", "client1.example.org."),
            ("DDNS_FWD_UPDATE", "true"),
            ("DDNS_REV_UPDATE", "false"),
        ] {
            assert!(
                vars.contains(&(name.into(), value.into())),
                "{name}: {vars:?}"
            );
        }
        // A flag of another C++ type is an error naming it, not a guess.
        kea::set_test_string(h.pin_mut(), "rev-update", "false").unwrap();
        let error = event(HookPoint::Ddns4Update, &h).unwrap_err();
        assert!(
            matches!(error, ExtractError::Shim("rev-update", _)),
            "{error}"
        );
    }

    #[test]
    fn lease4_offer_reads_the_lifetime_and_a_null_old_lease() {
        let mut h = handle();
        kea::set_test_pkt4(h.pin_mut(), "query4").unwrap();
        kea::set_test_leases4(h.pin_mut(), "leases4", 1).unwrap();
        kea::set_test_uint32(h.pin_mut(), "offer_lifetime", 4_000_000_000).unwrap();
        kea::set_test_null_lease4(h.pin_mut(), "old_lease").unwrap();
        let first = event(HookPoint::Lease4Offer, &h).unwrap();
        assert_eq!(first.offer_lifetime, Some(4_000_000_000));
        assert_eq!(first.old_lease4, None, "Kea's null Lease4Ptr");
        assert_eq!(first.response4, None, "Kea 2.6 passes no response4");
        assert_eq!(first.leases4.as_ref().map(Vec::len), Some(1));
        // A returning client: its old lease.
        kea::set_test_lease4(h.pin_mut(), "old_lease", 9).unwrap();
        let returning = event(HookPoint::Lease4Offer, &h).unwrap();
        let old = returning.old_lease4.as_ref().expect("old_lease");
        assert_eq!(old.address, Ipv4Addr::new(10, 0, 0, 9));
        assert_deferred_same(HookPoint::Lease4Offer, &h, &returning);
        let vars = returning.render();
        assert!(vars.contains(&("OLD_LEASE4_ADDRESS".into(), "10.0.0.9".into())));
        assert!(vars.contains(&("OFFER_LIFETIME".into(), "4000000000".into())));
    }

    #[test]
    fn host_identifier_reads_the_type_and_the_value() {
        use kea_runscript_env::{HostIdType, HostIdValue};
        let mut h = handle();
        kea::set_test_pkt6(h.pin_mut(), "query6").unwrap();
        // As Kea calls it: flex-id (4) and an empty value.
        kea::set_test_host_id_type(h.pin_mut(), "id_type", 4).unwrap();
        kea::set_test_bytes(h.pin_mut(), "id_value", &[]).unwrap();
        let asked = event(HookPoint::Host6Identifier, &h).unwrap();
        assert_eq!(asked.host_id_type, Some(HostIdType::Flex));
        assert_eq!(asked.host_id_value, Some(HostIdValue(vec![])));
        let vars = asked.render();
        assert!(vars.contains(&("HOST_ID_TYPE".into(), "flex-id".into())));
        assert!(vars.contains(&("HOST_ID_VALUE".into(), "".into())));
        kea::set_test_bytes(h.pin_mut(), "id_value", b"sub-42").unwrap();
        kea::set_test_host_id_type(h.pin_mut(), "id_type", 9).unwrap();
        let set = records(HookPoint::Host6Identifier, &h)
            .unwrap()
            .into_event()
            .unwrap();
        assert_eq!(set.host_id_type, Some(HostIdType::Other(9)));
        assert_eq!(set.host_id_value, Some(HostIdValue(b"sub-42".to_vec())));
    }

    #[test]
    fn lease6_rebind_without_a_lease_does_not_crash() {
        // Kea's own hook dereferences lease6 unconditionally here.
        let mut h = handle();
        kea::set_test_pkt6(h.pin_mut(), "query6").unwrap();
        kea::set_test_ia(h.pin_mut(), "ia_pd", 25).unwrap();
        let event = event(HookPoint::Lease6Rebind, &h).unwrap();
        assert_eq!(event.lease6, None);
        assert_eq!(event.ia.expect("the IA that is set").ia_type, 25);
    }

    #[test]
    fn pkt6_with_relay_and_client_id() {
        let mut h = handle();
        kea::set_test_pkt6(h.pin_mut(), "query6").unwrap();
        kea::set_test_subnet6(h.pin_mut(), "subnet6").unwrap();
        kea::set_test_bool(h.pin_mut(), "fake_allocation", true).unwrap();
        kea::set_test_lease6(h.pin_mut(), "lease6", false).unwrap();
        let event = event(HookPoint::Lease6Select, &h).unwrap();
        let query = event.query6.expect("query6");
        assert_eq!((query.msg_type, query.transid), (5, 0x12_3456), "RENEW");
        assert_eq!(query.proto, Proto::Udp);
        assert_eq!(query.remote_addr, "fe80::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            query.client_id,
            Some(Duid(vec![0, 3, 0, 1, 0, 0x0c, 1, 2, 3, 4]))
        );
        assert_eq!(query.relays.len(), 1);
        assert_eq!(query.relays[0].msg_type, 12, "RELAY-FORW");
        assert_eq!(
            query.relays[0].link_addr,
            "2001:db8:1::1".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            query
                .relay_option_from_client(18)
                .expect("interface-id")
                .payload,
            b"eth"
        );
        assert_eq!(
            event.subnet6.expect("subnet6").prefix.to_string(),
            "2001:db8:1::/64"
        );
        assert_eq!(event.fake_allocation, Some(true));
    }

    /// `*_IS_EXPIRED` is Kea's `Lease::expired()` at the callout (issue 23): a lease that
    /// had not expired at the callout renders `0` even when its model is read and rendered
    /// on another thread after Kea's clock has passed its expiry.
    #[test]
    fn expired_is_taken_at_the_callout() {
        use kea_runscript_env::Profile;
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970")
                .as_secs() as i64
        };
        // Expires 2 s from now (valid 4000 s): unexpired at the callout just below.
        let expiry = now() + 2;
        let mut h = handle();
        kea::set_test_lease6_cltt(h.pin_mut(), "lease6", expiry - 4000).unwrap();
        kea::set_test_bool(h.pin_mut(), "remove_lease", true).unwrap();
        let hook_point = HookPoint::Lease6Expire;
        // The callout: what the renderers get later, and Kea's value now.
        let later = records(hook_point, &h).unwrap();
        let at_callout = event(hook_point, &h).unwrap();
        assert!(
            !at_callout.lease6.as_ref().expect("lease6").expired,
            "the lease expired before the callout (test machine stalled for 2 s?)"
        );
        // Kea's clock passes the expiry: wait until Kea's own Lease::expired() says so
        // (asked, not computed here: Kea's time(NULL) reads a coarser clock than
        // SystemTime, and can still show the old second a moment after ours has moved on).
        let kea_says_expired = || {
            event(hook_point, &h)
                .unwrap()
                .lease6
                .expect("lease6")
                .expired
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !kea_says_expired() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(
            kea_says_expired(),
            "Kea's lease did not expire within 10 s of {expiry}: the test proves nothing"
        );
        // Read and rendered on another thread (as a worker's writer does): the callout's value.
        let rendered = std::thread::spawn(move || {
            let event = later.into_event().expect("records fit the models");
            (
                event.lease6.as_ref().expect("lease6").expired,
                Profile::KeaHookRunscript.render(&event),
            )
        })
        .join()
        .expect("render thread");
        assert!(
            !rendered.0,
            "the deferred model took expired from the later clock"
        );
        let flag = rendered
            .1
            .iter()
            .find(|(name, _)| name == "KEA_LEASE6_IS_EXPIRED")
            .and_then(|(_, value)| value.to_str().map(str::to_owned));
        assert_eq!(flag.as_deref(), Some("0"), "KEA_LEASE6_IS_EXPIRED");
    }
}
