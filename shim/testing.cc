// Test support, used only by hooks' unit tests (kea-hook-sdk/src/testing.rs): a real Kea
// CalloutHandle and real Kea objects set as its arguments, so extraction is tested against Kea's
// own classes without a running server. Nothing here is reachable from the entry points.

#include "kea_compat.h"

#include "kea_runscript_testing.h"
#include "kea-hook-sdk/src/testing.rs.h"

#include <dhcp/dhcp4.h>
#include <dhcp/dhcp6.h>
#include <dhcp/duid.h>
#include <dhcp/hwaddr.h>
#include <dhcp/option.h>
#include <dhcp/option6_ia.h>
#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <dhcpsrv/host.h>
#include <dhcpsrv/lease.h>
#include <dhcpsrv/subnet.h>
#include <hooks/parking_lots.h>
#include <cc/data.h>
#include <hooks/callout_manager.h>
#include <log/logger_support.h>

#include <boost/make_shared.hpp>

#include <atomic>
#include <mutex>

#include <string>
#include <vector>

using isc::asiolink::IOAddress;
using namespace isc::dhcp;

namespace kea_runscript {

namespace {

std::string key(rust::Str name) {
    return (std::string(name.data(), name.size()));
}

HWAddrPtr test_mac() {
    return (boost::make_shared<HWAddr>(std::vector<uint8_t>{0x00, 0x0c, 0x01, 0x02, 0x03, 0x04},
                                       HTYPE_ETHER));
}

} // namespace

void init_test_logging() {
    // Once per test process: Kea's logging refuses every message until it is initialised.
    // Severity NONE: messages are accepted but not written, so the tests' output stays clean.
    static std::once_flag once;
    std::call_once(once, [] { isc::log::initLogger("kea-runscript-test", isc::log::NONE); });
}

std::unique_ptr<CalloutHandle> new_test_handle() {
    return (std::unique_ptr<CalloutHandle>(
        new CalloutHandle(boost::make_shared<isc::hooks::CalloutManager>(0))));
}

void set_test_pkt4(CalloutHandle& handle, rust::Str name) {
    Pkt4Ptr pkt = boost::make_shared<Pkt4>(DHCPREQUEST, 0x1234);
    pkt->setHWAddr(test_mac());
    pkt->setGiaddr(IOAddress("192.0.2.2"));
    pkt->setYiaddr(IOAddress("10.0.0.10"));
    pkt->setHops(1);
    pkt->setSecs(7);
    pkt->setFlags(0x8000);
    pkt->setIface("vs0");
    pkt->setIndex(3);
    pkt->setRemoteAddr(IOAddress("192.0.2.2"));
    pkt->setLocalAddr(IOAddress("192.0.2.1"));
    pkt->setRemotePort(67);
    pkt->setLocalPort(67);
    OptionPtr rai(new Option(Option::V4, DHO_DHCP_AGENT_OPTIONS));
    rai->addOption(OptionPtr(new Option(Option::V4, 1, OptionBuffer{'a', 'b'})));
    rai->addOption(OptionPtr(new Option(Option::V4, 2, OptionBuffer{1, 2, 3})));
    pkt->addOption(rai);
    pkt->addClass("ALL");
    pkt->addClass("VENDOR_CLASS_MSFT 5.0");
    pkt->addClass("KNOWN");
    handle.setArgument(key(name), pkt);
}

void set_test_pkt6(CalloutHandle& handle, rust::Str name) {
    Pkt6Ptr pkt = boost::make_shared<Pkt6>(DHCPV6_RENEW, 0x123456);
    pkt->addOption(OptionPtr(new Option(Option::V6, D6O_CLIENTID,
                                        OptionBuffer{0, 3, 0, 1, 0, 0x0c, 1, 2, 3, 4})));
    pkt->setRemoteAddr(IOAddress("fe80::1"));
    pkt->setLocalAddr(IOAddress("ff02::1:2"));
    pkt->setRemotePort(547);
    pkt->setLocalPort(547);
    pkt->setIface("vs6");
    pkt->setIndex(4);
    Pkt6::RelayInfo relay;
    relay.msg_type_ = DHCPV6_RELAY_FORW;
    relay.hop_count_ = 0;
    relay.linkaddr_ = IOAddress("2001:db8:1::1");
    relay.peeraddr_ = IOAddress("fe80::2");
    OptionPtr interface_id(new Option(Option::V6, D6O_INTERFACE_ID, OptionBuffer{'e', 't', 'h'}));
    relay.options_.insert(std::make_pair(interface_id->getType(), interface_id));
    pkt->addRelayInfo(relay);
    handle.setArgument(key(name), pkt);
}

void set_test_null_pkt4(CalloutHandle& handle, rust::Str name) {
    handle.setArgument(key(name), Pkt4Ptr());
}

void set_test_null_lease4(CalloutHandle& handle, rust::Str name) {
    handle.setArgument(key(name), Lease4Ptr());
}

void set_test_wrong_type(CalloutHandle& handle, rust::Str name) {
    handle.setArgument(key(name), 42);
}

void set_test_subnet4(CalloutHandle& handle, rust::Str name) {
    Subnet4Ptr created = Subnet4::create(IOAddress("10.0.0.0"), 8, 1000, 2000, 4000, 2);
    created->setContext(isc::data::Element::fromJSON(R"({"site": "b", "floor": [1, 2]})"));
    compat::Subnet4Arg subnet = created;
    handle.setArgument(key(name), subnet);
}

void set_test_subnet6(CalloutHandle& handle, rust::Str name) {
    compat::Subnet6Arg subnet =
        Subnet6::create(IOAddress("2001:db8:1::"), 64, 1000, 2000, 3000, 4000, 1);
    handle.setArgument(key(name), subnet);
}

void set_test_hwaddr(CalloutHandle& handle, rust::Str name) {
    handle.setArgument(key(name), test_mac());
}

void set_test_client_id(CalloutHandle& handle, rust::Str name) {
    handle.setArgument(key(name),
                       boost::make_shared<ClientId>(std::vector<uint8_t>{1, 0, 0x0c, 1, 2, 3, 4}));
}

void set_test_lease4(CalloutHandle& handle, rust::Str name, uint8_t last_octet) {
    const uint8_t client_id[] = {1, 0, 0x0c, 1, 2, 3, last_octet};
    Lease4Ptr lease = boost::make_shared<Lease4>(
        IOAddress(std::string("10.0.0.") + std::to_string(last_octet)), test_mac(), client_id,
        sizeof(client_id), 4000, 1700000000, 2, false, false, "host.example");
    lease->setContext(isc::data::Element::fromJSON(R"({"ISC": {"x": "y z"}})"));
    handle.setArgument(key(name), lease);
}

void set_test_leases4(CalloutHandle& handle, rust::Str name, uint8_t count) {
    Lease4CollectionPtr leases = boost::make_shared<Lease4Collection>();
    for (uint8_t i = 0; i < count; ++i) {
        leases->push_back(boost::make_shared<Lease4>(
            IOAddress(std::string("10.0.1.") + std::to_string(i + 1)), test_mac(), nullptr, 0,
            4000, 1700000000, 2));
    }
    handle.setArgument(key(name), leases);
}

void set_test_lease6(CalloutHandle& handle, rust::Str name, bool prefix) {
    DuidPtr duid = boost::make_shared<DUID>(std::vector<uint8_t>{0, 3, 0, 1, 0, 0x0c, 1, 2, 3, 4});
    Lease6Ptr lease =
        prefix ? boost::make_shared<Lease6>(Lease::TYPE_PD, IOAddress("2001:db8:8000::"), duid, 7,
                                            3000, 4000, 1, test_mac(), 56)
               : boost::make_shared<Lease6>(Lease::TYPE_NA, IOAddress("2001:db8:1::100"), duid, 7,
                                            3000, 4000, 1, test_mac());
    handle.setArgument(key(name), lease);
}

// The IA_NA lease of set_test_lease6 with its client last transmission time set to `cltt`
// (valid 4000 s): Kea's Lease::expired() then turns true once time(NULL) > cltt + 4000.
void set_test_lease6_cltt(CalloutHandle& handle, rust::Str name, int64_t cltt) {
    DuidPtr duid = boost::make_shared<DUID>(std::vector<uint8_t>{0, 3, 0, 1, 0, 0x0c, 1, 2, 3, 4});
    Lease6Ptr lease = boost::make_shared<Lease6>(Lease::TYPE_NA, IOAddress("2001:db8:1::100"),
                                                 duid, 7, 3000, 4000, 1, test_mac());
    lease->cltt_ = static_cast<time_t>(cltt);
    handle.setArgument(key(name), lease);
}

void set_test_ia(CalloutHandle& handle, rust::Str name, uint16_t code) {
    Option6IAPtr ia = boost::make_shared<Option6IA>(code, 7);
    ia->setT1(1000);
    ia->setT2(1600);
    handle.setArgument(key(name), ia);
}

void set_test_bool(CalloutHandle& handle, rust::Str name, bool value) {
    handle.setArgument(key(name), value);
}

void set_test_string(CalloutHandle& handle, rust::Str name, rust::Str value) {
    handle.setArgument(key(name), std::string(value.data(), value.size()));
}

void set_test_uint32(CalloutHandle& handle, rust::Str name, uint32_t value) {
    handle.setArgument(key(name), value);
}

void set_test_bytes(CalloutHandle& handle, rust::Str name, rust::Slice<const uint8_t> value) {
    handle.setArgument(key(name), std::vector<uint8_t>(value.begin(), value.end()));
}

void set_test_host_id_type(CalloutHandle& handle, rust::Str name, uint32_t raw) {
    handle.setArgument(key(name), static_cast<Host::IdentifierType>(raw));
}

namespace {

// What the unpark callback of the test offer read: -1 not run, 0 / 1 the flag, 2 missing.
std::atomic<int> offer_seen{-1};

} // namespace

std::unique_ptr<ParkedQuery> new_test_parked_query(bool offer) {
    Pkt4Ptr query = boost::make_shared<Pkt4>(DHCPDISCOVER, 0x4321);
    auto lot = boost::make_shared<isc::hooks::ParkingLot>();
    auto handle = boost::make_shared<isc::hooks::ParkingLotHandle>(lot);
    // As Kea parks at lease4_offer: its unpark callback reads the flag from the query's own
    // callout handle. The callback holds the query weakly, as the lot holds it already.
    boost::weak_ptr<Pkt4> weak(query);
    lot->park(query, [weak]() {
        Pkt4Ptr parked = weak.lock();
        bool in_use = false;
        try {
            parked->getCalloutHandle()->getArgument("offer_address_in_use", in_use);
            offer_seen = in_use ? 1 : 0;
        } catch (const isc::hooks::NoSuchArgument&) {
            offer_seen = 2;
        }
    });
    handle->reference(query);
    return (std::unique_ptr<ParkedQuery>(new ParkedQuery(handle, query, nullptr, offer)));
}

int8_t resume_test_parked(std::unique_ptr<ParkedQuery> parked) {
    offer_seen = -1;
    parked->resolve(false);
    return (static_cast<int8_t>(offer_seen.load()));
}

void set_test_element(CalloutHandle& handle, rust::Str name, rust::Str json) {
    isc::data::ConstElementPtr element;
    if (json.size() != 0) {
        element = isc::data::Element::fromJSON(std::string(json.data(), json.size()));
    }
    handle.setArgument(key(name), element);
}

} // namespace kea_runscript
