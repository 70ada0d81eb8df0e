// Stand-in for <dhcpsrv/cfg_globals.h>, which Debian's kea-dev 2.2.0 does not ship although
// <dhcpsrv/network.h> (and so <dhcpsrv/subnet.h>) includes it. build.rs puts this directory on
// the include path only when the installed Kea headers lack the file.
//
// It declares just what network.h and srv_config.h name: the class, the index enumerators,
// get/set/clear and the two shared-pointer typedefs. The members are declared, never defined
// here: the shim calls none of the inline Network/SrvConfig methods that use them, and if one
// were ever used the symbols would resolve against libkea-dhcpsrv, which defines them with these
// signatures.
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
    /// Indexes of the global parameters network.h falls back to.
    enum Index : int {
        AUTHORITATIVE,
        BOOT_FILE_NAME,
        CACHE_MAX_AGE,
        CACHE_THRESHOLD,
        CALCULATE_TEE_TIMES,
        DDNS_GENERATED_PREFIX,
        DDNS_OVERRIDE_CLIENT_UPDATE,
        DDNS_OVERRIDE_NO_UPDATE,
        DDNS_QUALIFYING_SUFFIX,
        DDNS_REPLACE_CLIENT_NAME,
        DDNS_SEND_UPDATES,
        DDNS_UPDATE_ON_RENEW,
        DDNS_USE_CONFLICT_RESOLUTION,
        HOSTNAME_CHAR_REPLACEMENT,
        HOSTNAME_CHAR_SET,
        MATCH_CLIENT_ID,
        MAX_PREFERRED_LIFETIME,
        MAX_VALID_LIFETIME,
        MIN_PREFERRED_LIFETIME,
        MIN_VALID_LIFETIME,
        NEXT_SERVER,
        PREFERRED_LIFETIME,
        REBIND_TIMER,
        RENEW_TIMER,
        RESERVATIONS_GLOBAL,
        RESERVATIONS_IN_SUBNET,
        RESERVATIONS_OUT_OF_POOL,
        SERVER_HOSTNAME,
        STORE_EXTENDED_INFO,
        T1_PERCENT,
        T2_PERCENT,
        VALID_LIFETIME
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
