// Logging through Kea's logging system: the "kea-runscript" logger and its message dictionary.
//
// kea-msg-compiler is not packaged, so the dictionary is a hand-written table registered with
// MessageInitializer (Kea loads it into the global dictionary when it loads the library). Every
// message is "%1": the text is formatted in Rust, the id keeps it filterable and searchable.
// A unit test in kea-runscript-hook checks that every id core may log is listed here.

#include "kea_runscript_shim.h"
#include "kea-runscript-hook/src/bridge.rs.h"

#include <log/logger.h>
#include <log/macros.h>
#include <log/message_initializer.h>

#include <string>

namespace kea_runscript {

namespace {

const char* message_table[] = {
    // kea-runscript-hook's own messages.
    "KEA_RUNSCRIPT_LOAD", "%1",
    "KEA_RUNSCRIPT_LOAD_ERROR", "%1",
    "KEA_RUNSCRIPT_UNLOAD", "%1",
    "KEA_RUNSCRIPT_CALLOUT_ERROR", "%1",
    "KEA_RUNSCRIPT_VERDICT_APPLIED", "%1",
    "KEA_RUNSCRIPT_VERDICT_NOT_APPLICABLE", "%1",
    // kea_runscript_core::log::MESSAGE_IDS.
    NULL
};

const isc::log::MessageInitializer message_initializer(message_table);

// Debug messages go out at Kea's basic trace level.
constexpr int DEBUG_LEVEL = 40;

isc::log::Logger logger("kea-runscript");

} // namespace

void log_message(uint8_t severity, rust::Str id, rust::Str text) {
    const std::string ident(id.data(), id.size());
    const std::string message(text.data(), text.size());
    switch (severity) {
    case 0:
        LOG_DEBUG(logger, DEBUG_LEVEL, ident.c_str()).arg(message);
        break;
    case 1:
        LOG_INFO(logger, ident.c_str()).arg(message);
        break;
    case 2:
        LOG_WARN(logger, ident.c_str()).arg(message);
        break;
    default:
        LOG_ERROR(logger, ident.c_str()).arg(message);
        break;
    }
}

} // namespace kea_runscript
