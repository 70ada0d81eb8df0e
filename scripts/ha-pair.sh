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
# the script queries (ha-heartbeat, status-get, lease4-get-all / lease6-get-all).
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

v=4
if [ "${1:-}" = -6 ]; then
    v=6
    shift
fi
mode=${1:-hot-standby}
case $mode in
    hot-standby) role2=standby normal=hot-standby ;;
    load-balancing) role2=secondary normal=load-balancing ;;
    *) tb_die "usage: $0 [-6] [hot-standby|load-balancing]" ;;
esac
clients=${HA_CLIENTS:-300}
rate=${HA_RATE:-200}
hooks_dir=/usr/lib/x86_64-linux-gnu/kea/hooks
for f in "/usr/sbin/kea-dhcp$v" /usr/sbin/perfdhcp "$hooks_dir/libdhcp_ha.so" "$hooks_dir/libdhcp_lease_cmds.so"; do
    [ -e "$f" ] || tb_die "$f missing (scripts/install-deps.sh installs Kea)"
done

tb_init
SW="krs-sw-$TB_ID"
declare -A NS=([s1]="krs-s1-$TB_ID" [s2]="krs-s2-$TB_ID" [cli]="krs-cl-$TB_ID")
declare -A IP4=([s1]=192.0.2.1 [s2]=192.0.2.3 [cli]=192.0.2.2)
declare -A IP6=([s1]=2001:db8:1::1 [s2]=2001:db8:1::3 [cli]=2001:db8:1::2)
declare -A PID=()
T0=$(date +%s.%N)

# Seconds since the start, milliseconds.
ts() {
    echo "$(date +%s.%N) $T0" | awk '{printf "%.3f", $1 - $2}'
}

# The segment: a bridge in the switch namespace, one veth per member (eth0 inside).
ha_net_up() {
    tb_netns_add "$SW"
    ip -n "$SW" link add br0 type bridge
    ip -n "$SW" link set br0 type bridge mcast_snooping 0
    ip -n "$SW" link set br0 up
    local m
    for m in s1 s2 cli; do
        tb_netns_add "${NS[$m]}"
        ip link add "krs${TB_ID}$m" netns "$SW" type veth peer name eth0 netns "${NS[$m]}" \
            || tb_die "cannot create the veth of $m"
        ip -n "$SW" link set "krs${TB_ID}$m" master br0 up
        ip -n "${NS[$m]}" addr add "${IP4[$m]}/24" dev eth0
        ip -n "${NS[$m]}" addr add "${IP6[$m]}/64" dev eth0 nodad
        ip -n "${NS[$m]}" link set eth0 up
    done
    local _
    for _ in $(seq 50); do
        if [ "$(bridge -n "$SW" link show | grep -c 'state forwarding')" = 3 ] &&
           ! ip -n "${NS[cli]}" -6 addr show dev eth0 | grep -q tentative &&
           ip -n "${NS[cli]}" -6 addr show dev eth0 scope link | grep -q inet6; then
            return 0
        fi
        sleep 0.1
    done
    tb_die "the segment did not come up within 5 s"
}

