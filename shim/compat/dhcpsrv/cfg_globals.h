// Stand-in for <dhcpsrv/cfg_globals.h>, which Debian's kea-dev 2.2.0 does not ship although
// <dhcpsrv/network.h> (and so <dhcpsrv/subnet.h>) includes it. build.rs puts this directory on
// the include path only when the installed Kea headers lack the file.
//
// It declares just what network.h, srv_config.h and d2_client_cfg.h name: the class, the index
// enumerators (with Kea 2.2's values, see Index), get/set/clear and the two shared-pointer
// typedefs. The members are declared, never defined here: they resolve against libkea-dhcpsrv,
// which defines them with these signatures. The class has none of the library's data members,
// so the shim must never create or copy a CfgGlobals, only use Kea's through a pointer.
#ifndef KEA_RUNSCRIPT_COMPAT_CFG_GLOBALS_H
#define KEA_RUNSCRIPT_COMPAT_CFG_GLOBALS_H

#include <cc/data.h>

#include <boost/shared_ptr.hpp>

#include <string>

namespace isc {
namespace dhcp {

/// Global configuration parameters, looked up by index (stand-in, see above).
class CfgGlobals {
public:
    /// Indexes of the global parameters the installed headers name (network.h's fallbacks
    /// to globals, srv_config.h, d2_client_cfg.h), and only those. Each has the value of
    /// Kea 2.2's own enumerator, the index libkea-dhcpsrv's CfgGlobals::get(int) and
    /// nameToIndex use: an inline Network getter with Inheritance::ALL or GLOBAL compiled
    /// into the shim passes it to the library, so a wrong number reads another parameter
    /// (it did: getReservationsGlobal() read a non-boolean global and threw). The gaps are
    /// Kea's parameters no installed header names. Checked against Debian's libkea-dhcpsrv
    /// 2.2.0 by reading its nameToIndex map; the header is used only where Kea's own is
    /// missing, i.e. that build.
    enum Index : int {
        VALID_LIFETIME = 0,
        MIN_VALID_LIFETIME = 1,
        MAX_VALID_LIFETIME = 2,
        RENEW_TIMER = 3,
        REBIND_TIMER = 4,
        RESERVATIONS_GLOBAL = 10,
        RESERVATIONS_IN_SUBNET = 11,
        RESERVATIONS_OUT_OF_POOL = 12,
        CALCULATE_TEE_TIMES = 13,
        T1_PERCENT = 14,
        T2_PERCENT = 15,
        HOSTNAME_CHAR_SET = 16,
        HOSTNAME_CHAR_REPLACEMENT = 17,
        DDNS_SEND_UPDATES = 18,
        DDNS_OVERRIDE_NO_UPDATE = 19,
        DDNS_OVERRIDE_CLIENT_UPDATE = 20,
        DDNS_REPLACE_CLIENT_NAME = 21,
        DDNS_GENERATED_PREFIX = 22,
        DDNS_QUALIFYING_SUFFIX = 23,
        STORE_EXTENDED_INFO = 24,
        CACHE_THRESHOLD = 27,
        CACHE_MAX_AGE = 28,
        DDNS_UPDATE_ON_RENEW = 32,
        DDNS_USE_CONFLICT_RESOLUTION = 33,
        MATCH_CLIENT_ID = 36,
        AUTHORITATIVE = 37,
        NEXT_SERVER = 38,
        SERVER_HOSTNAME = 39,
        BOOT_FILE_NAME = 40,
        PREFERRED_LIFETIME = 42,
        MIN_PREFERRED_LIFETIME = 43,
        MAX_PREFERRED_LIFETIME = 44,
    };

    /// The value of the global parameter at `index`, null when unset.
    isc::data::ConstElementPtr get(int index) const;

    /// The value of the global parameter called `name`, null when unset.
    isc::data::ConstElementPtr get(const std::string& name) const;

    /// Sets the global parameter called `name`.
    void set(const std::string& name, isc::data::ConstElementPtr value);

    /// Unsets every global parameter.
    void clear();
};

/// Shared pointer to mutable globals.
typedef boost::shared_ptr<CfgGlobals> CfgGlobalsPtr;

/// Shared pointer to constant globals.
typedef boost::shared_ptr<const CfgGlobals> ConstCfgGlobalsPtr;

} // namespace dhcp
} // namespace isc

#endif
