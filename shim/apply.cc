// Applying a hook's answer to Kea: the arguments Kea reads back after its callouts (a DNS
// update's host name and flags, a flexible identifier) and the client classes of a query.
// Each function writes exactly the C++ type Kea reads, since CalloutHandle::getArgument throws
// on any other; which argument names to write is decided in Rust from the hook-point table.

#include "kea_compat.h"

#include "kea_runscript_shim.h"
#include "kea-hook-sdk/src/bridge.rs.h"

#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <dhcpsrv/host.h>

#include <string>
#include <vector>

using namespace isc::dhcp;

namespace kea_runscript {

namespace {

std::string key(rust::Str name) {
    return (std::string(name.data(), name.size()));
}

// Adds `classes` to the packet argument `name` of type `PktPtr`; false when Kea did not set
// it or set a null packet.
template <typename PktPtr>
bool add_classes_to(CalloutHandle& handle, rust::Str name, rust::Slice<const rust::String> classes) {
    PktPtr query;
    try {
        handle.getArgument(key(name), query);
    } catch (const isc::hooks::NoSuchArgument&) {
        return (false);
    }
    if (!query) {
        return (false);
    }
    for (const rust::String& name : classes) {
        query->addClass(std::string(name.data(), name.size()));
    }
    return (true);
}

} // namespace

bool add_query_classes(CalloutHandle& handle, rust::Str name, bool v6,
                       rust::Slice<const rust::String> classes) {
    return (v6 ? add_classes_to<Pkt6Ptr>(handle, name, classes)
               : add_classes_to<Pkt4Ptr>(handle, name, classes));
}

void set_string_argument(CalloutHandle& handle, rust::Str name, rust::Str value) {
    handle.setArgument(key(name), std::string(value.data(), value.size()));
}

void set_bool_argument(CalloutHandle& handle, rust::Str name, bool value) {
    handle.setArgument(key(name), value);
}

void set_flex_id(CalloutHandle& handle, rust::Str type_name, rust::Str value_name,
                 rust::Slice<const uint8_t> id) {
    // Kea adds the identifier under the type it reads back: flex-id, what it asked for.
    handle.setArgument(key(type_name), Host::IDENT_FLEX);
    handle.setArgument(key(value_name), std::vector<uint8_t>(id.begin(), id.end()));
}

} // namespace kea_runscript
