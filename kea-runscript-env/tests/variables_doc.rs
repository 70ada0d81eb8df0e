//! `docs/variables.md` is generated from the rendering itself; this test fails when the
//! committed file is stale. Regenerate with
//! `UPDATE_DOCS=1 cargo test -p kea-runscript-env --test variables_doc`.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use kea_runscript_env::{render, render_extras, Argument, Extras, HookPoint, Profile};

/// (suffix after the argument prefix, type, meaning) per model renderer.
type FieldDocs = &'static [(&'static str, &'static str, &'static str)];

const HWADDR: FieldDocs = &[
    (
        "",
        "hex bytes",
        "hardware address, lower-case hex bytes joined by `:` (any length; empty if absent)",
    ),
    ("_TYPE", "integer", "hardware type (1 = Ethernet)"),
];

const PKT4: FieldDocs = &[
    ("_TYPE", "string", "message type name (`DHCPDISCOVER` … `DHCPTLS`, `UNKNOWN` otherwise)"),
    ("_TXID", "integer", "transaction id"),
    ("_LOCAL_ADDR", "IPv4", "server-side address"),
    ("_LOCAL_PORT", "integer", "server-side UDP port"),
    ("_REMOTE_ADDR", "IPv4", "peer address (client or relay)"),
    ("_REMOTE_PORT", "integer", "peer UDP port"),
    ("_IFACE_INDEX", "integer", "interface index"),
    ("_IFACE_NAME", "string", "interface name"),
    ("_HOPS", "integer", "`hops` header field"),
    ("_SECS", "integer", "`secs` header field"),
    ("_FLAGS", "integer", "`flags` header field (32768 = broadcast)"),
    ("_CIADDR", "IPv4", "`ciaddr` header field"),
    ("_SIADDR", "IPv4", "`siaddr` header field"),
    ("_YIADDR", "IPv4", "`yiaddr` header field"),
    ("_GIADDR", "IPv4", "`giaddr` header field (relay address)"),
    ("_RELAYED", "boolean", "`true` when `giaddr` is neither 0.0.0.0 nor 255.255.255.255"),
    ("_HWADDR", "hex bytes", "client hardware address (`chaddr`)"),
    ("_HWADDR_TYPE", "integer", "its hardware type"),
    ("_LOCAL_HWADDR", "hex bytes", "server interface hardware address"),
    ("_LOCAL_HWADDR_TYPE", "integer", "its hardware type"),
    ("_REMOTE_HWADDR", "hex bytes", "sender's hardware address"),
    ("_REMOTE_HWADDR_TYPE", "integer", "its hardware type"),
    ("_OPTION_82", "option hex", "relay agent information option payload, `0x` + upper-case hex; only when the packet has option 82"),
    ("_OPTION_82_SUB_OPTION_1", "option hex", "circuit-id sub-option; only when present"),
    ("_OPTION_82_SUB_OPTION_2", "option hex", "remote-id sub-option; only when present"),
    ("_OPTION_82_SUB_OPTION_<code>", "option hex", "every other sub-option present, one variable per code; only when present"),
];

const PKT6: FieldDocs = &[
    (
        "_TYPE",
        "string",
        "message type name (`SOLICIT` … `DHCPV4_RESPONSE`, `UNKNOWN` otherwise)",
    ),
    ("_TXID", "integer", "transaction id"),
    ("_LOCAL_ADDR", "IPv6", "server-side address"),
    ("_LOCAL_PORT", "integer", "server-side UDP port"),
    ("_REMOTE_ADDR", "IPv6", "peer address (client or relay)"),
    ("_REMOTE_PORT", "integer", "peer UDP port"),
    ("_IFACE_INDEX", "integer", "interface index"),
    ("_IFACE_NAME", "string", "interface name"),
    ("_REMOTE_HWADDR", "hex bytes", "sender's hardware address"),
    ("_REMOTE_HWADDR_TYPE", "integer", "its hardware type"),
    ("_PROTO", "string", "`UDP` or `TCP`"),
    ("_CLIENT_ID", "hex bytes", "client DUID (option 1)"),
    (
        "_OPTION_18",
        "option hex",
        "interface-id from the relay closest to the client that has it; only when present",
    ),
    (
        "_OPTION_37",
        "option hex",
        "remote-id from the relay closest to the client that has it; only when present",
    ),
    (
        "_OPTION_38",
        "option hex",
        "subscriber-id from the relay closest to the client that has it; only when present",
    ),
];

