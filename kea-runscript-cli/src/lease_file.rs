//! Kea's memfile lease files (`kea-leases4.csv`, `kea-leases6.csv`) as written by Kea 2.2.
//!
//! The first line names the columns (Kea's `CSVLeaseFile4`/`CSVLeaseFile6`); files of older
//! schema versions have fewer columns, so every column is found by its name. Values never
//! contain the separator: Kea writes free text (hostname, user context) with `,` and `&`
//! escaped as `&#x2c` / `&#x26`. The file is a journal: a later record of an address replaces
//! the earlier one, and a record with a valid lifetime of 0 deletes it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use kea_runscript_env::{
    Argument, ClientId, Duid, Event, HookPoint, HwAddr, Lease4, Lease6, LeaseState, LeaseType,
};

/// The current leases of a lease file, ordered by address (as Kea's memfile indexes them).
#[derive(Debug)]
pub enum Leases {
    /// A DHCPv4 file.
    V4(Vec<Lease4>),
    /// A DHCPv6 file.
    V6(Vec<Lease6>),
}

/// Which leases are replayed.
#[derive(Clone, Copy, Debug)]
pub enum Filter {
    /// Leases in state default whose expiry (cltt + valid lifetime) is not before this time.
    ActiveAt(u64),
    /// Every lease the file holds.
    All,
}

impl Filter {
    fn keeps(self, state: LeaseState, cltt: i64, valid_lifetime: u32) -> bool {
        match self {
            Filter::All => true,
            Filter::ActiveAt(now) => {
                state == LeaseState::Default
                    && cltt.saturating_add(i64::from(valid_lifetime)) >= now as i64
            }
        }
    }
}

/// Reads a lease file; the error names the file and line.
pub fn load(path: &Path) -> Result<Leases, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read lease file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("lease file {}{e}", path.display()))
}

/// Parses a lease file's text. Errors start with `:<line>: ` (or `: ` for the whole file).
pub fn parse(text: &str) -> Result<Leases, String> {
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, line)| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty())
        .ok_or(": empty, expected Kea's header line (address,...)")?;
    let columns = Columns::new(header)?;
    let v6 = columns.has("duid");
    let mut v4_leases = BTreeMap::new();
    let mut v6_leases = BTreeMap::new();
    for (index, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let row = Row {
            columns: &columns,
            values: line.split(',').collect(),
        };
        let at = |e: String| format!(":{}: {e}", index + 1);
        if v6 {
            let lease = row.lease6().map_err(at)?;
            let key = (lease.address, lease.lease_type.to_raw());
            if lease.valid_lifetime == 0 {
                v6_leases.remove(&key);
            } else {
                v6_leases.insert(key, lease);
            }
        } else {
            let lease = row.lease4().map_err(at)?;
            if lease.valid_lifetime == 0 {
                v4_leases.remove(&lease.address);
            } else {
                v4_leases.insert(lease.address, lease);
            }
        }
    }
    Ok(if v6 {
        Leases::V6(v6_leases.into_values().collect())
    } else {
        Leases::V4(v4_leases.into_values().collect())
    })
}

impl Leases {
    /// `lease4_renew` for a v4 file, `lease6_renew` for a v6 file.
    pub fn default_hook_point(&self) -> HookPoint {
        match self {
            Leases::V4(_) => HookPoint::Lease4Renew,
            Leases::V6(_) => HookPoint::Lease6Renew,
        }
    }

    /// One event at `hook_point` per lease the filter keeps: the lease as the hook point's
    /// `lease4`/`lease6`, or as the only lease of its `leases4`/`leases6`; `hwaddr` and
    /// `clientid` (lease4_renew) are the lease's.
    pub fn events(&self, hook_point: HookPoint, filter: Filter) -> Result<Vec<Event>, String> {
        let arguments = hook_point.arguments();
        let (single, collection) = match self {
            Leases::V4(_) => (Argument::Lease4, Argument::Leases4),
            Leases::V6(_) => (Argument::Lease6, Argument::Leases6),
        };
        if !arguments.contains(&single) && !arguments.contains(&collection) {
            let usable: Vec<&str> = HookPoint::ALL
                .iter()
                .filter(|hp| {
                    hp.arguments().contains(&single) || hp.arguments().contains(&collection)
                })
                .map(|hp| hp.name())
                .collect();
            return Err(format!(
                "hook point {hook_point} carries no {} lease; this file can be replayed at: {}",
                if single == Argument::Lease4 {
                    "DHCPv4"
                } else {
                    "DHCPv6"
                },
                usable.join(", ")
            ));
        }
        let as_single = arguments.contains(&single);
        let mut events = Vec::new();
        match self {
            Leases::V4(leases) => {
                for lease in leases {
                    if !filter.keeps(lease.state, lease.cltt, lease.valid_lifetime) {
                        continue;
                    }
                    let mut event = Event::new(hook_point);
                    if arguments.contains(&Argument::HwAddr) {
                        event.hwaddr = lease.hwaddr.clone();
                    }
                    if arguments.contains(&Argument::ClientId) {
                        event.client_id = lease.client_id.clone();
                    }
                    if as_single {
                        event.lease4 = Some(lease.clone());
                    } else {
                        event.leases4 = Some(vec![lease.clone()]);
                        event.deleted_leases4 = Some(Vec::new());
                    }
                    events.push(event);
                }
            }
            Leases::V6(leases) => {
                for lease in leases {
                    if !filter.keeps(lease.state, lease.cltt, lease.valid_lifetime) {
                        continue;
                    }
                    let mut event = Event::new(hook_point);
                    if as_single {
                        event.lease6 = Some(lease.clone());
                    } else {
                        event.leases6 = Some(vec![lease.clone()]);
                        event.deleted_leases6 = Some(Vec::new());
                    }
                    events.push(event);
                }
            }
        }
        Ok(events)
    }
}

