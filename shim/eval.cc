// Kea expressions for scripts: Kea's own parser at load, Kea's own evaluator per packet.

#include "kea_compat.h"

#include "kea_runscript_eval.h"
#include "kea-hook-sdk/src/eval.rs.h"

#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <dhcpsrv/cfgmgr.h>
#include <eval/eval_context.h>
#include <eval/evaluate.h>

#include <string>

using namespace isc::dhcp;

namespace kea_runscript {

uint8_t server_family() {
    return (CfgMgr::instance().getFamily() == AF_INET6 ? 6 : 4);
}

namespace {

// Parses `text` as `type`; true and the tokens in `tokens` on success, else false and Kea's
// message in `error`.
bool parse_as(Option::Universe universe, const std::string& text, EvalContext::ParserType type,
              Expression& tokens, std::string& error) {
    // Class names in member() are not checked: the library is loaded before (and apart from)
    // the client classes of the configuration, so any name is accepted, as flex-id does.
    EvalContext context(universe);
    try {
        if (context.parseString(text, type)) {
            tokens = compat::parsed_expression(context);
            return (true);
        }
        error = "the parser gave up";
    } catch (const std::exception& e) {
        error = e.what();
    }
    return (false);
}

} // namespace

std::unique_ptr<ParsedExpression> parse_expression(uint8_t family, rust::Str text) {
    const Option::Universe universe = family == 6 ? Option::V6 : Option::V4;
    const std::string source(text.data(), text.size());
    Expression tokens;
    std::string string_error;
    if (parse_as(universe, source, EvalContext::PARSER_STRING, tokens, string_error)) {
        return (std::make_unique<ParsedExpression>(tokens, false));
    }
    std::string bool_error;
    if (parse_as(universe, source, EvalContext::PARSER_BOOL, tokens, bool_error)) {
        return (std::make_unique<ParsedExpression>(tokens, true));
    }
    // The string parser's message: scripts get strings, so that is the reading to explain.
    isc_throw(isc::BadValue, string_error);
}

bool expression_is_boolean(const ParsedExpression& expression) {
    return (expression.boolean_);
}

EvalOutcome evaluate_expression(const ParsedExpression& expression,
                                const isc::hooks::CalloutHandle& handle, rust::Str packet) {
    EvalOutcome outcome{};
    const std::string name(packet.data(), packet.size());
    PktPtr pkt;
    try {
        if (name == "query6") {
            Pkt6Ptr pkt6;
            handle.getArgument(name, pkt6);
            pkt = pkt6;
        } else {
            Pkt4Ptr pkt4;
            handle.getArgument(name, pkt4);
            pkt = pkt4;
        }
    } catch (const isc::hooks::NoSuchArgument&) {
        return (outcome);
    }
    if (!pkt) {
        return (outcome);
    }
    outcome.present = true;
    const std::string value = expression.boolean_
        ? std::string(evaluateBool(expression.tokens_, *pkt) ? "true" : "false")
        : evaluateString(expression.tokens_, *pkt);
    outcome.bytes.reserve(value.size());
    for (const char c : value) {
        outcome.bytes.push_back(static_cast<uint8_t>(c));
    }
    return (outcome);
}

} // namespace kea_runscript
