#!/bin/sh
# offer-check.sh — makes sure an address is free before Kea offers it: when something
# already answers at the offered address (a device configured by hand, a client whose
# lease was lost), it prints KEA_ADDRESS_IN_USE=true; Kea then declines the address
# (lease4_server_decline, the lease is marked declined for decline-probation-period)
# and the client's next DHCPDISCOVER gets another one. What Kea's ping-check hook does,
# as a script you can change: ask a switch's ARP table or an IPAM instead.
#
# Mode: spawned, sync ("sync": true; not a worker): each check waits on the network for
#   up to PING_TIMEOUT, and one worker would check one address after the other, while
#   spawned checks run side by side. At lease4_offer Kea parks the query, so a running
#   check holds no Kea thread; Kea's parked-packet-limit bounds how many run at once.
# Hook point: lease4_offer (opt-in; Kea 2.6 and later: Kea 2.2 has no such hook point and
#   the library refuses it at load).
# Variables used: LEASES4_SIZE, LEASES4_AT0_ADDRESS (the offered address; no lease when
#   Kea reuses the client's current one: nothing to check), OLD_LEASE4_ADDRESS and
#   OLD_LEASE4_HWADDR, QUERY4_HWADDR (the client had this address before: it may be
#   the one answering, so it is not checked), QUERY4_RELAYED, QUERY4_IFACE_NAME.
# Answer: the line KEA_ADDRESS_IN_USE=true on stdout when the address answers, nothing
#   otherwise; exit status 0 either way (a failed check lets the offer go out).
# Settings (the "env" key):
#   IN_USE_FILE (default none): a list of addresses in use, one a line (# starts a
#     comment); when set, only the list is consulted (no packet is sent). For tests, and
#     for an IPAM export.
#   PING_TIMEOUT (default 1): seconds to wait for an answer (whole seconds, 1 to 10).
#   Without IN_USE_FILE: an ARP request (arping, package iputils-arping) when the client
#     is on a link of Kea's own (not relayed) and arping is installed, since a host
#     answers ARP even with ICMP blocked; else an ICMP echo (ping). Sending either needs
#     CAP_NET_RAW: Debian's unit gives it to Kea, which passes it on (or list it in
#     "capabilities").
# Config (keep timeout-ms above PING_TIMEOUT):
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/offer-check.sh",
#                   "sync": true, "hook-points": ["lease4_offer"],
#                   "timeout-ms": 3000, "on-timeout": "continue",
#                   "env": {"PING_TIMEOUT": "1"}}}
# A check that times out lets the offer go out (on-timeout continue).

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

[ "${1:-}" = lease4_offer ] || exit 0
[ "${LEASES4_SIZE:-0}" -ge 1 ] 2>/dev/null || exit 0
addr=${LEASES4_AT0_ADDRESS:-}
# Kea prints an IPv4 address; anything else is not passed to a command.
case $addr in
    *[!0-9.]* | "" | .* | *. | *..*) echo "offer-check.sh: not an IPv4 address: '$addr'" >&2; exit 0 ;;
esac
if [ "$addr" = "${OLD_LEASE4_ADDRESS:-}" ] && [ "${OLD_LEASE4_HWADDR:-}" = "${QUERY4_HWADDR:-}" ]; then
    exit 0
fi

in_use() {
    if [ -n "${IN_USE_FILE:-}" ]; then
        # -x: the whole line, so 10.0.0.1 does not match 10.0.0.10.
        sed 's/#.*//; s/[[:space:]]//g' "$IN_USE_FILE" 2>/dev/null | grep -qxF -- "$addr"
        return
    fi
    wait_s=${PING_TIMEOUT:-1}
    case $wait_s in [1-9] | 10) ;; *) wait_s=1 ;; esac
    iface=${QUERY4_IFACE_NAME:-}
    if [ "${QUERY4_RELAYED:-true}" = false ] && [ -n "$iface" ] && command -v arping >/dev/null; then
        # An interface name is no option to arping (-I takes the next word whatever it is).
        case $iface in -*) ;; *) arping -q -c 1 -w "$wait_s" -I "$iface" -- "$addr" >/dev/null 2>&1; return ;; esac
    fi
    if ! command -v ping >/dev/null; then
        echo "offer-check.sh: neither arping nor ping found (package iputils-ping); $addr not checked" >&2
        return 1
    fi
    ping -n -q -c 1 -W "$wait_s" -- "$addr" >/dev/null 2>&1
}

if in_use; then
    echo KEA_ADDRESS_IN_USE=true
    echo "offer-check.sh: $addr answers; Kea declines it" >&2
fi
exit 0
