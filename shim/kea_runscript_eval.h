// Kea's own expression evaluator (the classification language of client-classes and flex-id)
// for the "expressions" parameter: parsed once when the library's parameters are checked,
// evaluated per packet. Also the server's address family, which the parameter checks need.
#pragma once

// First: Kea 3.0's headers need Kea's config.h before them (the cxx glue includes this header
// before anything else).
#include "kea_compat.h"

#include <eval/token.h>
#include <hooks/callout_handle.h>

#include "rust/cxx.h"

#include <cstdint>
#include <memory>

namespace kea_runscript {

struct EvalOutcome;

// One parsed expression: Kea's token list and how to evaluate it. Kea's tokens hold no
// per-evaluation state (the value stack is local to an evaluation), so one parsed expression
// serves every thread at once, as Kea's own client classes do.
class ParsedExpression {
public:
    ParsedExpression(const isc::dhcp::Expression& tokens, bool boolean)
        : tokens_(tokens), boolean_(boolean) {
    }
    const isc::dhcp::Expression tokens_;
    const bool boolean_;
};

// 4 in kea-dhcp4, 6 in kea-dhcp6 (CfgMgr's family).
uint8_t server_family();

// Parses `text` with Kea's parser for `family` (4 or 6): as a string expression, or, failing
// that, as a boolean one. Throws with Kea's parser message when it is neither.
std::unique_ptr<ParsedExpression> parse_expression(uint8_t family, rust::Str text);

// Whether the parsed expression is boolean (its value is "true" or "false").
bool expression_is_boolean(const ParsedExpression& expression);

// Evaluates `expression` on the packet argument `packet` ("query4" or "query6") of `handle`.
// An absent packet gives `present == false`; an evaluation error throws (Kea's message).
EvalOutcome evaluate_expression(const ParsedExpression& expression,
                                const isc::hooks::CalloutHandle& handle, rust::Str packet);

} // namespace kea_runscript
