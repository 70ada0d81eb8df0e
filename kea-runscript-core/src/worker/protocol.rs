//! Worker protocol, version 1: the lines exchanged with a worker. Pure (no I/O).
//!
//! To the worker (stdin), one JSON object per event and line:
//! `{"v":1,"instance":"3f9c…","seq":42,"hook_point":"leases4_committed","replay":false,"reply":"ack","vars":{…}}`.
//! From the worker (stdout), one answer per event and line, in any order:
//! `{"seq":42}` (ack), `{"seq":42,"verdict":"drop"}` or `{"seq":42,"code":4}`; a sync
//! answer may carry data fields beside them (`{"seq":42,"classes":["quarantine"]}`,
//! see [`crate::answer`]), which older workers never send, so the version stays 1.
//! A line without a valid `seq`, `verdict` or `code` is a [`ProtocolError`]; a bad data
//! field is not (it is logged and left out, the verdict applies).

use std::fmt;

use serde_json::{Map, Value};

use crate::verdict::Verdict;

/// The protocol version this module speaks (`"v"` of each event, and the value of
/// `KEA_RUNSCRIPT_PROTOCOL` in the worker's environment).
pub const VERSION: u32 = 1;

/// Longest answer line accepted from a worker (bytes, without the newline). Answers
/// are a few dozen bytes, a few kilobytes with data (32 class names of 128 bytes); a
/// longer line is a protocol error, read no further, so a worker printing without end
/// cannot grow the host.
pub const MAX_ANSWER_LINE: usize = 16 * 1024;

/// What the hook expects back for an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// An async event: only an acknowledgement.
    Ack,
    /// A sync event: a verdict (or an exit code mapped through `exit-codes`).
    Verdict,
}

impl Reply {
    /// The protocol spelling: `ack` or `verdict`.
    pub fn name(self) -> &'static str {
        match self {
            Reply::Ack => "ack",
            Reply::Verdict => "verdict",
        }
    }
}

/// The fields of an event line other than its variables.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a> {
    /// The random id of this library load.
    pub instance: &'a str,
    /// The event's sequence number within this worker and instance.
    pub seq: u64,
    /// The hook point's name.
    pub hook_point: &'a str,
    /// Sent before to a worker that did not answer it (a previous process).
    pub replay: bool,
    /// What the hook expects back.
    pub reply: Reply,
}

/// Appends one event line (with its `\n`) to `out`. `vars` are written in the order
/// given, as a JSON object of strings; a byte that is not part of valid UTF-8 (a host
/// name as the client sent it) is written as the lone surrogate `\udcXX`, Python's
/// `surrogateescape` (see [`kea_runscript_env::surrogateescape`]), so no byte is lost.
pub fn encode_event<'v>(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    vars: impl IntoIterator<Item = (&'v [u8], &'v [u8])>,
) {
    out.extend_from_slice(b"{\"v\":");
    out.extend_from_slice(VERSION.to_string().as_bytes());
    out.extend_from_slice(b",\"instance\":");
    string(out, header.instance.as_bytes());
    out.extend_from_slice(b",\"seq\":");
    out.extend_from_slice(header.seq.to_string().as_bytes());
    out.extend_from_slice(b",\"hook_point\":");
    string(out, header.hook_point.as_bytes());
    out.extend_from_slice(if header.replay {
        b",\"replay\":true,\"reply\":"
    } else {
        b",\"replay\":false,\"reply\":"
    });
    string(out, header.reply.name().as_bytes());
    out.extend_from_slice(b",\"vars\":{");
    for (i, (name, value)) in vars.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, name);
        out.push(b':');
        string(out, value);
    }
    out.extend_from_slice(b"}}\n");
}

/// Appends `bytes` as a JSON string literal.
fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    kea_runscript_env::surrogateescape::push_json_string(out, bytes);
}

