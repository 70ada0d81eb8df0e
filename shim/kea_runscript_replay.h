// Replay of existing leases ("replay-leases"): a snapshot of the active leases, taken on Kea's
// thread when Kea has (re)loaded its configuration and lease database, then read one lease at
// a time by the library's replay thread through a callout handle of its own, so the same
// extraction as for Kea's callouts turns each into an event.
#pragma once

// First: Kea 3.0's headers need Kea's config.h before them (the cxx glue includes this header
// before anything else).
#include "kea_compat.h"

#include <dhcpsrv/lease.h>
#include <dhcpsrv/subnet.h>
#include <hooks/callout_handle.h>

#include "rust/cxx.h"

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace kea_runscript {

// The active leases of one family with their subnets, and the handle they are read through.
class LeaseSnapshot {
public:
    bool v6_ = false;
    std::vector<isc::dhcp::Lease4Ptr> leases4_;
    std::vector<isc::dhcp::Lease6Ptr> leases6_;
    std::map<isc::dhcp::SubnetID, compat::Subnet4Arg> subnets4_;
    std::map<isc::dhcp::SubnetID, compat::Subnet6Arg> subnets6_;
    std::unique_ptr<isc::hooks::CalloutHandle> handle_;
};

// On Kea's thread, in dhcp4_srv_configured / dhcp6_srv_configured: every lease in state
// default that has not expired, and the subnets of the configuration (`server_config`
// argument, else the current configuration). An empty snapshot when Kea has no lease manager.
std::unique_ptr<LeaseSnapshot> take_lease_snapshot(const isc::hooks::CalloutHandle& configured,
                                                   bool v6);

// How many leases the snapshot holds.
size_t snapshot_size(const LeaseSnapshot& snapshot);

// Sets lease `index` and its subnet (null when the configuration has no such subnet) as the
// "lease4"/"subnet4" (or "lease6"/"subnet6") arguments of the snapshot's handle, and lets go
// of the snapshot's copy, so memory shrinks as the replay proceeds.
void snapshot_select(LeaseSnapshot& snapshot, size_t index);

// The snapshot's handle, with the arguments of the selected lease.
const isc::hooks::CalloutHandle& snapshot_handle(const LeaseSnapshot& snapshot);

} // namespace kea_runscript
