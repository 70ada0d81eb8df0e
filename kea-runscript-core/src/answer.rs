//! What a sync script's answer may carry beyond its verdict ([`AnswerData`]): client
//! classes, a DNS name and its update flags, an offered address found in use, a flexible
//! host identifier. Pure (no I/O): parsed from a worker's answer line or a spawned
//! script's stdout, checked against Kea's rules, combined across scripts.
//!
//! A field that is malformed, unknown or meaningless at the hook point is left out with a
//! [`Problem`] the caller logs; the verdict and the other fields still apply.

use std::fmt;

use kea_runscript_env::HookPoint;
use serde_json::{Map, Value};

/// Most client classes one answer may add.
pub const MAX_CLASSES: usize = 32;
/// Longest client-class name accepted (bytes).
pub const MAX_CLASS_NAME: usize = 128;
/// Longest host name accepted (characters, without a trailing dot): a DNS name's limit.
pub const MAX_HOSTNAME: usize = 253;
/// Longest flexible identifier (bytes): Kea's limit for a host identifier.
pub const MAX_FLEX_ID: usize = 128;
/// Most bytes of a spawned sync script's stdout read for answers; the rest is drained
/// and ignored.
pub const MAX_STDOUT: usize = 16 * 1024;

/// Classes Kea assigns itself: an answer may not claim them.
const KEA_ASSIGNED_CLASSES: &[&str] = &["ALL", "KNOWN", "UNKNOWN", "BOOTP"];

/// One field an answer may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Client classes added to the query (`classes`, `KEA_CLASS`).
    Classes,
    /// The DNS host name (`hostname`, `KEA_HOSTNAME`).
    Hostname,
    /// Whether Kea updates forward DNS (`fwd-update`, `KEA_FWD_UPDATE`).
    FwdUpdate,
    /// Whether Kea updates reverse DNS (`rev-update`, `KEA_REV_UPDATE`).
    RevUpdate,
    /// The offered address is in use: Kea declines it (`address-in-use`,
    /// `KEA_ADDRESS_IN_USE`).
    AddressInUse,
    /// A flexible host identifier (`flex-id`, `KEA_FLEX_ID`).
    FlexId,
}

/// The field table: per [`Field`], its worker-answer key and its stdout line name.
const FIELDS: &[(Field, &str, &str)] = &[
    (Field::Classes, "classes", "KEA_CLASS"),
    (Field::Hostname, "hostname", "KEA_HOSTNAME"),
    (Field::FwdUpdate, "fwd-update", "KEA_FWD_UPDATE"),
    (Field::RevUpdate, "rev-update", "KEA_REV_UPDATE"),
    (Field::AddressInUse, "address-in-use", "KEA_ADDRESS_IN_USE"),
    (Field::FlexId, "flex-id", "KEA_FLEX_ID"),
];

impl Field {
    /// Its key in a worker's answer (`"classes"`, `"hostname"`, …).
    pub fn key(self) -> &'static str {
        FIELDS
            .iter()
            .find(|row| row.0 == self)
            .map_or("", |row| row.1)
    }

    /// Its name on a spawned script's stdout (`KEA_CLASS`, `KEA_HOSTNAME`, …).
    pub fn line_name(self) -> &'static str {
        FIELDS
            .iter()
            .find(|row| row.0 == self)
            .map_or("", |row| row.2)
    }

    /// The fields Kea takes at `hook_point` (empty where an answer is a verdict only).
    pub fn accepted_at(hook_point: HookPoint) -> &'static [Field] {
        match hook_point.name() {
            "pkt4_receive" | "pkt6_receive" => &[Field::Classes],
            "ddns4_update" | "ddns6_update" => {
                &[Field::Hostname, Field::FwdUpdate, Field::RevUpdate]
            }
            "lease4_offer" => &[Field::AddressInUse],
            "host4_identifier" | "host6_identifier" => &[Field::FlexId],
            _ => &[],
        }
    }

    fn by_key(key: &str) -> Option<Field> {
        FIELDS.iter().find(|row| row.1 == key).map(|row| row.0)
    }

    fn by_line_name(name: &str) -> Option<Field> {
        FIELDS.iter().find(|row| row.2 == name).map(|row| row.0)
    }
}

