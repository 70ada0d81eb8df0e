// Logging through Kea's logging system: the "kea-runscript" logger and its message dictionary.
//
// kea-msg-compiler is not packaged, so the dictionary is a hand-written table registered with
// MessageInitializer (Kea loads it into the global dictionary when it loads the library). Every
// message is "%1": the text is formatted in Rust, the id keeps it filterable and searchable.
// A unit test in kea-runscript-hook checks that every id core may log is listed here.

#include "kea_compat.h"

#include "kea_runscript_shim.h"
#include "kea-runscript-hook/src/bridge.rs.h"

#include <log/logger.h>
#include <log/macros.h>
#include <log/message_dictionary.h>
#include <log/message_initializer.h>

#include <mutex>
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
    "KEA_RUNSCRIPT_UNREGISTERED_MESSAGE", "%1",
    // kea_runscript_core::log::MESSAGE_IDS.
    "KEA_RUNSCRIPT_SCRIPT_CONFIGURED", "%1",
    "KEA_RUNSCRIPT_SPAWN_FAILED", "%1",
    "KEA_RUNSCRIPT_EVENT_DROPPED", "%1",
    "KEA_RUNSCRIPT_TIMEOUT", "%1",
    "KEA_RUNSCRIPT_KILLED_BY_SIGNAL", "%1",
    "KEA_RUNSCRIPT_EXIT_CODE_UNMAPPED", "%1",
    "KEA_RUNSCRIPT_NONZERO_EXIT", "%1",
    "KEA_RUNSCRIPT_WAIT_FAILED", "%1",
    "KEA_RUNSCRIPT_ENV_INVALID", "%1",
    "KEA_RUNSCRIPT_REAPER_FAILED", "%1",
    "KEA_RUNSCRIPT_SHUTDOWN", "%1",
    "KEA_RUNSCRIPT_WORKER_STARTED", "%1",
    "KEA_RUNSCRIPT_WORKER_EXITED", "%1",
    "KEA_RUNSCRIPT_WORKER_PROTOCOL_ERROR", "%1",
    "KEA_RUNSCRIPT_WORKER_STOPPED", "%1",
    "KEA_RUNSCRIPT_SCRIPT_OUTPUT", "%1",
    NULL
};

const isc::log::MessageInitializer message_initializer(message_table);

// Debug messages go out at Kea's basic trace level.
constexpr int DEBUG_LEVEL = 40;

isc::log::Logger logger("kea-runscript");

// Kea moves a library's messages into the global dictionary only after it has loaded the
// library; version() already logs while Kea merely validates it. Loading pending dictionaries
// early is harmless: the initializer's destructor takes them out again when Kea closes us.
std::mutex dictionary_mutex;

// Whether `ident` has a text in Kea's dictionary, loading ours first if Kea has not yet.
bool registered(const std::string& ident) {
    // loadDictionary is not thread-safe; messages can come from several Kea threads at once.
    std::lock_guard<std::mutex> lock(dictionary_mutex);
    const isc::log::MessageDictionaryPtr& dictionary =
        isc::log::MessageDictionary::globalDictionary();
    if (dictionary->getText(ident).empty() &&
        isc::log::MessageInitializer::getPendingCount() > 0) {
        isc::log::MessageInitializer::loadDictionary(true);
    }
    return (!dictionary->getText(ident).empty());
}

} // namespace

bool log_message(uint8_t severity, rust::Str id, rust::Str text) {
    const std::string ident(id.data(), id.size());
    // An id missing from the table above (a unit test guards against it) is reported back
    // instead: Kea would print a placeholder error in place of the text.
    if (!registered(ident)) {
        return (false);
    }
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
    return (true);
}

} // namespace kea_runscript
