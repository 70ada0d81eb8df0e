// Test support for kea-hook-sdk's feature "testing" (hooks' unit tests); see testing.cc.
#pragma once

// First: Kea 3.0's headers need Kea's config.h before them (the cxx glue includes this header
// before anything else).
#include "kea_compat.h"

#include <hooks/callout_handle.h>

#include "kea_runscript_shim.h"

#include "rust/cxx.h"

#include <cstdint>
#include <memory>

namespace kea_runscript {

using isc::hooks::CalloutHandle;

void init_test_logging();
std::unique_ptr<CalloutHandle> new_test_handle();
void set_test_pkt4(CalloutHandle& handle, rust::Str name);
void set_test_pkt6(CalloutHandle& handle, rust::Str name);
void set_test_null_pkt4(CalloutHandle& handle, rust::Str name);
void set_test_null_lease4(CalloutHandle& handle, rust::Str name);
void set_test_wrong_type(CalloutHandle& handle, rust::Str name);
void set_test_subnet4(CalloutHandle& handle, rust::Str name);
void set_test_subnet6(CalloutHandle& handle, rust::Str name);
void set_test_hwaddr(CalloutHandle& handle, rust::Str name);
void set_test_client_id(CalloutHandle& handle, rust::Str name);
void set_test_lease4(CalloutHandle& handle, rust::Str name, uint8_t last_octet);
void set_test_leases4(CalloutHandle& handle, rust::Str name, uint8_t count);
void set_test_lease6(CalloutHandle& handle, rust::Str name, bool prefix);
void set_test_lease6_cltt(CalloutHandle& handle, rust::Str name, int64_t cltt);
void set_test_ia(CalloutHandle& handle, rust::Str name, uint16_t code);
void set_test_bool(CalloutHandle& handle, rust::Str name, bool value);
void set_test_string(CalloutHandle& handle, rust::Str name, rust::Str value);
void set_test_element(CalloutHandle& handle, rust::Str name, rust::Str json);
void set_test_uint32(CalloutHandle& handle, rust::Str name, uint32_t value);
void set_test_bytes(CalloutHandle& handle, rust::Str name, rust::Slice<const uint8_t> value);
void set_test_host_id_type(CalloutHandle& handle, rust::Str name, uint32_t raw);

std::unique_ptr<ParkedQuery> new_test_parked_query(bool offer);
int8_t resume_test_parked(std::unique_ptr<ParkedQuery> parked);

} // namespace kea_runscript