const SUBNET: FieldDocs = &[
    ("_ID", "integer", "subnet id"),
    ("_NAME", "prefix", "subnet as `prefix/length`"),
    ("_PREFIX", "IP", "subnet prefix address"),
    ("_PREFIX_LEN", "integer", "subnet prefix length"),
];

/// The fields both lease families render between the address and their own fields
/// (the renderer's `lease_core`).
const LEASE_COMMON: FieldDocs = &[
    (
        "_CLTT",
        "integer",
        "client last transmission time, Unix seconds",
    ),
    ("_HOSTNAME", "string", "client hostname (cut at a NUL byte)"),
    ("_HWADDR", "hex bytes", "client hardware address"),
    ("_HWADDR_TYPE", "integer", "its hardware type"),
    (
        "_STATE",
        "string",
        "`default`, `declined`, `expired-reclaimed` or `unknown (<n>)`",
    ),
    ("_SUBNET_ID", "integer", "subnet id"),
    ("_VALID_LIFETIME", "integer", "valid lifetime, seconds"),
];

const LEASE4_OWN: FieldDocs = &[
    ("_ADDRESS", "IPv4", "leased address"),
    ("_CLIENT_ID", "hex bytes", "client identifier"),
];

const LEASE6_OWN: FieldDocs = &[
    ("_ADDRESS", "IPv6", "leased address or delegated prefix"),
    ("_DUID", "hex bytes", "client DUID"),
    ("_IAID", "integer", "IAID of the lease's IA"),
    (
        "_PREFERRED_LIFETIME",
        "integer",
        "preferred lifetime, seconds",
    ),
    (
        "_PREFIX_LEN",
        "integer",
        "prefix length (128 for addresses)",
    ),
    (
        "_TYPE",
        "string",
        "`IA_NA`, `IA_TA`, `IA_PD` or `unknown (<n>)`",
    ),
];

const LEASE4: &[FieldDocs] = &[LEASE4_OWN, LEASE_COMMON];
const LEASE6: &[FieldDocs] = &[LEASE6_OWN, LEASE_COMMON];

/// A lease collection: its size, then each lease's fields under `_AT<i>`.
const COLLECTION_SIZE: FieldDocs = &[(
    "_SIZE",
    "integer",
    "number of leases (0 when there are none)",
)];
const LEASES4: &[FieldDocs] = &[COLLECTION_SIZE, LEASE4_OWN, LEASE_COMMON];
const LEASES6: &[FieldDocs] = &[COLLECTION_SIZE, LEASE6_OWN, LEASE_COMMON];

const IA: FieldDocs = &[
    (
        "_IAID",
        "integer",
        "IAID of the query's IA_NA (IA_NA lease) or IA_PD (other lease types)",
    ),
    (
        "_IA_TYPE",
        "integer",
        "IA option code: 3 IA_NA, 4 IA_TA, 25 IA_PD",
    ),
    ("_IA_T1", "integer", "T1, seconds"),
    ("_IA_T2", "integer", "T2, seconds"),
];

