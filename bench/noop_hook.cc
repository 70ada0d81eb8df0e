// A Kea hook library that registers a callout at each of the 13 hook points of Kea's own
// libdhcp_run_script.so and does nothing in them. scripts/soak.sh loads it as the "noop"
// variant: whatever Kea does differently with it than with no hook library at all is
// Kea's cost of having callouts at these hook points, not any hook's own.
//
// With the parameter {"alloc-bytes": N} each callout also allocates about N bytes in
// short strings (as a hook building a script's environment does) and frees them before
// it returns: the "alloc" variant of scripts/soak.sh. It tells what per-event heap use,
// of any hook, does to Kea's memory while Kea's lease database grows.
//
// Built by scripts/soak.sh: g++ -shared -fPIC -O2 -I/usr/include/kea noop_hook.cc

#include <cc/data.h>
#include <hooks/hooks.h>

#include <atomic>
#include <string>
#include <vector>

using isc::hooks::CalloutHandle;
using isc::hooks::LibraryHandle;

namespace {

std::atomic<long> alloc_bytes{0};

// About alloc_bytes in 48-byte strings (an environment of short variables), written to so
// the pages are real, then freed.
int work() {
    long bytes = alloc_bytes.load(std::memory_order_relaxed);
    if (bytes <= 0) {
        return (0);
    }
    std::vector<std::string> vars;
    vars.reserve(bytes / 48 + 1);
    for (long done = 0; done < bytes; done += 48) {
        vars.emplace_back(47, static_cast<char>('A' + done % 26));
    }
    return (vars.back()[0] == 0 ? 1 : 0);
}

} // namespace

extern "C" {

int version() {
    return (KEA_HOOKS_VERSION);
}

int load(LibraryHandle& handle) {
    isc::data::ConstElementPtr bytes = handle.getParameter("alloc-bytes");
    if (bytes) {
        alloc_bytes = bytes->intValue();
    }
    return (0);
}

int unload() {
    return (0);
}

int multi_threading_compatible() {
    return (1);
}

// Kea finds callouts by symbol name: one per hook point, each a no-op (or work()).
#define NOOP_CALLOUT(name) \
    int name(CalloutHandle&) { return (work()); }

// Built with -DNOOP_RECEIVE_ONLY ("nooprcv" in scripts/bench-instructions.sh): only
// pkt4_receive / pkt6_receive, the floor of a hook there (the rate-limit example's points).
#ifdef NOOP_RECEIVE_ONLY
NOOP_CALLOUT(pkt4_receive)
NOOP_CALLOUT(pkt6_receive)
#else
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

// Built with -DNOOP_ALL_HOOK_POINTS ("noopall" in scripts/soak.sh): also the 8 hook points
// libkea_runscript.so exports callouts for beyond Kea's 13.
#ifdef NOOP_ALL_HOOK_POINTS
NOOP_CALLOUT(pkt4_receive)
NOOP_CALLOUT(subnet4_select)
NOOP_CALLOUT(lease4_select)
NOOP_CALLOUT(pkt4_send)
NOOP_CALLOUT(pkt6_receive)
NOOP_CALLOUT(subnet6_select)
NOOP_CALLOUT(lease6_select)
NOOP_CALLOUT(pkt6_send)
#endif
#endif

}