/// Data an answer carries besides its verdict. Empty (the default) for most answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnswerData {
    /// Client classes to add to the query, in order, without repeats.
    pub classes: Vec<String>,
    /// The host name Kea uses for the lease and DNS (checked: letters, digits, `-`,
    /// labels of 1 to 63, at most 253 characters, an optional trailing dot).
    pub hostname: Option<String>,
    /// Whether Kea sends forward DNS updates.
    pub fwd_update: Option<bool>,
    /// Whether Kea sends reverse DNS updates.
    pub rev_update: Option<bool>,
    /// Whether the offered address is in use (Kea declines it and offers another).
    pub address_in_use: Option<bool>,
    /// The flexible host identifier (1 to 128 bytes).
    pub flex_id: Option<Vec<u8>>,
}

/// A field of an answer that was left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem(pub String);

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AnswerData {
    /// True when the answer carries no data.
    pub fn is_empty(&self) -> bool {
        *self == AnswerData::default()
    }

    /// The data fields of a worker's answer object (every key but `seq`, `verdict` and
    /// `code`), for `hook_point`. Each bad, unknown or inapplicable key is a problem.
    pub fn from_json(
        fields: &Map<String, Value>,
        hook_point: HookPoint,
        problems: &mut Vec<Problem>,
    ) -> AnswerData {
        let mut data = AnswerData::default();
        for (key, value) in fields {
            let Some(field) = Field::by_key(key) else {
                problems.push(Problem(format!("unknown answer field {:?}", excerpt(key))));
                continue;
            };
            if let Err(problem) = data.set_json(field, value, hook_point) {
                problems.push(problem);
            }
        }
        data
    }

    fn set_json(&mut self, field: Field, value: &Value, at: HookPoint) -> Result<(), Problem> {
        accepted(field, at)?;
        let bad = |what: &str| {
            Problem(format!(
                "answer field \"{}\": {what}, got {}",
                field.key(),
                excerpt(&value.to_string())
            ))
        };
        match field {
            Field::Classes => {
                let Value::Array(names) = value else {
                    return Err(bad("expected an array of class names"));
                };
                for name in names {
                    let Value::String(name) = name else {
                        return Err(bad("expected an array of class names"));
                    };
                    self.add_class(name)?;
                }
            }
            Field::FwdUpdate | Field::RevUpdate | Field::AddressInUse => {
                let Value::Bool(flag) = value else {
                    return Err(bad("expected true or false"));
                };
                self.set_flag(field, *flag);
            }
            Field::Hostname | Field::FlexId => {
                let Value::String(text) = value else {
                    return Err(bad("expected a string"));
                };
                self.set_text(field, text)?;
            }
        }
        Ok(())
    }

    /// The answer lines of a spawned sync script's stdout (`KEA_CLASS=name`, repeatable;
    /// `KEA_HOSTNAME=…`; `KEA_FWD_UPDATE=true`; …) for `hook_point`. Lines that do not
    /// start with `KEA_` and hold a `=` are not answers: returned for the log. A bad
    /// answer line is a problem.
    pub fn from_lines<'a>(
        stdout: &'a [u8],
        hook_point: HookPoint,
        problems: &mut Vec<Problem>,
    ) -> (AnswerData, Vec<&'a [u8]>) {
        let mut data = AnswerData::default();
        let mut other = Vec::new();
        for line in stdout.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let Some((name, value)) = answer_line(line) else {
                other.push(line);
                continue;
            };
            let Some(field) = Field::by_line_name(name) else {
                problems.push(Problem(format!("unknown answer line {:?}", excerpt(name))));
                continue;
            };
            let Ok(value) = std::str::from_utf8(value) else {
                problems.push(Problem(format!("{name}: not UTF-8")));
                continue;
            };
            let result = accepted(field, hook_point).and_then(|()| match field {
                Field::Classes => data.add_class(value),
                Field::FwdUpdate | Field::RevUpdate | Field::AddressInUse => {
                    let flag = parse_flag(value).ok_or_else(|| {
                        Problem(format!(
                            "{name}: expected true or false, got {:?}",
                            excerpt(value)
                        ))
                    })?;
                    data.set_flag(field, flag);
                    Ok(())
                }
                Field::Hostname | Field::FlexId => data.set_text(field, value),
            });
            if let Err(problem) = result {
                problems.push(problem);
            }
        }
        (data, other)
    }

    fn add_class(&mut self, name: &str) -> Result<(), Problem> {
        check_class(name)?;
        if self.classes.iter().any(|c| c == name) {
            return Ok(());
        }
        if self.classes.len() == MAX_CLASSES {
            return Err(Problem(format!(
                "more than {MAX_CLASSES} classes: {:?} left out",
                excerpt(name)
            )));
        }
        self.classes.push(name.to_owned());
        Ok(())
    }

    fn set_flag(&mut self, field: Field, flag: bool) {
        let slot = match field {
            Field::FwdUpdate => &mut self.fwd_update,
            Field::RevUpdate => &mut self.rev_update,
            _ => &mut self.address_in_use,
        };
        *slot = Some(flag);
    }

    fn set_text(&mut self, field: Field, text: &str) -> Result<(), Problem> {
        match field {
            Field::Hostname => {
                check_hostname(text)?;
                self.hostname = Some(text.to_owned());
            }
            _ => self.flex_id = Some(parse_flex_id(text)?),
        }
        Ok(())
    }

    /// Combines the data of several sync scripts, in configuration order: classes are
    /// the union (in order); for every other field the first script that set it wins.
    pub fn merge(&mut self, other: AnswerData) {
        for class in other.classes {
            if !self.classes.contains(&class) && self.classes.len() < MAX_CLASSES {
                self.classes.push(class);
            }
        }
        self.hostname = self.hostname.take().or(other.hostname);
        self.fwd_update = self.fwd_update.or(other.fwd_update);
        self.rev_update = self.rev_update.or(other.rev_update);
        self.address_in_use = self.address_in_use.or(other.address_in_use);
        self.flex_id = self.flex_id.take().or(other.flex_id);
    }
}

