// Snapshot of the active leases for the replay at start (see kea_runscript_replay.h).

#include "kea_compat.h"

#include "kea_runscript_replay.h"
#include "kea-hook-sdk/src/leases.rs.h"

#include <dhcpsrv/cfgmgr.h>
#include <dhcpsrv/lease_mgr_factory.h>
#include <dhcpsrv/srv_config.h>
#include <hooks/callout_manager.h>

#include <boost/make_shared.hpp>

using namespace isc::dhcp;

namespace kea_runscript {

namespace {

// The configuration Kea has just applied: the callout's argument, else the current one.
SrvConfigPtr configured_config(const isc::hooks::CalloutHandle& configured) {
    SrvConfigPtr config;
    try {
        configured.getArgument("server_config", config);
    } catch (const std::exception&) {
        config.reset();
    }
    return (config ? config : CfgMgr::instance().getCurrentCfg());
}

// Replayed leases are those a client holds now: not declined, not reclaimed, not expired.
template <typename LeasePtr>
bool active(const LeasePtr& lease) {
    return (lease && lease->state_ == Lease::STATE_DEFAULT && !lease->expired());
}

} // namespace

std::unique_ptr<LeaseSnapshot> take_lease_snapshot(const isc::hooks::CalloutHandle& configured,
                                                   bool v6) {
    auto snapshot = std::make_unique<LeaseSnapshot>();
    snapshot->v6_ = v6;
    // The handle's manager serves no hook: the handle only carries arguments for extraction.
    snapshot->handle_.reset(
        new isc::hooks::CalloutHandle(boost::make_shared<isc::hooks::CalloutManager>(0)));
    if (!LeaseMgrFactory::haveInstance()) {
        return (snapshot);
    }
    SrvConfigPtr config = configured_config(configured);
    if (v6) {
        if (config) {
            for (const auto& subnet : *config->getCfgSubnets6()->getAll()) {
                snapshot->subnets6_[subnet->getID()] = subnet;
            }
        }
        for (auto& lease : LeaseMgrFactory::instance().getLeases6()) {
            if (active(lease)) {
                snapshot->leases6_.push_back(std::move(lease));
            }
        }
        snapshot->leases6_.shrink_to_fit();
    } else {
        if (config) {
            for (const auto& subnet : *config->getCfgSubnets4()->getAll()) {
                snapshot->subnets4_[subnet->getID()] = subnet;
            }
        }
        for (auto& lease : LeaseMgrFactory::instance().getLeases4()) {
            if (active(lease)) {
                snapshot->leases4_.push_back(std::move(lease));
            }
        }
        snapshot->leases4_.shrink_to_fit();
    }
    return (snapshot);
}

size_t snapshot_size(const LeaseSnapshot& snapshot) {
    return (snapshot.v6_ ? snapshot.leases6_.size() : snapshot.leases4_.size());
}

namespace {

template <typename LeasePtr, typename SubnetPtr>
void select(isc::hooks::CalloutHandle& handle, std::vector<LeasePtr>& leases,
            const std::map<SubnetID, SubnetPtr>& subnets, size_t index, const char* lease_arg,
            const char* subnet_arg) {
    if (index >= leases.size()) {
        isc_throw(isc::OutOfRange, "lease " << index << " of " << leases.size());
    }
    LeasePtr lease;
    lease.swap(leases[index]);
    const auto found = lease ? subnets.find(lease->subnet_id_) : subnets.end();
    handle.setArgument(subnet_arg, found == subnets.end() ? SubnetPtr() : found->second);
    handle.setArgument(lease_arg, lease);
}

} // namespace

void snapshot_select(LeaseSnapshot& snapshot, size_t index) {
    if (snapshot.v6_) {
        select(*snapshot.handle_, snapshot.leases6_, snapshot.subnets6_, index, "lease6",
               "subnet6");
    } else {
        select(*snapshot.handle_, snapshot.leases4_, snapshot.subnets4_, index, "lease4",
               "subnet4");
    }
}

const isc::hooks::CalloutHandle& snapshot_handle(const LeaseSnapshot& snapshot) {
    return (*snapshot.handle_);
}

} // namespace kea_runscript
