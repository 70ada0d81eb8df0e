// Library-level shim calls: the hooks version, the load parameters and the next-step status.

#include "kea_runscript_shim.h"
#include "kea-runscript-hook/src/bridge.rs.h"

#include <cc/data.h>
#include <hooks/hooks.h>

namespace kea_runscript {

int32_t hooks_version() {
    return (KEA_HOOKS_VERSION);
}

rust::String library_parameters(LibraryHandle& handle) {
    isc::data::ConstElementPtr parameters = handle.getParameters();
    // No "parameters" map in the config: hand core an empty one so it reports what is missing.
    if (!parameters) {
        return (rust::String("{}"));
    }
    return (rust::String(parameters->str()));
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