/// The field tables of an argument (searched in order) and what the argument is.
fn argument_docs(argument: Argument) -> (&'static [FieldDocs], &'static str) {
    match argument {
        Argument::Query4 => (&[PKT4], "the client's query"),
        Argument::Response4 => (&[PKT4], "the server's response"),
        Argument::Query6 => (&[PKT6], "the client's query"),
        Argument::Response6 => (&[PKT6], "the server's response"),
        Argument::Subnet4 | Argument::Subnet6 => (&[SUBNET], "the selected subnet"),
        Argument::ClientId => (
            &[&[("", "hex bytes", "client identifier of the query")]],
            "the query's client-id",
        ),
        Argument::HwAddr => (&[HWADDR], "the query's hardware address"),
        Argument::Lease4 => (LEASE4, "the lease"),
        Argument::Lease6 => (LEASE6, "the lease"),
        Argument::Leases4 => (LEASES4, "the committed leases"),
        Argument::Leases6 => (LEASES6, "the committed leases"),
        Argument::DeletedLeases4 => (LEASES4, "leases deleted by this transaction"),
        Argument::DeletedLeases6 => (LEASES6, "leases deleted by this transaction"),
        Argument::RemoveLease => (
            &[&[(
                "",
                "boolean",
                "`true` if the expired lease is removed, `false` if kept as reclaimed",
            )]],
            "",
        ),
        Argument::FakeAllocation => (
            &[&[(
                "",
                "boolean",
                "`true` for a DHCPDISCOVER/SOLICIT (offer only), `false` for a real allocation",
            )]],
            "",
        ),
        Argument::Ia => (&[IA], "the query's IA option"),
        Argument::Address6 => (
            &[&[("", "IPv6 address", "the address the client registers")]],
            "",
        ),
        Argument::OldLease6 => (
            LEASE6,
            "the registration it replaces (only if there is one)",
        ),
        Argument::NewLease6 => (LEASE6, "the registration"),
        Argument::CommandName => (
            &[&[("", "string", "the command's name, as sent (`version-get`, `lease4-update`, …)")]],
            "",
        ),
        Argument::CommandArguments => (
            &[&[
                (
                    "",
                    "JSON",
                    "the command's `arguments` as compact JSON (object keys in order, no spaces), \
                     empty when it had none; cut at 65536 bytes (at a UTF-8 character boundary, so a cut \
                     value is not valid JSON)",
                ),
                (
                    "_TRUNCATED",
                    "boolean",
                    "`true` when `COMMAND_ARGUMENTS` was cut, `false` when whole; empty when the command had no arguments",
                ),
            ]],
            "the command's arguments",
        ),
        Argument::CommandResponse => (
            &[&[
                (
                    "_RESULT",
                    "integer",
                    "the response's `result`: 0 success, 1 error, 2 unsupported command, 3 empty \
                     (nothing found); empty when the response has no integer `result`",
                ),
                (
                    "_TEXT",
                    "string",
                    "the response's `text` (cut at 65536 bytes); empty when it has none. The response's \
                     own `arguments` are not rendered",
                ),
            ]],
            "Kea's answer",
        ),
        Argument::DdnsHostname => (
            &[&[(
                "",
                "string",
                "the host name (FQDN) Kea is about to use for the DNS update; empty when it has none",
            )]],
            "",
        ),
        Argument::DdnsFwdUpdate => (
            &[&[("", "boolean", "`true` when Kea updates the forward (A/AAAA) zone")]],
            "",
        ),
        Argument::DdnsRevUpdate => (
            &[&[("", "boolean", "`true` when Kea updates the reverse (PTR) zone")]],
            "",
        ),
        Argument::OfferLifetime => (
            &[&[(
                "",
                "integer",
                "`offer-lifetime` of the offer's lease, seconds: not 0 when Kea stores the offered \
                 lease (it exists in the lease database), 0 when it does not",
            )]],
            "",
        ),
        Argument::OldLease4 => (LEASE4, "the client's previous lease; empty when it had none"),
        Argument::HostIdType => (
            &[&[(
                "",
                "string",
                "the identifier type Kea asks for: `flex-id` (`hw-address`, `duid`, `circuit-id`, \
                 `client-id` if an earlier callout changed it)",
            )]],
            "",
        ),
        Argument::HostIdValue => (
            &[&[(
                "",
                "hex bytes",
                "the identifier so far: empty, unless an earlier callout (another hook library) set it",
            )]],
            "",
        ),
    }
}

/// `2.6` for hooks API version 20600.
fn release(version: kea_runscript_env::KeaVersion) -> String {
    let v = version.hooks_version();
    format!("{}.{}", v / 10000, v / 100 % 100)
}

/// What a hook point's section says beyond its arguments: when Kea calls it and what a
/// script's answer does there.
fn about(hook_point: HookPoint) -> &'static str {
    match hook_point {
        HookPoint::CommandProcessed => {
            "Called by kea-dhcp4 and kea-dhcp6 after every control command they process, from \
             the control socket, the control agent or an HA partner, whatever its result."
        }
        HookPoint::Ddns4Update | HookPoint::Ddns6Update => {
            "Called when Kea has decided the DNS update of a client's lease, before it \
             allocates the lease (the response has no address yet); a sync script's answer may \
             change the host name and the two flags."
        }
        HookPoint::Lease4Offer => {
            "Called when Kea has built a DHCPOFFER, before sending it; a sync script's answer \
             may report the address in use (Kea then declines it and does not send the offer). \
             `response4` is passed from Kea 3.0 on (empty in 2.6)."
        }
        HookPoint::Lease4ServerDecline => {
            "Called after an answer at `lease4_offer` reported the address in use: Kea marked \
             the lease declined and discarded the offer."
        }
        HookPoint::Host4Identifier | HookPoint::Host6Identifier => {
            "Called only when `host-reservation-identifiers` lists `flex-id`, to look up the \
             client's reservation; a sync script's answer may give the flexible identifier."
        }
        _ => "",
    }
}

/// A documented variable: its name pattern, type, meaning, whether Kea 2.2 sets it.
struct Row {
    pattern: String,
    ty: &'static str,
    meaning: String,
    example: String,
    kea: &'static str,
}

