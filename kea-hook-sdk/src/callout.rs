//! [`Callout`]: one call of Kea at a hook point, with its arguments, next step and parking;
//! [`SrvConfigured`]: Kea's call after a (re)configuration.

use std::pin::Pin;

use kea_runscript_env::{
    Argument, Event, HookPoint, Lease4, Lease6, Pkt4, Pkt6, Subnet4, Subnet6, Text,
};

use crate::bridge::ffi::{self, CalloutHandle};
use crate::error::Error;
use crate::eval::Expression;
use crate::extract::{self, ExtractError, Records};
use crate::leases::LeaseSnapshot;
use crate::parking::{self, Parked};

/// Kea's next step after the callouts of a hook point (`CalloutHandle::CalloutNextStep`).
/// Where Kea acts on which step depends on the hook point (Kea's hooks documentation;
/// [`HookPoint::next_steps`] for skip and drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NextStep {
    /// Kea goes on as usual.
    Continue,
    /// Kea skips what the hook point would do next (e.g. picking a lease).
    Skip,
    /// Kea drops the packet.
    Drop,
    /// Kea holds the packet until the hook resumes it ([`Callout::park`]).
    Park,
}

impl NextStep {
    fn code(self) -> i32 {
        match self {
            NextStep::Continue => 0,
            NextStep::Skip => 1,
            NextStep::Drop => 2,
            NextStep::Park => 3,
        }
    }

    fn from_code(code: i32) -> Result<Self, Error> {
        Ok(match code {
            0 => NextStep::Continue,
            1 => NextStep::Skip,
            2 => NextStep::Drop,
            3 => NextStep::Park,
            other => return Err(Error::new(format!("unknown next step {other}"))),
        })
    }
}

/// One reader per listed argument: `name: Model = Argument;` reads Kea's argument `Argument`
/// into `Option<Model>`.
macro_rules! argument_readers {
    ($($(#[$doc:meta])* $name:ident: $model:ty = $argument:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> Result<Option<$model>, ExtractError> {
            extract::read_one(self.handle(), Argument::$argument)
        }
    )*};
}

/// One call of Kea at [`Callout::hook_point`]: its arguments (read from Kea's objects only
/// when asked for), its next step and parking. Valid only during the callout.
pub struct Callout<'a> {
    hook_point: HookPoint,
    handle: Pin<&'a mut CalloutHandle>,
}

impl<'a> Callout<'a> {
    pub(crate) fn new(hook_point: HookPoint, handle: Pin<&'a mut CalloutHandle>) -> Self {
        Callout { hook_point, handle }
    }

    /// The hook point Kea called.
    pub fn hook_point(&self) -> HookPoint {
        self.hook_point
    }

    fn handle(&self) -> &CalloutHandle {
        self.handle.as_ref().get_ref()
    }

    /// The next step so far (another library's callout may have set it).
    pub fn next_step(&self) -> Result<NextStep, Error> {
        let code =
            ffi::get_status(self.handle()).map_err(|e| Error::kea("reading the next step", e))?;
        NextStep::from_code(code)
    }

    /// Sets Kea's next step. Use [`Callout::park`] to park.
    pub fn set_next_step(&mut self, step: NextStep) -> Result<(), Error> {
        if step == NextStep::Park {
            return Err(Error::new("park with Callout::park"));
        }
        ffi::set_status(self.handle.as_mut(), step.code())
            .map_err(|e| Error::kea("setting the next step", e))
    }

    /// Every argument of the hook point, read now into one [`Event`].
    pub fn event(&self) -> Result<Event, ExtractError> {
        extract::event(self.hook_point, self.handle())
    }

    /// Every argument of the hook point copied now, as records to read into an [`Event`]
    /// later on any thread ([`Records::into_event`]): the cheapest on Kea's thread.
    pub fn records(&self) -> Result<Records, ExtractError> {
        extract::records(self.hook_point, self.handle())
    }

    /// Reads `argument` into its field of `event`, now.
    pub fn read_into(&self, event: &mut Event, argument: Argument) -> Result<(), ExtractError> {
        extract::read_argument(event, argument, self.handle())
    }

