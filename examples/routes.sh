#!/bin/sh
# routes.sh — keeps a host route per DHCPv4 lease and a route per delegated
# IPv6 prefix (optionally per IPv6 address too) in the kernel's routing table.
#
# Hook points (all in the default set, so no "hook-points" key is needed):
#   leases4_committed, lease4_renew, lease4_recover      add ADDRESS/32
#   lease4_release, lease4_expire, lease4_decline        remove ADDRESS/32
#   leases6_committed, lease6_renew, lease6_rebind, lease6_recover   add ADDRESS/PREFIX_LEN
#   lease6_release, lease6_expire, lease6_decline        remove ADDRESS/PREFIX_LEN
#   lease4_replay / lease6_replay (this library, "replay-leases": true)   add the route of
#     every active lease once after Kea (re)starts, so a reboot rebuilds the table. A replay
#     has no packet: the next hop comes from ROUTES_VIA4 / ROUTES_VIA6 + ROUTES_DEV.
#   (the full table, with DELETED_LEASES*_, is in lib/lease-events.sh)
# Variables used: LEASES4_SIZE, LEASES4_AT<i>_ADDRESS, DELETED_LEASES4_*, LEASE4_ADDRESS,
#   LEASES6_AT<i>_ADDRESS/_PREFIX_LEN/_TYPE, DELETED_LEASES6_*, LEASE6_ADDRESS/_PREFIX_LEN/_TYPE,
#   next hop of a v4 route: QUERY4_GIADDR when QUERY4_RELAYED=true, else the
#   interface QUERY4_IFACE_NAME; of a v6 route: QUERY6_REMOTE_ADDR on QUERY6_IFACE_NAME
#   (the requesting router). Expiry carries no packet: removal needs no next hop.
# Settings (the "env" key of the configuration):
#   DRY_RUN=1           print the ip commands instead of running them
#   ROUTES_LOG=/path    where DRY_RUN output and errors go (default: stderr)
#   ROUTES_V6_TYPES     lease types that get a v6 route (default "IA_PD"; "IA_PD IA_NA" for both)
#   ROUTES_TABLE        routing table (default main); ROUTES_PROTO route protocol (default dhcp,
#                       so `ip route show proto dhcp` lists exactly these routes)
#   ROUTES_VIA4 / ROUTES_VIA6 / ROUTES_DEV   a fixed next hop / device instead of the packet's
# Config (kea-dhcp4 and kea-dhcp6 alike):
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/routes.sh", "sync": false,
#                   "env": {"ROUTES_LOG": "/var/log/kea/routes.log"}}}
# To rebuild the routes at start, add "replay-leases": true and a fixed next hop
#   ("env": {"ROUTES_VIA4": "192.0.2.2"}).
# With Kea's libdhcp_run_script.so the same script runs with the defaults (it has no "env").
# An existing route is replaced; removing a missing one is not an error (a DHCPRELEASE
# shows up both in leases4_committed and in lease4_release).

. "$(dirname "$0")/lib/lease-events.sh"

LOG=${ROUTES_LOG:-/dev/stderr}
TAG=routes.sh
table=${ROUTES_TABLE:-main}
proto=${ROUTES_PROTO:-dhcp}

# The route is already gone.
run_ignorable() {
    case $1 in *"No such process"*) return 0 ;; esac
    return 1
}

lease_add4() {
    if [ -n "${ROUTES_VIA4:-}" ]; then
        run ip -4 route replace "$1/32" via "$ROUTES_VIA4" ${ROUTES_DEV:+dev "$ROUTES_DEV"} table "$table" proto "$proto"
    elif [ "${QUERY4_RELAYED:-false}" = true ] && [ -n "${QUERY4_GIADDR:-}" ]; then
        run ip -4 route replace "$1/32" via "$QUERY4_GIADDR" table "$table" proto "$proto"
    elif [ -n "${ROUTES_DEV:-${QUERY4_IFACE_NAME:-}}" ]; then
        run ip -4 route replace "$1/32" dev "${ROUTES_DEV:-$QUERY4_IFACE_NAME}" table "$table" proto "$proto"
    else
        log "$TAG $hook_point: no next hop known for $1"
    fi
}

lease_del4() {
    run ip -4 route del "$1/32" table "$table" proto "$proto"
}

wanted6() {
    case " ${ROUTES_V6_TYPES:-IA_PD} " in *" $1 "*) return 0 ;; esac
    return 1
}

lease_add6() {
    wanted6 "$3" || return 0
    dev=${ROUTES_DEV:-${QUERY6_IFACE_NAME:-}}
    via=${ROUTES_VIA6:-${QUERY6_REMOTE_ADDR:-}}
    if [ -z "$dev" ] || [ -z "$via" ]; then
        log "$TAG $hook_point: no next hop known for $1/$2"
        return 0
    fi
    run ip -6 route replace "$1/$2" via "$via" dev "$dev" table "$table" proto "$proto"
}

lease_del6() {
    wanted6 "$3" || return 0
    run ip -6 route del "$1/$2" table "$table" proto "$proto"
}

lease_dispatch "${1:-}"
exit 0
