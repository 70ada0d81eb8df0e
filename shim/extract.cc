// Extraction of Kea callout arguments into records (record.h) that Rust reads into its models.
//
// One function per Kea object type; which argument names to read at which hook point is decided
// in Rust from the hook-point table. Each writes its fields by the model's field names, as bytes
// and integers only: every piece of formatting happens in Rust.

#include "kea_compat.h"

#include "kea_runscript_shim.h"
#include "kea-hook-sdk/src/bridge.rs.h"
#include "record.h"

#include <dhcp/duid.h>
#include <dhcp/hwaddr.h>
#include <dhcp/option.h>
#include <dhcp/option6_ia.h>
#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <dhcp/dhcp4.h>
#include <dhcpsrv/cfgmgr.h>
#include <dhcpsrv/host.h>
#include <dhcpsrv/host_mgr.h>
#include <dhcpsrv/lease.h>
#include <dhcpsrv/subnet.h>

#include <cc/data.h>

#include <util/buffer.h>

#include <algorithm>
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

// Writes `*ptr` with `write`, or "absent" for a null pointer: the model's Option.
template <typename Ptr, typename Write>
void optional(Record& r, const Ptr& ptr, Write write) {
    if (ptr) {
        r.some();
        write(r, ptr);
    } else {
        r.none();
    }
}