# ha_config NAME: writes $TB_DIR/NAME.json. Short HA timers: heartbeat every second,
# partner-down after 3 s without an answer (max-unacked-clients 0: no wait for clients).
ha_config() {
    local name=$1 file="$TB_DIR/$1.json" extra="" subnets iface lt=${HA_VALID_LIFETIME:-3600}
    if [ -n "${HA_EXTRA_HOOK:-}" ]; then
        extra=",
    ${HA_EXTRA_HOOK//@NAME@/$name}"
    fi
    if [ "$v" = 4 ]; then
        iface='"interfaces-config": {"interfaces": ["eth0"], "dhcp-socket-type": "raw"},'
        subnets='"subnet4": [
    {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10-192.0.2.250"}]},
    {"id": 2, "subnet": "10.0.0.0/8", "relay": {"ip-addresses": ["192.0.2.2"]},
     "pools": [{"pool": "10.0.0.10-10.255.255.200"}]}
  ],'
    else
        iface="\"interfaces-config\": {\"interfaces\": [\"eth0\"]},
  \"server-id\": {\"type\": \"EN\", \"enterprise-id\": 2495, \"identifier\": \"0123456789a${name#s}\", \"persist\": false},"
        subnets='"preferred-lifetime": '$((lt * 3 / 4))',
  "subnet6": [
    {"id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0",
     "pools": [{"pool": "2001:db8:1::100-2001:db8:1::ffff"}],
     "pd-pools": [{"prefix": "2001:db8:100::", "prefix-len": 40, "delegated-len": 56}]}
  ],'
    fi
    cat >"$file" <<JSON
{"Dhcp$v": {
  $iface
  "control-socket": {"socket-type": "unix", "socket-name": "$TB_DIR/$name.sock"},
  "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64},
  "lease-database": {"type": "memfile", "persist": false},
  "valid-lifetime": $lt, "renew-timer": $((lt / 2)), "rebind-timer": $((lt * 7 / 8)),
  "expired-leases-processing": {"reclaim-timer-wait-time": 1, "hold-reclaimed-time": 1,
                                "flush-reclaimed-timer-wait-time": 1},
  $subnets
  "hooks-libraries": [
    {"library": "$hooks_dir/libdhcp_lease_cmds.so"},
    {"library": "$hooks_dir/libdhcp_ha.so", "parameters": {"high-availability": [{
      "this-server-name": "$name",
      "mode": "$mode",
      "heartbeat-delay": 1000, "max-response-delay": 3000,
      "max-ack-delay": 1000, "max-unacked-clients": 0,
      "sync-timeout": 10000, "sync-page-limit": 100,
      "multi-threading": {"enable-multi-threading": true, "http-dedicated-listener": true,
                          "http-listener-threads": 2, "http-client-threads": 2},
      "peers": [
        {"name": "s1", "url": "http://${IP4[s1]}:8001/", "role": "primary", "auto-failover": true},
        {"name": "s2", "url": "http://${IP4[s2]}:8002/", "role": "$role2", "auto-failover": true}
      ]}]}}$extra
  ],
  "loggers": [{"name": "kea-dhcp$v", "severity": "INFO", "debuglevel": 0,
               "output_options": [{"output": "$TB_DIR/$name.log", "flush": true}]}]
}}
JSON
    echo "$file"
}

# ha_start NAME: starts NAME's Kea in its namespace, waits until its control socket answers.
ha_start() {
    local name=$1 file="$TB_DIR/$1.json" _
    mkdir -p "$TB_DIR/run-$name"
    rm -f "$TB_DIR/$name.sock"
    ip netns exec "${NS[$name]}" env KEA_PIDFILE_DIR="$TB_DIR/run-$name" KEA_LOCKFILE_DIR="$TB_DIR/run-$name" \
        "/usr/sbin/kea-dhcp$v" -c "$file" >>"$TB_DIR/$name.stdout" 2>&1 &
    PID[$name]=$!
    TB_KEA_PIDS+=("${PID[$name]}")
    for _ in $(seq 100); do
        kill -0 "${PID[$name]}" 2>/dev/null || { tail -n 20 "$TB_DIR/$name.stdout" "$TB_DIR/$name.log" >&2
                                                tb_die "kea-dhcp$v $name exited during start-up"; }
        [ -S "$TB_DIR/$name.sock" ] && tb_ctl "$TB_DIR/$name.sock" version-get >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    tb_die "kea-dhcp$v $name: no control socket within 10 s"
}

# ha_state NAME: the HA state NAME reports (ha-heartbeat), "-" when it does not answer.
ha_state() {
    tb_ctl "$TB_DIR/$1.sock" ha-heartbeat 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arguments"]["state"])' 2>/dev/null ||
        echo -
}

# ha_leases NAME: the number of leases NAME holds (lease4-get-all / lease6-get-all).
ha_leases() {
    tb_ctl "$TB_DIR/$1.sock" "lease$v-get-all" 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin).get("arguments") or {}; print(len(a.get("leases", [])))' \
        2>/dev/null || echo -
}

# ha_wait NAME STATE SECONDS: polls every 0.1 s; prints the elapsed seconds or fails.
ha_wait() {
    local name=$1 want=$2 limit=$3 start now
    start=$(date +%s.%N)
    while :; do
        [ "$(ha_state "$name")" = "$want" ] && break
        now=$(date +%s.%N)
        if awk -v a="$start" -v b="$now" -v l="$limit" 'BEGIN{exit !(b - a > l)}'; then
            tb_die "$name not in state $want within $limit s (now $(ha_state "$name"))"
        fi
        sleep 0.1
    done
    echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}'
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
