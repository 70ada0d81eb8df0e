#!/bin/sh
# blocklist.sh — refuses DHCP service to listed clients: a sync script whose exit
# code the configuration maps to "drop", so Kea drops the client's packets.
#
# Hook points: pkt4_receive and pkt6_receive (opt-in, hence "hook-points"); Kea honours
#   DROP there, so a listed client gets no answer and no lease. It works at
#   subnet4_select / lease4_select too (map the code to "skip" there: no lease).
# Variables used: QUERY4_HWADDR (v4), QUERY6_CLIENT_ID and QUERY6_REMOTE_HWADDR (v6).
# Settings (the "env" key): BLOCKLIST_FILE (default /etc/kea/blocklist): one entry a line,
#   a MAC address as Kea prints it (aa:bb:cc:dd:ee:ff, case does not matter) or, for
#   DHCPv6, a DUID (colon-separated hex); blank lines and lines starting with # are
#   ignored; BLOCKLIST_EXIT (default 4): the exit code for a listed client.
# Config (this library only: Kea's libdhcp_run_script.so cannot wait for a script):
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/blocklist.sh", "sync": true,
#                   "hook-points": ["pkt4_receive", "pkt6_receive"],
#                   "exit-codes": {"0": "continue", "4": "drop"},
#                   "timeout-ms": 500, "on-timeout": "continue",
#                   "env": {"BLOCKLIST_FILE": "/etc/kea/blocklist"}}}
# It fails open: a missing or unreadable list lets every client through (and says so
# on stderr); use "on-timeout": "drop" and exit non-zero here if you prefer closed.
# Sync scripts run while Kea waits on that packet: keep the list short, or keep
# it in a faster place (nftables, a persistent worker) when it grows.

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

list=${BLOCKLIST_FILE:-/etc/kea/blocklist}
blocked_exit=${BLOCKLIST_EXIT:-4}

case ${1:-} in
    pkt4_receive|subnet4_select|lease4_select|pkt6_receive|subnet6_select|lease6_select) ;;
    *) exit 0 ;;
esac

if [ ! -r "$list" ]; then
    echo "blocklist.sh: cannot read $list; letting the client through" >&2
    exit 0
fi

# listed ID: whether ID (compared case-insensitively) is an entry of the list. awk gets
# the ID as data (-v), never as program text.
listed() {
    [ -n "$1" ] || return 1
    awk -v id="$1" 'BEGIN { id = tolower(id); found = 0 }
                    /^[[:space:]]*(#|$)/ { next }
                    tolower($1) == id { found = 1; exit }
                    END { exit !found }' "$list"
}

case $1 in
    pkt4_*|subnet4_*|lease4_*)
        listed "${QUERY4_HWADDR:-}" && exit "$blocked_exit" ;;
    *)
        listed "${QUERY6_CLIENT_ID:-}" && exit "$blocked_exit"
        listed "${QUERY6_REMOTE_HWADDR:-}" && exit "$blocked_exit" ;;
esac
exit 0