/// Turns `LEASES4_AT1_ADDRESS` into (`LEASES4_AT<i>`, `_ADDRESS`) for collection prefixes.
fn split_index(rest: &str) -> Option<(&str, &str)> {
    let digits = rest.strip_prefix("_AT")?;
    let end = digits.find(|c: char| !c.is_ascii_digit())?;
    Some((&digits[..end], &digits[end..]))
}

fn describe(hook_point: HookPoint) -> Vec<Row> {
    let vars = render(&common::full_event(hook_point));
    let mut rows: Vec<Row> = Vec::new();
    for (name, value) in &vars {
        let argument = *hook_point
            .arguments()
            .iter()
            .filter(|a| name.starts_with(a.prefix()))
            .max_by_key(|a| a.prefix().len())
            .unwrap_or_else(|| panic!("{name} matches no argument prefix"));
        let prefix = argument.prefix();
        let mut rest = &name[prefix.len()..];
        let (docs, _) = argument_docs(argument);
        let mut pattern_prefix = prefix.to_string();
        let mut meaning_prefix = String::new();
        let collection = matches!(
            argument,
            Argument::Leases4
                | Argument::Leases6
                | Argument::DeletedLeases4
                | Argument::DeletedLeases6
        );
        if collection && rest != "_SIZE" {
            let (_, field) = split_index(rest).unwrap_or_else(|| panic!("{name}"));
            rest = field;
            pattern_prefix.push_str("_AT<i>");
            meaning_prefix = "lease `<i>` (from 0): ".into();
        }
        let mut key = rest.to_string();
        let is_sub_option = rest.starts_with("_OPTION_82_SUB_OPTION_");
        if is_sub_option && !matches!(rest, "_OPTION_82_SUB_OPTION_1" | "_OPTION_82_SUB_OPTION_2") {
            key = "_OPTION_82_SUB_OPTION_<code>".into();
        }
        let pattern = format!("{pattern_prefix}{key}");
        if rows.iter().any(|r| r.pattern == pattern) {
            continue;
        }
        let (_, ty, meaning) = docs
            .iter()
            .flat_map(|table| table.iter())
            .find(|(suffix, _, _)| *suffix == key)
            .unwrap_or_else(|| panic!("{name}: no documentation for suffix {key:?}"));
        // At its 13 hook points Kea 2.2 sets every variable but the option-82 sub-options
        // other than 1 and 2, and the query6 relay options (which Kea 2.7 added).
        let query6_option = matches!(argument, Argument::Query6) && key.starts_with("_OPTION_");
        let kea = if !hook_point.kea_default() || key == "_OPTION_82_SUB_OPTION_<code>" {
            "no"
        } else if hook_point == HookPoint::Addr6Register {
            "no (Kea ≥ 3.0 sets it)"
        } else if query6_option {
            "no (Kea ≥ 2.7 sets it)"
        } else {
            "yes"
        };
        rows.push(Row {
            pattern,
            ty,
            meaning: format!("{meaning_prefix}{meaning}"),
            example: value.to_string(),
            kea,
        });
    }
    rows
}