/// `NAME=value` when the line is an answer line (`KEA_` and an upper-case name).
fn answer_line(line: &[u8]) -> Option<(&str, &[u8])> {
    let eq = line.iter().position(|&b| b == b'=')?;
    let name = std::str::from_utf8(&line[..eq]).ok()?;
    let is_name = name.starts_with("KEA_")
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    is_name.then(|| (name, &line[eq + 1..]))
}

fn accepted(field: Field, at: HookPoint) -> Result<(), Problem> {
    if Field::accepted_at(at).contains(&field) {
        Ok(())
    } else {
        Err(Problem(format!(
            "answer field \"{}\" means nothing at {at}: ignored",
            field.key()
        )))
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, any case).
fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// A class name an answer may add: 1 to [`MAX_CLASS_NAME`] bytes of letters, digits,
/// `_`, `-`, `.` and `:` (safe inside Kea's expressions and logs), not one Kea assigns
/// itself.
pub fn check_class(name: &str) -> Result<(), Problem> {
    let charset = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':');
    if name.is_empty() || name.len() > MAX_CLASS_NAME || !name.bytes().all(charset) {
        return Err(Problem(format!(
            "class name {:?} refused: 1 to {MAX_CLASS_NAME} letters, digits, '_', '-', '.', ':'",
            excerpt(name)
        )));
    }
    if KEA_ASSIGNED_CLASSES.contains(&name) || name.starts_with("VENDOR_CLASS_") {
        return Err(Problem(format!(
            "class {name:?} refused: Kea assigns it itself"
        )));
    }
    Ok(())
}

/// A host name an answer may set: a DNS name of letters, digits and `-` (Kea's default
/// `hostname-char-set`), labels of 1 to 63 characters, at most [`MAX_HOSTNAME`]
/// characters, fully qualified with a trailing dot or relative (Kea adds its qualifying
/// suffix).
pub fn check_hostname(name: &str) -> Result<(), Problem> {
    let refuse = |why: &str| {
        Err(Problem(format!(
            "host name {:?} refused: {why}",
            excerpt(name)
        )))
    };
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return refuse("empty (to stop DNS updates, set fwd-update and rev-update to false)");
    }
    if bare.len() > MAX_HOSTNAME {
        return refuse("longer than 253 characters");
    }
    for label in bare.split('.') {
        if label.is_empty() || label.len() > 63 {
            return refuse("each label must have 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return refuse("only letters, digits, '-' and '.'");
        }
    }
    Ok(())
}