    argument_readers! {
        /// The `query4` argument (`None` at hook points without one, or a null packet).
        query4: Pkt4 = Query4;
        /// The `query6` argument.
        query6: Pkt6 = Query6;
        /// The `response4` argument.
        response4: Pkt4 = Response4;
        /// The `response6` argument.
        response6: Pkt6 = Response6;
        /// The `subnet4` argument.
        subnet4: Subnet4 = Subnet4;
        /// The `subnet6` argument.
        subnet6: Subnet6 = Subnet6;
        /// The `lease4` argument.
        lease4: Lease4 = Lease4;
        /// The `lease6` argument.
        lease6: Lease6 = Lease6;
        /// The `leases4` argument.
        leases4: Vec<Lease4> = Leases4;
        /// The `leases6` argument.
        leases6: Vec<Lease6> = Leases6;
    }

    /// The `name` argument at `command_processed`: the control command's name as it was sent
    /// (`version-get`, `lease4-update`, …). `None` at other hook points.
    pub fn command_name(&self) -> Result<Option<Text>, ExtractError> {
        extract::read_one(self.handle(), Argument::CommandName)
    }

    /// The `arguments` argument at `command_processed`: the command's arguments as compact
    /// JSON text (object keys in order, no spaces; parse it with any JSON library). `None`
    /// when the command had none, and at other hook points.
    pub fn command_arguments(&self) -> Result<Option<String>, ExtractError> {
        extract::read_json(self.handle(), Argument::CommandArguments)
    }

    /// The `response` argument at `command_processed`: Kea's answer to the command as compact
    /// JSON text, `{"result":…,"text":…}` with the answer's `arguments` when it has any (for
    /// `config-get`, the whole configuration). `None` at other hook points.
    ///
    /// The callout is there to observe: Kea ignores its next step, and a callout that waits
    /// holds up whoever sent the command (under High Availability, the partner's lease
    /// updates and so its clients' answers).
    pub fn command_response(&self) -> Result<Option<String>, ExtractError> {
        extract::read_json(self.handle(), Argument::CommandResponse)
    }

    /// A copy of Kea's active leases (DHCPv6 with `v6`) and the current configuration's
    /// subnets, as [`SrvConfigured::lease_snapshot`] takes it, at any callout: e.g. after
    /// HA synced this server's lease database from its partner (seen at
    /// `command_processed`). It copies every active lease on the calling thread: take it
    /// once per such event, not per packet.
    pub fn lease_snapshot(&self, v6: bool) -> Result<LeaseSnapshot, Error> {
        LeaseSnapshot::take(self.handle(), v6)
    }

    /// Only the hardware address (`chaddr`) bytes of the `query4` argument: no record, no
    /// options, so far cheaper than [`Callout::query4`] for a callout that needs nothing else
    /// (e.g. a per-client limit at `pkt4_receive`). `None` without a query or an address.
    pub fn query4_hwaddr(&self) -> Result<Option<Vec<u8>>, ExtractError> {
        let name = Argument::Query4.kea_name();
        ffi::get_pkt4_hwaddr(self.handle(), name)
            .map(|bytes| Some(bytes).filter(|b| !b.is_empty()))
            .map_err(|e| ExtractError::Shim(name, e))
    }

    /// Only the DUID (client identifier option) bytes of the `query6` argument, as
    /// [`Callout::query4_hwaddr`]. `None` without a query or a (well-formed) client id.
    pub fn query6_duid(&self) -> Result<Option<Vec<u8>>, ExtractError> {
        let name = Argument::Query6.kea_name();
        ffi::get_pkt6_duid(self.handle(), name)
            .map(|bytes| Some(bytes).filter(|b| !b.is_empty()))
            .map_err(|e| ExtractError::Shim(name, e))
    }

    /// Adds Kea's own `toText()` dumps of the event's DHCPv6 packets and leases
    /// (`kea_text` fields): string formatting in Kea, so only when needed.
    pub fn add_kea_texts(&self, event: &mut Event) -> Result<(), ExtractError> {
        extract::kea_texts(event, self.handle())
    }

    /// Adds the client's host reservations in the event's subnet (`host4`/`host6`), from
    /// Kea's host manager: a look-up per call.
    pub fn add_host_reservations(&self, event: &mut Event) -> Result<(), ExtractError> {
        extract::hosts(event, self.handle())
    }

