//! Options by code (`"options"`) in the real kea-dhcp4: the script gets
//! `QUERY4_OPTION_<code>` / `RESPONSE4_OPTION_<code>` with the payloads the crafted client
//! sent and the server answered (computed here from the bytes on the wire), the enterprise
//! number and sub-options of option 125, empty values for absent and zero-length options,
//! and Kea's own option 82 variables unchanged. A script without the key gets none of them.

mod common;

use std::time::Duration;

use common::dhcp4::{agent_options, hex_upper, Client4, Path4};
use common::dump::{with_and_without, with_and_without_hook};
use common::kea::{Family, Kea, Settings};
use common::testbed::Testbed;
use common::{in_netns, require_prereqs, HeavySlot, Scratch};
use serde_json::json;

const MAC: [u8; 6] = [0x02, 0x0b, 0, 0, 0, 0x0c];
const XID: u32 = 0xb000;

#[test]
fn v4_options_by_code() {
    if !require_prereqs() {
        return;
    }
    let _slot = HeavySlot::acquire();
    let scratch = Scratch::new("opts4");
    let (with, without) = with_and_without(&scratch);
    let tb = Testbed::new();
    let codes = [12u16, 43, 50, 54, 60, 61, 77, 81, 82, 125, 51, 2];
    let points = ["pkt4_receive", "pkt4_send"];
    let settings = Settings::new(
        Family::V4,
        true,
        vec![with_and_without_hook(
            &with,
            &without,
            &points,
            json!({"options": codes}),
        )],
    );
    let mut kea = Kea::start(&tb, &scratch, &settings);
    let hostname = b"opt-host".to_vec();
    let vendor43 = vec![1u8, 2, 0xaa, 0xbb];
    let vendor_class = b"vendor-x".to_vec();
    let client_id = [&[1u8][..], &MAC].concat();
    let fqdn = vec![0x04u8, 0, 0, 3, b'a', b'b', b'c', 0];
    let opt82 = agent_options(&[(1, b"port-9"), (2, &[9, 9])]);
    let vivso = vec![0u8, 0, 0x0d, 0xe9, 6, 1, 2, 0xab, 0xcd, 2, 0];
    let extra = vec![
        (12, hostname.clone()),
        (43, vendor43.clone()),
        (60, vendor_class.clone()),
        (61, client_id.clone()),
        (77, Vec::new()),
        (81, fqdn.clone()),
        (82, opt82.clone()),
        (125, vivso.clone()),
    ];
    let bound = in_netns(&tb.cli, move || {
        let mut relay = Client4::new(Path4::Relayed);
        relay.extra = extra;
        relay.dora(MAC, XID).expect("bound")
    });
    let t = Duration::from_secs(5);
    let request_xid = (XID + 1).to_string();
    let received = with.wait_one("pkt4_receive", t, |r| r.has("QUERY4_TXID", &request_xid));
    received.check(&[
        ("QUERY4_OPTION_12", &hex_upper(&hostname)),
        ("QUERY4_OPTION_43", &hex_upper(&vendor43)),
        // The REQUEST asks for the offered address (option 50) from the server (54).
        ("QUERY4_OPTION_50", &hex_upper(&bound.addr.octets())),
        ("QUERY4_OPTION_54", &hex_upper(&bound.server_id)),
        ("QUERY4_OPTION_60", &hex_upper(&vendor_class)),
        ("QUERY4_OPTION_61", &hex_upper(&client_id)),
        ("QUERY4_OPTION_77", ""),
        ("QUERY4_OPTION_81", &hex_upper(&fqdn)),
        ("QUERY4_OPTION_82", &hex_upper(&opt82)),
        ("QUERY4_OPTION_82_SUB_OPTION_2", &hex_upper(&[9, 9])),
        ("QUERY4_OPTION_125", &hex_upper(&vivso)),
        ("QUERY4_OPTION_125_ENTERPRISE_ID", "3561"),
        ("QUERY4_OPTION_125_SUB_OPTION_1", &hex_upper(&[0xab, 0xcd])),
        ("QUERY4_OPTION_125_SUB_OPTION_2", ""),
        ("QUERY4_OPTION_51", ""),
        ("QUERY4_OPTION_2", ""),
    ]);
    let sent = with.wait_one("pkt4_send", t, |r| r.has("QUERY4_TXID", &request_xid));
    sent.check(&[
        ("RESPONSE4_OPTION_54", &hex_upper(&bound.server_id)),
        ("RESPONSE4_OPTION_51", &hex_upper(&3600u32.to_be_bytes())),
        ("RESPONSE4_OPTION_60", ""),
        ("QUERY4_OPTION_60", &hex_upper(&vendor_class)),
    ]);
    let plain = without.wait_one("pkt4_receive", t, |r| r.has("QUERY4_TXID", &request_xid));
    let added: Vec<&String> = received
        .vars
        .keys()
        .filter(|n| !plain.vars.contains_key(*n))
        .collect();
    assert!(
        added
            .iter()
            .all(|n| n.starts_with("QUERY4_OPTION_") && !n.starts_with("QUERY4_OPTION_82")),
        "{added:?}"
    );
    assert_eq!(
        plain.var("QUERY4_OPTION_82"),
        received.var("QUERY4_OPTION_82")
    );
    kea.assert_healthy();
}