/// What a worker answered for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `{"seq":N}`: acknowledged (for a sync event: continue).
    Ack,
    /// `{"seq":N,"verdict":"…"}`.
    Verdict(Verdict),
    /// `{"seq":N,"code":C}`: to be mapped through `exit-codes`.
    Code(u8),
}

/// One decoded answer line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The event it answers.
    pub seq: u64,
    /// What the worker said.
    pub outcome: Outcome,
    /// Every other key of the answer: the data a sync answer carries (`classes`,
    /// `hostname`, …), read against the event's hook point when the answer is matched
    /// to its event ([`crate::answer::AnswerData::from_json`]). `None` when there is none.
    pub data: Option<Box<Map<String, Value>>>,
}

/// A line from the worker that is not a valid answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// Decodes one answer line (without its newline; a trailing `\r` is tolerated).
pub fn decode_answer(line: &[u8]) -> Result<Answer, ProtocolError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_ANSWER_LINE {
        return Err(ProtocolError(format!(
            "answer line longer than {MAX_ANSWER_LINE} bytes"
        )));
    }
    let mut fields: Map<String, Value> = serde_json::from_slice(line).map_err(|e| {
        ProtocolError(format!(
            "not an answer ({}): {}",
            escape_controls(&e.to_string()),
            excerpt(line, 80).escape_debug()
        ))
    })?;
    let seq = match fields.remove("seq") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
        Some(other) => {
            return Err(ProtocolError(format!(
                "answer with \"seq\" {}: not an event number",
                excerpt(other.to_string().as_bytes(), 40).escape_debug()
            )))
        }
        None => return Err(ProtocolError("answer without \"seq\"".into())),
    };
    let verdict = match fields.remove("verdict") {
        None => None,
        Some(Value::String(v)) if v == "continue" => Some(Verdict::Continue),
        Some(Value::String(v)) if v == "skip" => Some(Verdict::Skip),
        Some(Value::String(v)) if v == "drop" => Some(Verdict::Drop),
        Some(other) => {
            return Err(ProtocolError(format!(
                "answer for seq {seq}: \"verdict\" {} is not continue, skip or drop",
                excerpt(other.to_string().as_bytes(), 40).escape_debug()
            )))
        }
    };
    let code = match fields.remove("code") {
        None => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|c| c <= 255) => {
            n.as_u64().map(|c| c as u8)
        }
        Some(other) => {
            return Err(ProtocolError(format!(
                "answer for seq {seq}: \"code\" {} is not 0 to 255",
                excerpt(other.to_string().as_bytes(), 40).escape_debug()
            )))
        }
    };
    let outcome = match (verdict, code) {
        (Some(_), Some(_)) => {
            return Err(ProtocolError(format!(
                "answer for seq {seq} has both \"verdict\" and \"code\""
            )))
        }
        (Some(verdict), None) => Outcome::Verdict(verdict),
        (None, Some(code)) => Outcome::Code(code),
        (None, None) => Outcome::Ack,
    };
    Ok(Answer {
        seq,
        outcome,
        data: (!fields.is_empty()).then(|| Box::new(fields)),
    })
}

