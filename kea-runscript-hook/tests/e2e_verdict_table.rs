//! The verdict table of kea-runscript-hook/README.md against the real Kea: a sync script
//! that always exits 3, with 3 mapped to `skip` or `drop` at one hook point per row, and
//! what one crafted client then gets — no address at all, an offer but no lease, or a
//! lease (where Kea ignores the verdict, and our library logs that it does).

mod common;

use std::time::Duration;

use common::dhcp4::{self, Client4, Msg, Path4};
use common::dhcp6::{self, ia_na, ia_pd, put, Client6};
use common::kea::{hook, Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, our_library, require_prereqs, HeavySlot, Scratch};
use serde_json::json;

/// What the client got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Got {
    /// No OFFER/ADVERTISE with an address.
    NoAddress,
    /// An address offered/advertised, but no ACK/REPLY granting it.
    OfferedOnly,
    /// A lease.
    Bound,
}

/// (family, hook point, verdict for exit code 3 — None: 3 left unmapped, what the client
/// gets, a message id our library must log).
type Row = (
    Family,
    &'static str,
    Option<&'static str>,
    Got,
    Option<&'static str>,
);

const ROWS: &[Row] = &[
    (
        Family::V4,
        "subnet4_select",
        Some("drop"),
        Got::NoAddress,
        None,
    ),
    (
        Family::V4,
        "subnet4_select",
        Some("skip"),
        Got::NoAddress,
        None,
    ),
    (
        Family::V4,
        "lease4_select",
        Some("skip"),
        Got::NoAddress,
        None,
    ),
    (Family::V4, "pkt4_send", Some("drop"), Got::NoAddress, None),
    (
        Family::V4,
        "leases4_committed",
        Some("drop"),
        Got::OfferedOnly,
        None,
    ),
    (
        Family::V4,
        "lease4_select",
        Some("drop"),
        Got::Bound,
        Some("KEA_RUNSCRIPT_VERDICT_NOT_APPLICABLE"),
    ),
    (
        Family::V4,
        "pkt4_receive",
        None,
        Got::Bound,
        Some("KEA_RUNSCRIPT_EXIT_CODE_UNMAPPED"),
    ),
    (Family::V6, "pkt6_send", Some("drop"), Got::NoAddress, None),
    (
        Family::V6,
        "lease6_select",
        Some("skip"),
        Got::NoAddress,
        None,
    ),
    (
        Family::V6,
        "leases6_committed",
        Some("drop"),
        Got::OfferedOnly,
        None,
    ),
];

const MAC: [u8; 6] = [0x02, 0x40, 0, 0, 0, 1];

fn client4(tb: &Testbed) -> Got {
    in_netns(&tb.cli, || {
        let client = Client4::new(Path4::Relayed);
        let offer = client.exchange(
            Msg::new(dhcp4::DISCOVER, 0x8000, MAC),
            Duration::from_secs(2),
        );
        let Some(offer) = offer.filter(|o| o.msg_type == dhcp4::OFFER) else {
            return Got::NoAddress;
        };
        let server_id = offer.option(54).expect("server id").to_vec();
        let request = Msg::new(dhcp4::REQUEST, 0x8001, MAC)
            .with(50, &offer.yiaddr.octets())
            .with(54, &server_id);
        match client.exchange(request, Duration::from_secs(2)) {
            Some(ack) if ack.msg_type == dhcp4::ACK => Got::Bound,
            _ => Got::OfferedOnly,
        }
    })
}

fn client6(tb: &Testbed) -> Got {
    let ifindex = tb.cli_ifindex();
    in_netns(&tb.cli, move || {
        let client = Client6::new(ifindex, MAC, None);
        let mut solicit = ia_na(1, None);
        solicit.extend(ia_pd(1, None));
        let Some(adv) = client.exchange(dhcp6::SOLICIT, 0x80_0000, &solicit) else {
            return Got::NoAddress;
        };
        let held = adv.held();
        let Some(dhcp6::Held::Addr(addr)) = held.iter().find(|h| matches!(h, dhcp6::Held::Addr(_)))
        else {
            return Got::NoAddress;
        };
        let mut request = Vec::new();
        put(
            &mut request,
            dhcp6::OPT_SERVERID,
            adv.option(dhcp6::OPT_SERVERID).expect("server id"),
        );
        request.extend(ia_na(1, Some(*addr)));
        match client.exchange(dhcp6::REQUEST, 0x80_0001, &request) {
            Some(reply)
                if reply
                    .held()
                    .iter()
                    .any(|h| matches!(h, dhcp6::Held::Addr(_))) =>
            {
                Got::Bound
            }
            _ => Got::OfferedOnly,
        }
    })
}

fn verdict_table(mt: bool) {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("vtable");
    let (_, script) = scratch.script_dir("exit3", "exit3.sh");
    let mut failures = Vec::new();
    for &(family, hook_point, verdict, expected, logged) in ROWS {
        let tb = Testbed::new();
        let exit_codes = verdict.map_or(json!({}), |v| json!({"3": v}));
        let parameters = json!({
            "name": script, "sync": true, "hook-points": [hook_point],
            "timeout-ms": 2000, "exit-codes": exit_codes
        });
        let settings = Settings::new(family, mt, vec![hook(&our_library(), parameters)]);
        let mut kea = Kea::start(&tb, &scratch, &settings);
        let got = match family {
            Family::V4 => client4(&tb),
            Family::V6 => client6(&tb),
        };
        let row = format!("{hook_point} exit 3 → {}", verdict.unwrap_or("(unmapped)"));
        if got != expected {
            failures.push(format!(
                "{row}: client got {got:?}, README says {expected:?}"
            ));
        }
        if let Some(id) = logged {
            if !kea.log_text().contains(id) {
                failures.push(format!("{row}: {id} not logged"));
            }
        }
        kea.assert_healthy();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

both_threading_modes!(verdict_table => verdicts_do_what_the_readme_says, verdicts_do_what_the_readme_says_multi_threaded);
