# shellcheck shell=bash
# A real Kea HA pair (Kea's libdhcp_ha.so + libdhcp_lease_cmds.so) in network namespaces:
# the parts scripts/ha-pair.sh (replication, failover, resync) and scripts/bench-ha.sh
# (DORA/s with partner events off vs on) share. Source scripts/lib/testbed.sh first.
#
# Four namespaces on one L2 segment: a switch (Linux bridge) and, each joined to it by a
# veth (eth0 inside), server s1 (192.0.2.1, 2001:db8:1::1, role primary), server s2
# (192.0.2.3, ::3, standby or secondary) and a client (192.0.2.2, ::2). Each server runs
# kea-dhcp4 (kea-dhcp6 for v6) with Kea's multi-threading and HA's own HTTP listener
# in-process ("http-dedicated-listener": no kea-ctrl-agent), plus a unix control socket.
#
#   ha_init 4|6 MODE         checks Kea's files, tb_init, sets HA_* and SW, NS, IP4, IP6, PID
#   ha_net_up                the bridge and the three members' veths
#   ha_config NAME [FILE]    writes NAME's config (default $TB_DIR/NAME.json), prints the path
#   ha_start NAME [FILE]     starts NAME's Kea, waits until its control socket answers
#   ha_stop NAME             stops NAME's Kea (SIGTERM: it unloads its hook libraries)
#   ha_state NAME            NAME's HA state (ha-heartbeat), "-" when it does not answer
#   ha_leases NAME           the number of leases NAME holds
#   ha_wait NAME STATE SECS  polls until NAME is in STATE; prints the seconds it took
#
# Environment read by ha_config: HA_VALID_LIFETIME (seconds, default 3600; expired leases
# are reclaimed every second), HA_EXTRA_HOOK (a hooks-libraries entry, JSON, loaded after
# HA on both servers; @NAME@ becomes s1/s2), HA_MAX_RESPONSE_DELAY (ms, default 3000: how
# long a server waits for its partner before it calls it down), TB_KEA_SEVERITY (Kea's
# log severity, default INFO) and TB_RUNSCRIPT_SEVERITY (our library's logger in its own
# file, NAME-runscript.log; default: none of its own).

# ha_init V MODE: V is 4 or 6, MODE hot-standby or load-balancing. Sets HA_V, HA_MODE,
# HA_ROLE2 (s2's role), HA_NORMAL (the pair's state once both are up), HA_HOOKS_DIR, and
# the namespace and address tables; installs testbed.sh's cleanup trap (tb_init).
ha_init() {
    HA_V=$1
    HA_MODE=$2
    case $HA_MODE in
        hot-standby) HA_ROLE2=standby HA_NORMAL=hot-standby ;;
        load-balancing) HA_ROLE2=secondary HA_NORMAL=load-balancing ;;
        *) tb_die "unknown HA mode '$HA_MODE' (hot-standby or load-balancing)" ;;
    esac
    HA_HOOKS_DIR=/usr/lib/x86_64-linux-gnu/kea/hooks
    local f
    for f in "/usr/sbin/kea-dhcp$HA_V" /usr/sbin/perfdhcp "$HA_HOOKS_DIR/libdhcp_ha.so" "$HA_HOOKS_DIR/libdhcp_lease_cmds.so"; do
        [ -e "$f" ] || tb_die "$f missing (scripts/install-deps.sh installs Kea)"
    done
    tb_init
    SW="krs-sw-$TB_ID"
    declare -gA NS=([s1]="krs-s1-$TB_ID" [s2]="krs-s2-$TB_ID" [cli]="krs-cl-$TB_ID")
    declare -gA IP4=([s1]=192.0.2.1 [s2]=192.0.2.3 [cli]=192.0.2.2)
    declare -gA IP6=([s1]=2001:db8:1::1 [s2]=2001:db8:1::3 [cli]=2001:db8:1::2)
    declare -gA PID=()
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

