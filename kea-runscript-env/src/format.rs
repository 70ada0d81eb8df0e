//! Kea's text formats for the values rendered into variables.
//!
//! Each function reproduces one Kea 2.2 `toText`-style function (named in its doc) so the
//! rendered values are byte-for-byte what Kea's `libdhcp_run_script.so` produces. The
//! `push_*` functions append to a caller's buffer so rendering allocates one string per value.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{HostIdType, LeaseState, LeaseType};

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `byte` as two hex digits taken from `digits` (lower- or upper-case table).
fn push_hex_byte(out: &mut String, byte: u8, digits: &[u8; 16]) {
    out.push(char::from(digits[usize::from(byte >> 4)]));
    out.push(char::from(digits[usize::from(byte & 0xf)]));
}

/// Appends bytes as lower-case, two-digit, colon-separated hex (`00:0c:01`), nothing for
/// no bytes: Kea's `HWAddr::toText(false)`, `DUID::toText` and `ClientId::toText`.
pub fn push_colon_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 3);
    for (i, &byte) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        push_hex_byte(out, byte, HEX_LOWER);
    }
}

/// Appends an option payload as `0x` + upper-case hex (`0x0A0B`), nothing for an empty
/// payload: Kea's `Option::toHexString(false)`.
pub fn push_option_hex(out: &mut String, payload: &[u8]) {
    if payload.is_empty() {
        return;
    }
    out.reserve(2 + payload.len() * 2);
    out.push_str("0x");
    for &byte in payload {
        push_hex_byte(out, byte, HEX_UPPER);
    }
}

/// Appends an IPv4 address in dotted-quad form (Kea's `IOAddress::toText`).
pub fn push_ipv4(out: &mut String, addr: Ipv4Addr) {
    let mut digits = itoa::Buffer::new();
    for (i, octet) in addr.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(digits.format(octet));
    }
}

/// Appends an unsigned integer in decimal.
pub fn push_uint(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends an IPv6 address as Kea's `IOAddress::toText` does (boost.asio over glibc's
/// `inet_ntop`): lower-case hex, the first longest run of two or more zero groups
/// compressed to `::`, and the last 32 bits in dotted-quad form when the address is
/// `::a.b.c.d` (six leading zero groups, not `::` or `::x`) or `::ffff:a.b.c.d`.
///
/// This differs from Rust's `Display` for IPv4-compatible addresses: `::1:2` is
/// `::0.1.0.2` here.
pub fn push_ipv6(out: &mut String, addr: Ipv6Addr) {
    let words = addr.segments();
    let (best_base, best_len) = longest_zero_run(&words);
    let octets = addr.octets();
    let mut i = 0;
    while i < 8 {
        if best_len >= 2 && i == best_base {
            out.push(':');
            i += best_len;
            if i == 8 {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        let embeds_ipv4 =
            i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff));
        if embeds_ipv4 {
            push_ipv4(
                out,
                Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]),
            );
            return;
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
}

/// The first longest run of zero words as (start, length); length 0 when there is none.
fn longest_zero_run(words: &[u16; 8]) -> (usize, usize) {
    let (mut best_base, mut best_len) = (0, 0);
    let mut run_base = 0;
    let mut run_len = 0;
    for (i, &word) in words.iter().enumerate() {
        if word == 0 {
            if run_len == 0 {
                run_base = i;
            }
            run_len += 1;
            // Strictly longer: on a tie the first run wins, as in inet_ntop.
            if run_len > best_len {
                best_base = run_base;
                best_len = run_len;
            }
        } else {
            run_len = 0;
        }
    }
    (best_base, best_len)
}

/// The IPv6 address as Kea's `IOAddress::toText` (see [`push_ipv6`]). For the tests and
/// fuzz targets only (rendering appends with [`push_ipv6`]).
#[cfg(any(test, feature = "fuzzing"))]
pub fn ipv6_text(addr: Ipv6Addr) -> String {
    let mut out = String::with_capacity(39);
    push_ipv6(&mut out, addr);
    out
}

/// Appends a string value cut at its first NUL byte: the process environment holds C
/// strings, so a script would see the value end there anyway (Kea passes it to `execve`).
pub fn push_until_nul(out: &mut String, value: &str) {
    out.push_str(value.split('\0').next().unwrap_or_default());
}

/// `bytes` up to (not including) the first NUL: what a C string holding them passes on.
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

/// Kea's `Pkt4::getName`: the DHCPv4 message type name, `UNKNOWN` for types Kea does not name
/// (0 = no message type option, 9, 16, 19 and up).
pub fn pkt4_type_name(msg_type: u8) -> &'static str {
    match msg_type {
        1 => "DHCPDISCOVER",
        2 => "DHCPOFFER",
        3 => "DHCPREQUEST",
        4 => "DHCPDECLINE",
        5 => "DHCPACK",
        6 => "DHCPNAK",
        7 => "DHCPRELEASE",
        8 => "DHCPINFORM",
        10 => "DHCPLEASEQUERY",
        11 => "DHCPLEASEUNASSIGNED",
        12 => "DHCPLEASEUNKNOWN",
        13 => "DHCPLEASEACTIVE",
        14 => "DHCPBULKLEASEQUERY",
        15 => "DHCPLEASEQUERYDONE",
        17 => "DHCPLEASEQUERYSTATUS",
        18 => "DHCPTLS",
        _ => "UNKNOWN",
    }
}

