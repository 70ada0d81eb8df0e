//! Options chosen by code (a script's `"options"`): `<P>_OPTION_<code>` for each packet of
//! the event, `<P>_RELAY<hop>_OPTION_<code>` for each DHCPv6 relay hop (closest to the client
//! first), and the enterprise number and sub-options of the vendor options (DHCPv4 125,
//! DHCPv6 17).

use crate::format::push_option_hex;
use crate::{Argument, DhcpOption, Event};

/// DHCPv4 V-I Vendor-Specific Information (RFC 3925).
const V4_VENDOR: u16 = 125;
/// DHCPv6 Vendor-specific Information (RFC 8415 §21.17).
const V6_VENDOR: u16 = 17;

/// Renders the options `codes` of the event's packets, in argument order (query, then
/// response), each code in `codes` order.
///
/// Every configured code gets its variable for every packet the hook point has, set to
/// `0x` + upper-case hex of the payload as Kea renders option 82, and empty when the
/// packet or the option is absent (as Kea renders absent objects; a zero-length option is
/// empty too). Several instances of one code: the first one, as Kea's `getOption()` and
/// its expressions' `option[code]` see it. For the vendor options, when present and
/// well-formed: `<P>_OPTION_<code>_ENTERPRISE_ID` (decimal) and
/// `<P>_OPTION_<code>_SUB_OPTION_<n>` for each sub-option of the first vendor block
/// (DHCPv4 sub-option codes and lengths are one byte, DHCPv6 two).
///
/// ```
/// use kea_runscript_env::{render_options, DhcpOption, Event, HookPoint, Pkt4};
///
/// let mut event = Event::new(HookPoint::Pkt4Receive);
/// let mut query = Pkt4::new(1, 7);
/// query.options.push(DhcpOption { code: 60, payload: b"MSFT".to_vec() });
/// event.query4 = Some(query);
/// let vars = render_options(&event, &[60, 77]);
/// assert_eq!(vars, [
///     ("QUERY4_OPTION_60".to_string(), "0x4D534654".to_string()),
///     ("QUERY4_OPTION_77".to_string(), String::new()),
/// ]);
/// ```
pub fn render_options(event: &Event, codes: &[u16]) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    if codes.is_empty() {
        return vars;
    }
    for &argument in event.hook_point.arguments() {
        let prefix = argument.prefix();
        match argument {
            Argument::Query4 | Argument::Response4 => {
                let pkt = if argument == Argument::Query4 {
                    event.query4.as_ref()
                } else {
                    event.response4.as_ref()
                };
                let options = pkt.map(|p| &p.options[..]).unwrap_or_default();
                for &code in codes {
                    one(
                        &mut vars,
                        &format!("{prefix}_OPTION_{code}"),
                        options,
                        code,
                        false,
                    );
                }
            }
            Argument::Query6 | Argument::Response6 => {
                let pkt = if argument == Argument::Query6 {
                    event.query6.as_ref()
                } else {
                    event.response6.as_ref()
                };
                let options = pkt.map(|p| &p.options[..]).unwrap_or_default();
                for &code in codes {
                    one(
                        &mut vars,
                        &format!("{prefix}_OPTION_{code}"),
                        options,
                        code,
                        true,
                    );
                }
                // Closest to the client first: Kea keeps the outermost encapsulation first.
                let relays = pkt.map(|p| &p.relays[..]).unwrap_or_default();
                for (hop, relay) in relays.iter().rev().enumerate() {
                    for &code in codes {
                        let name = format!("{prefix}_RELAY{hop}_OPTION_{code}");
                        one(&mut vars, &name, &relay.options, code, true);
                    }
                }
            }
            _ => {}
        }
    }
    vars
}

/// `name` for the first option `code` of `options`, and the vendor details under it.
fn one(vars: &mut Vec<(String, String)>, name: &str, options: &[DhcpOption], code: u16, v6: bool) {
    let found = options.iter().find(|o| o.code == code);
    let mut value = String::new();
    if let Some(option) = found {
        push_option_hex(&mut value, &option.payload);
    }
    vars.push((name.to_owned(), value));
    let Some(option) = found else { return };
    let vendor = if v6 { V6_VENDOR } else { V4_VENDOR };
    if code != vendor {
        return;
    }
    if let Some((enterprise, subs)) = vendor_block(&option.payload, v6) {
        vars.push((format!("{name}_ENTERPRISE_ID"), enterprise.to_string()));
        for (sub, payload) in subs {
            let mut hex = String::new();
            push_option_hex(&mut hex, payload);
            vars.push((format!("{name}_SUB_OPTION_{sub}"), hex));
        }
    }
}

/// Sub-options of a vendor block: code and payload, in packet order.
type SubOptions<'a> = Vec<(u16, &'a [u8])>;