/// The header: column name → index.
struct Columns(Vec<String>);

impl Columns {
    fn new(header: &str) -> Result<Columns, String> {
        let names: Vec<String> = header.split(',').map(str::to_owned).collect();
        if names.first().map(String::as_str) != Some("address") {
            return Err(format!(
                ":1: expected Kea's header line starting with \"address\", found {header:?}"
            ));
        }
        Ok(Columns(names))
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|c| c == name)
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|c| c == name)
    }
}

/// One record, its values looked up by column name.
struct Row<'a> {
    columns: &'a Columns,
    values: Vec<&'a str>,
}

impl Row<'_> {
    /// The value of an optional column (absent in older schemas or left empty): `None`.
    fn optional(&self, name: &str) -> Option<&str> {
        let value = *self.values.get(self.columns.index(name)?)?;
        (!value.is_empty()).then_some(value)
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.optional(name)
            .ok_or_else(|| format!("column {name} is missing or empty"))
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<T, String> {
        let value = self.required(name)?;
        value
            .parse()
            .map_err(|_| format!("column {name}: {value:?} is not a valid number"))
    }

    /// A number column that older schemas lack, with Kea's default for it.
    fn number_or<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.optional(name) {
            Some(_) => self.number(name),
            None => Ok(default),
        }
    }

    fn bytes(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        self.optional(name)
            .map(|value| hex(value).ok_or_else(|| format!("column {name}: {value:?} is not hex")))
            .transpose()
    }

    fn hostname(&self) -> String {
        self.optional("hostname").map(unescape).unwrap_or_default()
    }

    /// cltt as Kea reads it: expire − valid lifetime.
    fn cltt(&self) -> Result<i64, String> {
        let expire: u64 = self.number("expire")?;
        let valid: u32 = self.number("valid_lifetime")?;
        Ok(expire as i64 - i64::from(valid))
    }

    fn lease4(&self) -> Result<Lease4, String> {
        let address = self.required("address")?;
        let mut lease = Lease4::new(
            address
                .parse::<Ipv4Addr>()
                .map_err(|_| format!("column address: {address:?} is not an IPv4 address"))?,
        );
        lease.cltt = self.cltt()?;
        lease.hostname = self.hostname();
        // Kea reads an empty hwaddr as an empty Ethernet address, not as none.
        lease.hwaddr = Some(HwAddr {
            htype: 1,
            bytes: self.bytes("hwaddr")?.unwrap_or_default(),
            source: 0,
        });
        lease.state = LeaseState::from_raw(self.number_or("state", 0)?);
        lease.subnet_id = self.number("subnet_id")?;
        lease.valid_lifetime = self.number("valid_lifetime")?;
        lease.client_id = self.bytes("client_id")?.map(ClientId);
        Ok(lease)
    }

    fn lease6(&self) -> Result<Lease6, String> {
        let address = self.required("address")?;
        let mut lease = Lease6::new(
            LeaseType::from_raw(self.number("lease_type")?),
            address
                .parse::<Ipv6Addr>()
                .map_err(|_| format!("column address: {address:?} is not an IPv6 address"))?,
            self.number("prefix_len")?,
        );
        lease.hwaddr = match self.bytes("hwaddr")? {
            Some(bytes) => Some(HwAddr {
                htype: self.number_or("hwtype", 1)?,
                bytes,
                source: self.number_or("hwaddr_source", 0)?,
            }),
            None => None,
        };
        lease.cltt = self.cltt()?;
        lease.hostname = self.hostname();
        lease.state = LeaseState::from_raw(self.number_or("state", 0)?);
        lease.subnet_id = self.number("subnet_id")?;
        lease.valid_lifetime = self.number("valid_lifetime")?;
        lease.duid = self.bytes("duid")?.map(Duid);
        lease.iaid = self.number("iaid")?;
        lease.preferred_lifetime = self.number("pref_lifetime")?;
        Ok(lease)
    }
}

/// Kea's text form of hardware addresses, client ids and DUIDs: hex bytes separated by `:`
/// (one or two digits each), or one unseparated run of hex digits.
fn hex(text: &str) -> Option<Vec<u8>> {
    let byte = |digits: &str| {
        (1..=2)
            .contains(&digits.len())
            .then(|| u8::from_str_radix(digits, 16).ok())
            .flatten()
    };
    if text.contains(':') {
        text.split(':').map(byte).collect()
    } else if text.len() % 2 == 0 {
        (0..text.len())
            .step_by(2)
            .map(|i| text.get(i..i + 2).and_then(byte))
            .collect()
    } else {
        None
    }
}