/// Kea's `Pkt6::getName`: the DHCPv6 message type name, `UNKNOWN` for types Kea does not name
/// (0, 16–19, 22 and up).
pub fn pkt6_type_name(msg_type: u8) -> &'static str {
    match msg_type {
        1 => "SOLICIT",
        2 => "ADVERTISE",
        3 => "REQUEST",
        4 => "CONFIRM",
        5 => "RENEW",
        6 => "REBIND",
        7 => "REPLY",
        8 => "RELEASE",
        9 => "DECLINE",
        10 => "RECONFIGURE",
        11 => "INFORMATION_REQUEST",
        12 => "RELAY_FORWARD",
        13 => "RELAY_REPLY",
        14 => "LEASEQUERY",
        15 => "LEASEQUERY_REPLY",
        20 => "DHCPV4_QUERY",
        21 => "DHCPV4_RESPONSE",
        _ => "UNKNOWN",
    }
}

/// Kea's `Lease4::statesToText`/`Lease6::statesToText`: `default`, `declined`,
/// `expired-reclaimed`, otherwise `unknown (<n>)`.
pub fn lease_state_text(state: LeaseState) -> Cow<'static, str> {
    // Normalised so that a known value built by hand as `Other(n)` renders like Kea.
    match LeaseState::from_raw(state.to_raw()) {
        LeaseState::Default => "default".into(),
        LeaseState::Declined => "declined".into(),
        LeaseState::ExpiredReclaimed => "expired-reclaimed".into(),
        LeaseState::Other(raw) => unknown_text(raw),
    }
}

/// Kea's `Host::getIdentifierName`: `hw-address`, `duid`, `circuit-id`, `client-id`,
/// `flex-id`, otherwise `(unknown)`.
pub fn host_id_type_name(id_type: HostIdType) -> &'static str {
    match HostIdType::from_raw(id_type.to_raw()) {
        HostIdType::HwAddress => "hw-address",
        HostIdType::Duid => "duid",
        HostIdType::CircuitId => "circuit-id",
        HostIdType::ClientId => "client-id",
        HostIdType::Flex => "flex-id",
        HostIdType::Other(_) => "(unknown)",
    }
}

/// Kea's `Lease::typeToText`: `IA_NA`, `IA_TA`, `IA_PD`, `V4`, otherwise `unknown (<n>)`.
pub fn lease_type_text(lease_type: LeaseType) -> Cow<'static, str> {
    match LeaseType::from_raw(lease_type.to_raw()) {
        LeaseType::Na => "IA_NA".into(),
        LeaseType::Ta => "IA_TA".into(),
        LeaseType::Pd => "IA_PD".into(),
        LeaseType::V4 => "V4".into(),
        LeaseType::Other(raw) => unknown_text(raw),
    }
}

fn unknown_text(raw: u32) -> Cow<'static, str> {
    Cow::Owned(format!("unknown ({raw})"))
}

/// The sub-options of a DHCPv4 relay agent information option (82) payload, as
/// `(code, payload)` in payload order.
///
/// Each sub-option is a code byte, a length byte and that many bytes. Parsing stops at the
/// first truncated sub-option (a lone code byte, or a length running past the payload):
/// what came before is returned and the malformed tail is ignored, as Kea's option parser
/// does. Codes 0 and 255 are ordinary sub-options here (no PAD/END in this space).
pub fn option82_sub_options(payload: &[u8]) -> Vec<(u8, &[u8])> {
    let mut subs = Vec::new();
    let mut rest = payload;
    while let [code, len, tail @ ..] = rest {
        let len = usize::from(*len);
        if len > tail.len() {
            break;
        }
        let (value, next) = tail.split_at(len);
        subs.push((*code, value));
        rest = next;
    }
    subs
}