/// The enterprise number and the sub-options of the first vendor block, or `None` when the
/// payload is malformed (then only the whole payload is rendered). A code given twice keeps
/// its first value, so names stay unique.
fn vendor_block(payload: &[u8], v6: bool) -> Option<(u32, SubOptions<'_>)> {
    let enterprise = u32::from_be_bytes(payload.get(..4)?.try_into().ok()?);
    let data = if v6 {
        &payload[4..]
    } else {
        // DHCPv4: a one-byte length of this enterprise's data follows the number.
        let len = usize::from(*payload.get(4)?);
        payload.get(5..5 + len)?
    };
    let head = if v6 { 4 } else { 2 };
    let mut subs: SubOptions<'_> = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let header = rest.get(..head)?;
        let (code, len) = if v6 {
            (
                u16::from_be_bytes([header[0], header[1]]),
                usize::from(u16::from_be_bytes([header[2], header[3]])),
            )
        } else {
            (u16::from(header[0]), usize::from(header[1]))
        };
        let value = rest.get(head..head + len)?;
        if !subs.iter().any(|(c, _)| *c == code) {
            subs.push((code, value));
        }
        rest = &rest[head + len..];
    }
    Some((enterprise, subs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HookPoint, Pkt4, Pkt6, Relay6};

    fn opt(code: u16, payload: &[u8]) -> DhcpOption {
        DhcpOption {
            code,
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn v4_query_and_response_first_instance_and_vendor_125() {
        let mut event = Event::new(HookPoint::Pkt4Send);
        let mut query = Pkt4::new(3, 1);
        let vendor = [0, 0, 0x0d, 0xe9, 7, 1, 2, 0xab, 0xcd, 2, 1, 0xef];
        query.options = vec![
            opt(12, b"h1"),
            opt(12, b"h2"),
            opt(125, &vendor),
            opt(50, &[]),
        ];
        event.query4 = Some(query);
        let vars = render_options(&event, &[12, 125, 50, 61]);
        let get = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("QUERY4_OPTION_12"), Some("0x6831"));
        assert_eq!(get("QUERY4_OPTION_125_ENTERPRISE_ID"), Some("3561"));
        assert_eq!(get("QUERY4_OPTION_125_SUB_OPTION_1"), Some("0xABCD"));
        assert_eq!(get("QUERY4_OPTION_125_SUB_OPTION_2"), Some("0xEF"));
        assert_eq!(get("QUERY4_OPTION_50"), Some(""));
        assert_eq!(get("QUERY4_OPTION_61"), Some(""));
        // No response: present and empty.
        assert_eq!(get("RESPONSE4_OPTION_12"), Some(""));
        assert_eq!(get("RESPONSE4_OPTION_125_ENTERPRISE_ID"), None);
    }

    #[test]
    fn malformed_vendor_option_renders_only_its_payload() {
        for payload in [&[0u8, 0, 1][..], &[0, 0, 0, 9, 5, 1, 9][..]] {
            let mut event = Event::new(HookPoint::Pkt4Receive);
            let mut query = Pkt4::new(1, 1);
            query.options = vec![opt(125, payload)];
            event.query4 = Some(query);
            let vars = render_options(&event, &[125]);
            assert_eq!(vars.len(), 1, "{vars:?}");
        }
    }

    #[test]
    fn v6_relays_closest_to_the_client_first_and_vendor_17() {
        let mut event = Event::new(HookPoint::Pkt6Receive);
        let mut query = Pkt6::new(1, 1);
        query.options = vec![opt(17, &[0, 0, 0x11, 0x8b, 0, 32, 0, 2, 0xbe, 0xef])];
        let mut outer = Relay6::new(
            12,
            1,
            "2001:db8::1".parse().unwrap(),
            "fe80::1".parse().unwrap(),
        );
        outer.options = vec![opt(18, b"outer")];
        let mut inner = Relay6::new(
            12,
            0,
            "2001:db8::2".parse().unwrap(),
            "fe80::2".parse().unwrap(),
        );
        inner.options = vec![opt(18, b"inner")];
        query.relays = vec![outer, inner];
        event.query6 = Some(query);
        let vars = render_options(&event, &[17, 18]);
        let get = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("QUERY6_OPTION_17_ENTERPRISE_ID"), Some("4491"));
        assert_eq!(get("QUERY6_OPTION_17_SUB_OPTION_32"), Some("0xBEEF"));
        assert_eq!(get("QUERY6_OPTION_18"), Some(""));
        assert_eq!(get("QUERY6_RELAY0_OPTION_18"), Some("0x696E6E6572"));
        assert_eq!(get("QUERY6_RELAY1_OPTION_18"), Some("0x6F75746572"));
        assert_eq!(get("QUERY6_RELAY0_OPTION_17"), Some(""));
    }
}