fn generate() -> String {
    let mut doc = String::new();
    doc.push_str(
        "<!-- GENERATED by kea-runscript-env/tests/variables_doc.rs from the crate's rendering; do not edit.\n     \
         Regenerate: UPDATE_DOCS=1 cargo test -p kea-runscript-env --test variables_doc -->\n\n",
    );
    doc.push_str(
        "# Environment variables per hook point\n\n\
         The script runs as `script <hook point>` with only these variables in its environment\n\
         (plus what the configuration adds). For Kea's 13 hook points the names, order and\n\
         values are those of Kea 2.2's `libdhcp_run_script.so`; the column *Kea 2.2* says\n\
         whether Kea's hook sets the variable too (`no`: our extension). This is the default\n\
         profile, `kea`; the section *Profile `kea-hook-runscript`* at the end lists the variables\n\
         of the other one.\n\n\
         Formats:\n\n\
         - **integer**: decimal. **boolean**: `true` / `false`.\n\
         - **IPv4**: dotted quad. **IPv6**: as Kea prints it (glibc `inet_ntop`: lower-case,\n  \
           longest zero run as `::`, `::a.b.c.d` and `::ffff:a.b.c.d` for IPv4-compatible/mapped).\n\
         - **hex bytes**: lower-case two-digit hex joined by `:` (`00:0c:01:02:03:04`), any length.\n\
         - **option hex**: `0x` + upper-case hex of the option payload (`0x0A0B`), empty for an empty payload.\n\
         - **string**: as Kea holds it, cut at the first NUL byte (an environment value cannot hold one).\n\n\
         When an object is absent (Kea passes a null pointer), its variables are still set,\n\
         to the empty string, as Kea's hook does; an absent lease collection gives `<PREFIX>_SIZE=0`.\n\
         Option variables (`*_OPTION_*`) are set only when the option is present. The example\n\
         column shows a fully populated event (the insta snapshots in\n\
         `kea-runscript-env/tests/snapshots/` show every variable of every hook point, populated and absent).\n\n",
    );
    doc.push_str(
        "Option 82 sub-options are parsed from the option payload as code/length/value triplets;\n\
         they are listed in code order, a repeated code renders its first occurrence, and parsing\n\
         stops at a truncated sub-option (the earlier ones are kept), as Kea's parser does.\n\n",
    );
    for &hook_point in HookPoint::ALL {
        let _ = writeln!(doc, "## `{}`\n", hook_point.name());
        let arguments: Vec<_> = hook_point
            .arguments()
            .iter()
            .map(|a| {
                let (_, what) = argument_docs(*a);
                let kea_name = match a {
                    Argument::Ia => "ia_na / ia_pd".to_string(),
                    _ => a.kea_name().to_string(),
                };
                if what.is_empty() {
                    format!("`{kea_name}` → `{}`", a.prefix())
                } else {
                    format!("`{kea_name}` ({what}) → `{}*`", a.prefix())
                }
            })
            .collect();
        let mut intro = vec![if hook_point.kea_default() {
            "Served by Kea's own hook (selected by default).".to_string()
        } else if hook_point.is_replay() {
            "Extension: each active lease once after Kea (re)loads its configuration \
             (`\"replay-leases\": true`); the subnet is the lease's."
                .to_string()
        } else {
            "Extension: not served by Kea's hook (opt-in).".to_string()
        }];
        if hook_point.is_callout() {
            intro.push(format!(
                "Kea {} and later call it.",
                release(hook_point.min_kea_version())
            ));
        }
        if !hook_point.allows_sync() {
            intro.push(
                "Async only (a script with `\"sync\": true` here is refused at load: Kea \
                 ignores a verdict here, and the callout must never hold up Kea)."
                    .to_string(),
            );
        }
        if hook_point.parks() {
            intro.push(
                "Kea lets the callout park the query: a sync script's verdict is awaited \
                 without holding Kea's thread."
                    .to_string(),
            );
        }
        intro.push(about(hook_point).to_string());
        intro.retain(|sentence| !sentence.is_empty());
        let _ = writeln!(
            doc,
            "{} Kea arguments: {}.\n",
            intro.join(" "),
            if arguments.is_empty() {
                "none".to_string()
            } else {
                arguments.join(", ")
            }
        );
        let rows = describe(hook_point);
        if rows.is_empty() {
            doc.push_str("No variables.\n\n");
            continue;
        }
        doc.push_str("| Variable | Type | Meaning | Example | Kea 2.2 |\n|---|---|---|---|---|\n");
        for row in rows {
            let _ = writeln!(
                doc,
                "| `{}` | {} | {} | `{}` | {} |",
                row.pattern, row.ty, row.meaning, row.example, row.kea
            );
        }
        doc.push('\n');
    }
    doc
}

/// The kea-hook-runscript profile's fields: (name prefix, suffix, type, meaning).
const KHR_PKT4: FieldDocs = &[
    (
        "_TYPE",
        "string",
        "message type name (`DHCPDISCOVER` … `DHCPTLS`, `UNKNOWN` otherwise)",
    ),
    ("_INTERFACE", "string", "interface name"),
    (
        "_IFINDEX",
        "signed integer",
        "interface index (`-1` when Kea has none)",
    ),
    ("_HWADDR", "hex bytes", "client hardware address (`chaddr`)"),
    ("_HWADDR_TYPE", "integer", "its hardware type"),
    (
        "_HWADDR_SOURCE",
        "integer",
        "how Kea learned it (`HWADDR_SOURCE_*` bit; `0` for `chaddr`)",
    ),
    ("_CIADDR", "IPv4", "`ciaddr` header field"),
    ("_SIADDR", "IPv4", "`siaddr` header field"),
    ("_YIADDR", "IPv4", "`yiaddr` header field"),
    ("_GIADDR", "IPv4", "`giaddr` header field"),
    (
        "_RELAYED",
        "0/1",
        "`1` when `giaddr` is neither 0.0.0.0 nor 255.255.255.255",
    ),
    ("_RELAY_HOPS", "integer", "`hops` header field"),
    (
        "_OPTION60",
        "string",
        "vendor class identifier (option 60) as text; only when present",
    ),
    (
        "_RAI",
        "option hex",
        "relay agent information (option 82) payload; only when present",
    ),
    (
        "_RAI_CIRCUIT_ID",
        "option hex",
        "its circuit-id sub-option (1); only when present",
    ),
    (
        "_RAI_REMOTE_ID",
        "option hex",
        "its remote-id sub-option (2); only when present",
    ),
];

