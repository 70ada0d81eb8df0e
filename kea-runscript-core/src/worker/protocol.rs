//! Worker protocol, version 1: the lines exchanged with a worker. Pure (no I/O).
//!
//! To the worker (stdin), one JSON object per event and line:
//! `{"v":1,"instance":"3f9c…","seq":42,"hook_point":"leases4_committed","replay":false,"reply":"ack","vars":{…}}`.
//! From the worker (stdout), one answer per event and line, in any order:
//! `{"seq":42}` (ack), `{"seq":42,"verdict":"drop"}` or `{"seq":42,"code":4}`.
//! Anything else is a [`ProtocolError`].

use std::fmt;

use serde::Deserialize;

use crate::verdict::Verdict;

/// The protocol version this module speaks (`"v"` of each event, and the value of
/// `KEA_RUNSCRIPT_PROTOCOL` in the worker's environment).
pub const VERSION: u32 = 1;

/// Longest answer line accepted from a worker (bytes, without the newline). Answers
/// are a few dozen bytes; a longer line is a protocol error, read no further, so a
/// worker printing without end cannot grow the host.
pub const MAX_ANSWER_LINE: usize = 4096;

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
/// given, as a JSON object of strings; bytes that are not UTF-8 are replaced (the
/// renderer only produces UTF-8).
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
    let text = String::from_utf8_lossy(bytes);
    // Writing a &str into a Vec cannot fail.
    serde_json::to_writer(&mut *out, text.as_ref()).expect("writing JSON into memory");
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The event it answers.
    pub seq: u64,
    /// What the worker said.
    pub outcome: Outcome,
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

/// The JSON shape of an answer, strictly: unknown keys are errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    seq: u64,
    verdict: Option<RawVerdict>,
    code: Option<u8>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawVerdict {
    Continue,
    Skip,
    Drop,
}

/// Decodes one answer line (without its newline; a trailing `\r` is tolerated).
pub fn decode_answer(line: &[u8]) -> Result<Answer, ProtocolError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_ANSWER_LINE {
        return Err(ProtocolError(format!(
            "answer line longer than {MAX_ANSWER_LINE} bytes"
        )));
    }
    let raw: RawAnswer = serde_json::from_slice(line).map_err(|e| {
        // serde's message quotes the worker's keys decoded (a `\u001b` escape becomes
        // ESC): escaped too, so the logged line holds no control character (found by
        // the worker_protocol fuzz target).
        let reason: String = e
            .to_string()
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        ProtocolError(format!(
            "not an answer ({reason}): {}",
            excerpt(line, 80).escape_debug()
        ))
    })?;
    let outcome = match (raw.verdict, raw.code) {
        (Some(_), Some(_)) => {
            return Err(ProtocolError(format!(
                "answer for seq {} has both \"verdict\" and \"code\"",
                raw.seq
            )))
        }
        (Some(RawVerdict::Continue), None) => Outcome::Verdict(Verdict::Continue),
        (Some(RawVerdict::Skip), None) => Outcome::Verdict(Verdict::Skip),
        (Some(RawVerdict::Drop), None) => Outcome::Verdict(Verdict::Drop),
        (None, Some(code)) => Outcome::Code(code),
        (None, None) => Outcome::Ack,
    };
    Ok(Answer {
        seq: raw.seq,
        outcome,
    })
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
            br#"{"seq": 1, "a\rb": 2}"#,
        ] {
            let message = decode_answer(line).expect_err("not an answer").0;
            assert!(!message.chars().any(char::is_control), "{message:?}");
        }
    }
    use proptest::prelude::*;
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

    #[test]
    fn answers_decode_by_table() {
        use Outcome::*;
        let table: &[(&str, Option<Answer>)] = &[
            (
                r#"{"seq":42}"#,
                Some(Answer {
                    seq: 42,
                    outcome: Ack,
                }),
            ),
            (
                r#"{"seq":42}"#.trim(),
                Some(Answer {
                    seq: 42,
                    outcome: Ack,
                }),
            ),
            (
                "{\"seq\":1}\r",
                Some(Answer {
                    seq: 1,
                    outcome: Ack,
                }),
            ),
            (
                r#"{"seq":3,"verdict":"drop"}"#,
                Some(Answer {
                    seq: 3,
                    outcome: Verdict(crate::Verdict::Drop),
                }),
            ),
            (
                r#"{"verdict":"skip","seq":3}"#,
                Some(Answer {
                    seq: 3,
                    outcome: Verdict(crate::Verdict::Skip),
                }),
            ),
            (
                r#" {"seq":0,"verdict":"continue"} "#,
                Some(Answer {
                    seq: 0,
                    outcome: Verdict(crate::Verdict::Continue),
                }),
            ),
            (
                r#"{"seq":9,"code":4}"#,
                Some(Answer {
                    seq: 9,
                    outcome: Code(4),
                }),
            ),
            (r#"{"seq":9,"code":256}"#, None),
            (r#"{"seq":9,"code":-1}"#, None),
            (r#"{"seq":9,"verdict":"DROP"}"#, None),
            (r#"{"seq":9,"verdict":"park"}"#, None),
            (r#"{"seq":9,"verdict":"drop","code":1}"#, None),
            (r#"{"seq":9,"extra":1}"#, None),
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
            prop_assert_eq!(decode_answer(line.as_bytes()), Ok(Answer { seq, outcome }));
        }
    }
}
