// Control commands sent in-process: what a hook asks Kea (or another hook library, e.g.
// HA's "ha-heartbeat") exactly as the control channel would, without a socket.

#include "kea_compat.h"

#include "kea_runscript_shim.h"
#include "kea-hook-sdk/src/bridge.rs.h"

#include <cc/data.h>
#include <config/command_mgr.h>

#include <string>

namespace kea_runscript {

rust::String process_command(rust::Str command) {
    isc::data::ConstElementPtr parsed =
        isc::data::Element::fromJSON(std::string(command.data(), command.size()));
    isc::data::ConstElementPtr answer =
        isc::config::CommandMgr::instance().processCommand(parsed);
    return (rust::String(answer ? answer->str() : std::string("null")));
}

} // namespace kea_runscript
