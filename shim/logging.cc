// Logging through Kea's logging system: the hook's logger (named by Rust) and its message dictionary.
//
// kea-msg-compiler is not packaged, and the ids are defined once, in Rust (core's and the
// hook's `message_ids!` lists): Rust hands them here before its first message, and they are
// registered with a MessageInitializer, each with the text "%1" (the text is formatted in Rust;
// the id keeps it filterable and searchable).

#include "kea_compat.h"

#include "kea_runscript_shim.h"
#include "kea-hook-sdk/src/bridge.rs.h"

#include <log/logger.h>
#include <log/macros.h>
#include <log/message_dictionary.h>
#include <log/message_initializer.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kea_runscript {

namespace {

// The ids Rust handed over and the NULL-terminated (id, "%1") table Kea's MessageInitializer
// reads. Members are destroyed in reverse order: the initializer (which takes our ids out of
// Kea's dictionary again when Kea closes the library) goes before the strings it points to.
struct Dictionary {
    std::vector<std::string> ids;
    std::vector<const char*> table;
    std::unique_ptr<isc::log::MessageInitializer> initializer;
};

// Debug messages go out at Kea's basic trace level.
constexpr int DEBUG_LEVEL = 40;

// Created once, by register_messages, under the name Rust gives; read without a lock by
// log_message (hence atomic), never freed while the library is loaded.
std::unique_ptr<isc::log::Logger> logger_owner;
std::atomic<isc::log::Logger*> logger{nullptr};

// Kea moves a library's messages into the global dictionary only after it has loaded the
// library, and ours arrive later still; version() already logs while Kea merely validates it.
// Loading pending dictionaries early is harmless: the initializer's destructor takes them out
// again when Kea closes us.
std::mutex dictionary_mutex;

// Set once by register_messages (under dictionary_mutex).
std::unique_ptr<Dictionary> our_messages;

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

void register_messages(rust::Str logger_name, rust::Vec<rust::String> ids) {
    std::lock_guard<std::mutex> lock(dictionary_mutex);
    if (our_messages) {
        return;
    }
    logger_owner.reset(new isc::log::Logger(std::string(logger_name).c_str()));
    logger.store(logger_owner.get());
    std::unique_ptr<Dictionary> table(new Dictionary());
    table->ids.reserve(ids.size());
    for (const rust::String& id : ids) {
        table->ids.emplace_back(id.data(), id.size());
    }
    // Pointers into `ids` are taken only now that it no longer grows.
    for (const std::string& id : table->ids) {
        table->table.push_back(id.c_str());
        table->table.push_back("%1");
    }
    table->table.push_back(NULL);
    table->initializer.reset(new isc::log::MessageInitializer(table->table.data()));
    our_messages = std::move(table);
}

bool log_message(uint8_t severity, rust::Str id, rust::Str text) {
    const std::string ident(id.data(), id.size());
    // An id Rust did not hand over (a unit test guards against it) is reported back instead:
    // Kea would print a placeholder error in place of the text.
    isc::log::Logger* const out = logger.load();
    if (out == nullptr || !registered(ident)) {
        return (false);
    }
    const std::string message(text.data(), text.size());
    switch (severity) {
    case 0:
        LOG_DEBUG(*out, DEBUG_LEVEL, ident.c_str()).arg(message);
        break;
    case 1:
        LOG_INFO(*out, ident.c_str()).arg(message);
        break;
    case 2:
        LOG_WARN(*out, ident.c_str()).arg(message);
        break;
    default:
        LOG_ERROR(*out, ident.c_str()).arg(message);
        break;
    }
    return (true);
}

} // namespace kea_runscript