// An IPv4 address as 4 bytes; 0.0.0.0 for one of the other family (a Pkt4o6's addresses).
void v4(Record& r, const IOAddress& addr) {
    const uint32_t value = addr.isV4() ? addr.toUint32() : 0;
    const uint8_t bytes[4] = {static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
                              static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
    r.bytes(bytes, sizeof(bytes));
}

// An IPv6 address as 16 bytes; an IPv4 one becomes the IPv4-mapped IPv6 address.
void v6(Record& r, const IOAddress& addr) {
    if (addr.isV4()) {
        const uint32_t value = addr.toUint32();
        const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                                    static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
                                    static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
        r.bytes(mapped, sizeof(mapped));
    } else {
        r.bytes(addr.toBytes());
    }
}

void hwaddr(Record& r, const HWAddrPtr& hw) {
    r.begin_map();
    r.key("htype");
    r.uint(hw->htype_);
    r.key("bytes");
    r.bytes(hw->hwaddr_);
    r.key("source");
    r.uint(hw->source_);
    r.end_map();
}

void client_id(Record& r, const ClientIdPtr& id) {
    r.bytes(id->getClientId());
}

void duid(Record& r, const DuidPtr& id) {
    r.bytes(id->getDuid());
}

void options(Record& r, const OptionCollection& collection) {
    // One buffer for all the options (not thread_local: a thread-local object with a
    // destructor keeps the library mapped after Kea unloads it).
    isc::util::OutputBuffer packed(256);
    r.begin_seq();
    for (const auto& entry : collection) {
        if (!entry.second) {
            continue;
        }
        // Packed as Option::toBinary(false) does, without its two new buffers per option.
        // An option Kea cannot pack (e.g. inconsistent custom data) is left out rather than
        // failing the whole event: Kea's own hook never packs options other than 82.
        packed.clear();
        try {
            entry.second->pack(packed);
        } catch (const std::exception&) {
            continue;
        }
        const size_t header = entry.second->getHeaderLen();
        const uint8_t* data = static_cast<const uint8_t*>(packed.getData());
        const size_t length = packed.getLength();
        r.begin_map();
        r.key("code");
        r.uint(entry.second->getType());
        r.key("payload");
        r.bytes(data + std::min(header, length), length - std::min(header, length));
        r.end_map();
    }
    r.end_seq();
}

// Client classes (of a packet or a reservation) as a list of names, in Kea's order.
void classes(Record& r, const ClientClasses& names) {
    r.begin_seq();
    for (const auto& name : names) {
        r.bytes(name);
    }
    r.end_seq();
}

// A user context as Kea's own JSON text (Rust re-writes it compactly).
void user_context(Record& r, const isc::data::ConstElementPtr& context) {
    r.bytes(context->str());
}

// A JSON element (a control command's arguments or response) as Kea's own JSON text.
void json(Record& r, const isc::data::ConstElementPtr& element) {
    r.bytes(element->str());
}

// The fields Lease4 and Lease6 share.
void lease_common(Record& r, const Lease& lease) {
    r.key("cltt");
    r.sint(static_cast<int64_t>(lease.cltt_));
    r.key("hostname");
    r.bytes(lease.hostname_);
    r.key("hwaddr");
    optional(r, lease.hwaddr_, hwaddr);
    r.key("state");
    r.uint(lease.state_);
    r.key("subnet_id");
    r.uint(lease.subnet_id_);
    r.key("valid_lifetime");
    r.uint(lease.valid_lft_);
    r.key("expired");
    r.boolean(lease.expired());
    r.key("user_context");
    optional(r, lease.getContext(), user_context);
}

void lease4(Record& r, const Lease4Ptr& lease) {
    r.begin_map();
    r.key("address");
    v4(r, lease->addr_);
    lease_common(r, *lease);
    r.key("client_id");
    optional(r, lease->client_id_, client_id);
    r.end_map();
}

void lease6(Record& r, const Lease6Ptr& lease) {
    r.begin_map();
    r.key("address");
    v6(r, lease->addr_);
    lease_common(r, *lease);
    r.key("duid");
    optional(r, lease->duid_, duid);
    r.key("iaid");
    r.uint(lease->iaid_);
    r.key("preferred_lifetime");
    r.uint(lease->preferred_lft_);
    r.key("prefix_len");
    r.uint(lease->prefixlen_);
    r.key("lease_type");
    r.uint(static_cast<uint32_t>(lease->type_));
    r.end_map();
}

// A lease collection as a list, null entries skipped.
template <typename Collection, typename Write>
void leases(Record& r, const Collection& collection, Write write) {
    r.begin_seq();
    for (const auto& lease : *collection) {
        if (lease) {
            write(r, lease);
        }
    }
    r.end_seq();
}

void leases4(Record& r, const Lease4CollectionPtr& collection) {
    leases(r, collection, lease4);
}

void leases6(Record& r, const Lease6CollectionPtr& collection) {
    leases(r, collection, lease6);
}

// The fields every packet has, first in its map: type, transaction id, both ends' address
// and port (each written by `address`, the family's writer) and the interface.
void pkt_header(Record& r, const Pkt& pkt, void (*address)(Record&, const IOAddress&)) {
    r.key("msg_type");
    r.uint(pkt.getType());
    r.key("transid");
    r.uint(pkt.getTransid());
    r.key("local_addr");
    address(r, pkt.getLocalAddr());
    r.key("local_port");
    r.uint(pkt.getLocalPort());
    r.key("remote_addr");
    address(r, pkt.getRemoteAddr());
    r.key("remote_port");
    r.uint(pkt.getRemotePort());
    r.key("iface_index");
    r.uint(static_cast<uint32_t>(pkt.getIndex()));
    r.key("iface_name");
    r.bytes(pkt.getIface());
}

void pkt4(Record& r, const Pkt4Ptr& pkt) {
    r.begin_map();
    pkt_header(r, *pkt, v4);
    r.key("hops");
    r.uint(pkt->getHops());
    r.key("secs");
    r.uint(pkt->getSecs());
    r.key("flags");
    r.uint(pkt->getFlags());
    r.key("ciaddr");
    v4(r, pkt->getCiaddr());
    r.key("siaddr");
    v4(r, pkt->getSiaddr());
    r.key("yiaddr");
    v4(r, pkt->getYiaddr());
    r.key("giaddr");
    v4(r, pkt->getGiaddr());
    r.key("hwaddr");
    optional(r, pkt->getHWAddr(), hwaddr);
    r.key("local_hwaddr");
    optional(r, pkt->getLocalHWAddr(), hwaddr);
    r.key("remote_hwaddr");
    optional(r, pkt->getRemoteHWAddr(), hwaddr);
    r.key("options");
    options(r, pkt->options_);
    r.key("classes");
    classes(r, pkt->getClasses());
    r.end_map();
}

void pkt6(Record& r, const Pkt6Ptr& pkt) {
    r.begin_map();
    pkt_header(r, *pkt, v6);
    r.key("remote_hwaddr");
    optional(r, pkt->getRemoteHWAddr(), hwaddr);
    r.key("proto");
    r.uint(static_cast<uint8_t>(pkt->getProto()));
    // A malformed client-id option makes getClientId() throw; that is "no DUID", not a failed
    // callout.
    DuidPtr client;
    try {
        client = pkt->getClientId();
    } catch (const isc::Exception&) {
        client.reset();
    }
    r.key("client_id");
    optional(r, client, duid);
    // Kea's own search over every source it knows (kea-hook-runscript's KEA_QUERY6_HWADDR).
    // Not const in Kea: with a raw-socket address it records the source on that object,
    // as Kea itself does when it asks.
    HWAddrPtr mac;
    try {
        mac = pkt->getMAC(HWAddr::HWADDR_SOURCE_ANY);
    } catch (const isc::Exception&) {
        mac.reset();
    }
    r.key("mac");
    optional(r, mac, hwaddr);
    r.key("options");
    options(r, pkt->options_);
    r.key("relays");
    r.begin_seq();
    for (const Pkt6::RelayInfo& relay : pkt->relay_info_) {
        r.begin_map();
        r.key("msg_type");
        r.uint(relay.msg_type_);
        r.key("hop_count");
        r.uint(relay.hop_count_);
        r.key("link_addr");
        v6(r, relay.linkaddr_);
        r.key("peer_addr");
        v6(r, relay.peeraddr_);
        r.key("options");
        options(r, relay.options_);
        r.end_map();
    }
    r.end_seq();
    r.key("classes");
    classes(r, pkt->getClasses());
    r.end_map();
}

// A subnet: its id and its prefix as (address, length).
template <typename SubnetPtr, typename Address>
void subnet(Record& r, const SubnetPtr& subnet, Address address) {
    const auto prefix = subnet->get();
    r.begin_map();
    r.key("id");
    r.uint(subnet->getID());
    r.key("prefix");
    r.begin_seq();
    address(r, prefix.first);
    r.uint(prefix.second);
    r.end_seq();
    r.key("user_context");
    optional(r, subnet->getContext(), user_context);
    r.end_map();
}

void subnet4(Record& r, const compat::Subnet4Arg& s) {
    subnet(r, s, v4);
}

void subnet6(Record& r, const compat::Subnet6Arg& s) {
    subnet(r, s, v6);
}

void ia(Record& r, const Option6IAPtr& option) {
    r.begin_map();
    r.key("iaid");
    r.uint(option->getIAID());
    r.key("ia_type");
    r.uint(option->getType());
    r.key("t1");
    r.uint(option->getT1());
    r.key("t2");
    r.uint(option->getT2());
    r.end_map();
}

// Reads argument `name` as a `Ptr` and writes it with `write`: absent when Kea did not set the
// argument or set a null pointer.
template <typename Ptr, typename Write>
RecordBytes read(const CalloutHandle& handle, rust::Str name, Write write) {
    Ptr value;
    Record r;
    if (fetch(handle, name, value)) {
        optional(r, value, write);
    } else {
        r.none();
    }
    return (r.take());
}

// Reads argument `name`, passed by value as a `T` (no null to tell absence by: only a missing
// argument is absent), into `value` (its initial value for a type without a default one), and
// writes it with `write`.
template <typename T, typename Write>
RecordBytes by_value(const CalloutHandle& handle, rust::Str name, Write write, T value = T()) {
    Record r;
    if (fetch(handle, name, value)) {
        r.some();
        write(r, value);
    } else {
        r.none();
    }
    return (r.take());
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

// Host reservations. The identifiers Kea looks a client up by, in the order of the
// configured `host-reservation-identifiers`, taken from the query as Kea takes them
// (Dhcpv4Exchange::setHostIdentifiers / Dhcpv6Srv::setHostIdentifiers); `flex-id` is
// computed by the flex_id hook at its own callout and is not seen here.
using Identifiers = std::vector<std::pair<Host::IdentifierType, std::vector<uint8_t>>>;

Identifiers identifiers4(Pkt4& query) {
    Identifiers ids;
    const auto cfg = CfgMgr::instance().getCurrentCfg()->getCfgHostOperations4();
    const OptionPtr client_id_option = query.getOption(DHO_DHCP_CLIENT_IDENTIFIER);
    std::vector<uint8_t> client_id;
    if (client_id_option) {
        client_id = client_id_option->getData();
    }
    for (const auto type : cfg->getIdentifierTypes()) {
        switch (type) {
        case Host::IDENT_HWADDR:
            if (query.getHWAddr() && !query.getHWAddr()->hwaddr_.empty()) {
                ids.push_back({type, query.getHWAddr()->hwaddr_});
            }
            break;
        case Host::IDENT_DUID:
            // A client-id of type 255 (RFC 4361) carries an IAID (4 bytes), then the DUID.
            if (client_id.size() > 5 && client_id[0] == CLIENT_ID_OPTION_TYPE_DUID) {
                ids.push_back({type, std::vector<uint8_t>(client_id.begin() + 5, client_id.end())});
            }
            break;
        case Host::IDENT_CIRCUIT_ID: {
            const OptionPtr rai = query.getOption(DHO_DHCP_AGENT_OPTIONS);
            const OptionPtr circuit = rai ? rai->getOption(RAI_OPTION_AGENT_CIRCUIT_ID) : OptionPtr();
            if (circuit && !circuit->getData().empty()) {
                ids.push_back({type, circuit->getData()});
            }
            break;
        }
        case Host::IDENT_CLIENT_ID:
            if (!client_id.empty()) {
                ids.push_back({type, client_id});
            }
            break;
        default:
            break;
        }
    }
    return (ids);
}

Identifiers identifiers6(Pkt6& query) {
    Identifiers ids;
    const auto cfg = CfgMgr::instance().getCurrentCfg()->getCfgHostOperations6();
    for (const auto type : cfg->getIdentifierTypes()) {
        switch (type) {
        case Host::IDENT_DUID: {
            DuidPtr duid;
            try {
                duid = query.getClientId();
            } catch (const isc::Exception&) {
            }
            if (duid) {
                ids.push_back({type, duid->getDuid()});
            }
            break;
        }
        case Host::IDENT_HWADDR: {
            // Kea's Dhcpv6Srv::getMAC: the configured mac-sources, in order.
            HWAddrPtr mac;
            for (const auto source : CfgMgr::instance().getCurrentCfg()->getMACSources().get()) {
                try {
                    mac = query.getMAC(source);
                } catch (const isc::Exception&) {
                    mac.reset();
                }
                if (mac) {
                    break;
                }
            }
            if (mac && !mac->hwaddr_.empty()) {
                ids.push_back({type, mac->hwaddr_});
            }
            break;
        }
        default:
            break;
        }
    }
    return (ids);
}

// The first reservation of `ids` (in their order) in subnet `id`, by `lookup`.
template <typename Lookup>
ConstHostPtr first_host(SubnetID id, const Identifiers& ids, Lookup lookup) {
    for (const auto& entry : ids) {
        ConstHostPtr host = lookup(id, entry.first, entry.second.data(), entry.second.size());
        if (host) {
            return (host);
        }
    }
    return (ConstHostPtr());
}

// A reservation mode flag: the subnet's (or its shared network's), else the configured global
// by name, else Kea's default. Not Inheritance::ALL: that reads the globals by index, an index
// compiled into the shim from the headers, which for Kea 2.2 builds is the stand-in
// cfg_globals.h (shim/compat); by name the look-up depends on no such number.
bool reservation_flag(const isc::util::Optional<bool>& own, const char* global_name,
                      bool fallback) {
    if (!own.unspecified()) {
        return (own.get());
    }
    const auto global = CfgMgr::instance().getCurrentCfg()->getConfiguredGlobal(global_name);
    if (global && global->getType() == isc::data::Element::boolean) {
        return (global->boolValue());
    }
    return (fallback);
}

// The client's reservation for `subnet` as Kea's allocation engine keeps it current: the one
// in the subnet when the subnet has in-subnet reservations, else the global one when it has
// global reservations (AllocEngine::findReservation and ClientContext::currentHost).
template <typename Subnet, typename Lookup>
ConstHostPtr find_host(const Subnet& subnet, SubnetID id, const Identifiers& ids, Lookup lookup) {
    if (ids.empty()) {
        return (ConstHostPtr());
    }
    using Inheritance = isc::dhcp::Network::Inheritance;
    const bool in_subnet = reservation_flag(
        subnet ? subnet->getReservationsInSubnet(Inheritance::PARENT_NETWORK)
               : isc::util::Optional<bool>(),
        "reservations-in-subnet", true);
    const bool global = reservation_flag(
        subnet ? subnet->getReservationsGlobal(Inheritance::PARENT_NETWORK)
               : isc::util::Optional<bool>(),
        "reservations-global", false);
    ConstHostPtr host;
    if (in_subnet) {
        host = first_host(id, ids, lookup);
    }
    if (!host && global) {
        host = first_host(SUBNET_ID_GLOBAL, ids, lookup);
    }
    return (host);
}

void host_common(Record& r, const Host& host, const ClientClasses& names) {
    r.key("hostname");
    r.bytes(host.getHostname());
    r.key("classes");
    classes(r, names);
    r.key("user_context");
    optional(r, host.getContext(), user_context);
}

void host4(Record& r, const ConstHostPtr& host) {
    r.begin_map();
    host_common(r, *host, host->getClientClasses4());
    r.key("ipv4_address");
    const IOAddress& address = host->getIPv4Reservation();
    if (address.isV4() && !address.isV4Zero()) {
        r.some();
        v4(r, address);
    } else {
        r.none();
    }
    r.end_map();
}

// `type`'s reservations (addresses or prefixes) of `host` as a list.
template <typename Write>
void reservations6(Record& r, const Host& host, IPv6Resrv::Type type, Write write) {
    r.begin_seq();
    const auto range = host.getIPv6Reservations(type);
    for (auto it = range.first; it != range.second; ++it) {
        write(r, it->second);
    }
    r.end_seq();
}

void host6(Record& r, const ConstHostPtr& host) {
    r.begin_map();
    host_common(r, *host, host->getClientClasses6());
    r.key("ipv6_addresses");
    reservations6(r, *host, IPv6Resrv::TYPE_NA,
                  [](Record& r, const IPv6Resrv& resrv) { v6(r, resrv.getPrefix()); });
    r.key("ipv6_prefixes");
    reservations6(r, *host, IPv6Resrv::TYPE_PD, [](Record& r, const IPv6Resrv& resrv) {
        r.begin_seq();
        v6(r, resrv.getPrefix());
        r.uint(resrv.getPrefixLen());
        r.end_seq();
    });
    r.end_map();
}

} // namespace

RecordBytes get_host4(const CalloutHandle& handle, uint32_t subnet_id) {
    Pkt4Ptr query;
    Record r;
    if (!fetch(handle, "query4", query) || !query) {
        r.none();
        return (r.take());
    }
    const auto subnet = CfgMgr::instance().getCurrentCfg()->getCfgSubnets4()->getBySubnetId(subnet_id);
    const ConstHostPtr host = find_host(subnet, subnet_id, identifiers4(*query),
        [](SubnetID id, Host::IdentifierType type, const uint8_t* data, size_t len) {
            return (HostMgr::instance().get4(id, type, data, len));
        });
    optional(r, host, host4);
    return (r.take());
}

RecordBytes get_host6(const CalloutHandle& handle, uint32_t subnet_id) {
    Pkt6Ptr query;
    Record r;
    if (!fetch(handle, "query6", query) || !query) {
        r.none();
        return (r.take());
    }
    const auto subnet = CfgMgr::instance().getCurrentCfg()->getCfgSubnets6()->getBySubnetId(subnet_id);
    const ConstHostPtr host = find_host(subnet, subnet_id, identifiers6(*query),
        [](SubnetID id, Host::IdentifierType type, const uint8_t* data, size_t len) {
            return (HostMgr::instance().get6(id, type, data, len));
        });
    optional(r, host, host6);
    return (r.take());
}

RecordBytes get_pkt4(const CalloutHandle& handle, rust::Str name) {
    return (read<Pkt4Ptr>(handle, name, pkt4));
}

RecordBytes get_pkt6(const CalloutHandle& handle, rust::Str name) {
    return (read<Pkt6Ptr>(handle, name, pkt6));
}

rust::Vec<uint8_t> get_pkt4_hwaddr(const CalloutHandle& handle, rust::Str name) {
    Pkt4Ptr query;
    rust::Vec<uint8_t> bytes;
    if (fetch(handle, name, query) && query) {
        const HWAddrPtr hw = query->getHWAddr();
        if (hw) {
            bytes.reserve(hw->hwaddr_.size());
            for (const uint8_t b : hw->hwaddr_) {
                bytes.push_back(b);
            }
        }
    }
    return (bytes);
}

rust::Vec<uint8_t> get_pkt6_duid(const CalloutHandle& handle, rust::Str name) {
    Pkt6Ptr query;
    rust::Vec<uint8_t> bytes;
    if (!fetch(handle, name, query) || !query) {
        return (bytes);
    }
    // As in pkt6(): a malformed client-id option is no DUID.
    DuidPtr client;
    try {
        client = query->getClientId();
    } catch (const isc::Exception&) {
        client.reset();
    }
    if (client) {
        const std::vector<uint8_t> id = client->getDuid();
        bytes.reserve(id.size());
        for (const uint8_t b : id) {
            bytes.push_back(b);
        }
    }
    return (bytes);
}

RecordBytes get_lease4(const CalloutHandle& handle, rust::Str name) {
    return (read<Lease4Ptr>(handle, name, lease4));
}

RecordBytes get_lease6(const CalloutHandle& handle, rust::Str name) {
    return (read<Lease6Ptr>(handle, name, lease6));
}

RecordBytes get_leases4(const CalloutHandle& handle, rust::Str name) {
    return (read<Lease4CollectionPtr>(handle, name, leases4));
}

RecordBytes get_leases6(const CalloutHandle& handle, rust::Str name) {
    return (read<Lease6CollectionPtr>(handle, name, leases6));
}

RecordBytes get_subnet4(const CalloutHandle& handle, rust::Str name) {
    return (read<compat::Subnet4Arg>(handle, name, subnet4));
}

RecordBytes get_subnet6(const CalloutHandle& handle, rust::Str name) {
    return (read<compat::Subnet6Arg>(handle, name, subnet6));
}

RecordBytes get_hwaddr(const CalloutHandle& handle, rust::Str name) {
    return (read<HWAddrPtr>(handle, name, hwaddr));
}

RecordBytes get_client_id(const CalloutHandle& handle, rust::Str name) {
    return (read<ClientIdPtr>(handle, name, client_id));
}

RecordBytes get_address6(const CalloutHandle& handle, rust::Str name) {
    return (by_value<IOAddress>(handle, name, v6, IOAddress::IPV6_ZERO_ADDRESS()));
}

RecordBytes get_ia(const CalloutHandle& handle, rust::Str name) {
    return (read<Option6IAPtr>(handle, name, ia));
}

RecordBytes get_bool(const CalloutHandle& handle, rust::Str name) {
    return (by_value<bool>(handle, name, [](Record& r, bool value) { r.boolean(value); }));
}

RecordBytes get_uint32(const CalloutHandle& handle, rust::Str name) {
    return (by_value<uint32_t>(handle, name, [](Record& r, uint32_t value) { r.uint(value); }));
}

RecordBytes get_string(const CalloutHandle& handle, rust::Str name) {
    return (by_value<std::string>(handle, name,
                                  [](Record& r, const std::string& value) { r.bytes(value); }));
}

RecordBytes get_bytes(const CalloutHandle& handle, rust::Str name) {
    return (by_value<std::vector<uint8_t>>(
        handle, name, [](Record& r, const std::vector<uint8_t>& value) { r.bytes(value); }));
}

RecordBytes get_host_id_type(const CalloutHandle& handle, rust::Str name) {
    return (by_value<Host::IdentifierType>(handle, name, [](Record& r, Host::IdentifierType type) {
        r.uint(static_cast<uint32_t>(type));
    }));
}

RecordBytes get_element(const CalloutHandle& handle, rust::Str name) {
    return (read<isc::data::ConstElementPtr>(handle, name, json));
}

rust::String get_pkt6_text(const CalloutHandle& handle, rust::Str name) {
    return (text<Pkt6Ptr>(handle, name));
}

rust::String get_lease4_text(const CalloutHandle& handle, rust::Str name) {
    return (text<Lease4Ptr>(handle, name));
}

rust::String get_lease6_text(const CalloutHandle& handle, rust::Str name) {
    return (text<Lease6Ptr>(handle, name));
}

} // namespace kea_runscript
