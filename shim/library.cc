// Library-level shim calls: the hooks version, the load parameters, the parameters of the
// configuration being parsed, and the next-step status.

#include "kea_compat.h"

#include "kea_runscript_shim.h"
#include "kea-hook-sdk/src/bridge.rs.h"

#include <cc/data.h>
#include <dhcpsrv/cfgmgr.h>
#include <hooks/hooks.h>
#include <hooks/server_hooks.h>
#include <stats/stats_mgr.h>

#include <string>

namespace kea_runscript {

namespace {

// No "parameters" map in the config: hand core an empty one so it reports what is missing.
rust::String json_or_empty_map(const isc::data::ConstElementPtr& parameters) {
    return (rust::String(parameters ? parameters->str() : std::string("{}")));
}

} // namespace

int32_t hooks_version() {
    return (KEA_HOOKS_VERSION);
}

rust::String library_parameters(LibraryHandle& handle) {
    return (json_or_empty_map(handle.getParameters()));
}

bool register_callout(LibraryHandle& handle, rust::Str hook, size_t callout) {
    const std::string name(hook);
    // A hook point of a later Kea (addr6_register before 3.0): nothing calls it here.
    if (isc::hooks::ServerHooks::getServerHooks().findIndex(name) < 0) {
        return (false);
    }
    handle.registerCallout(name, reinterpret_cast<isc::hooks::CalloutPtr>(callout));
    return (true);
}

rust::Vec<RawLibrary> staged_libraries() {
    // Kea 2.2 only dlopens and version-checks hook libraries while it parses a configuration
    // (and does nothing more under "kea-dhcp4 -t"); the parameters are in the staging
    // configuration by then, which lets version() check them. Outside parsing getStagingCfg()
    // creates an empty staging configuration, as Kea itself does on first use: harmless, the
    // next configuration attempt starts by rolling it back.
    rust::Vec<RawLibrary> libraries;
    isc::dhcp::SrvConfigPtr staging = isc::dhcp::CfgMgr::instance().getStagingCfg();
    if (!staging) {
        return (libraries);
    }
    for (const auto& library : staging->getHooksConfig().get()) {
        RawLibrary entry{};
        entry.path = rust::String(compat::library_path(library));
        entry.parameters = json_or_empty_map(compat::library_parameters(library));
        libraries.push_back(std::move(entry));
    }
    return (libraries);
}

void check_script_path(rust::Str path) {
    compat::check_script_path(std::string(path.data(), path.size()));
}

void set_statistic(rust::Str name, int64_t value) {
    // StatsMgr locks its own mutex when Kea runs multi-threaded; without multi-threading
    // every caller is Kea's main thread, as the callouts and load/unload are.
    isc::stats::StatsMgr::instance().setValue(std::string(name), value);
}

namespace {

// The key of the mark version() leaves in the user context of a staged configuration whose
// parameters it rejected (see check_staged_parameters in kea-hook-sdk/src/library.rs).
const char* const REJECTED_MARK = "kea-runscript-rejected";

} // namespace

bool staged_config_rejected() {
    isc::dhcp::SrvConfigPtr staging = isc::dhcp::CfgMgr::instance().getStagingCfg();
    isc::data::ConstElementPtr context = staging ? staging->getContext() : isc::data::ConstElementPtr();
    return (context && context->getType() == isc::data::Element::map &&
            context->contains(REJECTED_MARK));
}

void mark_staged_config_rejected() {
    isc::dhcp::SrvConfigPtr staging = isc::dhcp::CfgMgr::instance().getStagingCfg();
    if (!staging) {
        return;
    }
    isc::data::ConstElementPtr context = staging->getContext();
    isc::data::ElementPtr marked = (context && context->getType() == isc::data::Element::map)
        ? isc::data::copy(context) : isc::data::Element::createMap();
    marked->set(REJECTED_MARK, isc::data::Element::create(true));
    staging->setContext(marked);
}

int32_t get_status(const CalloutHandle& handle) {
    return (static_cast<int32_t>(handle.getStatus()));
}

void set_status(CalloutHandle& handle, int32_t next_step) {
    switch (next_step) {
    case CalloutHandle::NEXT_STEP_CONTINUE:
    case CalloutHandle::NEXT_STEP_SKIP:
    case CalloutHandle::NEXT_STEP_DROP:
    case CalloutHandle::NEXT_STEP_PARK:
        handle.setStatus(static_cast<CalloutHandle::CalloutNextStep>(next_step));
        return;
    default:
        isc_throw(isc::BadValue, "invalid next step status " << next_step);
    }
}

} // namespace kea_runscript