/// A flexible identifier as Kea's reservations write one: `'text'` (quoted, the bytes of
/// the text) or hexadecimal digits, optionally in pairs separated by `:`; 1 to
/// [`MAX_FLEX_ID`] bytes.
pub fn parse_flex_id(text: &str) -> Result<Vec<u8>, Problem> {
    let refuse = |why: &str| {
        Err(Problem(format!(
            "flex-id {:?} refused: {why}",
            excerpt(text)
        )))
    };
    let bytes = if let Some(quoted) = text
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        quoted.as_bytes().to_vec()
    } else {
        let digits: String = if text.contains(':') {
            let mut out = String::new();
            for pair in text.split(':') {
                if pair.is_empty() || pair.len() > 2 {
                    return refuse("hexadecimal pairs separated by ':' expected");
                }
                if pair.len() == 1 {
                    out.push('0');
                }
                out.push_str(pair);
            }
            out
        } else {
            text.strip_prefix("0x").unwrap_or(text).to_owned()
        };
        if digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return refuse("expected 'quoted text' or hexadecimal digits");
        }
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or(0))
            .collect()
    };
    if bytes.is_empty() || bytes.len() > MAX_FLEX_ID {
        return refuse("1 to 128 bytes");
    }
    Ok(bytes)
}

/// At most 64 characters of `text`, control characters escaped: for log lines.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(64).flat_map(char::escape_debug).collect();
    if text.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn json_data(value: Value, at: HookPoint) -> (AnswerData, Vec<Problem>) {
        let mut problems = Vec::new();
        let Value::Object(map) = value else {
            panic!("an object")
        };
        (AnswerData::from_json(&map, at, &mut problems), problems)
    }

    #[test]
    fn classes_from_a_worker_answer() {
        let (data, problems) = json_data(
            json!({"classes": ["quarantine", "guest", "quarantine"]}),
            HookPoint::Pkt4Receive,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(data.classes, ["quarantine", "guest"]);
    }

    #[test]
    fn every_field_at_its_hook_point() {
        let (data, problems) = json_data(
            json!({"hostname": "pc-1.example.org.", "fwd-update": true, "rev-update": false}),
            HookPoint::Ddns4Update,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(data.hostname.as_deref(), Some("pc-1.example.org."));
        assert_eq!(
            (data.fwd_update, data.rev_update),
            (Some(true), Some(false))
        );
        let (data, _) = json_data(json!({"address-in-use": true}), HookPoint::Lease4Offer);
        assert_eq!(data.address_in_use, Some(true));
        let (data, _) = json_data(json!({"flex-id": "'port-7'"}), HookPoint::Host4Identifier);
        assert_eq!(data.flex_id.as_deref(), Some(&b"port-7"[..]));
    }

    #[test]
    fn bad_unknown_and_misplaced_fields_are_problems_and_left_out() {
        let table = [
            (json!({"classes": "quarantine"}), HookPoint::Pkt4Receive),
            (json!({"classes": [1]}), HookPoint::Pkt4Receive),
            (json!({"classes": ["has space"]}), HookPoint::Pkt4Receive),
            (json!({"classes": ["KNOWN"]}), HookPoint::Pkt6Receive),
            (json!({"classes": [""]}), HookPoint::Pkt4Receive),
            (json!({"classes": ["q"]}), HookPoint::Lease4Renew),
            (json!({"colour": "blue"}), HookPoint::Pkt4Receive),
            (json!({"hostname": "a_b"}), HookPoint::Ddns4Update),
            (json!({"hostname": "$(reboot)"}), HookPoint::Ddns6Update),
            (json!({"hostname": ""}), HookPoint::Ddns4Update),
            (json!({"hostname": "a..b"}), HookPoint::Ddns4Update),
            (json!({"hostname": 7}), HookPoint::Ddns4Update),
            (json!({"fwd-update": "yes"}), HookPoint::Ddns4Update),
            (json!({"address-in-use": true}), HookPoint::Leases4Committed),
            (json!({"flex-id": "abc"}), HookPoint::Host4Identifier),
            (json!({"flex-id": "''"}), HookPoint::Host6Identifier),
        ];
        for (value, at) in table {
            let (data, problems) = json_data(value.clone(), at);
            assert!(data.is_empty(), "{value} at {at}: {data:?}");
            assert_eq!(problems.len(), 1, "{value} at {at}: {problems:?}");
        }
    }

    #[test]
    fn at_most_max_classes() {
        let names: Vec<String> = (0..MAX_CLASSES + 3).map(|i| format!("c{i}")).collect();
        let (data, problems) = json_data(json!({ "classes": names }), HookPoint::Pkt4Receive);
        assert_eq!(data.classes.len(), MAX_CLASSES);
        assert_eq!(
            problems.len(),
            1,
            "one problem for the answer's excess: {problems:?}"
        );
    }

    #[test]
    fn stdout_lines() {
        let stdout = b"checking aa:bb\nKEA_CLASS=quarantine\r\nKEA_CLASS=iot\nKEA_COLOUR=x\n\nKEA_CLASS=bad name\n";
        let mut problems = Vec::new();
        let (data, other) = AnswerData::from_lines(stdout, HookPoint::Pkt4Receive, &mut problems);
        assert_eq!(data.classes, ["quarantine", "iot"]);
        assert_eq!(other, [&b"checking aa:bb"[..]]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let mut problems = Vec::new();
        let (data, _) = AnswerData::from_lines(
            b"KEA_HOSTNAME=pc-1\nKEA_FWD_UPDATE=0\nKEA_REV_UPDATE=yes\n",
            HookPoint::Ddns6Update,
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(data.hostname.as_deref(), Some("pc-1"));
        assert_eq!(
            (data.fwd_update, data.rev_update),
            (Some(false), Some(true))
        );
        let (data, _) = AnswerData::from_lines(
            b"KEA_ADDRESS_IN_USE=true",
            HookPoint::Lease4Offer,
            &mut problems,
        );
        assert_eq!(data.address_in_use, Some(true));
    }

    #[test]
    fn flex_ids_in_keas_reservation_syntax() {
        assert_eq!(parse_flex_id("01:02:0a").unwrap(), [1, 2, 10]);
        assert_eq!(parse_flex_id("1:2").unwrap(), [1, 2]);
        assert_eq!(parse_flex_id("0102ff").unwrap(), [1, 2, 255]);
        assert_eq!(parse_flex_id("0x0102").unwrap(), [1, 2]);
        assert_eq!(parse_flex_id("'a b'").unwrap(), b"a b");
        for bad in ["", "0", "0g", "01::02", "123:4", "'"] {
            assert!(parse_flex_id(bad).is_err(), "{bad:?}");
        }
        assert!(parse_flex_id(&"ab".repeat(MAX_FLEX_ID + 1)).is_err());
    }

    #[test]
    fn merging_unites_classes_and_keeps_the_first_value() {
        let mut first = AnswerData {
            classes: vec!["a".into()],
            hostname: Some("one".into()),
            ..AnswerData::default()
        };
        first.merge(AnswerData {
            classes: vec!["b".into(), "a".into()],
            hostname: Some("two".into()),
            fwd_update: Some(false),
            ..AnswerData::default()
        });
        assert_eq!(first.classes, ["a", "b"]);
        assert_eq!(first.hostname.as_deref(), Some("one"));
        assert_eq!(first.fwd_update, Some(false));
    }

    proptest! {
        /// Whatever a script prints, parsing never panics, and every accepted class and
        /// host name satisfies Kea's rules.
        #[test]
        fn any_stdout_gives_only_valid_data(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for at in [HookPoint::Pkt4Receive, HookPoint::Ddns4Update, HookPoint::Host6Identifier] {
                let mut problems = Vec::new();
                let (data, _) = AnswerData::from_lines(&bytes, at, &mut problems);
                for class in &data.classes {
                    prop_assert!(check_class(class).is_ok());
                }
                if let Some(name) = &data.hostname {
                    prop_assert!(check_hostname(name).is_ok());
                }
            }
        }

        #[test]
        fn valid_hostnames_are_accepted(labels in proptest::collection::vec("[a-z0-9][a-z0-9-]{0,20}", 1..5), fqdn in any::<bool>()) {
            let mut name = labels.join(".");
            if fqdn {
                name.push('.');
            }
            prop_assert!(check_hostname(&name).is_ok(), "{}", name);
        }
    }
}
