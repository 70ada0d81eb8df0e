// C++ side of the kea-runscript hook library: the only code that touches Kea's C++ API.
//
// Each function copies one kind of Kea object out of a CalloutHandle into a record of bytes and
// integers that Rust reads into its model (record.h; no formatting) or talks to Kea's logging. Errors are C++
// exceptions, which the cxx bridge turns into Rust `Err` values; nothing here is called from Kea
// directly (the entry points are exported by the Rust cdylib).
#pragma once

// First: Kea 3.0's headers need Kea's config.h before them (the cxx glue includes this header
// before anything else).
#include "kea_compat.h"

#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <hooks/callout_handle.h>
#include <hooks/library_handle.h>

#include "rust/cxx.h"
#include "record.h"

#include <cstdint>
#include <memory>

namespace kea_runscript {

struct RawLibrary;

using isc::hooks::CalloutHandle;
using isc::hooks::LibraryHandle;

// Library-level calls.
int32_t hooks_version();
rust::String library_parameters(LibraryHandle& handle);
bool register_callout(LibraryHandle& handle, rust::Str hook, size_t callout);
rust::Vec<RawLibrary> staged_libraries();
void check_script_path(rust::Str path);
void register_messages(rust::Str logger_name, rust::Vec<rust::String> ids);
bool staged_config_rejected();
void mark_staged_config_rejected();
bool log_message(uint8_t severity, rust::Str id, rust::Str text);
void set_statistic(rust::Str name, int64_t value);
rust::String process_command(rust::Str command);

// Next-step status, as Kea's CalloutHandle::CalloutNextStep numeric value.
int32_t get_status(const CalloutHandle& handle);
void set_status(CalloutHandle& handle, int32_t next_step);

// Argument extraction, one function per Kea object type, as a record (record.h) of the model's
// fields. An argument that is not set or holds a null pointer is written as absent; one of
// another C++ type throws.
RecordBytes get_pkt4(const CalloutHandle& handle, rust::Str name);
RecordBytes get_pkt6(const CalloutHandle& handle, rust::Str name);
RecordBytes get_lease4(const CalloutHandle& handle, rust::Str name);
RecordBytes get_lease6(const CalloutHandle& handle, rust::Str name);
RecordBytes get_leases4(const CalloutHandle& handle, rust::Str name);
RecordBytes get_leases6(const CalloutHandle& handle, rust::Str name);
RecordBytes get_subnet4(const CalloutHandle& handle, rust::Str name);
RecordBytes get_subnet6(const CalloutHandle& handle, rust::Str name);
RecordBytes get_hwaddr(const CalloutHandle& handle, rust::Str name);
RecordBytes get_client_id(const CalloutHandle& handle, rust::Str name);
RecordBytes get_address6(const CalloutHandle& handle, rust::Str name);
RecordBytes get_ia(const CalloutHandle& handle, rust::Str name);
RecordBytes get_bool(const CalloutHandle& handle, rust::Str name);
// Arguments passed by value (absent only when not set): a uint32_t, a std::vector<uint8_t>
// (as bytes) and a Host::IdentifierType (as its number).
RecordBytes get_uint32(const CalloutHandle& handle, rust::Str name);
RecordBytes get_bytes(const CalloutHandle& handle, rust::Str name);
RecordBytes get_host_id_type(const CalloutHandle& handle, rust::Str name);
// A std::string argument (by value: absent only when not set), as a record of an Option<Text>.
RecordBytes get_string(const CalloutHandle& handle, rust::Str name);
// An isc::data::ConstElementPtr argument as a record of an Option of its JSON text
// (Element::str(); Rust re-writes it compactly); a null pointer is absent.
RecordBytes get_element(const CalloutHandle& handle, rust::Str name);

// Applying an answer (apply.cc). add_query_classes: adds client classes to the Pkt4Ptr
// (Pkt6Ptr with `v6`) argument `name`, false when it is not set or null. The setters write the
// C++ types Kea reads back: std::string, bool; set_flex_id writes Host::IDENT_FLEX and the
// bytes as std::vector<uint8_t>.
bool add_query_classes(CalloutHandle& handle, rust::Str name, bool v6,
                       rust::Slice<const rust::String> classes);
void set_string_argument(CalloutHandle& handle, rust::Str name, rust::Str value);
void set_bool_argument(CalloutHandle& handle, rust::Str name, bool value);
void set_flex_id(CalloutHandle& handle, rust::Str type_name, rust::Str value_name,
                 rust::Slice<const uint8_t> id);

// Only the client's identifier of a Pkt4Ptr / Pkt6Ptr argument, without a record: the
// hardware address (chaddr) bytes / the DUID (client-id option) bytes; empty when the
// argument is absent or null or the packet has none.
rust::Vec<uint8_t> get_pkt4_hwaddr(const CalloutHandle& handle, rust::Str name);
rust::Vec<uint8_t> get_pkt6_duid(const CalloutHandle& handle, rust::Str name);

// The host reservation of the client of `query4` / `query6` for subnet `subnet_id`, looked up
// in Kea's HostMgr by the configured identifiers; absent when there is none.
RecordBytes get_host4(const CalloutHandle& handle, uint32_t subnet_id);
RecordBytes get_host6(const CalloutHandle& handle, uint32_t subnet_id);

// Kea's own toText() dump of a Pkt6Ptr / Lease4Ptr / Lease6Ptr argument ("" when absent).
rust::String get_pkt6_text(const CalloutHandle& handle, rust::Str name);
rust::String get_lease4_text(const CalloutHandle& handle, rust::Str name);
rust::String get_lease6_text(const CalloutHandle& handle, rust::Str name);

// A query parked at leases4_committed / leases6_committed / lease4_offer, referenced once by
// this library.
class ParkedQuery {
public:
    // `offer`: parked at lease4_offer, where Kea reads "offer_address_in_use" when it resumes
    // the query (false unless set_offer_address_in_use said otherwise).
    ParkedQuery(isc::hooks::ParkingLotHandlePtr lot, isc::dhcp::Pkt4Ptr query4,
                isc::dhcp::Pkt6Ptr query6, bool offer);
    // Unparks (Kea goes on and answers) or drops (no answer) the query, on the calling thread.
    // Before unparking a lease4_offer query, sets "offer_address_in_use" on the query's callout
    // handle, which Kea's unpark callback reads.
    void resolve(bool drop);
    // Whether the offered address is in use, set when the query is resumed; false when the
    // query was not parked at lease4_offer.
    bool set_offer_address_in_use(bool in_use);

private:
    isc::hooks::ParkingLotHandlePtr lot_;
    isc::dhcp::Pkt4Ptr query4_;
    isc::dhcp::Pkt6Ptr query6_;
    bool offer_;
    bool offer_address_in_use_ = false;
};

// Parking (parking.cc). capture_io_service: at dhcp4/6_srv_configured; release_io_service: at
// unload. park_query returns null when the query cannot be parked (then the caller waits).
bool capture_io_service(const CalloutHandle& handle);
void release_io_service();
std::unique_ptr<ParkedQuery> park_query(CalloutHandle& handle, bool v6, bool offer);
bool set_parked_offer_address_in_use(ParkedQuery& parked, bool in_use);
void resolve_parked(std::unique_ptr<ParkedQuery> parked, bool drop);
void drop_parked_now(std::unique_ptr<ParkedQuery> parked);

} // namespace kea_runscript
