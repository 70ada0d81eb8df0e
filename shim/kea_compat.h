// Every difference between the Kea versions the shim builds against (2.2, 2.6, 3.0), in one
// place. Each .cc file of the shim includes this header first.
//
// KRS_KEA_HOOKS_VERSION is Kea's KEA_HOOKS_VERSION (e.g. 20200, 20603, 30004), read from the
// installed hooks/hooks.h by kea-hook-sdk/build.rs and passed with -D: Kea declares it as
// a `const int`, which the preprocessor cannot test. The thresholds below are the development
// releases (2.7.x) that introduced each change, so a 2.7 build gets the right side too.
#pragma once

#ifndef KRS_KEA_HOOKS_VERSION
#error "KRS_KEA_HOOKS_VERSION is not set: build the shim through kea-hook-sdk/build.rs"
#endif

// Kea's own build configuration. Kea 3.0's asiolink/crypto_tls.h (reached through dhcpsrv
// headers) refuses to compile unless it came first; every version installs it.
#include <config.h>

#include <dhcpsrv/subnet.h>
#include <hooks/libinfo.h>
#if KRS_KEA_HOOKS_VERSION >= 30000
#include <hooks/hooks_parser.h>
#endif

#include <string>

namespace kea_runscript {
namespace compat {

// The type Kea stores in the "subnet4"/"subnet6" callout arguments. From 2.7.5 on they are
// pointers to const; reading one as the other type throws boost::bad_any_cast.
#if KRS_KEA_HOOKS_VERSION >= 20705
using Subnet4Arg = isc::dhcp::ConstSubnet4Ptr;
using Subnet6Arg = isc::dhcp::ConstSubnet6Ptr;
#else
using Subnet4Arg = isc::dhcp::Subnet4Ptr;
using Subnet6Arg = isc::dhcp::Subnet6Ptr;
#endif

// A configured hook library: a (path, parameters) pair up to 2.7, a struct from 3.0 on.
inline const std::string& library_path(const isc::hooks::HookLibInfo& info) {
#if KRS_KEA_HOOKS_VERSION >= 30000
    return (info.libname_);
#else
    return (info.first);
#endif
}

inline isc::data::ConstElementPtr library_parameters(const isc::hooks::HookLibInfo& info) {
#if KRS_KEA_HOOKS_VERSION >= 30000
    return (info.parameters_);
#else
    return (info.second);
#endif
}

// Kea 3.0 runs hook scripts only from its scripts directory (/usr/share/kea/scripts, or
// KEA_HOOK_SCRIPTS_PATH; `kea-dhcpX -X` lifts the rule) and its run-script hook checks that
// in load. This asks Kea's own checker, so the rule and its overrides stay Kea's; it throws
// isc::BadValue naming the supported directory. Earlier versions have no such rule.
inline void check_script_path(const std::string& path) {
#if KRS_KEA_HOOKS_VERSION >= 30000
    isc::hooks::HookLibraryScriptsChecker::validatePath(path);
#else
    (void)path;
#endif
}

// The tokens an isc::eval::EvalContext parsed: its member `expression` up to 2.6,
// `expression_` in 3.0 (renamed in the 2.7 development series; 2.6.3 and 3.0.4 verified). A
// template, so this header needs no eval header (only eval.cc uses it).
template <typename EvalContext>
auto& parsed_expression(EvalContext& context) {
#if KRS_KEA_HOOKS_VERSION >= 30000
    return (context.expression_);
#else
    return (context.expression);
#endif
}

} // namespace compat
} // namespace kea_runscript
