//! Kea expressions ([`Expression`]): parsed with Kea's own parser, evaluated per packet with
//! Kea's own evaluator — the language of Kea's client classes (`option[12].text`,
//! `pkt4.mac`, `substring(...)`, …).

use cxx::UniquePtr;

use crate::bridge::ffi::CalloutHandle;
use crate::error::Error;

/// The bridge to `shim/eval.cc`.
// cxx's generated glue puts several unsafe calls in one block; our code has none here.
#[allow(clippy::multiple_unsafe_ops_per_block)]
#[cxx::bridge(namespace = "kea_runscript")]
pub(crate) mod ffi {
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

/// The DHCP family of the server the hook is loaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// `kea-dhcp4`.
    V4,
    /// `kea-dhcp6`.
    V6,
}

impl Family {
    /// The family of the running server.
    pub fn of_server() -> Result<Family, Error> {
        match ffi::server_family().map_err(|e| Error::kea("reading the server's family", e))? {
            4 => Ok(Family::V4),
            6 => Ok(Family::V6),
            other => Err(Error::new(format!("unknown server family {other}"))),
        }
    }

    fn byte(self) -> u8 {
        match self {
            Family::V4 => 4,
            Family::V6 => 6,
        }
    }
}

/// An expression parsed by Kea for one family; evaluate it with
/// [`crate::Callout::evaluate`]. Immutable, shareable between threads.
pub struct Expression {
    parsed: UniquePtr<ffi::ParsedExpression>,
}

impl Expression {
    /// Kea's parse of `text` as a string expression, else as a boolean one; the error is
    /// Kea's message.
    pub fn parse(family: Family, text: &str) -> Result<Expression, Error> {
        let parsed =
            ffi::parse_expression(family.byte(), text).map_err(|e| Error::new(e.what()))?;
        Ok(Expression { parsed })
    }

    /// Whether the expression is boolean (evaluates to `true` / `false`).
    pub fn is_boolean(&self) -> bool {
        self.parsed.as_ref().is_some_and(ffi::expression_is_boolean)
    }

    /// Kea's evaluation on the packet argument `packet` of `handle`: `Ok(None)` when the
    /// handle has no such packet.
    pub(crate) fn evaluate(
        &self,
        handle: &CalloutHandle,
        packet: &str,
    ) -> Result<Option<Vec<u8>>, Error> {
        let Some(parsed) = self.parsed.as_ref() else {
            return Ok(None);
        };
        let outcome =
            ffi::evaluate_expression(parsed, handle, packet).map_err(|e| Error::new(e.what()))?;
        Ok(outcome.present.then_some(outcome.bytes))
    }
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expression")
            .field("boolean", &self.is_boolean())
            .finish()
    }
}
