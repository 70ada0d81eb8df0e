// Extraction of Kea callout arguments into the plain structs shared with Rust.
//
// One function per Kea object type; which argument names to read at which hook point is decided
// in Rust from the hook-point table. Each copies bytes and integers only: every piece of
// formatting happens in Rust.

#include "kea_runscript_shim.h"
#include "kea-runscript-hook/src/bridge.rs.h"

#include <dhcp/duid.h>
#include <dhcp/hwaddr.h>
#include <dhcp/option.h>
#include <dhcp/option6_ia.h>
#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <dhcpsrv/lease.h>
#include <dhcpsrv/subnet.h>

#include <string>
#include <vector>

using isc::asiolink::IOAddress;
using namespace isc::dhcp;

namespace kea_runscript {

namespace {

// Reads argument `name` into `value`. An argument Kea did not set counts as absent (false); one
// of another C++ type throws boost::bad_any_cast, which reaches Rust as an error.
template <typename T>
bool fetch(const CalloutHandle& handle, rust::Str name, T& value) {
    const std::string key(name.data(), name.size());
    try {
        handle.getArgument(key, value);
    } catch (const isc::hooks::NoSuchArgument&) {
        return (false);
    }
    return (true);
}

rust::Vec<uint8_t> bytes(const std::vector<uint8_t>& data) {
    rust::Vec<uint8_t> out;
    out.reserve(data.size());
    for (uint8_t b : data) {
        out.push_back(b);
    }
    return (out);
}

rust::Vec<uint8_t> bytes(const std::string& data) {
    rust::Vec<uint8_t> out;
    out.reserve(data.size());
    for (char c : data) {
        out.push_back(static_cast<uint8_t>(c));
    }
    return (out);
}

// IPv4 address in host order; 0 for an address of the other family (never expected in a Pkt4).
uint32_t v4(const IOAddress& addr) {
    return (addr.isV4() ? addr.toUint32() : 0);
}

// Address bytes: 16 for IPv6, 4 for IPv4 (Rust maps those to an IPv4-mapped IPv6 address).
rust::Vec<uint8_t> v6(const IOAddress& addr) {
    return (bytes(addr.toBytes()));
}

RawHwAddr hwaddr(const HWAddrPtr& hw) {
    RawHwAddr raw{};
    if (hw) {
        raw.present = true;
        raw.htype = hw->htype_;
        raw.bytes = bytes(hw->hwaddr_);
        raw.source = hw->source_;
    }
    return (raw);
}

RawBytes client_id(const ClientIdPtr& id) {
    RawBytes raw{};
    if (id) {
        raw.present = true;
        raw.bytes = bytes(id->getClientId());
    }
    return (raw);
}

RawBytes duid(const DuidPtr& id) {
    RawBytes raw{};
    if (id) {
        raw.present = true;
        raw.bytes = bytes(id->getDuid());
    }
    return (raw);
}

rust::Vec<RawOption> options(const OptionCollection& collection) {
    rust::Vec<RawOption> out;
    for (const auto& entry : collection) {
        if (!entry.second) {
            continue;
        }
        RawOption option{};
        option.code = entry.second->getType();
        option.payload = bytes(entry.second->toBinary(false));
        out.push_back(std::move(option));
    }
    return (out);
}

RawLease4 lease4(const Lease4Ptr& lease) {
    RawLease4 raw{};
    if (lease) {
        raw.present = true;
        raw.address = v4(lease->addr_);
        raw.cltt = static_cast<int64_t>(lease->cltt_);
        raw.hostname = bytes(lease->hostname_);
        raw.hwaddr = hwaddr(lease->hwaddr_);
        raw.state = lease->state_;
        raw.subnet_id = lease->subnet_id_;
        raw.valid_lifetime = lease->valid_lft_;
        raw.client_id = client_id(lease->client_id_);
    }
    return (raw);
}

RawLease6 lease6(const Lease6Ptr& lease) {
    RawLease6 raw{};
    if (lease) {
        raw.present = true;
        raw.address = v6(lease->addr_);
        raw.cltt = static_cast<int64_t>(lease->cltt_);
        raw.hostname = bytes(lease->hostname_);
        raw.hwaddr = hwaddr(lease->hwaddr_);
        raw.state = lease->state_;
        raw.subnet_id = lease->subnet_id_;
        raw.valid_lifetime = lease->valid_lft_;
        raw.duid = duid(lease->duid_);
        raw.iaid = lease->iaid_;
        raw.preferred_lifetime = lease->preferred_lft_;
        raw.prefix_len = lease->prefixlen_;
        raw.lease_type = static_cast<uint32_t>(lease->type_);
    }
    return (raw);
}

} // namespace

RawPkt4 get_pkt4(const CalloutHandle& handle, rust::Str name) {
    Pkt4Ptr pkt;
    RawPkt4 raw{};
    if (!fetch(handle, name, pkt) || !pkt) {
        return (raw);
    }
    raw.present = true;
    raw.msg_type = pkt->getType();
    raw.transid = pkt->getTransid();
    raw.local_addr = v4(pkt->getLocalAddr());
    raw.local_port = pkt->getLocalPort();
    raw.remote_addr = v4(pkt->getRemoteAddr());
    raw.remote_port = pkt->getRemotePort();
    raw.iface_index = static_cast<uint32_t>(pkt->getIndex());
    raw.iface_name = bytes(pkt->getIface());
    raw.hops = pkt->getHops();
    raw.secs = pkt->getSecs();
    raw.flags = pkt->getFlags();
    raw.ciaddr = v4(pkt->getCiaddr());
    raw.siaddr = v4(pkt->getSiaddr());
    raw.yiaddr = v4(pkt->getYiaddr());
    raw.giaddr = v4(pkt->getGiaddr());
    raw.hwaddr = hwaddr(pkt->getHWAddr());
    raw.local_hwaddr = hwaddr(pkt->getLocalHWAddr());
    raw.remote_hwaddr = hwaddr(pkt->getRemoteHWAddr());
    raw.options = options(pkt->options_);
    return (raw);
}

RawPkt6 get_pkt6(const CalloutHandle& handle, rust::Str name) {
    Pkt6Ptr pkt;
    RawPkt6 raw{};
    if (!fetch(handle, name, pkt) || !pkt) {
        return (raw);
    }
    raw.present = true;
    raw.msg_type = pkt->getType();
    raw.transid = pkt->getTransid();
    raw.local_addr = v6(pkt->getLocalAddr());
    raw.local_port = pkt->getLocalPort();
    raw.remote_addr = v6(pkt->getRemoteAddr());
    raw.remote_port = pkt->getRemotePort();
    raw.iface_index = static_cast<uint32_t>(pkt->getIndex());
    raw.iface_name = bytes(pkt->getIface());
    raw.remote_hwaddr = hwaddr(pkt->getRemoteHWAddr());
    raw.proto = static_cast<uint8_t>(pkt->getProto());
    // A malformed client-id option makes getClientId() throw; that is "no DUID", not a failed
    // callout.
    try {
        raw.client_id = duid(pkt->getClientId());
    } catch (const isc::Exception&) {
        raw.client_id = RawBytes{};
    }
    raw.options = options(pkt->options_);
    for (const Pkt6::RelayInfo& relay : pkt->relay_info_) {
        RawRelay6 info{};
        info.msg_type = relay.msg_type_;
        info.hop_count = relay.hop_count_;
        info.link_addr = v6(relay.linkaddr_);
        info.peer_addr = v6(relay.peeraddr_);
        info.options = options(relay.options_);
        raw.relays.push_back(std::move(info));
    }
    return (raw);
}

RawLease4 get_lease4(const CalloutHandle& handle, rust::Str name) {
    Lease4Ptr lease;
    return (fetch(handle, name, lease) ? lease4(lease) : RawLease4{});
}

RawLease6 get_lease6(const CalloutHandle& handle, rust::Str name) {
    Lease6Ptr lease;
    return (fetch(handle, name, lease) ? lease6(lease) : RawLease6{});
}

RawLeases4 get_leases4(const CalloutHandle& handle, rust::Str name) {
    Lease4CollectionPtr leases;
    RawLeases4 raw{};
    if (fetch(handle, name, leases) && leases) {
        raw.present = true;
        for (const Lease4Ptr& lease : *leases) {
            if (lease) {
                raw.leases.push_back(lease4(lease));
            }
        }
    }
    return (raw);
}

RawLeases6 get_leases6(const CalloutHandle& handle, rust::Str name) {
    Lease6CollectionPtr leases;
    RawLeases6 raw{};
    if (fetch(handle, name, leases) && leases) {
        raw.present = true;
        for (const Lease6Ptr& lease : *leases) {
            if (lease) {
                raw.leases.push_back(lease6(lease));
            }
        }
    }
    return (raw);
}

RawSubnet4 get_subnet4(const CalloutHandle& handle, rust::Str name) {
    Subnet4Ptr subnet;
    RawSubnet4 raw{};
    if (fetch(handle, name, subnet) && subnet) {
        const auto prefix = subnet->get();
        raw.present = true;
        raw.id = subnet->getID();
        raw.prefix = v4(prefix.first);
        raw.prefix_len = prefix.second;
    }
    return (raw);
}

RawSubnet6 get_subnet6(const CalloutHandle& handle, rust::Str name) {
    Subnet6Ptr subnet;
    RawSubnet6 raw{};
    if (fetch(handle, name, subnet) && subnet) {
        const auto prefix = subnet->get();
        raw.present = true;
        raw.id = subnet->getID();
        raw.prefix = v6(prefix.first);
        raw.prefix_len = prefix.second;
    }
    return (raw);
}

RawHwAddr get_hwaddr(const CalloutHandle& handle, rust::Str name) {
    HWAddrPtr hw;
    return (fetch(handle, name, hw) ? hwaddr(hw) : RawHwAddr{});
}

RawBytes get_client_id(const CalloutHandle& handle, rust::Str name) {
    ClientIdPtr id;
    return (fetch(handle, name, id) ? client_id(id) : RawBytes{});
}

RawIa get_ia(const CalloutHandle& handle, rust::Str name) {
    Option6IAPtr ia;
    RawIa raw{};
    if (fetch(handle, name, ia) && ia) {
        raw.present = true;
        raw.iaid = ia->getIAID();
        raw.ia_type = ia->getType();
        raw.t1 = ia->getT1();
        raw.t2 = ia->getT2();
    }
    return (raw);
}

RawBool get_bool(const CalloutHandle& handle, rust::Str name) {
    bool value = false;
    RawBool raw{};
    if (fetch(handle, name, value)) {
        raw.present = true;
        raw.value = value;
    }
    return (raw);
}

} // namespace kea_runscript
