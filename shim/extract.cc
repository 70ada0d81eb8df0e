// Extraction of Kea callout arguments into the plain structs shared with Rust.
//
// One function per Kea object type; which argument names to read at which hook point is decided
// in Rust from the hook-point table. Each copies bytes and integers only: every piece of
// formatting happens in Rust.

#include "kea_compat.h"

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

// Copies a byte container (std::vector<uint8_t>, or a std::string of possibly non-UTF-8 text).
template <typename Container>
rust::Vec<uint8_t> bytes(const Container& data) {
    rust::Vec<uint8_t> out;
    out.reserve(data.size());
    for (const auto b : data) {
        out.push_back(static_cast<uint8_t>(b));
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
        // An option Kea cannot pack (e.g. inconsistent custom data) is left out rather than
        // failing the whole event: Kea's own hook never packs options other than 82.
        try {
            option.payload = bytes(entry.second->toBinary(false));
        } catch (const isc::Exception&) {
            continue;
        }
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
        raw.expired = lease->expired();
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
        raw.expired = lease->expired();
    }
    return (raw);
}

template <typename RawCollection, typename Collection, typename Raw, typename LeasePtr>
RawCollection collection(const Collection& leases, Raw (*convert)(const LeasePtr&)) {
    RawCollection raw{};
    if (leases) {
        raw.present = true;
        for (const LeasePtr& lease : *leases) {
            if (lease) {
                raw.leases.push_back(convert(lease));
            }
        }
    }
    return (raw);
}

RawLeases4 leases4(const Lease4CollectionPtr& leases) {
    return (collection<RawLeases4>(leases, lease4));
}

RawLeases6 leases6(const Lease6CollectionPtr& leases) {
    return (collection<RawLeases6>(leases, lease6));
}

// Reads argument `name` as a `Ptr` and converts it; an absent argument gives `Raw{}`
// (present == false), and so does a null pointer (each converter checks).
template <typename Ptr, typename Raw>
Raw read(const CalloutHandle& handle, rust::Str name, Raw (*convert)(const Ptr&)) {
    Ptr value;
    return (fetch(handle, name, value) ? convert(value) : Raw{});
}

RawPkt4 pkt4(const Pkt4Ptr& pkt) {
    RawPkt4 raw{};
    if (!pkt) {
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

RawPkt6 pkt6(const Pkt6Ptr& pkt) {
    RawPkt6 raw{};
    if (!pkt) {
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
    // Kea's own search over every source it knows (kea-hook-runscript's KEA_QUERY6_HWADDR).
    // Not const in Kea: with a raw-socket address it records the source on that object,
    // as Kea itself does when it asks.
    try {
        raw.mac = hwaddr(pkt->getMAC(HWAddr::HWADDR_SOURCE_ANY));
    } catch (const isc::Exception&) {
        raw.mac = RawHwAddr{};
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

RawSubnet4 subnet4(const compat::Subnet4Arg& subnet) {
    RawSubnet4 raw{};
    if (subnet) {
        const auto prefix = subnet->get();
        raw.present = true;
        raw.id = subnet->getID();
        raw.prefix = v4(prefix.first);
        raw.prefix_len = prefix.second;
    }
    return (raw);
}

RawSubnet6 subnet6(const compat::Subnet6Arg& subnet) {
    RawSubnet6 raw{};
    if (subnet) {
        const auto prefix = subnet->get();
        raw.present = true;
        raw.id = subnet->getID();
        raw.prefix = v6(prefix.first);
        raw.prefix_len = prefix.second;
    }
    return (raw);
}

RawIa ia(const Option6IAPtr& option) {
    RawIa raw{};
    if (option) {
        raw.present = true;
        raw.iaid = option->getIAID();
        raw.ia_type = option->getType();
        raw.t1 = option->getT1();
        raw.t2 = option->getT2();
    }
    return (raw);
}

RawBool boolean(const bool& value) {
    RawBool raw{};
    raw.present = true;
    raw.value = value;
    return (raw);
}

// Kea's own toText() dump of an object, empty when absent.
template <typename Ptr>
rust::String text(const CalloutHandle& handle, rust::Str name) {
    Ptr value;
    if (!fetch(handle, name, value) || !value) {
        return (rust::String());
    }
    // Not necessarily UTF-8 (a hostname, an option's bytes): cxx rejects that in
    // rust::String, so it goes through lossily.
    const std::string dump = value->toText();
    return (rust::String::lossy(dump.data(), dump.size()));
}

} // namespace

rust::String get_pkt6_text(const CalloutHandle& handle, rust::Str name) {
    return (text<Pkt6Ptr>(handle, name));
}

rust::String get_lease4_text(const CalloutHandle& handle, rust::Str name) {
    return (text<Lease4Ptr>(handle, name));
}

rust::String get_lease6_text(const CalloutHandle& handle, rust::Str name) {
    return (text<Lease6Ptr>(handle, name));
}

RawPkt4 get_pkt4(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, pkt4));
}

RawPkt6 get_pkt6(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, pkt6));
}

RawLease4 get_lease4(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, lease4));
}

RawLease6 get_lease6(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, lease6));
}

RawLeases4 get_leases4(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, leases4));
}

RawLeases6 get_leases6(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, leases6));
}

RawSubnet4 get_subnet4(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, subnet4));
}

RawSubnet6 get_subnet6(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, subnet6));
}

RawHwAddr get_hwaddr(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, hwaddr));
}

RawBytes get_client_id(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, client_id));
}

RawBytes get_address(const CalloutHandle& handle, rust::Str name) {
    // Passed by value, so there is no null to tell absence by: a missing argument is absent.
    IOAddress address = IOAddress::IPV6_ZERO_ADDRESS();
    RawBytes raw{};
    if (fetch(handle, name, address)) {
        raw.present = true;
        raw.bytes = v6(address);
    }
    return (raw);
}

RawIa get_ia(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, ia));
}

RawBool get_bool(const CalloutHandle& handle, rust::Str name) {
    return (read(handle, name, boolean));
}

} // namespace kea_runscript
