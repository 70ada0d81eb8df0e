use serde::{Deserialize, Serialize};

use crate::{
    ClientId, HookPoint, Host4, Host6, HostIdType, HostIdValue, HwAddr, Ia, KeaVersion, Lease4,
    Lease6, Origin, Pkt4, Pkt6, Subnet4, Subnet6, Text,
};

/// Everything Kea passed to one callout: the hook point and its argument objects.
///
/// `None` means the object is absent at this hook point (Kea passed a null pointer, or
/// the hook point has no such argument). Only the hook point's
/// [`arguments`](HookPoint::arguments) are rendered; other fields are ignored.
///
/// ```
/// use kea_runscript_env::{Event, HookPoint, Lease4, LeaseState, HwAddr};
///
/// let mut event = Event::new(HookPoint::Lease4Expire);
/// let mut lease = Lease4::new("192.0.2.10".parse().unwrap());
/// lease.cltt = 1_700_000_000;
/// lease.hostname = "host1".into();
/// lease.hwaddr = Some(HwAddr::ethernet([0x00, 0x0c, 0x01, 0x02, 0x03, 0x04]));
/// lease.state = LeaseState::ExpiredReclaimed;
/// lease.subnet_id = 1;
/// lease.valid_lifetime = 3600;
/// event.lease4 = Some(lease);
/// event.remove_lease = Some(true);
///
/// let vars = event.render();
/// assert_eq!(vars[0], ("LEASE4_ADDRESS".to_string(), "192.0.2.10".into()));
/// assert!(vars.contains(&("LEASE4_HWADDR".into(), "00:0c:01:02:03:04".into())));
/// assert_eq!(vars.last().unwrap(), &("REMOVE_LEASE".into(), "true".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// The hook point (callout) this event is for.
    pub hook_point: HookPoint,
    /// Kea's `query4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query4: Option<Pkt4>,
    /// Kea's `response4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response4: Option<Pkt4>,
    /// Kea's `subnet4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet4: Option<Subnet4>,
    /// Kea's `clientid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// Kea's `hwaddr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwaddr: Option<HwAddr>,
    /// Kea's `lease4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease4: Option<Lease4>,
    /// Kea's `leases4` (`None`: null collection pointer, rendered as `LEASES4_SIZE=0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leases4: Option<Vec<Lease4>>,
    /// Kea's `deleted_leases4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_leases4: Option<Vec<Lease4>>,
    /// Kea's `query6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query6: Option<Pkt6>,
    /// Kea's `response6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response6: Option<Pkt6>,
    /// Kea's `subnet6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<Subnet6>,
    /// Kea's `lease6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease6: Option<Lease6>,
    /// Kea's `leases6` (`None`: null collection pointer, rendered as `LEASES6_SIZE=0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leases6: Option<Vec<Lease6>>,
    /// Kea's `deleted_leases6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_leases6: Option<Vec<Lease6>>,
    /// Kea's `ia_na` or `ia_pd` (chosen by the lease type, see [`Argument::Ia`](crate::Argument::Ia)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ia: Option<Ia>,
    /// Kea's `remove_lease`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_lease: Option<bool>,
    /// Kea's `fake_allocation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fake_allocation: Option<bool>,
    /// The DHCPv4 client's host reservation in the selected subnet (not a Kea argument:
    /// looked up by the hook for scripts with `"host-reservation": true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host4: Option<Host4>,
    /// The DHCPv6 client's host reservation in the selected subnet (as `host4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host6: Option<Host6>,
    /// Kea's `address6` (`addr6_register`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address6: Option<std::net::Ipv6Addr>,
    /// Kea's `old_lease6` (`addr6_register`: the registration being replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_lease6: Option<Lease6>,
    /// Kea's `new_lease6` (`addr6_register`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_lease6: Option<Lease6>,
    /// Kea's `name` (`command_processed`): the control command's name, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_name: Option<Text>,
    /// Kea's `arguments` (`command_processed`): the command's arguments as compact JSON
    /// text (object keys in order, no spaces); `None` when the command had none. Event files
    /// hold it as a nested JSON value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::model::json_text"
    )]
    pub command_arguments: Option<String>,
    /// Kea's `response` (`command_processed`): Kea's answer to the command as compact JSON
    /// text, e.g. `{"result":0,"text":"..."}`, with the answer's `arguments` if any. Event
    /// files hold it as a nested JSON value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::model::json_text"
    )]
    pub command_response: Option<String>,
    /// Kea's `hostname` (`ddns4_update`/`ddns6_update`): the host name for the DNS update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_hostname: Option<Text>,
    /// Kea's `fwd-update` (`ddns4_update`/`ddns6_update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_fwd_update: Option<bool>,
    /// Kea's `rev-update` (`ddns4_update`/`ddns6_update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_rev_update: Option<bool>,
    /// Kea's `offer_lifetime` (`lease4_offer`), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_lifetime: Option<u32>,
    /// Kea's `old_lease` (`lease4_offer`): the client's previous lease, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_lease4: Option<Lease4>,
    /// Kea's `id_type` (`host4_identifier`/`host6_identifier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id_type: Option<HostIdType>,
    /// Kea's `id_value` (`host4_identifier`/`host6_identifier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id_value: Option<HostIdValue>,
    /// Where the event comes from (`None`: this server's own callout, [`Origin::Local`]);
    /// rendered for scripts with HA variables ([`crate::Extras::ha`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The HA partner's name (`this-server-name` of the other server), when the event is
    /// the partner's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// The Kea release that passed the event: the texts follow that release's own hook
    /// (see [`KeaVersion`]). Default: the oldest supported, 2.2.
    #[serde(default, skip_serializing_if = "is_oldest")]
    pub kea_version: KeaVersion,
}

fn is_oldest(version: &KeaVersion) -> bool {
    *version == KeaVersion::OLDEST
}

impl Event {
    /// An event for `hook_point` with every object absent.
    pub fn new(hook_point: HookPoint) -> Event {
        Event {
            hook_point,
            query4: None,
            response4: None,
            subnet4: None,
            client_id: None,
            hwaddr: None,
            lease4: None,
            leases4: None,
            deleted_leases4: None,
            query6: None,
            response6: None,
            subnet6: None,
            lease6: None,
            leases6: None,
            deleted_leases6: None,
            ia: None,
            remove_lease: None,
            fake_allocation: None,
            host4: None,
            host6: None,
            address6: None,
            old_lease6: None,
            new_lease6: None,
            command_name: None,
            command_arguments: None,
            command_response: None,
            ddns_hostname: None,
            ddns_fwd_update: None,
            ddns_rev_update: None,
            offer_lifetime: None,
            old_lease4: None,
            host_id_type: None,
            host_id_value: None,
            origin: None,
            partner: None,
            kea_version: KeaVersion::default(),
        }
    }
}
