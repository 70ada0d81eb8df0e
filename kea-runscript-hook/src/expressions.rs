//! Kea expressions for scripts (the `expressions` parameter): parsed with Kea's own parser
//! when the parameters are checked, evaluated per packet with Kea's own evaluator (the SDK's
//! [`kea_hook::Expression`]).
//!
//! Each script's expressions are evaluated on the event's query (`query4` / `query6`); at a
//! hook point without one (expiry, recovery, replay, load) the variables are empty. A value
//! the evaluator fails to compute for a packet, or one that is not text (a NUL byte or
//! invalid UTF-8, e.g. a raw `option[61].hex`: wrap it in `hexstring(…, ':')`), leaves the
//! variable empty and is logged under the rate limit; Kea goes on serving.

use kea_hook::{Callout, Expression};
use kea_runscript_core::config::{Config, ConfigError, Family, ScriptConfig};
use kea_runscript_core::log::Severity;

use crate::logging;

/// The server's family, as the configuration checks name it.
pub fn server_family() -> Result<Family, String> {
    match kea_hook::Family::of_server().map_err(String::from)? {
        kea_hook::Family::V4 => Ok(Family::V4),
        kea_hook::Family::V6 => Ok(Family::V6),
        other => Err(format!("unknown server family {other:?}")),
    }
}

/// One script's parsed expressions, in configuration (name) order.
type ScriptExpressions = Vec<(String, Expression)>;

/// Every script's parsed expressions (index = script index).
pub struct Expressions {
    scripts: Vec<ScriptExpressions>,
}

fn parse_script(script: &ScriptConfig, family: Family) -> Result<ScriptExpressions, ConfigError> {
    let family = match family {
        Family::V4 => kea_hook::Family::V4,
        Family::V6 => kea_hook::Family::V6,
        other => {
            return Err(ConfigError::new(
                "",
                format!("unknown server family {other:?}"),
            ))
        }
    };
    script
        .expressions
        .iter()
        .map(|(name, text)| {
            let parsed = Expression::parse(family, text).map_err(|e| {
                let parameter = if script.label.is_empty() {
                    format!("expressions.{name}")
                } else {
                    format!("{}.expressions.{name}", script.label)
                };
                ConfigError::new(parameter, format!("Kea cannot parse {text:?}: {e}"))
            })?;
            Ok((name.clone(), parsed))
        })
        .collect()
}

impl Expressions {
    /// Parses every script's expressions for `family`; the error names the variable.
    pub fn parse(config: &Config, family: Family) -> Result<Expressions, ConfigError> {
        let scripts = config
            .scripts
            .iter()
            .map(|script| parse_script(script, family))
            .collect::<Result<_, _>>()?;
        Ok(Expressions { scripts })
    }

    /// The variables of script `index` for the event of `callout`, in its configuration
    /// order: each expression's value, empty when it cannot be had.
    pub fn evaluate(&self, index: usize, callout: &Callout<'_>) -> Vec<(String, String)> {
        let Some(expressions) = self.scripts.get(index) else {
            return Vec::new();
        };
        expressions
            .iter()
            .map(|(name, expression)| (name.clone(), value(name, expression, callout)))
            .collect()
    }
}

/// One expression's value, or empty (logged under the rate limit) when it has none.
fn value(name: &str, expression: &Expression, callout: &Callout<'_>) -> String {
    let failure = match callout.evaluate(expression) {
        Ok(None) => return String::new(),
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(text) if !text.contains('\0') => return text,
            _ => "the value is not text (wrap the expression in hexstring(..., ':'))".to_owned(),
        },
        Err(e) => e.to_string(),
    };
    logging::limited(Severity::Warn, logging::EXPRESSION_FAILED, || {
        format!(
            "expression {name} at {}: {failure}; the variable is empty",
            callout.hook_point()
        )
    });
    String::new()
}