    /// Kea's evaluation of `expression` on the hook point's query (`query4` / `query6`):
    /// `Ok(None)` at a hook point without one. A string expression gives its bytes, a
    /// boolean one `true` or `false`.
    pub fn evaluate(&self, expression: &Expression) -> Result<Option<Vec<u8>>, Error> {
        let Some(packet) = query_argument(self.hook_point) else {
            return Ok(None);
        };
        expression.evaluate(self.handle(), packet)
    }

    /// Parks the query: Kea holds it (and the thread goes back to serving) until the
    /// returned [`Parked`] is resumed or dropped, from any thread. Kea lets a callout park
    /// where [`HookPoint::parks`] (`leases4_committed`, `leases6_committed`, `lease4_offer`).
    /// `Ok(None)`: not parked (another hook point, parking not enabled at load, no IO service
    /// yet, Kea does not park this query, or unloading).
    pub fn park(&mut self) -> Result<Option<Parked>, Error> {
        if !self.hook_point.parks() {
            return Ok(None);
        }
        let v6 = self.has(Argument::Query6);
        let offer = self.hook_point == HookPoint::Lease4Offer;
        parking::park(self.handle.as_mut(), v6, offer)
    }

    /// Whether Kea passes `argument` at this hook point.
    fn has(&self, argument: Argument) -> bool {
        self.hook_point.arguments().contains(&argument)
    }

    /// Errs, naming the hook point, unless Kea passes (and reads back) `argument` here.
    fn expect(&self, argument: Argument, doing: &str) -> Result<(), Error> {
        if self.has(argument) {
            Ok(())
        } else {
            Err(Error::new(format!(
                "{doing}: Kea passes no \"{}\" at {}",
                argument.kea_name(),
                self.hook_point
            )))
        }
    }

    /// Adds client classes to the query (`query4` or `query6`, `Pkt::addClass`), as if Kea
    /// had classified the client so. At `pkt4_receive`/`pkt6_receive` Kea then uses them
    /// for everything it selects by class after that: subnets, pools, options, further
    /// classes' expressions (`member('…')`). At later hook points the class is added too,
    /// but what Kea already selected stays. Kea takes any name, one it has no definition for
    /// included (it then only matters to guards and expressions); a name already there is
    /// not added twice. Checking names is the caller's business.
    ///
    /// Errs at a hook point without a query, or when Kea passed a null one.
    pub fn add_classes(&mut self, classes: &[String]) -> Result<(), Error> {
        let doing = "adding client classes";
        let argument = match (self.has(Argument::Query4), self.has(Argument::Query6)) {
            (true, _) => Argument::Query4,
            (_, true) => Argument::Query6,
            _ => {
                return Err(Error::new(format!(
                    "{doing}: there is no query at {}",
                    self.hook_point
                )))
            }
        };
        let name = argument.kea_name();
        let v6 = argument == Argument::Query6;
        match ffi::add_query_classes(self.handle.as_mut(), name, v6, classes) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::new(format!(
                "{doing}: Kea passed no {name} at {}",
                self.hook_point
            ))),
            Err(e) => Err(Error::kea(doing, e)),
        }
    }

    /// At `ddns4_update`/`ddns6_update`: changes the DNS update Kea is about to make. Each
    /// `Some` replaces Kea's value: `hostname` the host name (FQDN) Kea records in the lease
    /// and sends to the DNS (and to the client in its FQDN or Host Name option), `fwd` and
    /// `rev` whether it updates the forward and the reverse zone (`false` for both: no
    /// update; Kea then tells the client so in its FQDN option). `None` keeps Kea's value.
    /// Kea reads the three arguments after the callouts (as `std::string` and `bool`) and
    /// takes the name as given: checking it is the caller's business.
    ///
    /// Errs at any other hook point (Kea reads these arguments nowhere else).
    pub fn set_ddns(
        &mut self,
        hostname: Option<&str>,
        fwd: Option<bool>,
        rev: Option<bool>,
    ) -> Result<(), Error> {
        let doing = "setting the DNS update";
        self.expect(Argument::DdnsHostname, doing)?;
        if let Some(hostname) = hostname {
            let name = Argument::DdnsHostname.kea_name();
            ffi::set_string_argument(self.handle.as_mut(), name, hostname)
                .map_err(|e| Error::kea(doing, e))?;
        }
        for (argument, value) in [
            (Argument::DdnsFwdUpdate, fwd),
            (Argument::DdnsRevUpdate, rev),
        ] {
            if let Some(value) = value {
                ffi::set_bool_argument(self.handle.as_mut(), argument.kea_name(), value)
                    .map_err(|e| Error::kea(doing, e))?;
            }
        }
        Ok(())
    }

    /// At `host4_identifier`/`host6_identifier`: gives the client's flexible identifier, with
    /// which Kea looks up its host reservation (`flex-id` reservations). Sets `id_type` to
    /// flex-id and `id_value` to `id`, which Kea reads after the callouts; an empty `id` means
    /// none (Kea then adds no flexible identifier), as does a next step other than continue.
    ///
    /// Errs at any other hook point (Kea reads these arguments nowhere else).
    pub fn set_flex_id(&mut self, id: &[u8]) -> Result<(), Error> {
        let doing = "setting the flexible identifier";
        self.expect(Argument::HostIdValue, doing)?;
        ffi::set_flex_id(
            self.handle.as_mut(),
            Argument::HostIdType.kea_name(),
            Argument::HostIdValue.kea_name(),
            id,
        )
        .map_err(|e| Error::kea(doing, e))
    }
}

