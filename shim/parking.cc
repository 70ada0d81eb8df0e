// Parking a query at leases4_committed / leases6_committed / lease4_offer and resolving it later
// on Kea's own IO service (the "io_context" of dhcp4_srv_configured / dhcp6_srv_configured), never
// on a thread of ours: Kea's unpark callback sends the response, which in single-threaded mode
// must happen on Kea's main thread.

#include "kea_compat.h"

#include "kea_runscript_shim.h"
#include "kea-hook-sdk/src/bridge.rs.h"
#include "kea-hook-sdk/src/callbacks.rs.h"

#include <asiolink/io_service.h>
#include <dhcp/iface_mgr.h>
#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <exceptions/exceptions.h>
#include <hooks/parking_lots.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <mutex>

namespace kea_runscript {

namespace {

// Kea's IO service and the eventfd that wakes Kea's main loop after a post: Kea's main loop
// waits up to a second in select() before it polls the IO service; the eventfd is registered
// as an external socket, so select() returns at once and the posted handler runs.
std::mutex io_mutex;
isc::asiolink::IOServicePtr io_service;
int wake_fd = -1;

void drain(int fd) {
    uint64_t count;
    // Nonblocking; a failed read only means another wake-up already drained it.
    (void)!read(fd, &count, sizeof(count));
}

} // namespace

ParkedQuery::ParkedQuery(isc::hooks::ParkingLotHandlePtr lot, isc::dhcp::Pkt4Ptr query4,
                         isc::dhcp::Pkt6Ptr query6, bool offer)
    : lot_(std::move(lot)), query4_(std::move(query4)), query6_(std::move(query6)),
      offer_(offer) {
}

bool ParkedQuery::set_offer_address_in_use(bool in_use) {
    offer_address_in_use_ = in_use;
    return (offer_ && query4_);
}

void ParkedQuery::resolve(bool drop) {
    if (!drop && offer_ && query4_) {
        // Kea's unpark callback reads it from the query's handle (Kea 2.6 and 3.0 keep that
        // handle's arguments alive until the callback ran: its lambda holds the handle's
        // ScopedCalloutHandleState), and logs an error when it is missing: always set.
        query4_->getCalloutHandle()->setArgument("offer_address_in_use", offer_address_in_use_);
    }
    // Both return false when Kea already discarded the packet (reconfiguration, shutdown).
    if (query4_) {
        drop ? lot_->drop(query4_) : lot_->unpark(query4_);
    } else if (query6_) {
        drop ? lot_->drop(query6_) : lot_->unpark(query6_);
    }
}

bool capture_io_service(const CalloutHandle& handle) {
    isc::asiolink::IOServicePtr io;
    handle.getArgument("io_context", io);
    std::lock_guard<std::mutex> lock(io_mutex);
    io_service = io;
    if (io && wake_fd < 0) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd >= 0) {
            isc::dhcp::IfaceMgr::instance().addExternalSocket(fd, drain);
            wake_fd = fd;
        }
    }
    return (static_cast<bool>(io));
}

void release_io_service() {
    std::lock_guard<std::mutex> lock(io_mutex);
    io_service.reset();
    if (wake_fd >= 0) {
        isc::dhcp::IfaceMgr::instance().deleteExternalSocket(wake_fd);
        close(wake_fd);
        wake_fd = -1;
    }
}

std::unique_ptr<ParkedQuery> park_query(CalloutHandle& handle, bool v6, bool offer) {
    {
        std::lock_guard<std::mutex> lock(io_mutex);
        if (!io_service) {
            // No IO service to unpark on: the caller waits for the verdict instead.
            return (nullptr);
        }
    }
    isc::hooks::ParkingLotHandlePtr lot = handle.getParkingLotHandlePtr();
    std::unique_ptr<ParkedQuery> parked;
    try {
        if (v6) {
            isc::dhcp::Pkt6Ptr query;
            handle.getArgument("query6", query);
            if (!query) {
                return (nullptr);
            }
            lot->reference(query);
            parked.reset(new ParkedQuery(lot, nullptr, query, false));
        } else {
            isc::dhcp::Pkt4Ptr query;
            handle.getArgument("query4", query);
            if (!query) {
                return (nullptr);
            }
            lot->reference(query);
            parked.reset(new ParkedQuery(lot, query, nullptr, offer));
        }
    } catch (const isc::InvalidOperation&) {
        // Kea did not park this packet (it does not for every query, e.g. DHCPv4-over-DHCPv6):
        // the caller waits for the verdict instead.
        return (nullptr);
    }
    handle.setStatus(CalloutHandle::NEXT_STEP_PARK);
    return (parked);
}

void resolve_parked(std::unique_ptr<ParkedQuery> parked, bool drop) {
    std::shared_ptr<ParkedQuery> shared(parked.release());
    std::lock_guard<std::mutex> lock(io_mutex);
    if (!io_service) {
        // Unloading: nothing may run on Kea's threads any more; drop only removes the entry.
        shared->resolve(true);
        return;
    }
    io_service->post([shared, drop]() {
        // Kea's thread: the counters of the run that decided are published before the client
        // hears back.
        parked_query_resolved();
        shared->resolve(drop);
    });
    if (wake_fd >= 0) {
        uint64_t one = 1;
        (void)!write(wake_fd, &one, sizeof(one));
    }
}

bool set_parked_offer_address_in_use(ParkedQuery& parked, bool in_use) {
    return (parked.set_offer_address_in_use(in_use));
}

void drop_parked_now(std::unique_ptr<ParkedQuery> parked) {
    parked->resolve(true);
}

} // namespace kea_runscript