/// `text` with its control characters escaped: serde's messages quote the worker's
/// keys decoded (a `\u001b` escape becomes ESC), and a logged line holds none (found by
/// the worker_protocol fuzz target).
fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The first `max` characters of `bytes` (lossy), with `…` when cut: for log lines.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() <= max {
        text.into_owned()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the worker_protocol fuzz target: an unknown key holding a control
    /// character (raw DEL, or a JSON escape of ESC) reached the logged message as is.
    #[test]
    fn protocol_errors_hold_no_control_character() {
        for line in [
            &b"{\"\x7f\" 8"[..],
            br#"{"\u001b[2J": 1}"#,
            br#"{"seq": "\u001b"}"#,
            br#"{"seq": 1, "verdict": "\u001b\r"}"#,
        ] {
            let message = decode_answer(line).expect_err("not an answer").0;
            assert!(!message.chars().any(char::is_control), "{message:?}");
        }
    }
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    fn header(seq: u64, replay: bool, reply: Reply) -> Header<'static> {
        Header {
            instance: "3f9c",
            seq,
            hook_point: "leases4_committed",
            replay,
            reply,
        }
    }

    fn encode(header: &Header<'_>, vars: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_event(
            &mut out,
            header,
            vars.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        );
        out
    }

    #[test]
    fn an_event_is_one_line_with_the_documented_fields_in_order() {
        let line = encode(
            &header(42, false, Reply::Ack),
            &[("QUERY4_TYPE", "DHCPREQUEST"), ("A", "x\"y\n")],
        );
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "{\"v\":1,\"instance\":\"3f9c\",\"seq\":42,\"hook_point\":\"leases4_committed\",\
             \"replay\":false,\"reply\":\"ack\",\"vars\":{\"QUERY4_TYPE\":\"DHCPREQUEST\",\"A\":\"x\\\"y\\n\"}}\n"
        );
        let line = encode(&header(7, true, Reply::Verdict), &[]);
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["replay"], true);
        assert_eq!(value["reply"], "verdict");
        assert_eq!(value["vars"], serde_json::json!({}));
    }

    fn ans(seq: u64, outcome: Outcome) -> Answer {
        Answer {
            seq,
            outcome,
            data: None,
        }
    }

    #[test]
    fn data_fields_are_kept_for_the_event_not_errors() {
        let answer = decode_answer(br#"{"seq":9,"verdict":"skip","classes":["q"],"x":1}"#)
            .expect("an answer");
        assert_eq!(answer.outcome, Outcome::Verdict(Verdict::Skip));
        let data = answer.data.expect("data");
        assert_eq!(data.keys().collect::<Vec<_>>(), ["classes", "x"]);
    }

    #[test]
    fn answers_decode_by_table() {
        use Outcome::*;
        let table: &[(&str, Option<Answer>)] = &[
            (r#"{"seq":42}"#, Some(ans(42, Ack))),
            (r#"{"seq":42}"#.trim(), Some(ans(42, Ack))),
            ("{\"seq\":1}\r", Some(ans(1, Ack))),
            (
                r#"{"seq":3,"verdict":"drop"}"#,
                Some(ans(3, Verdict(crate::Verdict::Drop))),
            ),
            (
                r#"{"verdict":"skip","seq":3}"#,
                Some(ans(3, Verdict(crate::Verdict::Skip))),
            ),
            (
                r#" {"seq":0,"verdict":"continue"} "#,
                Some(ans(0, Verdict(crate::Verdict::Continue))),
            ),
            (r#"{"seq":9,"code":4}"#, Some(ans(9, Code(4)))),
            (r#"{"seq":9,"code":256}"#, None),
            (r#"{"seq":9,"code":-1}"#, None),
            (r#"{"seq":9,"verdict":"DROP"}"#, None),
            (r#"{"seq":9,"verdict":"park"}"#, None),
            (r#"{"seq":9,"verdict":"drop","code":1}"#, None),
            (r#"{"seq":9,"verdict":7}"#, None),
            (r#"{"seq":1.5}"#, None),
            (r#"{"seq":-1}"#, None),
            (r#"{"seq":"1"}"#, None),
            (r#"{}"#, None),
            ("", None),
            ("ok", None),
            ("[1]", None),
            (r#"{"seq":1}{"seq":2}"#, None),
        ];
        for (line, expected) in table {
            let got = decode_answer(line.as_bytes());
            match expected {
                Some(answer) => assert_eq!(got.as_ref(), Ok(answer), "{line:?}"),
                None => assert!(got.is_err(), "{line:?} decoded as {got:?}"),
            }
        }
    }

    #[test]
    fn a_long_line_is_an_error_that_quotes_only_an_excerpt() {
        let long = format!("{{\"seq\":1,\"x\":\"{}\"}}", "a".repeat(MAX_ANSWER_LINE));
        let err = decode_answer(long.as_bytes()).unwrap_err();
        assert!(err.0.contains("longer than"), "{err}");
        let err = decode_answer("b".repeat(1000).as_bytes()).unwrap_err();
        assert!(err.0.len() < 300, "{err}");
    }

    proptest! {
        #[test]
        fn any_vars_encode_to_one_valid_line_that_round_trips(
            vars in proptest::collection::vec((any::<String>(), any::<String>()), 0..8),
            seq in any::<u64>(),
            replay in any::<bool>(),
        ) {
            let pairs: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let line = encode(&header(seq, replay, Reply::Verdict), &pairs);
            prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            prop_assert_eq!(line.last(), Some(&b'\n'));
            let value: Value = serde_json::from_slice(&line).unwrap();
            prop_assert_eq!(value["seq"].as_u64(), Some(seq));
            prop_assert_eq!(value["replay"].as_bool(), Some(replay));
            // Every pair appears, in the given order, as "name":"value".
            let body: Vec<String> = pairs
                .iter()
                .map(|(n, v)| format!("{}:{}", Value::from(*n), Value::from(*v)))
                .collect();
            let text = String::from_utf8(line).unwrap();
            prop_assert!(text.ends_with(&format!("\"vars\":{{{}}}}}\n", body.join(","))), "{}", text);
        }

        #[test]
        fn any_value_bytes_reach_a_worker_byte_for_byte(
            vars in proptest::collection::btree_map("[A-Z_]{1,8}", proptest::collection::vec(any::<u8>(), 0..24), 0..6),
        ) {
            // What the documented decode of a Rust worker does: serde_json reads each value as
            // bytes (lone surrogates as WTF-8), `decode_wtf8` restores the original bytes.
            struct Raw(Vec<u8>);
            impl<'de> Deserialize<'de> for Raw {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
                    struct V;
                    impl serde::de::Visitor<'_> for V {
                        type Value = Raw;
                        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                            f.write_str("a string")
                        }
                        fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
                            Ok(Raw(kea_runscript_env::surrogateescape::decode_wtf8(v)))
                        }
                    }
                    d.deserialize_bytes(V)
                }
            }
            #[derive(Deserialize)]
            struct Line {
                vars: std::collections::BTreeMap<String, Raw>,
            }
            let mut line = Vec::new();
            encode_event(
                &mut line,
                &header(1, false, Reply::Ack),
                vars.iter().map(|(n, v)| (n.as_bytes(), &v[..])),
            );
            prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            let parsed: Line = serde_json::from_slice(&line).unwrap();
            let got: std::collections::BTreeMap<String, Vec<u8>> =
                parsed.vars.into_iter().map(|(n, v)| (n, v.0)).collect();
            prop_assert_eq!(got, vars);
        }

        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_answer(&bytes);
        }

        #[test]
        fn every_ack_verdict_and_code_round_trips(seq in any::<u64>(), code in any::<u8>(), pick in 0usize..5) {
            let (line, outcome) = match pick {
                0 => (format!("{{\"seq\":{seq}}}"), Outcome::Ack),
                1 => (format!("{{\"seq\":{seq},\"verdict\":\"continue\"}}"), Outcome::Verdict(Verdict::Continue)),
                2 => (format!("{{\"seq\":{seq},\"verdict\":\"skip\"}}"), Outcome::Verdict(Verdict::Skip)),
                3 => (format!("{{\"seq\":{seq},\"verdict\":\"drop\"}}"), Outcome::Verdict(Verdict::Drop)),
                _ => (format!("{{\"seq\":{seq},\"code\":{code}}}"), Outcome::Code(code)),
            };
            prop_assert_eq!(decode_answer(line.as_bytes()), Ok(ans(seq, outcome)));
        }
    }
}