/// The query argument of `hook_point`, if it has one.
fn query_argument(hook_point: HookPoint) -> Option<&'static str> {
    hook_point
        .arguments()
        .iter()
        .find(|a| matches!(a, Argument::Query4 | Argument::Query6))
        .map(|a| a.kea_name())
}

/// Kea's call after it has (re)loaded its configuration and lease database.
pub struct SrvConfigured<'a> {
    family: u8,
    handle: Pin<&'a mut CalloutHandle>,
}

impl<'a> SrvConfigured<'a> {
    pub(crate) fn new(family: u8, handle: Pin<&'a mut CalloutHandle>) -> Self {
        SrvConfigured { family, handle }
    }

    /// 4 in `kea-dhcp4`, 6 in `kea-dhcp6`.
    pub fn family(&self) -> u8 {
        self.family
    }

    /// A copy of the active leases and their subnets, to read one at a time on any thread.
    pub fn lease_snapshot(&self) -> Result<LeaseSnapshot, Error> {
        LeaseSnapshot::take(self.handle.as_ref().get_ref(), self.family == 6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, ffi as kea};

    fn handle() -> cxx::UniquePtr<CalloutHandle> {
        kea::new_test_handle().expect("a Kea callout handle")
    }

    /// A handle whose argument `query` ("query4" or "query6") is Kea's test packet.
    fn handle_with(query: &str) -> cxx::UniquePtr<CalloutHandle> {
        let mut h = handle();
        if query == "query4" {
            kea::set_test_pkt4(h.pin_mut(), query).unwrap();
        } else {
            kea::set_test_pkt6(h.pin_mut(), query).unwrap();
        }
        h
    }

    fn names(classes: &[&str]) -> Vec<String> {
        classes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn add_classes_adds_them_to_the_query_kea_passed() {
        let mut h = handle();
        kea::set_test_pkt4(h.pin_mut(), "query4").unwrap();
        let mut callout = testing::callout(&mut h, HookPoint::Pkt4Receive);
        callout
            .add_classes(&names(&["quarantine", "KNOWN", "guest net"]))
            .unwrap();
        // Kea's own order, after those Kea set; one already there is not added twice.
        let query = callout.query4().unwrap().expect("query4");
        assert_eq!(
            query.classes,
            [
                "ALL",
                "VENDOR_CLASS_MSFT 5.0",
                "KNOWN",
                "quarantine",
                "guest net"
            ]
        );

        let mut h = handle();
        kea::set_test_pkt6(h.pin_mut(), "query6").unwrap();
        let mut callout = testing::callout(&mut h, HookPoint::Pkt6Receive);
        callout.add_classes(&names(&["cpe"])).unwrap();
        // After "ALL", which Kea's packet has from its construction on.
        let classes = callout.query6().unwrap().expect("query6").classes;
        assert_eq!(
            classes.last().map(String::as_str),
            Some("cpe"),
            "{classes:?}"
        );
    }

    #[test]
    fn add_classes_errs_without_a_query() {
        let mut h = handle();
        kea::set_test_lease4(h.pin_mut(), "lease4", 10).unwrap();
        let mut callout = testing::callout(&mut h, HookPoint::Lease4Expire);
        let error = callout.add_classes(&names(&["a"])).unwrap_err();
        assert!(
            error.to_string().contains("no query at lease4_expire"),
            "{error}"
        );

        let mut h = handle();
        kea::set_test_null_pkt4(h.pin_mut(), "query4").unwrap();
        let mut callout = testing::callout(&mut h, HookPoint::Pkt4Receive);
        let error = callout.add_classes(&names(&["a"])).unwrap_err();
        assert!(error.to_string().contains("no query4"), "{error}");
    }

    #[test]
    fn set_ddns_writes_what_kea_reads_back() {
        for (hook_point, query) in [
            (HookPoint::Ddns4Update, "query4"),
            (HookPoint::Ddns6Update, "query6"),
        ] {
            let mut h = handle_with(query);
            kea::set_test_string(h.pin_mut(), "hostname", "kea.example.org.").unwrap();
            kea::set_test_bool(h.pin_mut(), "fwd-update", true).unwrap();
            kea::set_test_bool(h.pin_mut(), "rev-update", true).unwrap();
            let mut callout = testing::callout(&mut h, hook_point);
            callout
                .set_ddns(Some("printer-7.example.org."), Some(false), None)
                .unwrap();
            // Read back as Kea reads them: std::string and bool (another type would throw).
            let event = callout.event().unwrap();
            assert_eq!(event.ddns_hostname, Some("printer-7.example.org.".into()));
            assert_eq!(event.ddns_fwd_update, Some(false));
            assert_eq!(event.ddns_rev_update, Some(true), "None keeps Kea's value");
            callout.set_ddns(None, None, Some(false)).unwrap();
            let event = callout.event().unwrap();
            assert_eq!(event.ddns_hostname, Some("printer-7.example.org.".into()));
            assert_eq!(event.ddns_rev_update, Some(false));
        }
    }

    #[test]
    fn set_ddns_and_set_flex_id_err_where_kea_reads_nothing() {
        let mut h = handle_with("query4");
        let mut callout = testing::callout(&mut h, HookPoint::Pkt4Receive);
        let error = callout.set_ddns(Some("a."), None, None).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no \"hostname\" at pkt4_receive"),
            "{error}"
        );
        let error = callout.set_flex_id(b"x").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no \"id_value\" at pkt4_receive"),
            "{error}"
        );
        // Nothing was written to the handle.
        let mut written = |hook_point| testing::callout(&mut h, hook_point).event().unwrap();
        assert_eq!(written(HookPoint::Ddns4Update).ddns_hostname, None);
        assert_eq!(written(HookPoint::Host4Identifier).host_id_value, None);
    }

    #[test]
    fn set_flex_id_writes_the_type_and_value_kea_reads_back() {
        use kea_runscript_env::{HostIdType, HostIdValue};
        for (hook_point, query) in [
            (HookPoint::Host4Identifier, "query4"),
            (HookPoint::Host6Identifier, "query6"),
        ] {
            let mut h = handle_with(query);
            // As Kea calls it: flex-id and an empty vector; another type left by someone.
            kea::set_test_host_id_type(h.pin_mut(), "id_type", 0).unwrap();
            kea::set_test_bytes(h.pin_mut(), "id_value", &[]).unwrap();
            let mut callout = testing::callout(&mut h, hook_point);
            callout.set_flex_id(b"sub-42\x00\xff").unwrap();
            let event = callout.event().unwrap();
            assert_eq!(event.host_id_type, Some(HostIdType::Flex));
            assert_eq!(
                event.host_id_value,
                Some(HostIdValue(b"sub-42\x00\xff".to_vec()))
            );
        }
    }

    #[test]
    fn next_steps_are_kea_s_codes() {
        for (step, code) in [
            (NextStep::Continue, 0),
            (NextStep::Skip, 1),
            (NextStep::Drop, 2),
            (NextStep::Park, 3),
        ] {
            assert_eq!(step.code(), code);
            assert_eq!(NextStep::from_code(code), Ok(step));
        }
        assert!(NextStep::from_code(4).is_err());
    }
}
