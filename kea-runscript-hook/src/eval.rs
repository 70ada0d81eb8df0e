//! Kea expressions for scripts (the `expressions` parameter): parsed with Kea's own parser
//! when the parameters are checked, evaluated per packet with Kea's own evaluator.
//!
//! Each script's expressions are evaluated on the event's query (`query4` / `query6`); at a
//! hook point without one (expiry, recovery, replay, load) the variables are empty. A value
//! the evaluator fails to compute for a packet, or one that is not text (a NUL byte or
//! invalid UTF-8, e.g. a raw `option[61].hex`: wrap it in `hexstring(…, ':')`), leaves the
//! variable empty and is logged under the rate limit; Kea goes on serving.

use std::sync::{Arc, RwLock};

use cxx::UniquePtr;
use kea_runscript_core::config::{Config, ConfigError, Family, ScriptConfig};
use kea_runscript_core::log::Severity;
use kea_runscript_env::HookPoint;

use crate::bridge::ffi::CalloutHandle;
use crate::logging;

/// The bridge to `shim/eval.cc`.
// cxx's generated glue puts several unsafe calls in one block; our code has none here.
#[allow(clippy::multiple_unsafe_ops_per_block)]
#[cxx::bridge(namespace = "kea_runscript")]
pub mod ffi {
    /// What one evaluation gave.
    #[derive(Debug, Clone, Default)]
    pub struct EvalOutcome {
        /// False when the event has no such packet.
        pub present: bool,
        /// The evaluator's string (for a boolean expression `true` or `false`).
        pub bytes: Vec<u8>,
    }

    unsafe extern "C++" {
        include!("kea_runscript_eval.h");

        /// Kea's per-packet callout handle (the bridge module's type).
        #[namespace = "isc::hooks"]
        type CalloutHandle = crate::bridge::ffi::CalloutHandle;

        /// One expression parsed by Kea (opaque).
        type ParsedExpression;

        /// 4 in kea-dhcp4, 6 in kea-dhcp6.
        fn server_family() -> Result<u8>;
        /// Kea's parse of `text` (string, else boolean) for `family`; Err with Kea's message.
        fn parse_expression(family: u8, text: &str) -> Result<UniquePtr<ParsedExpression>>;
        /// Whether the expression is boolean.
        fn expression_is_boolean(expression: &ParsedExpression) -> bool;
        /// Kea's evaluation on the packet argument `packet` of `handle`.
        fn evaluate_expression(
            expression: &ParsedExpression,
            handle: &CalloutHandle,
            packet: &str,
        ) -> Result<EvalOutcome>;
    }
}

// SAFETY: a parsed expression is immutable after parsing and Kea's evaluator keeps its state
// in locals, so it may be used from any thread, also at once (Kea does so with client classes).
unsafe impl Send for ffi::ParsedExpression {}
// SAFETY: as above.
unsafe impl Sync for ffi::ParsedExpression {}

/// The server's family, as the configuration checks name it.
pub fn server_family() -> Result<Family, String> {
    match ffi::server_family().map_err(|e| e.to_string())? {
        6 => Ok(Family::V6),
        _ => Ok(Family::V4),
    }
}

/// One script's parsed expressions, in configuration (name) order.
type ScriptExpressions = Vec<(String, UniquePtr<ffi::ParsedExpression>)>;

/// Every script's parsed expressions (index = script index).
pub struct Expressions {
    scripts: Vec<ScriptExpressions>,
}

fn parse_script(script: &ScriptConfig, family: Family) -> Result<ScriptExpressions, ConfigError> {
    let family_byte = if family == Family::V6 { 6 } else { 4 };
    script
        .expressions
        .iter()
        .map(|(name, text)| {
            let parsed = ffi::parse_expression(family_byte, text).map_err(|e| {
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

    /// The variables of script `index` for the event at `hook_point` on `handle`, in its
    /// configuration order: each expression's value, empty when it cannot be had.
    pub fn evaluate(
        &self,
        index: usize,
        hook_point: HookPoint,
        handle: &CalloutHandle,
    ) -> Vec<(String, String)> {
        let Some(expressions) = self.scripts.get(index) else {
            return Vec::new();
        };
        let packet = query_argument(hook_point);
        expressions
            .iter()
            .map(|(name, expression)| {
                let value = match (packet, expression.as_ref()) {
                    (Some(packet), Some(expression)) => {
                        value(name, hook_point, expression, handle, packet)
                    }
                    _ => String::new(),
                };
                (name.clone(), value)
            })
            .collect()
    }
}

/// The query argument of `hook_point`, if it has one.
fn query_argument(hook_point: HookPoint) -> Option<&'static str> {
    use kea_runscript_env::Argument;
    hook_point
        .arguments()
        .iter()
        .find(|a| matches!(a, Argument::Query4 | Argument::Query6))
        .map(|a| a.kea_name())
}

/// One expression's value, or empty (logged under the rate limit) when it has none.
fn value(
    name: &str,
    hook_point: HookPoint,
    expression: &ffi::ParsedExpression,
    handle: &CalloutHandle,
    packet: &str,
) -> String {
    let failure = match ffi::evaluate_expression(expression, handle, packet) {
        Ok(outcome) if !outcome.present => return String::new(),
        Ok(outcome) => match String::from_utf8(outcome.bytes) {
            Ok(text) if !text.contains('\0') => return text,
            _ => "the value is not text (wrap the expression in hexstring(..., ':'))".to_owned(),
        },
        Err(e) => e.what().to_owned(),
    };
    logging::limited(Severity::Warn, logging::EXPRESSION_FAILED, || {
        format!("expression {name} at {hook_point}: {failure}; the variable is empty")
    });
    String::new()
}

/// The parsed expressions of the loaded configuration (set by `load`, cleared by `unload`).
static EXPRESSIONS: RwLock<Option<Arc<Expressions>>> = RwLock::new(None);

/// The loaded expressions, if any script has some.
pub fn current() -> Option<Arc<Expressions>> {
    match EXPRESSIONS.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Replaces the loaded expressions.
pub fn install(expressions: Option<Arc<Expressions>>) {
    let mut guard = match EXPRESSIONS.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    *guard = expressions;
}
