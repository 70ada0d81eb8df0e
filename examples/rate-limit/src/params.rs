//! The library's `parameters` map: parsed with serde_json, checked, with an error that
//! names the parameter.

use serde::Deserialize;

/// Tracked clients at most, unless `max-clients` says otherwise.
pub const DEFAULT_MAX_CLIENTS: usize = 65_536;

/// The largest `max-clients` accepted (a bucket costs about 100 bytes).
pub const MAX_MAX_CLIENTS: usize = 16_777_216;

/// The largest `burst` accepted.
pub const MAX_BURST: u32 = 1_000_000;

/// The parameters as written in Kea's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    max_per_second: f64,
    burst: Option<u32>,
    max_clients: Option<usize>,
}

/// The checked parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parameters {
    /// Queries per second a client may send on average (the bucket's refill rate).
    pub max_per_second: f64,
    /// Queries a client may send at once (the bucket's size).
    pub burst: u32,
    /// Clients tracked at most; past it the least recently seen are forgotten.
    pub max_clients: usize,
}

impl Parameters {
    /// Parses and checks the `parameters` JSON text. The error names the parameter and what
    /// is wrong with it.
    pub fn parse(text: &str) -> Result<Parameters, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("parameters: {e}"))?;
        if !value.is_object() {
            return Err(format!("parameters must be a map, got {value}"));
        }
        let raw: Raw = serde_json::from_value(value).map_err(|e| format!("parameters: {e}"))?;
        let rate = raw.max_per_second;
        if !(rate.is_finite() && rate > 0.0 && rate <= 1e9) {
            return Err(format!(
                "parameter \"max-per-second\" must be a number above 0 (and at most 1e9), got {rate}"
            ));
        }
        // By default a client may send one second's worth at once (and at least one).
        let burst = raw
            .burst
            .unwrap_or_else(|| rate.ceil().min(f64::from(MAX_BURST)) as u32);
        if !(1..=MAX_BURST).contains(&burst) {
            return Err(format!(
                "parameter \"burst\" must be between 1 and {MAX_BURST}, got {burst}"
            ));
        }
        let max_clients = raw.max_clients.unwrap_or(DEFAULT_MAX_CLIENTS);
        if !(1..=MAX_MAX_CLIENTS).contains(&max_clients) {
            return Err(format!(
                "parameter \"max-clients\" must be between 1 and {MAX_MAX_CLIENTS}, got {max_clients}"
            ));
        }
        Ok(Parameters {
            max_per_second: rate,
            burst,
            max_clients,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_parameters_parse_with_defaults() {
        let p = Parameters::parse(r#"{"max-per-second": 5, "burst": 10}"#).unwrap();
        assert_eq!(
            p,
            Parameters {
                max_per_second: 5.0,
                burst: 10,
                max_clients: DEFAULT_MAX_CLIENTS
            }
        );
        let p = Parameters::parse(r#"{"max-per-second": 0.5, "max-clients": 3}"#).unwrap();
        assert_eq!((p.burst, p.max_clients), (1, 3));
        assert_eq!(
            Parameters::parse(r#"{"max-per-second": 2.5}"#)
                .unwrap()
                .burst,
            3
        );
    }

    #[test]
    fn bad_parameters_name_the_parameter() {
        for (text, expected) in [
            ("{}", "missing field `max-per-second`"),
            (r#"{"max-per-second": 0}"#, "\"max-per-second\""),
            (r#"{"max-per-second": -1}"#, "\"max-per-second\""),
            (r#"{"max-per-second": "5"}"#, "invalid type: string"),
            (r#"{"max-per-second": 5, "burst": 0}"#, "\"burst\""),
            (r#"{"max-per-second": 5, "burst": -1}"#, "invalid value"),
            (
                r#"{"max-per-second": 5, "max-clients": 0}"#,
                "\"max-clients\"",
            ),
            (
                r#"{"max-per-second": 5, "maxburst": 3}"#,
                "unknown field `maxburst`",
            ),
            ("[]", "parameters must be a map"),
        ] {
            let error = Parameters::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
