#!/usr/bin/env bash
# Benchmark: examples/unbound-dns.py, the worker that registers leases in Unbound.
# A real Unbound (Debian's, its own configuration, remote control on a UNIX socket) in the
# server namespace of scripts/lib/testbed.sh.
#
# Part 1, the worker alone: N lease commits (distinct addresses and names) written to the
#   worker's stdin as the hook writes them, timed from the first event to the last answer
#   (an answer comes only after Unbound accepted the records): leases/s registered
#   - batched: every event read together goes to Unbound in one `local_datas` command
#     on its control socket (the worker's default with UNBOUND_CONTROL_SOCKET),
#   - batched through unbound-control (one process per batch; UNBOUND_CONTROL_SOCKET
#     unset),
#   - one at a time: UNBOUND_DNS_BATCH=0, one command per event, on the socket, and
#     through unbound-control (a process per lease, as a spawned script would run it).
#   Then Unbound's record count is checked (2 per lease: A + PTR).
# Part 2, in Kea: perfdhcp DORA/s against kea-dhcp4 with no hook and with our library
#   running the worker at its default hook points (plus "replay-leases"), every client
#   named by Kea (ddns-replace-client-name "always"), cells interleaved round by round
#   and rotated; fresh Kea, fresh Unbound and an empty state file per cell. After each
#   worker cell the leases Kea acknowledged are compared with the names in Unbound.
#   Prints the medians and the ratio worker/none (goal >= 0.85).
#
# Usage (as root):  scripts/bench-unbound.sh
# Environment:
#   ROUNDS=3        rounds of part 2 (each: one measurement per cell)
#   PERIOD=10       perfdhcp test period per measurement (seconds)
#   RATE=20000      perfdhcp -r (offered DORA/s; above what Kea answers)
#   CLIENTS=1000000 perfdhcp -R (distinct clients)
#   LEASES=5000     part 1: commits for the batched runs (one at a time: LEASES/10 on the
#                   socket, LEASES/50 through unbound-control)
#   OURS_LIB=…      our library (default: $CARGO_TARGET_DIR or target/ +
#                   release/libkea_runscript.so; built with cargo when missing)
#   TB_KEEP=1       keep the temporary directory (configs, logs)
# It asserts nothing about speed. Figures from one run are comparable with each other only.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
. "$repo/scripts/lib/testbed.sh"

rounds=${ROUNDS:-3}
period=${PERIOD:-10}
rate=${RATE:-20000}
clients=${CLIENTS:-1000000}
leases=${LEASES:-5000}
for n in "$rounds" "$period" "$rate" "$clients" "$leases"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || tb_die "ROUNDS, PERIOD, RATE, CLIENTS and LEASES must be positive integers (got '$n')"
done
for bin in /usr/sbin/unbound /usr/sbin/unbound-control /usr/sbin/kea-dhcp4; do
    [ -x "$bin" ] || tb_die "$bin not found (scripts/install-deps.sh installs unbound and kea)"
done
command -v perfdhcp >/dev/null || tb_die "perfdhcp not found (apt-get install kea-admin)"
target=${CARGO_TARGET_DIR:-$repo/target}
ours=${OURS_LIB:-$target/release/libkea_runscript.so}
if [ ! -f "$ours" ]; then
    tb_log "building $ours"
    cargo build --release -p kea-runscript-hook --target-dir "$target"
fi
worker=$repo/examples/unbound-dns.py

tb_init
tb_netns_up
ub_dir=$TB_DIR/unbound
UB_PID=""

# ub_start: a fresh Unbound (no run-time data) in the server namespace.
ub_start() {
    ub_stop
    mkdir -p "$ub_dir"
    cat >"$ub_dir/unbound.conf" <<EOF
server:
  directory: "$ub_dir"
  chroot: ""
  username: ""
  pidfile: "$ub_dir/unbound.pid"
  do-daemonize: no
  use-syslog: no
  logfile: "$ub_dir/unbound.log"
  interface: $TB_PREFIX_V4.1
  module-config: "iterator"
  num-threads: 1
  local-zone: "lan." static
remote-control:
  control-enable: yes
  control-interface: "$ub_dir/control.sock"
EOF
    # `ip netns exec` execs Unbound: $! is its pid (a function in the background would be a
    # subshell, and killing it would leave Unbound running).
    ip netns exec "$TB_SRV" /usr/sbin/unbound -d -c "$ub_dir/unbound.conf" >>"$ub_dir/unbound.out" 2>&1 </dev/null &
    UB_PID=$!
    local _
    for _ in $(seq 100); do
        ub_ctl status >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    tb_die "unbound did not start (see $ub_dir/unbound.log)"
}
ub_stop() {
    [ -n "$UB_PID" ] || return 0
    # Unbound ends by the signal: wait reports 143, which is no error here.
    tb_kill_wait "$UB_PID" || true
    UB_PID=""
}
ub_ctl() { /usr/sbin/unbound-control -c "$ub_dir/unbound.conf" "$@"; }
# Records of ours in Unbound: A records under lan. and PTRs into it.
ub_records() { ub_ctl list_local_data | awk '($4 == "A" && $1 ~ /\.lan\.$/) || ($4 == "PTR" && $5 ~ /\.lan\.$/)' | wc -l; }
trap 'ub_stop; tb_cleanup' EXIT