/// Undoes Kea's `CSVRow::escapeCharacters`: `&#x` followed by two hex digits is that byte.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"&#x") {
            if let Some(byte) = text
                .get(i + 3..i + 5)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
            {
                out.push(byte);
                i += 5;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4_HEADER: &str =
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context";
    const V6_HEADER: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source";

    fn v4(text: &str) -> Vec<Lease4> {
        match parse(&format!("{V4_HEADER}\n{text}")).unwrap() {
            Leases::V4(leases) => leases,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v4_fields_later_records_replace_and_lifetime_zero_deletes() {
        let leases = v4(
            "192.0.2.10,00:0c:01:02:03:04,01:00:0c:01:02:03:04,4000,1700004000,1,0,0,h&#x2ca,0,\n\
             192.0.2.11,00:0c:01:02:03:05,,4000,1700004000,1,0,0,,0,\n\
             192.0.2.10,00:0c:01:02:03:04,,3600,1700007200,2,0,0,host,0,\n\
             192.0.2.11,00:0c:01:02:03:05,,0,1700004000,1,0,0,,0,\n",
        );
        assert_eq!(leases.len(), 1);
        let lease = &leases[0];
        assert_eq!(lease.address, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!((lease.cltt, lease.valid_lifetime), (1_700_003_600, 3600));
        assert_eq!((lease.subnet_id, lease.hostname.as_str()), (2, "host"));
        assert_eq!(lease.client_id, None);
        assert_eq!(lease.hwaddr.as_ref().unwrap().bytes, [0, 0x0c, 1, 2, 3, 4]);
        let first = v4(
            "192.0.2.10,00:0c:01:02:03:04,01:00:0c:01:02:03:04,4000,1700004000,1,0,0,h&#x2ca,1,\n",
        );
        assert_eq!(first[0].hostname, "h,a");
        assert_eq!(first[0].state, LeaseState::Declined);
        assert_eq!(
            first[0].client_id,
            Some(ClientId(vec![1, 0, 0x0c, 1, 2, 3, 4]))
        );
    }

    #[test]
    fn v6_fields_and_an_older_schema_without_state() {
        let text = format!("{V6_HEADER}\n2001:db8:8000::,00:03:00:01:00:0c:01:02:03:04,4000,1700004000,1,3000,2,7,56,0,0,,00:0c:01:02:03:04,0,,1,4\n");
        let Leases::V6(leases) = parse(&text).unwrap() else {
            panic!()
        };
        let lease = &leases[0];
        assert_eq!(
            (lease.lease_type, lease.prefix_len, lease.iaid),
            (LeaseType::Pd, 56, 7)
        );
        assert_eq!(lease.preferred_lifetime, 3000);
        assert_eq!(lease.hwaddr.as_ref().unwrap().source, 4);
        let old = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname\n\
                   2001:db8::1,00:01,100,200,1,50,0,1,128,0,0,x\n";
        let Leases::V6(leases) = parse(old).unwrap() else {
            panic!()
        };
        assert_eq!(leases[0].state, LeaseState::Default);
        assert_eq!(leases[0].hwaddr, None);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let error = parse(&format!("{V4_HEADER}\nnot-an-address,,,1,2,1,0,0,,0,\n")).unwrap_err();
        assert!(error.starts_with(":2: column address"), "{error}");
        assert!(parse("").is_err());
        assert!(parse("foo,bar\n").unwrap_err().contains("header"));
    }

    #[test]
    fn the_filter_keeps_active_leases_and_the_hook_point_must_carry_a_lease() {
        let leases = Leases::V4(v4("192.0.2.1,00:01,,100,1000,1,0,0,,0,\n\
             192.0.2.2,00:02,,100,3000,1,0,0,,0,\n\
             192.0.2.3,00:03,,100,3000,1,0,0,,1,\n"));
        let active = leases
            .events(HookPoint::Lease4Renew, Filter::ActiveAt(2000))
            .unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(
            active[0].lease4.as_ref().unwrap().address,
            Ipv4Addr::new(192, 0, 2, 2)
        );
        assert_eq!(active[0].hwaddr.as_ref().unwrap().bytes, [0, 2]);
        assert_eq!(
            leases
                .events(HookPoint::Lease4Renew, Filter::All)
                .unwrap()
                .len(),
            3
        );
        let committed = leases
            .events(HookPoint::Leases4Committed, Filter::All)
            .unwrap();
        assert_eq!(committed[0].leases4.as_ref().unwrap().len(), 1);
        let error = leases
            .events(HookPoint::Pkt4Receive, Filter::All)
            .unwrap_err();
        assert!(error.contains("lease4_renew"), "{error}");
        assert!(leases.events(HookPoint::Lease6Renew, Filter::All).is_err());
    }
}