# ha_config NAME [FILE]: writes NAME's config into FILE (default $TB_DIR/NAME.json) and
# prints its path. Short HA timers: heartbeat every second, partner-down after
# HA_MAX_RESPONSE_DELAY (3 s) without an answer (max-unacked-clients 0: no wait for
# clients). The control socket is $TB_DIR/NAME.sock, the log $TB_DIR/NAME.log.
ha_config() {
    local name=$1 file=${2:-$TB_DIR/$1.json} extra="" subnets iface lt=${HA_VALID_LIFETIME:-3600}
    local v=$HA_V
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
    {"library": "$HA_HOOKS_DIR/libdhcp_lease_cmds.so"},
    {"library": "$HA_HOOKS_DIR/libdhcp_ha.so", "parameters": {"high-availability": [{
      "this-server-name": "$name",
      "mode": "$HA_MODE",
      "heartbeat-delay": 1000, "max-response-delay": ${HA_MAX_RESPONSE_DELAY:-3000},
      "max-ack-delay": 1000, "max-unacked-clients": 0,
      "sync-timeout": 10000, "sync-page-limit": 100,
      "multi-threading": {"enable-multi-threading": true, "http-dedicated-listener": true,
                          "http-listener-threads": 2, "http-client-threads": 2},
      "peers": [
        {"name": "s1", "url": "http://${IP4[s1]}:8001/", "role": "primary", "auto-failover": true},
        {"name": "s2", "url": "http://${IP4[s2]}:8002/", "role": "$HA_ROLE2", "auto-failover": true}
      ]}]}}$extra
  ],
$(tb_loggers_json "kea-dhcp$v" "$TB_DIR/$name.log")
}}
JSON
    echo "$file"
}

# ha_start NAME [FILE]: starts NAME's Kea in its namespace with FILE (default
# $TB_DIR/NAME.json), waits until its control socket answers. Sets PID[NAME]: Kea's own
# pid (ip netns exec and env exec it, no process stays in between).
ha_start() {
    local name=$1 file=${2:-$TB_DIR/$1.json} _
    mkdir -p "$TB_DIR/run-$name"
    rm -f "$TB_DIR/$name.sock"
    ip netns exec "${NS[$name]}" env KEA_PIDFILE_DIR="$TB_DIR/run-$name" KEA_LOCKFILE_DIR="$TB_DIR/run-$name" \
        "/usr/sbin/kea-dhcp$HA_V" -c "$file" >>"$TB_DIR/$name.stdout" 2>&1 &
    PID[$name]=$!
    TB_KEA_PIDS+=("${PID[$name]}")
    for _ in $(seq 100); do
        kill -0 "${PID[$name]}" 2>/dev/null || { tail -n 20 "$TB_DIR/$name.stdout" "$TB_DIR/$name.log" >&2
                                                tb_die "kea-dhcp$HA_V $name exited during start-up"; }
        [ -S "$TB_DIR/$name.sock" ] && tb_ctl "$TB_DIR/$name.sock" version-get >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    tb_die "kea-dhcp$HA_V $name: no control socket within 10 s"
}

# ha_stop NAME: SIGTERM to NAME's Kea (it unloads its hook libraries, which log what they
# counted), SIGKILL after 5 s; forgets its pid, so the cleanup trap never signals a
# process that later got the same pid.
ha_stop() {
    local name=$1 pid=${PID[$1]:-} p keep=()
    [ -n "$pid" ] || return 0
    tb_kill_wait "$pid"
    for p in "${TB_KEA_PIDS[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    TB_KEA_PIDS=("${keep[@]}")
    PID[$name]=""
}

# ha_state NAME: the HA state NAME reports (ha-heartbeat), "-" when it does not answer.
ha_state() {
    tb_ctl "$TB_DIR/$1.sock" ha-heartbeat 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arguments"]["state"])' 2>/dev/null ||
        echo -
}

# ha_leases NAME: the number of leases NAME holds (lease4-get-all / lease6-get-all).
ha_leases() {
    tb_ctl "$TB_DIR/$1.sock" "lease$HA_V-get-all" 2>/dev/null |
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
