// C++ side of the kea-runscript hook library: the only code that touches Kea's C++ API.
//
// Each function copies one kind of Kea object out of a CalloutHandle into a plain struct shared
// with Rust (bytes and integers, no formatting) or talks to Kea's logging. Errors are C++
// exceptions, which the cxx bridge turns into Rust `Err` values; nothing here is called from Kea
// directly (the entry points are exported by the Rust cdylib).
#pragma once

#include <hooks/callout_handle.h>
#include <hooks/library_handle.h>

#include "rust/cxx.h"

#include <cstdint>

namespace kea_runscript {

struct RawPkt4;
struct RawPkt6;
struct RawLease4;
struct RawLease6;
struct RawLeases4;
struct RawLeases6;
struct RawSubnet4;
struct RawSubnet6;
struct RawHwAddr;
struct RawBytes;
struct RawIa;
struct RawLibrary;
struct RawBool;

using isc::hooks::CalloutHandle;
using isc::hooks::LibraryHandle;

// Library-level calls.
int32_t hooks_version();
rust::String library_parameters(LibraryHandle& handle);
rust::Vec<RawLibrary> staged_libraries();
void check_script_path(rust::Str path);
bool log_message(uint8_t severity, rust::Str id, rust::Str text);

// Next-step status, as Kea's CalloutHandle::CalloutNextStep numeric value.
int32_t get_status(const CalloutHandle& handle);
void set_status(CalloutHandle& handle, int32_t next_step);

// Argument extraction, one function per Kea object type. An argument that is not set or holds a
// null pointer comes back with `present == false`; one of another C++ type throws.
RawPkt4 get_pkt4(const CalloutHandle& handle, rust::Str name);
RawPkt6 get_pkt6(const CalloutHandle& handle, rust::Str name);
RawLease4 get_lease4(const CalloutHandle& handle, rust::Str name);
RawLease6 get_lease6(const CalloutHandle& handle, rust::Str name);
RawLeases4 get_leases4(const CalloutHandle& handle, rust::Str name);
RawLeases6 get_leases6(const CalloutHandle& handle, rust::Str name);
RawSubnet4 get_subnet4(const CalloutHandle& handle, rust::Str name);
RawSubnet6 get_subnet6(const CalloutHandle& handle, rust::Str name);
RawHwAddr get_hwaddr(const CalloutHandle& handle, rust::Str name);
RawBytes get_client_id(const CalloutHandle& handle, rust::Str name);
RawBytes get_address(const CalloutHandle& handle, rust::Str name);
RawIa get_ia(const CalloutHandle& handle, rust::Str name);
RawBool get_bool(const CalloutHandle& handle, rust::Str name);

// Kea's own toText() dump of a Pkt6Ptr / Lease4Ptr / Lease6Ptr argument ("" when absent).
rust::String get_pkt6_text(const CalloutHandle& handle, rust::Str name);
rust::String get_lease4_text(const CalloutHandle& handle, rust::Str name);
rust::String get_lease6_text(const CalloutHandle& handle, rust::Str name);

} // namespace kea_runscript
