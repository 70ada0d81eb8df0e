#!/bin/sh
# nft-set.sh — keeps the addresses (and delegated prefixes) that hold a lease in
# nftables sets, for firewall rules such as "only leased clients may forward".
#
# Hook points (all in the default set): the lease table of lib/lease-events.sh —
#   leases4_committed, lease4_renew, lease4_recover       add the address
#   lease4_release, lease4_expire, lease4_decline         remove it
#   leases6_committed, lease6_renew, lease6_rebind, lease6_recover   add address or prefix
#   lease4_replay / lease6_replay (this library, "replay-leases": true)   add every active
#     lease once after Kea (re)starts, so the sets are rebuilt after a reboot
#   lease6_release, lease6_expire, lease6_decline         remove it
# Variables used: LEASES4_AT<i>_ADDRESS/_VALID_LIFETIME, DELETED_LEASES4_AT<i>_ADDRESS,
#   LEASE4_ADDRESS/_VALID_LIFETIME, the LEASES6/DELETED_LEASES6/LEASE6 twins with
#   _PREFIX_LEN and _TYPE.
# Settings (the "env" key of the configuration):
#   NFT_TABLE   family and table (default "inet kea")
#   NFT_SET4    set of ipv4_addr (default dhcp4)
#   NFT_SET6    set of ipv6_addr with "flags interval" so prefixes fit (default dhcp6)
#   NFT_TIMEOUT=1  add elements with "timeout <valid lifetime>s": they vanish with the
#               lease even if a removal is missed (the sets then need "flags timeout")
#   DRY_RUN=1   print the nft commands instead of running them
#   NFT_LOG     where DRY_RUN output and errors go (default: stderr)
# Set-up, once (and the rule that uses the sets is yours):
#   nft add table inet kea
#   nft add set inet kea dhcp4 '{ type ipv4_addr; flags timeout; }'
#   nft add set inet kea dhcp6 '{ type ipv6_addr; flags interval, timeout; }'
# Config (kea-dhcp4 and kea-dhcp6 alike):
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/nft-set.sh", "sync": false,
#                   "env": {"NFT_TIMEOUT": "1", "NFT_LOG": "/var/log/kea/nft-set.log"},
#                   "replay-leases": true}}
# Adding an element that is present is harmless; removing a missing one is not an error.

. "$(dirname "$0")/lib/lease-events.sh"

LOG=${NFT_LOG:-/dev/stderr}
TAG=nft-set.sh
# Word-split on purpose: "inet kea" is two arguments of nft.
table=${NFT_TABLE:-inet kea}

# The element is already gone.
run_ignorable() {
    case $1 in *"No such file or directory"*|*"element does not exist"*) return 0 ;; esac
    return 1
}

# element ADDRESS VALID_LIFETIME: "{ ADDRESS [timeout Ns] }".
element() {
    if [ "${NFT_TIMEOUT:-0}" = 1 ] && [ -n "$2" ] && [ "$2" -gt 0 ] 2>/dev/null; then
        echo "{ $1 timeout ${2}s }"
    else
        echo "{ $1 }"
    fi
}

# An IPv6 lease of prefix length 128 is an address, anything shorter a prefix.
prefix6() {
    if [ "${2:-128}" = 128 ]; then echo "$1"; else echo "$1/$2"; fi
}

lease_add4() {
    # shellcheck disable=SC2086 # $table is "family name"
    run nft add element $table "${NFT_SET4:-dhcp4}" "$(element "$1" "$2")"
}

lease_del4() {
    # shellcheck disable=SC2086
    run nft delete element $table "${NFT_SET4:-dhcp4}" "{ $1 }"
}

lease_add6() {
    # shellcheck disable=SC2086
    run nft add element $table "${NFT_SET6:-dhcp6}" "$(element "$(prefix6 "$1" "$2")" "$4")"
}

lease_del6() {
    # shellcheck disable=SC2086
    run nft delete element $table "${NFT_SET6:-dhcp6}" "{ $(prefix6 "$1" "$2") }"
}

lease_dispatch "${1:-}"
exit 0
