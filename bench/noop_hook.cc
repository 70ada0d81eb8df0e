// A Kea hook library that registers a callout at each of the 13 hook points of Kea's own
// libdhcp_run_script.so and does nothing in them. scripts/soak.sh loads it as the "noop"
// variant: whatever Kea does differently with it than with no hook library at all is
// Kea's cost of having callouts at these hook points, not any hook's own.
//
// Built by scripts/soak.sh: g++ -shared -fPIC -O2 -I/usr/include/kea noop_hook.cc

#include <hooks/hooks.h>

using isc::hooks::CalloutHandle;
using isc::hooks::LibraryHandle;

extern "C" {

int version() {
    return (KEA_HOOKS_VERSION);
}

int load(LibraryHandle&) {
    return (0);
}

int unload() {
    return (0);
}

int multi_threading_compatible() {
    return (1);
}

// Kea finds callouts by symbol name: one per hook point, each a no-op.
#define NOOP_CALLOUT(name) \
    int name(CalloutHandle&) { return (0); }

NOOP_CALLOUT(leases4_committed)
NOOP_CALLOUT(lease4_renew)
NOOP_CALLOUT(lease4_expire)
NOOP_CALLOUT(lease4_recover)
NOOP_CALLOUT(lease4_release)
NOOP_CALLOUT(lease4_decline)
NOOP_CALLOUT(leases6_committed)
NOOP_CALLOUT(lease6_renew)
NOOP_CALLOUT(lease6_rebind)
NOOP_CALLOUT(lease6_expire)
NOOP_CALLOUT(lease6_recover)
NOOP_CALLOUT(lease6_release)
NOOP_CALLOUT(lease6_decline)

}
