#!/usr/bin/env bash
# Runs a real Kea HA pair (Kea's libdhcp_ha.so + libdhcp_lease_cmds.so) in network
# namespaces and shows lease replication, failover and recovery, with timings.
#
# Usage: scripts/ha-pair.sh [-6] [hot-standby|load-balancing]     (as root)
#
# Four namespaces on one L2 segment: a switch (Linux bridge) and, each joined to it by
# a veth (eth0 inside), server s1 (192.0.2.1, 2001:db8:1::1, role primary), server s2
# (192.0.2.3, ::3, standby or secondary) and a client (192.0.2.2, ::2). Each server runs
# kea-dhcp4 (kea-dhcp6 with -6) with Kea's multi-threading and HA's own HTTP listener
# in-process ("http-dedicated-listener": no kea-ctrl-agent), plus a unix control socket
# the script queries (ha-heartbeat, status-get, lease4-get-all / lease6-get-all). The
# pair's setup is scripts/lib/ha.sh (shared with scripts/bench-ha.sh).
# Steps: start both, wait for the pair's normal state, perfdhcp DORAs (SARRs) from the
# client, lease counts on both; kill -9 s1, time s2's partner-down, serve new clients;
# restart s1 (empty lease database), time its way back (syncing, ready, ...) and compare
# lease counts. Everything is removed on exit.
#
# Environment: HA_CLIENTS (first batch, default 300), HA_RATE (perfdhcp -r, default 200),
# HA_PERFDHCP (more perfdhcp options for the first batch, e.g. "-F 50" for releases),
# HA_VALID_LIFETIME (seconds, default 3600; expired leases are reclaimed every second),
# HA_END_WAIT (seconds to wait at the end, then lease counts again: e.g. to see expiry),
# HA_EXTRA_HOOK (a hooks-libraries entry, JSON, loaded after HA on both servers; @NAME@
# becomes s1/s2, e.g. a probe library), TB_KEEP=1 keeps the logs (also the configs).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/testbed.sh
source "$repo/scripts/lib/testbed.sh"
# The pair's namespaces, configs and control-socket helpers (ha_*), shared with bench-ha.sh.
# shellcheck source=scripts/lib/ha.sh
source "$repo/scripts/lib/ha.sh"

v=4
if [ "${1:-}" = -6 ]; then
    v=6
    shift
fi
mode=${1:-hot-standby}
case $mode in
    hot-standby|load-balancing) ;;
    *) tb_die "usage: $0 [-6] [hot-standby|load-balancing]" ;;
esac
clients=${HA_CLIENTS:-300}
rate=${HA_RATE:-200}

ha_init "$v" "$mode"
role2=$HA_ROLE2
normal=$HA_NORMAL
T0=$(date +%s.%N)

# Seconds since the start, milliseconds.
ts() {
    echo "$(date +%s.%N) $T0" | awk '{printf "%.3f", $1 - $2}'
}

# ha_traffic N MAC_BASE [PERFDHCP_OPTIONS...]: N exchanges, DORA (v4) or SARR (v6), from
# the client (-R N: MACs drawn from N, so a few repeat); prints perfdhcp's counters.
ha_traffic() {
    local n=$1 mac=$2 out
    shift 2
    out=$(ip netns exec "${NS[cli]}" perfdhcp "-$v" -l eth0 -r "$rate" -n "$n" -R "$n" -b "mac=$mac" "$@" 2>&1) || true
    echo "$out" | awk '/Statistics for/ {x = $0; sub(/.*for:? */, "", x); gsub(/\*/, "", x)} /^sent packets:/ {s = $3} /^received packets:/ {printf "    perfdhcp %s sent %s received %s\n", x, s, $3}'
}

ha_show() {
    local n
    for n in s1 s2; do
        printf '    %s: state %-16s leases %s\n' "$n" "$(ha_state "$n")" "$(ha_leases "$n")"
    done
}

# The HA_STATE_TRANSITION lines of NAME's log, since line $2.
ha_transitions() {
    tail -n "+$2" "$TB_DIR/$1.log" | grep HA_STATE_TRANSITION |
        sed -E 's/^[0-9-]+ ([0-9:.]+) .*transitions from ([A-Z-]+) to ([A-Z-]+) state, partner state is ([A-Z-]+).*/      \1 \2 -> \3 (partner \4)/'
}

tb_log "segment: bridge in $SW; s1 ${IP4[s1]} (primary), s2 ${IP4[s2]} ($role2), client ${IP4[cli]}; mode $mode, DHCPv$v"
ha_net_up
ha_config s1 >/dev/null
ha_config s2 >/dev/null
ha_start s1
ha_start s2
tb_log "[$(ts)] both started; waiting for $normal"
t=$(ha_wait s1 "$normal" 60)
ha_wait s2 "$normal" 30 >/dev/null
tb_log "[$(ts)] pair in $normal ${t} s after start"
tb_ctl "$TB_DIR/s2.sock" status-get | /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin)["arguments"]; print("    s2 status-get high-availability:", json.dumps(a.get("high-availability")))'

tb_log "[$(ts)] $clients clients from the client namespace (perfdhcp -$v -r $rate)"
# shellcheck disable=SC2086
ha_traffic "$clients" 00:0c:01:00:00:00 ${HA_PERFDHCP:-}
sleep 2
ha_show

tb_log "[$(ts)] kill -9 s1"
kill -KILL "${PID[s1]}"
wait "${PID[s1]}" 2>/dev/null || true
lines2=$(($(wc -l <"$TB_DIR/s2.log") + 1))
t=$(ha_wait s2 partner-down 30)
tb_log "[$(ts)] s2 in partner-down ${t} s after the kill (heartbeat-delay 1 s, max-response-delay 3 s)"
ha_transitions s2 "$lines2"
tb_log "[$(ts)] 20 new clients while s1 is down"
ha_traffic 20 00:0c:02:00:00:00
sleep 1
printf '    s2: leases %s\n' "$(ha_leases s2)"

tb_log "[$(ts)] restart s1 (empty lease database: it must sync everything from s2)"
lines2=$(($(wc -l <"$TB_DIR/s2.log") + 1))
lines1=$(($(wc -l <"$TB_DIR/s1.log") + 1))
ha_start s1
t=$(ha_wait s1 "$normal" 60)
ha_wait s2 "$normal" 30 >/dev/null
tb_log "[$(ts)] s1 back in $normal ${t} s after its control socket answered; transitions (log time):"
echo "    s1:"
ha_transitions s1 "$lines1"
echo "    s2:"
ha_transitions s2 "$lines2"
tail -n "+$lines1" "$TB_DIR/s1.log" | grep 'HA_LEASES_SYNC_LEASE_PAGE_RECEIVED\|HA_SYNC_SUCCESSFUL' |
    sed -E 's/^[0-9-]+ ([0-9:.]+) [A-Z]+ +\[[^]]*\] /      \1 /' | cut -c1-150
sleep 1
ha_show
n1=$(ha_leases s1)
n2=$(ha_leases s2)
if [ "$n1" = "$n2" ]; then
    tb_log "[$(ts)] lease counts equal ($n1)"
else
    tb_log "[$(ts)] lease counts differ: s1 $n1, s2 $n2"
    exit 1
fi
if [ -n "${HA_END_WAIT:-}" ]; then
    tb_log "[$(ts)] waiting $HA_END_WAIT s"
    sleep "$HA_END_WAIT"
    ha_show
fi