# ---- part 1: the worker alone ----
# alone BATCH SOCKET N: feeds the worker N leases4_committed events, one lease each (10.x.y.z,
# name hN), as the hook does (its stdin open until the last answer: EOF is an unload);
# writes leases/s, from the first event written to the last answer read, to
# $TB_DIR/rate-BATCH.
alone() {
    local batch=$1 via=$2 n=$3 rate records
    ub_start
    rm -f "$TB_DIR/state"
    rate=$(python3 - "$worker" "$n" "$batch" "$TB_DIR/state" "$ub_dir/unbound.conf" "$via" <<'PY'
import json, subprocess, sys, threading, time
worker, n, batch, state, config, via = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
lines = []
for i in range(n):
    v = {"LEASES4_SIZE": "1", "LEASES4_AT0_ADDRESS": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255),
         "LEASES4_AT0_HOSTNAME": "h%d" % i, "LEASES4_AT0_STATE": "default",
         "LEASES4_AT0_HWADDR": "02:00:%02x:%02x:%02x:01" % (i >> 16 & 255, i >> 8 & 255, i & 255),
         "DELETED_LEASES4_SIZE": "0"}
    lines.append(json.dumps({"v": 1, "instance": "bench", "seq": i + 1, "hook_point": "leases4_committed",
                             "replay": False, "reply": "ack", "vars": v}, separators=(",", ":")) + "\n")
env = {"KEA_RUNSCRIPT_PROTOCOL": "1", "UNBOUND_DNS_STATE": state, "UNBOUND_DNS_BATCH": batch,
       "UNBOUND_CONTROL_CONFIG": config, "UNBOUND_CONTROL_SOCKET": via, "UNBOUND_DNS_RECONCILE": "0"}
p = subprocess.Popen([worker, "worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
t0 = time.monotonic()
feed = threading.Thread(target=lambda: (p.stdin.write("".join(lines).encode()), p.stdin.flush()))
feed.start()
for _ in range(n):
    if not p.stdout.readline():
        sys.exit("the worker ended early")
t1 = time.monotonic()
feed.join()
p.stdin.close()
p.wait()
print("%.0f" % (n / (t1 - t0)))
PY
) || tb_die "the worker run failed (see $TB_DIR/worker.log)"
    records=$(ub_records)
    [ "$records" -eq $((2 * n)) ] || tb_die "Unbound holds $records records, not $((2 * n))"
    echo "$rate" >"$TB_DIR/rate-$batch${via:+-socket}"
}

tb_log "part 1: the worker alone, $leases commits batched, $((leases / 10)) and $((leases / 50)) one at a time"
sock=$ub_dir/control.sock
alone 1 "$sock" "$leases" 2>>"$TB_DIR/worker.log"
alone 1 "" "$leases" 2>>"$TB_DIR/worker.log"
alone 0 "$sock" $((leases / 10)) 2>>"$TB_DIR/worker.log"
alone 0 "" $((leases / 50)) 2>>"$TB_DIR/worker.log"
batched=$(cat "$TB_DIR/rate-1-socket") control=$(cat "$TB_DIR/rate-1")
single=$(cat "$TB_DIR/rate-0-socket") single_control=$(cat "$TB_DIR/rate-0")
printf 'worker alone, leases/s: batched: on the control socket %s, through unbound-control %s (%d leases each); one at a time: on the socket %s (%d leases), through unbound-control %s (%d leases)\n' \
    "$batched" "$control" "$leases" "$single" $((leases / 10)) "$single_control" $((leases / 50))

# ---- part 2: DORA/s in Kea, no hook vs the worker ----
names='"ddns-replace-client-name": "always", "ddns-generated-prefix": "pc", "ddns-qualifying-suffix": "lan."'
tb_kea4_config "$TB_DIR/none.json" '[]' "$names"
tb_kea4_config "$TB_DIR/worker.json" "[{\"library\": \"$ours\", \"parameters\": {
  \"name\": \"$worker\", \"mode\": \"worker\", \"replay-leases\": true, \"log-output\": true,
  \"env\": {\"UNBOUND_DNS_STATE\": \"$TB_DIR/state\", \"UNBOUND_CONTROL_SOCKET\": \"$ub_dir/control.sock\"}}}]" "$names"
tb_kea_check 4 "$TB_DIR/worker.json"

: >"$TB_DIR/results"
# cpu_ms PID: user + system CPU time of a process (all its threads) in ms.
cpu_ms() {
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' "/proc/$1/stat"
}
measure() {
    local cell=$1 r=$2 out rc=0 dora acks records=-
    ub_start
    rm -f "$TB_DIR/state"
    tb_kea_start 4 "$TB_DIR/$cell.json"
    out=$(tb_cli perfdhcp -4 -l "$TB_VCLI" -r "$rate" -p "$period" -R "$clients" 2>&1) || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { echo "$out" | tail -n 20 >&2; tb_die "perfdhcp failed ($rc)"; }
    dora=$(echo "$out" | awk '/^Rate:/ {print $2; exit}')
    acks=$(echo "$out" | awk '/Statistics for: REQUEST-ACK/ {s=1} s && /^received packets:/ {print $3; exit}')
    local cpu_kea cpu_worker=- cpu_unbound=-
    cpu_kea=$(cpu_ms "$TB_KEA_PID")
    if [ "$cell" = worker ]; then
        # Every acknowledged lease ends in Unbound (A + PTR), as soon as the worker caught up:
        # waited for on the worker's state file (a name a line; Unbound's list of 2 records
        # per lease would cost Unbound more CPU than the registrations), CPU read then, and
        # Unbound's own list checked once after.
        local _ names=0
        for _ in $(seq 600); do
            names=$(grep -c '^+' "$TB_DIR/state" || true)
            [ "$names" -ge "$acks" ] && break
            sleep 0.1
        done
        [ "$names" -ge "$acks" ] || tb_die "the worker registered $names names for $acks leases"
        cpu_kea=$(cpu_ms "$TB_KEA_PID")
        cpu_worker=$(cpu_ms "$(pgrep -f -x "/usr/bin/python3 $worker worker" | head -n 1)")
        cpu_unbound=$(cpu_ms "$UB_PID")
        records=$(ub_records)
        [ "$records" -ge $((2 * acks)) ] || tb_die "Unbound holds $records records for $acks leases"
    fi
    tb_kea_stop
    ub_stop
    echo "$cell $r $dora $acks $cpu_kea $cpu_worker $cpu_unbound" >>"$TB_DIR/results"
    printf '  round %d  %-7s %8.1f DORA/s  (%s leases, %s records in Unbound; CPU ms: Kea %s, worker %s, Unbound %s)\n' \
        "$r" "$cell" "$dora" "$acks" "$records" "$cpu_kea" "$cpu_worker" "$cpu_unbound" >&2
}

tb_log "part 2: perfdhcp -4 -r $rate -p $period -R $clients, $rounds rounds of: none worker (rotated)"
for r in $(seq "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then order=(none worker); else order=(worker none); fi
    for cell in "${order[@]}"; do measure "$cell" "$r"; done
done
median() { awk -v c="$1" '$1 == c {print $3}' "$TB_DIR/results" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
none=$(median none)
with=$(median worker)
printf 'DORA/s medians: none %.1f, worker %.1f: worker/none %.3f (goal >= 0.85)\n' "$none" "$with" \
    "$(awk -v a="$with" -v b="$none" 'BEGIN {print a / b}')"
# CPU per 1000 leases, summed over the rounds: less sensitive to other load than DORA/s.
awk '{n[$1] += $4; k[$1] += $5; w[$1] += $6; u[$1] += $7}
     END {printf "CPU ms per 1000 leases: no hook: Kea %.0f; worker cell: Kea %.0f, worker %.0f, Unbound %.0f\n",
          1000 * k["none"] / n["none"], 1000 * k["worker"] / n["worker"], 1000 * w["worker"] / n["worker"],
          1000 * u["worker"] / n["worker"]}' "$TB_DIR/results"
awk '$1 == "none" {a[$2] = $3} $1 == "worker" {b[$2] = $3}
     END {for (r in a) if (b[r] > 0) {s += log(b[r] / a[r]); c++}
          printf "geometric mean of the per-round ratios worker/none: %.3f over %d rounds\n", exp(s / c), c}' "$TB_DIR/results"