const KHR_PKT6: FieldDocs = &[
    ("_TYPE", "string", "message type name (`SOLICIT` … `DHCPV4_RESPONSE`, `UNKNOWN` otherwise)"),
    ("_INTERFACE", "string", "interface name"),
    ("_IFINDEX", "signed integer", "interface index (`-1` when Kea has none)"),
    ("_HWADDR", "hex bytes", "client hardware address as Kea's `getMAC` finds it from any source (DUID, link-local address, relay options, …); empty when none"),
    ("_HWADDR_TYPE", "integer", "its hardware type"),
    ("_HWADDR_SOURCE", "integer", "the source that found it (`HWADDR_SOURCE_*`: 1 raw, 2 DUID, 4 link-local, 8 remote-id, …)"),
    ("_LOCAL_ADDRESS", "IPv6", "server-side address"),
    ("_LOCAL_PORT", "integer", "server-side UDP port"),
    ("_REMOTE_ADDRESS", "IPv6", "peer address (client or relay)"),
    ("_REMOTE_PORT", "integer", "peer UDP port"),
    ("_LABEL", "string", "Kea's packet label: `duid=[<DUID>], tid=0x<hex>` (`duid=[no info]` without one)"),
    ("_TRANSACTION_ID", "integer", "transaction id"),
    ("_DUID", "empty", "always empty (kea-hook-runscript never filled it)"),
    ("_DEBUG", "multi-line text", "Kea's own dump of the packet (`Pkt6::toText()`)"),
];

const KHR_SUBNET: FieldDocs = &[
    ("", "prefix", "subnet as `prefix/length`"),
    ("_PREFIX", "IP", "subnet prefix address"),
    ("_PREFIXLEN", "integer", "subnet prefix length"),
];

const KHR_LEASE: FieldDocs = &[
    (
        "_TYPE",
        "string",
        "`V4` (v4); `IA_NA`, `IA_TA`, `IA_PD` (v6)",
    ),
    (
        "_STATE",
        "string",
        "`default`, `declined`, `expired-reclaimed` or `unknown (<n>)`",
    ),
    (
        "_IS_EXPIRED",
        "0/1",
        "`1` when the lease had expired when Kea called the hook",
    ),
    (
        "_ADDRESS",
        "IP",
        "leased address (v6: or the delegated prefix's address)",
    ),
    (
        "_DELEGATED_PREFIX",
        "prefix",
        "delegated prefix as `prefix/length`; only for `IA_PD` leases",
    ),
    (
        "_DELEGATED_PREFIXLEN",
        "integer",
        "delegated prefix length; only for `IA_PD` leases",
    ),
    (
        "_HWADDR",
        "hex bytes",
        "client hardware address (empty when none)",
    ),
    ("_HOSTNAME", "string", "client hostname"),
    ("_CLIENT_DUID", "hex bytes", "client DUID"),
    (
        "_CLIENT_LAST_TRANSMISSION",
        "signed integer",
        "client last transmission time, Unix seconds",
    ),
    ("_VALID_LIFETIME", "integer", "valid lifetime, seconds"),
    (
        "_PREFERRED_LIFETIME",
        "integer",
        "preferred lifetime, seconds",
    ),
    ("_IAID", "integer", "IAID of the lease's IA"),
    (
        "_DEBUG",
        "multi-line text",
        "Kea's own dump of the lease (`Lease4::toText()` / `Lease6::toText()`)",
    ),
];

/// The name prefix and field table of each argument kea-hook-runscript renders.
fn khr_argument_docs(argument: Argument) -> (&'static str, FieldDocs) {
    match argument {
        Argument::Query4 => ("KEA_QUERY4", KHR_PKT4),
        Argument::Response4 => ("KEA_RESPONSE4", KHR_PKT4),
        Argument::Query6 => ("KEA_QUERY6", KHR_PKT6),
        Argument::Response6 => ("KEA_RESPONSE6", KHR_PKT6),
        Argument::Subnet4 => ("KEA_SUBNET4", KHR_SUBNET),
        Argument::Subnet6 => ("KEA_SUBNET6", KHR_SUBNET),
        Argument::Lease4 => ("KEA_LEASE4", KHR_LEASE),
        Argument::Lease6 => ("KEA_LEASE6", KHR_LEASE),
        Argument::FakeAllocation => (
            "KEA_FAKE_ALLOCATION",
            &[(
                "",
                "0/1",
                "`1` for a DHCPDISCOVER/SOLICIT (offer only), `0` for a real allocation",
            )],
        ),
        Argument::RemoveLease => (
            "KEA_REMOVE_LEASE",
            &[(
                "",
                "0/1",
                "`1` if the expired lease is removed, `0` if kept as reclaimed",
            )],
        ),
        other => panic!("kea-hook-runscript renders no {other:?}"),
    }
}

/// The kea-hook-runscript section: one table per hook point it serves.
fn generate_khr() -> String {
    let profile = Profile::KeaHookRunscript;
    let mut doc = String::new();
    doc.push_str(
        "# Profile `kea-hook-runscript`\n\n\
         With `\"variables\": \"kea-hook-runscript\"` (chosen automatically when the parameters use only\n\
         kea-hook-runscript's keys `script` and `wait`, see `docs/configuration.md`) a script gets the\n\
         variables of kea-hook-runscript 1.4.0 instead, at its 19 hook points, so scripts written for it\n\
         run unmodified. Formats as above, except:\n\n\
         - **0/1**: booleans are `1` / `0`. **signed integer**: may be negative (`-1`).\n\
         - Objects Kea passes as null (a subnet, a hardware address) give empty values, as there\n  \
           (a null query or lease, which it would dereference and Kea never passes where it reads\n  \
           them, gives empty values too);\n  \
           `KEA_QUERY4_OPTION60` and `KEA_QUERY4_RAI*` are set only when the option is present and\n  \
           `KEA_LEASE6_DELEGATED_PREFIX*` only for prefix leases (not even empty otherwise).\n\
         - `*_DEBUG` values are Kea's own multi-line dumps (their exact text depends on the Kea version).\n\
         - `leases4_committed`, `leases6_committed`: not served (kea-hook-runscript has no such callout);\n  \
           `load`/`unload` have no variables.\n\n",
    );
    for &hook_point in HookPoint::ALL {
        let Some(arguments) = profile.arguments(hook_point) else {
            continue;
        };
        if arguments.is_empty() {
            continue;
        }
        let _ = writeln!(doc, "## `{}` (kea-hook-runscript)\n", hook_point.name());
        let default = profile.default_hook_points().contains(&hook_point);
        let _ = writeln!(
            doc,
            "{} Kea arguments: {}.\n",
            if default {
                "Selected by default."
            } else {
                "Opt-in."
            },
            arguments
                .iter()
                .map(|a| format!("`{}` → `{}*`", a.kea_name(), khr_argument_docs(*a).0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        doc.push_str("| Variable | Type | Meaning | Example |\n|---|---|---|---|\n");
        for (name, value) in profile.render(&common::full_event(hook_point)) {
            let (prefix, fields) = arguments
                .iter()
                .map(|a| khr_argument_docs(*a))
                .filter(|(prefix, _)| name.starts_with(prefix))
                .max_by_key(|(prefix, _)| prefix.len())
                .unwrap_or_else(|| panic!("{name} matches no argument prefix"));
            let suffix = &name[prefix.len()..];
            let (_, ty, meaning) = fields
                .iter()
                .find(|(s, _, _)| *s == suffix)
                .unwrap_or_else(|| panic!("{name}: no documentation for suffix {suffix:?}"));
            // Multi-line dumps: their first line.
            let value = value.to_string();
            let example = match value.split_once('\n') {
                Some((first, _)) => format!("{first}…"),
                None => value.clone(),
            };
            let _ = writeln!(doc, "| `{name}` | {ty} | {meaning} | `{example}` |");
        }
        doc.push('\n');
    }
    doc
}

/// An opt-in variable: (configuration key, its choice, name suffix, type, meaning).
type ExtraRow = (
    &'static str,
    fn() -> Extras,
    &'static str,
    &'static str,
    &'static str,
);

/// The opt-in variables.
const EXTRAS: &[ExtraRow] = &[
    ("classes", || Extras::new(true, false, false), "_CLASSES", "names",
     "the client classes Kea assigned to the query so far, in Kea's order, separated by one space"),
    ("user-contexts", || Extras::new(false, true, false), "_USER_CONTEXT", "JSON",
     "the object's user context as compact JSON; empty when it has none"),
    ("host-reservation", || Extras::new(false, false, true), "_HOSTNAME", "string",
     "reserved hostname; all `HOST*` variables are empty when the client has no reservation"),
    ("host-reservation", || Extras::new(false, false, true), "_IPV4_ADDRESS", "IPv4",
     "reserved IPv4 address (empty when none)"),
    ("host-reservation", || Extras::new(false, false, true), "_IPV6_ADDRESSES", "IPv6 list",
     "reserved IPv6 addresses, separated by one space"),
    ("host-reservation", || Extras::new(false, false, true), "_IPV6_PREFIXES", "prefix list",
     "reserved IPv6 prefixes as `address/length`, separated by one space"),
    ("host-reservation", || Extras::new(false, false, true), "_CLASSES", "names",
     "the reservation's client classes, separated by one space"),
    ("host-reservation", || Extras::new(false, false, true), "_USER_CONTEXT", "JSON",
     "the reservation's user context as compact JSON"),
    ("ha", || Extras::default().with_ha(true), "_EVENT_ORIGIN", "word",
     "where the event comes from: `local` (this server's callout), `partner` (a change the HA partner sent), `command` (a lease command)"),
    ("ha", || Extras::default().with_ha(true), "_HA_PARTNER", "string",
     "the HA partner's name on a partner event, else empty"),
    ("ha", || Extras::default().with_ha(true), "_CHANGE_ID", "hex",
     "16 hex digits naming this change of the lease, the same on both servers of an HA pair (`docs/configuration.md`, HA pairs)"),
];

/// The section on the opt-in variables, per hook point, from `render_extras`.
fn generate_extras() -> String {
    let mut doc = String::new();
    doc.push_str(
        "# Opt-in data: classes, user contexts, host reservations, HA\n\n\
         A script with `\"classes\": true`, `\"user-contexts\": true`, `\"host-reservation\": true`\n\
         or `\"ha\"` (see `docs/configuration.md`) gets these variables after its profile's (and after its\n\
         options by code, before its expressions). Kea's hook has none of them. A list of class\n\
         names is separated by one space; a name that itself holds a space (a vendor class such as\n\
         `VENDOR_CLASS_MSFT 5.0`) cannot be told apart there: test membership exactly with an\n\
         expression (`\"expressions\": {\"VOIP\": \"member('voip')\"}`).\n\n",
    );
    for &hook_point in HookPoint::ALL {
        let event = common::full_event(hook_point);
        let mut rows = Vec::new();
        for (key, extras, suffix, ty, meaning) in EXTRAS {
            for (name, value) in render_extras(&event, extras()) {
                let Some((pattern, rest)) = pattern_of(&name) else {
                    continue;
                };
                if rest != *suffix
                    || rows
                        .iter()
                        .any(|(p, _, _, _, _): &(String, _, _, _, _)| *p == pattern)
                {
                    continue;
                }
                rows.push((pattern, *key, *ty, *meaning, value));
            }
        }
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(doc, "## `{}` (opt-in)\n", hook_point.name());
        doc.push_str("| Variable | Key | Type | Meaning | Example |\n|---|---|---|---|---|\n");
        for (pattern, key, ty, meaning, example) in rows {
            let _ = writeln!(
                doc,
                "| `{pattern}` | `{key}` | {ty} | {meaning} | `{example}` |"
            );
        }
        doc.push('\n');
    }
    doc
}

/// `LEASES4_AT0_USER_CONTEXT` → (`LEASES4_AT<i>_USER_CONTEXT`, `_USER_CONTEXT`): the name with
/// its index generalised, and the suffix after the object's prefix.
fn pattern_of(name: &str) -> Option<(String, &str)> {
    let prefixes = [
        "DELETED_LEASES4",
        "DELETED_LEASES6",
        "LEASES4",
        "LEASES6",
        "LEASE4",
        "LEASE6",
        "SUBNET4",
        "SUBNET6",
        "QUERY4",
        "QUERY6",
        "HOST4",
        "HOST6",
        "KEA",
    ];
    let prefix = prefixes.iter().find(|p| name.starts_with(*p))?;
    let rest = &name[prefix.len()..];
    match split_index(rest) {
        Some((_, after)) => Some((format!("{prefix}_AT<i>{after}"), after)),
        None => Some((name.to_owned(), rest)),
    }
}

#[test]
fn variables_md_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/variables.md");
    let fresh = generate() + &generate_extras() + &generate_khr();
    // Only UPDATE_DOCS=1 rewrites; unset, 0 or anything else compares.
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/variables.md is stale; regenerate it with \
         `UPDATE_DOCS=1 cargo test -p kea-runscript-env --test variables_doc`"
    );
}
